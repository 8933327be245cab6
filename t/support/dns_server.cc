#include "t/support/dns_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "t/support/bytes.h"

namespace moxi::test {

namespace {

constexpr size_t kHeaderSize = 12;
constexpr uint16_t kTypeA = 1;
constexpr uint16_t kClassIn = 1;
constexpr uint8_t kRcodeNxDomain = 3;
constexpr uint8_t kRcodeFormErr = 1;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

FakeDns::FakeDns() {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 || ::pipe2(wake_, O_CLOEXEC) != 0) {
    const std::string why = std::strerror(errno);
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("FakeDns: cannot bind a UDP socket on 127.0.0.1: " + why);
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeDns::~FakeDns() {
  const char stop = 's';
  (void)!::write(wake_[1], &stop, 1);
  thread_.join();
  ::close(fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void FakeDns::set(const std::string& name, const std::string& ipv4) {
  in_addr a{};
  if (inet_pton(AF_INET, ipv4.c_str(), &a) != 1) throw std::invalid_argument("FakeDns::set: not an IPv4 address: " + ipv4);
  std::lock_guard lock(mutex_);
  names_[lower(name)] = a;
}

void FakeDns::remove(const std::string& name) {
  std::lock_guard lock(mutex_);
  names_.erase(lower(name));
}

void FakeDns::hold(const std::string& name) {
  std::lock_guard lock(mutex_);
  held_names_.insert(lower(name));
}

void FakeDns::release(const std::string& name) {
  std::lock_guard lock(mutex_);
  const std::string key = lower(name);
  held_names_.erase(key);
  std::vector<std::pair<std::string, Held>> keep;
  for (auto& [n, held] : held_) {
    if (n == key) answer(held.query, held.peer);
    else keep.emplace_back(n, std::move(held));
  }
  held_ = std::move(keep);
}

void FakeDns::set_ttl(uint32_t seconds) {
  std::lock_guard lock(mutex_);
  ttl_ = seconds;
}

uint64_t FakeDns::queries(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = queries_.find(lower(name));
  return it == queries_.end() ? 0 : it->second;
}

bool FakeDns::wait_queries(const std::string& name, uint64_t n, Deadline deadline) const {
  std::unique_lock lock(mutex_);
  const std::string key = lower(name);
  return changed_.wait_until(lock, deadline.when(), [&] {
    auto it = queries_.find(key);
    return it != queries_.end() && it->second >= n;
  });
}

void FakeDns::serve() {
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    char buf[1500];
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    const ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len);
    if (n <= 0) continue;
    const std::string query(buf, static_cast<size_t>(n));
    std::string name;
    uint16_t type = 0;
    std::lock_guard lock(mutex_);
    if (reply_to(query, name, type).empty()) continue;
    if (type == kTypeA) {
      ++queries_[name];
      changed_.notify_all();
    }
    if (held_names_.count(name) != 0) {
      held_.emplace_back(name, Held{query, peer});
      continue;
    }
    answer(query, peer);
  }
}

void FakeDns::answer(const std::string& query, const sockaddr_in& peer) {
  std::string name;
  uint16_t type = 0;
  const std::string reply = reply_to(query, name, type);
  if (reply.empty()) return;
  (void)::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<const sockaddr*>(&peer), sizeof peer);
}

std::string FakeDns::reply_to(const std::string& query, std::string& name, uint16_t& type) const {
  // Header: ID, flags (QR opcode AA TC RD | RA Z RCODE), QDCOUNT, ANCOUNT,
  // NSCOUNT, ARCOUNT; then the question: QNAME labels, QTYPE, QCLASS.
  if (query.size() < kHeaderSize || (static_cast<uint8_t>(query[2]) & 0x80) != 0) return {};  // not a query
  const uint16_t qdcount = get16(query, 4);
  size_t at = kHeaderSize;
  name.clear();
  uint8_t rcode = 0;
  if (qdcount != 1) {
    rcode = kRcodeFormErr;
  } else {
    for (;;) {
      if (at >= query.size()) return {};
      const uint8_t label = static_cast<uint8_t>(query[at++]);
      if (label == 0) break;
      if (label > 63 || at + label > query.size()) return {};  // no compression in a question
      if (!name.empty()) name.push_back('.');
      name.append(query, at, label);
      at += label;
    }
    if (at + 4 > query.size()) return {};
    name = lower(name);
    type = get16(query, at);
    at += 4;
  }
  const uint16_t qclass = rcode == 0 ? get16(query, at - 2) : 0;
  auto known = names_.find(name);
  if (rcode == 0 && known == names_.end()) rcode = kRcodeNxDomain;
  const bool answers = rcode == 0 && type == kTypeA && qclass == kClassIn;

  std::string reply;
  reply.append(query, 0, 2);                                          // ID
  reply.push_back(static_cast<char>(0x80 | 0x04 | (query[2] & 0x79)));  // QR, AA; opcode and RD kept
  reply.push_back(static_cast<char>(0x80 | rcode));                   // RA, RCODE
  put16(reply, rcode == kRcodeFormErr ? 0 : 1);                       // QDCOUNT
  put16(reply, answers ? 1 : 0);                                      // ANCOUNT
  put16(reply, 0);                                                    // NSCOUNT
  put16(reply, 0);                                                    // ARCOUNT
  if (rcode == kRcodeFormErr) return reply;
  reply.append(query, kHeaderSize, at - kHeaderSize);  // the question, verbatim (its case too)
  if (answers) {
    put16(reply, 0xc00c);  // NAME: a pointer to the question's name, at offset 12
    put16(reply, kTypeA);
    put16(reply, kClassIn);
    put32(reply, ttl_);
    put16(reply, 4);  // RDLENGTH
    reply.append(reinterpret_cast<const char*>(&known->second.s_addr), 4);  // network order already
  }
  return reply;
}

}  // namespace moxi::test
