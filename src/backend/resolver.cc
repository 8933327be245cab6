#include "src/backend/resolver.h"

#include <event2/util.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

namespace moxi::backend {

std::optional<std::string> parse_dns_servers(std::string_view list, std::vector<std::string>& out) {
  std::vector<std::string> servers;
  size_t start = 0;
  for (;;) {
    const size_t bar = list.find('|', start);
    std::string item(list.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start));
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    sockaddr_storage ss{};
    int len = sizeof ss;
    if (item.empty() || evutil_parse_sockaddr_port(item.c_str(), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
      return "\"" + item + "\" is not a nameserver address (IP, IP:PORT or [IPv6]:PORT; '|' between several)";
    servers.push_back(std::move(item));
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  out = std::move(servers);
  return std::nullopt;
}

Resolver::Resolver(event_base* base, std::vector<std::string> nameservers)
    : base_(base), nameservers_(std::move(nameservers)) {}

Resolver::~Resolver() {
  // fail_requests 0: every BackendAddress cancelled its lookup when it went.
  if (dns_) evdns_base_free(dns_, 0);
}

evdns_base* Resolver::dns(std::string& error) {
  if (dns_ || !init_error_.empty()) {
    error = init_error_;
    return dns_;
  }
  // DISABLE_WHEN_INACTIVE: an idle resolver keeps no event of the loop alive.
  if (nameservers_.empty()) {
    // resolv.conf's nameservers, search domains and options, and /etc/hosts
    // (DNS_OPTIONS_ALL): what getaddrinfo would use, `localhost` included.
    dns_ = evdns_base_new(base_, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!dns_) init_error_ = "cannot read the system's resolver configuration (/etc/resolv.conf)";
  } else {
    // Only the given nameservers: no search domains, no hosts file.
    dns_ = evdns_base_new(base_, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (!dns_) init_error_ = "cannot create a DNS resolver";
    for (size_t i = 0; dns_ && i < nameservers_.size(); ++i)
      if (evdns_base_nameserver_ip_add(dns_, nameservers_[i].c_str()) != 0) {
        init_error_ = "cannot use nameserver " + nameservers_[i];
        evdns_base_free(dns_, 0);
        dns_ = nullptr;
      }
  }
  error = init_error_;
  return dns_;
}

BackendAddress::BackendAddress(const BackendServer& server, Resolver& resolver, uint64_t ttl_ms)
    : resolver_(resolver), name_(server.host), port_(server.port), ttl_ms_(ttl_ms), literal_(!server.is_name()) {
  if (name_.size() > 2 && name_.front() == '[' && name_.back() == ']') name_ = name_.substr(1, name_.size() - 2);
  if (literal_) {
    addr_ = server.sockaddr;
    addr_len_ = server.sockaddr_len;
  }
}

BackendAddress::~BackendAddress() {
  // Calls resolved_cb at once with EVUTIL_EAI_CANCEL, which ignores it.
  if (request_) evdns_getaddrinfo_cancel(request_);
}

bool BackendAddress::fresh(uint64_t now_ms) const {
  if (literal_) return true;
  return addr_len_ != 0 && !stale_ && now_ms - resolved_at_ms_ < ttl_ms_;
}

BackendAddress::Lookup BackendAddress::lookup(Waiter* waiter, uint64_t now_ms, std::string& error) {
  if (fresh(now_ms)) return Lookup::Ready;
  if (!request_) {
    std::string why;
    evdns_base* dns = resolver_.dns(why);
    if (!dns) {
      addr_len_ = 0;
      error = "resolve failed: " + name_ + ": " + why;
      return Lookup::Failed;
    }
    evutil_addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    const std::string port = std::to_string(port_);
    asked_at_ms_ = now_ms;
    starting_ = true;
    answered_ = false;
    evdns_getaddrinfo_request* request =
        evdns_getaddrinfo(dns, name_.c_str(), port.c_str(), &hints, &BackendAddress::resolved_cb, this);
    starting_ = false;
    if (answered_) {  // from the hosts file, or failed at once: no waiting
      error = error_;
      return error_.empty() ? Lookup::Ready : Lookup::Failed;
    }
    request_ = request;
  }
  waiters_.push_back(waiter);
  return Lookup::Pending;
}

void BackendAddress::forget(Waiter* waiter) { waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), waiter), waiters_.end()); }

void BackendAddress::resolved_cb(int result, evutil_addrinfo* res, void* arg) {
  if (result == EVUTIL_EAI_CANCEL) {  // the BackendAddress is being destroyed
    if (res) evutil_freeaddrinfo(res);
    return;
  }
  static_cast<BackendAddress*>(arg)->on_resolved(result, res);
}

void BackendAddress::on_resolved(int result, evutil_addrinfo* res) {
  request_ = nullptr;
  if (result == 0 && res && res->ai_addr && res->ai_addrlen <= sizeof addr_) {
    std::memset(&addr_, 0, sizeof addr_);
    std::memcpy(&addr_, res->ai_addr, res->ai_addrlen);
    addr_len_ = static_cast<socklen_t>(res->ai_addrlen);
    resolved_at_ms_ = asked_at_ms_;  // the answer is as old as the question
    stale_ = false;
    error_.clear();
  } else {
    // No fallback to the old address: the name says the server is gone.
    addr_len_ = 0;
    error_ = "resolve failed: " + name_ + ": " + (result == 0 ? "no address" : evutil_gai_strerror(result));
  }
  if (res) evutil_freeaddrinfo(res);
  if (starting_) {
    answered_ = true;
    return;
  }
  // Each waiter may start connects, fail requests or look the name up again.
  std::vector<Waiter*> waiters;
  waiters.swap(waiters_);
  for (Waiter* w : waiters) w->on_address(error_);
}

std::string resolve_now(const BackendServer& server, const std::vector<std::string>& nameservers) {
  if (!server.is_name()) return {};
  struct Done final : BackendAddress::Waiter {
    bool done = false;
    std::string error;
    void on_address(const std::string& e) override {
      done = true;
      error = e;
    }
  } waiter;
  std::unique_ptr<event_base, void (*)(event_base*)> base(event_base_new(), &event_base_free);
  if (!base) return "cannot create an event loop";
  {
    Resolver resolver(base.get(), nameservers);
    BackendAddress address(server, resolver, 0);
    switch (address.lookup(&waiter, 0, waiter.error)) {
      case BackendAddress::Lookup::Ready:
        return {};
      case BackendAddress::Lookup::Failed:
        return waiter.error;
      case BackendAddress::Lookup::Pending:
        break;
    }
    // evdns's own timeouts and attempts bound the wait.
    while (!waiter.done && event_base_loop(base.get(), EVLOOP_ONCE) == 0) {
    }
    if (!waiter.done) address.forget(&waiter);
  }
  return waiter.done ? waiter.error : "resolve failed: " + server.host + ": no answer";
}

}  // namespace moxi::backend
