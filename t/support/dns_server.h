// FakeDns: a tiny DNS server the tests control, for moxi's -Z dns_servers.
//
// UDP on 127.0.0.1 at a port the OS chooses, served by its own thread
// (poll on the socket and a wake-up pipe: stop() never waits on a timer).
// Written from RFC 1035's wire format: a query's header and question are
// echoed, with QR, AA and RA set and the query's RD kept, and for a known
// name asked as A (class IN) one answer record follows, its name a
// compression pointer to the question (0xc00c). Names match in any case
// (resolvers randomise the case of their queries and check it comes back,
// which the verbatim echo does).
//
//   known name, type A      NOERROR, one A record (its TTL: set_ttl)
//   known name, other type  NOERROR, no answer (AAAA: moxi then uses the A)
//   unknown name            NXDOMAIN
//   held name (hold)        no answer until release(): a slow resolver
//
// Every method is thread-safe (one mutex); the serving thread never calls
// back into the test.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>

#include "t/support/deadline.h"

namespace moxi::test {

class FakeDns {
 public:
  FakeDns();   // bound and serving; throws std::runtime_error when it cannot bind
  ~FakeDns();  // stops the thread, closes the socket
  FakeDns(const FakeDns&) = delete;
  FakeDns& operator=(const FakeDns&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }  // for -Z dns_servers

  // `name` (any case) answers A with `ipv4` ("127.0.0.2") from now on.
  void set(const std::string& name, const std::string& ipv4);
  // `name` is unknown from now on: NXDOMAIN.
  void remove(const std::string& name);
  // Queries for `name` get no answer until release(name), which answers
  // those held with what the map says then.
  void hold(const std::string& name);
  void release(const std::string& name);
  void set_ttl(uint32_t seconds);

  // A queries received for `name` so far (held ones included).
  uint64_t queries(const std::string& name) const;
  // Waits until queries(name) >= n; false at the deadline.
  bool wait_queries(const std::string& name, uint64_t n, Deadline deadline) const;

 private:
  struct Held {
    std::string query;
    sockaddr_in peer;
  };
  void serve();
  void answer(const std::string& query, const sockaddr_in& peer);  // mutex_ held
  // The reply to `query`, or "" to drop it (malformed). `name` receives the
  // question's name, lower-cased, and `type` its QTYPE.
  std::string reply_to(const std::string& query, std::string& name, uint16_t& type) const;

  int fd_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::map<std::string, in_addr> names_;
  std::set<std::string> held_names_;
  std::vector<std::pair<std::string, Held>> held_;  // (name, query)
  std::map<std::string, uint64_t> queries_;
  uint32_t ttl_ = 60;
  std::thread thread_;
};

}  // namespace moxi::test
