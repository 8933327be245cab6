// DNS for backend server names, on the workers' own event loops (libevent's
// evdns): no thread ever blocks on a resolver.
//
// A snapshot keeps a server's name as the config wrote it (IP literals are
// parsed when it is built: snapshot.h); each worker resolves the names of
// the servers it connects to, through its one Resolver, and each of its
// server groups keeps the answer in a BackendAddress:
//
//   - a new connection to a name resolves it first when the cached address
//     is older than -Z dns_ttl (0: every new connection resolves), or when
//     the server failed since (a reconnect after a failure always asks
//     again: the name may have moved); established connections are never
//     touched by a re-resolve;
//   - requests arriving meanwhile wait like requests waiting for a connect
//     (server_connection.h), bounded by connect_timeout;
//   - a name that does not resolve fails that server only: it is a connect
//     failure of the server (health, "SERVER_ERROR proxy write to
//     downstream HOST:PORT", backend_resolve_failures_total), its cached
//     address is forgotten, and the next connect (a request, or a probe of
//     the down server) asks again.
//
// The record's own TTL is not used (evdns_getaddrinfo does not report it):
// dns_ttl is the one bound on an address's age.
//
// Thread contract: a Resolver and the BackendAddresses using it belong to
// one event_base (a worker's, or --check-config's private one) and are used
// only on the thread running it; callbacks run on that thread.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <event2/dns.h>
#include <event2/event.h>

#include "src/routing/snapshot.h"

namespace moxi::backend {

// The nameservers of "-Z dns_servers": "IP[:PORT]" items separated by '|'
// (',' separates -Z items), IPv6 as "[IP]:PORT"; the port defaults to 53.
// Fills `out`; on error returns the reason, naming the bad item.
std::optional<std::string> parse_dns_servers(std::string_view list, std::vector<std::string>& out);

// One evdns_base. With no nameservers given it reads the system's
// configuration (/etc/resolv.conf: nameservers, search domains, options;
// and /etc/hosts); given nameservers, only those are asked, with no search
// domains and no hosts file, so a test's resolver is the only source.
class Resolver {
 public:
  // The evdns_base is made on the first resolve (most workers of most
  // configurations never see a name).
  Resolver(event_base* base, std::vector<std::string> nameservers);
  ~Resolver();  // no BackendAddress of it may be waiting any more
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // The evdns_base, made now when needed; null when it cannot be made
  // (`error` says why).
  evdns_base* dns(std::string& error);

 private:
  event_base* base_;
  std::vector<std::string> nameservers_;
  evdns_base* dns_ = nullptr;
  std::string init_error_;  // why dns_ could not be made ("" until tried)
};

// The address one worker connects to for one server: its IP literal, or
// its name's last answer while it is fresh. Owned by the server's group.
class BackendAddress {
 public:
  // A connection waiting for the name to resolve.
  class Waiter {
   public:
    // The lookup finished: `error` is "" when address() is ready, else
    // "resolve failed: NAME: REASON".
    virtual void on_address(const std::string& error) = 0;

   protected:
    ~Waiter() = default;
  };

  BackendAddress(const BackendServer& server, Resolver& resolver, uint64_t ttl_ms);
  ~BackendAddress();  // cancels a lookup in flight (its waiters are gone already)
  BackendAddress(const BackendAddress&) = delete;
  BackendAddress& operator=(const BackendAddress&) = delete;

  enum class Lookup { Ready, Pending, Failed };
  // Ready: address() is fresh, connect to it. Pending: `waiter` is called
  // back once the name resolved (or not), unless it leaves first (forget).
  // Failed: the name could not be resolved now (`error` says why).
  // `now_ms`: the worker's monotonic clock.
  Lookup lookup(Waiter* waiter, uint64_t now_ms, std::string& error);
  // The waiter stops waiting (its connect timed out, or it is destroyed).
  void forget(Waiter* waiter);
  // The server failed: the next new connection resolves the name again.
  void on_server_failure() { stale_ = true; }

  const sockaddr* address() const { return reinterpret_cast<const sockaddr*>(&addr_); }
  socklen_t address_len() const { return addr_len_; }
  int family() const { return addr_.ss_family; }
  bool is_name() const { return !literal_; }
  const std::string& name() const { return name_; }

 private:
  bool fresh(uint64_t now_ms) const;
  static void resolved_cb(int result, evutil_addrinfo* res, void* arg);
  void on_resolved(int result, evutil_addrinfo* res);

  Resolver& resolver_;
  std::string name_;  // the host without IPv6 brackets
  uint16_t port_;
  uint64_t ttl_ms_;
  bool literal_;
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;  // 0: no usable address
  uint64_t resolved_at_ms_ = 0;
  uint64_t asked_at_ms_ = 0;  // when the lookup in flight started
  bool stale_ = false;
  evdns_getaddrinfo_request* request_ = nullptr;  // the lookup in flight
  bool starting_ = false;   // inside evdns_getaddrinfo, which may answer before it returns
  bool answered_ = false;   // ... and did
  std::string error_;       // the last lookup's failure, "" when it succeeded
  std::vector<Waiter*> waiters_;
};

// Resolves `server`'s name now, blocking (on a private event_base): for
// --check-config, never on a worker. "" when it resolves (or is an IP
// literal), else the reason, as a worker would log it.
std::string resolve_now(const BackendServer& server, const std::vector<std::string>& nameservers);

}  // namespace moxi::backend
