// BackendAddress and Resolver (src/backend/resolver.h) against FakeDns
// (t/support/dns_server.h), on an event_base the test drives, with the
// worker's clock passed in: when a cached address is reused, when the name
// is asked again (TTL, a failure of the server), a name that stops
// resolving and comes back, several connections waiting on one lookup, and
// a lookup cancelled by its owner's destruction. Also the IP literals of
// backend_server and the -Z dns_servers syntax.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>

#include <memory>
#include <string>
#include <vector>

#include "src/routing/snapshot.h"
#include "src/backend/resolver.h"
#include "t/support/dns_server.h"

namespace moxi::test {
namespace {

using Lookup = backend::BackendAddress::Lookup;

struct Waiter final : backend::BackendAddress::Waiter {
  int calls = 0;
  std::string error;
  void on_address(const std::string& e) override {
    ++calls;
    error = e;
  }
};

BackendServer named(const std::string& host, uint16_t port = 11211) {
  BackendServer s;
  s.host = host;
  s.port = port;
  s.address = host + ":" + std::to_string(port);
  return s;
}

std::string ip_of(const backend::BackendAddress& a) {
  if (a.address_len() == 0) return "none";
  const auto* sin = reinterpret_cast<const sockaddr_in*>(a.address());
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
  return std::string(text) + ":" + std::to_string(ntohs(sin->sin_port));
}

class ResolverTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ResolverTest);
  CPPUNIT_TEST(testLiteralsNeedNoLookup);
  CPPUNIT_TEST(testAnswerIsKeptForTheTtl);
  CPPUNIT_TEST(testAFailureAsksAgainAndFollowsAMove);
  CPPUNIT_TEST(testANameThatStopsResolvingAndComesBack);
  CPPUNIT_TEST(testTtlZeroAsksForEveryConnection);
  CPPUNIT_TEST(testWaitersShareOneLookup);
  CPPUNIT_TEST(testDestroyedWithALookupInFlight);
  CPPUNIT_TEST(testResolveNow);
  CPPUNIT_TEST(testDnsServersSyntax);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    base_.reset(event_base_new());
    resolver_ = std::make_unique<backend::Resolver>(base_.get(), std::vector<std::string>{dns_.address()});
    dns_.set("a.moxi.test", "127.0.0.2");
  }
  void tearDown() override { resolver_.reset(); }

  // Runs the loop until `w` was called back (bounded by a timer).
  void run_until_called(const Waiter& w) {
    bool expired = false;
    event* guard = evtimer_new(
        base_.get(), [](evutil_socket_t, short, void* flag) { *static_cast<bool*>(flag) = true; }, &expired);
    const timeval five_s{5, 0};
    evtimer_add(guard, &five_s);
    const int before = w.calls;
    while (w.calls == before && !expired) event_base_loop(base_.get(), EVLOOP_ONCE);
    event_free(guard);
    CPPUNIT_ASSERT_MESSAGE("no answer within 5 s", w.calls > before);
  }

  void testLiteralsNeedNoLookup() {
    vbucket::Server v4;
    v4.host = "127.0.0.5";
    v4.port = 7;
    vbucket::Server v6;
    v6.host = "[::1]";
    v6.port = 8;
    vbucket::Server name;
    name.host = "a.moxi.test";
    name.port = 9;
    CPPUNIT_ASSERT(!backend_server(v4).is_name());
    CPPUNIT_ASSERT(!backend_server(v6).is_name());
    CPPUNIT_ASSERT_EQUAL(AF_INET6, static_cast<int>(backend_server(v6).sockaddr.ss_family));
    CPPUNIT_ASSERT(backend_server(name).is_name());
    backend::BackendAddress a(backend_server(v4), *resolver_, 1000);
    Waiter w;
    std::string error;
    CPPUNIT_ASSERT(a.lookup(&w, 0, error) == Lookup::Ready);
    CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.5:7"), ip_of(a));
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, dns_.queries("127.0.0.5"));
  }

  void testAnswerIsKeptForTheTtl() {
    backend::BackendAddress a(named("A.Moxi.Test"), *resolver_, 1000);
    Waiter w;
    std::string error;
    CPPUNIT_ASSERT(a.lookup(&w, 100, error) == Lookup::Pending);
    run_until_called(w);
    CPPUNIT_ASSERT_EQUAL(std::string(), w.error);
    CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.2:11211"), ip_of(a));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, dns_.queries("a.moxi.test"));
    // Fresh for dns_ttl from when it was asked.
    CPPUNIT_ASSERT(a.lookup(&w, 1099, error) == Lookup::Ready);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, dns_.queries("a.moxi.test"));
    CPPUNIT_ASSERT(a.lookup(&w, 1100, error) == Lookup::Pending);
    run_until_called(w);
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, dns_.queries("a.moxi.test"));
    CPPUNIT_ASSERT(a.lookup(&w, 1200, error) == Lookup::Ready);
  }

  void testAFailureAsksAgainAndFollowsAMove() {
    backend::BackendAddress a(named("a.moxi.test"), *resolver_, 60000);
    Waiter w;
    std::string error;
    CPPUNIT_ASSERT(a.lookup(&w, 0, error) == Lookup::Pending);
    run_until_called(w);
    dns_.set("a.moxi.test", "127.0.0.3");
    CPPUNIT_ASSERT(a.lookup(&w, 10, error) == Lookup::Ready);  // fresh: not asked
    CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.2:11211"), ip_of(a));
    a.on_server_failure();
    CPPUNIT_ASSERT(a.lookup(&w, 20, error) == Lookup::Pending);
    run_until_called(w);
    CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.3:11211"), ip_of(a));
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, dns_.queries("a.moxi.test"));
    CPPUNIT_ASSERT(a.lookup(&w, 30, error) == Lookup::Ready);
  }

  void testANameThatStopsResolvingAndComesBack() {
    backend::BackendAddress a(named("a.moxi.test"), *resolver_, 60000);
    Waiter w;
    std::string error;
    CPPUNIT_ASSERT(a.lookup(&w, 0, error) == Lookup::Pending);
    run_until_called(w);
    dns_.remove("a.moxi.test");
    a.on_server_failure();
    CPPUNIT_ASSERT(a.lookup(&w, 10, error) == Lookup::Pending);
    run_until_called(w);
    CPPUNIT_ASSERT_MESSAGE(w.error, w.error.rfind("resolve failed: a.moxi.test: ", 0) == 0);
    CPPUNIT_ASSERT_EQUAL(std::string("none"), ip_of(a));  // the old address is not used
    // Not cached as a failure: the next connect asks again.
    dns_.set("a.moxi.test", "127.0.0.4");
    CPPUNIT_ASSERT(a.lookup(&w, 20, error) == Lookup::Pending);
    run_until_called(w);
    CPPUNIT_ASSERT_EQUAL(std::string(), w.error);
    CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.4:11211"), ip_of(a));
  }

  void testTtlZeroAsksForEveryConnection() {
    backend::BackendAddress a(named("a.moxi.test"), *resolver_, 0);
    Waiter w;
    std::string error;
    for (uint64_t i = 1; i <= 3; ++i) {
      CPPUNIT_ASSERT(a.lookup(&w, 0, error) == Lookup::Pending);
      run_until_called(w);
      CPPUNIT_ASSERT_EQUAL(i, dns_.queries("a.moxi.test"));
    }
  }

  void testWaitersShareOneLookup() {
    backend::BackendAddress a(named("a.moxi.test"), *resolver_, 1000);
    Waiter w1, w2, gone;
    std::string error;
    dns_.hold("a.moxi.test");
    CPPUNIT_ASSERT(a.lookup(&w1, 0, error) == Lookup::Pending);
    CPPUNIT_ASSERT(a.lookup(&gone, 0, error) == Lookup::Pending);
    CPPUNIT_ASSERT(a.lookup(&w2, 0, error) == Lookup::Pending);
    a.forget(&gone);  // its connect timed out
    CPPUNIT_ASSERT(dns_.wait_queries("a.moxi.test", 1, std::chrono::seconds(5)));
    dns_.release("a.moxi.test");
    run_until_called(w1);
    CPPUNIT_ASSERT_EQUAL(1, w2.calls);
    CPPUNIT_ASSERT_EQUAL(0, gone.calls);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, dns_.queries("a.moxi.test"));
  }

  void testDestroyedWithALookupInFlight() {
    dns_.hold("a.moxi.test");
    Waiter w;
    {
      backend::BackendAddress a(named("a.moxi.test"), *resolver_, 1000);
      std::string error;
      CPPUNIT_ASSERT(a.lookup(&w, 0, error) == Lookup::Pending);
      CPPUNIT_ASSERT(dns_.wait_queries("a.moxi.test", 1, std::chrono::seconds(5)));
      a.forget(&w);
    }
    dns_.release("a.moxi.test");  // the answer finds nobody (ASan: no use after free)
    event_base_loop(base_.get(), EVLOOP_NONBLOCK);
    CPPUNIT_ASSERT_EQUAL(0, w.calls);
  }

  void testResolveNow() {
    const std::vector<std::string> servers{dns_.address()};
    CPPUNIT_ASSERT_EQUAL(std::string(), backend::resolve_now(named("a.moxi.test"), servers));
    const std::string error = backend::resolve_now(named("nowhere.moxi.test"), servers);
    CPPUNIT_ASSERT_MESSAGE(error, error.rfind("resolve failed: nowhere.moxi.test: ", 0) == 0);
    vbucket::Server literal;
    literal.host = "127.0.0.1";
    literal.port = 1;
    CPPUNIT_ASSERT_EQUAL(std::string(), backend::resolve_now(backend_server(literal), servers));
  }

  void testDnsServersSyntax() {
    std::vector<std::string> out;
    CPPUNIT_ASSERT(!backend::parse_dns_servers("127.0.0.1:5353| 10.0.0.1 |[::1]:53", out));
    CPPUNIT_ASSERT_EQUAL(size_t{3}, out.size());
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.1"), out[1]);
    auto err = backend::parse_dns_servers("127.0.0.1|dns.example", out);
    CPPUNIT_ASSERT(err);
    CPPUNIT_ASSERT_MESSAGE(*err, err->find("\"dns.example\" is not a nameserver address") == 0);
    CPPUNIT_ASSERT_EQUAL(size_t{3}, out.size());  // unchanged on error
    CPPUNIT_ASSERT(backend::parse_dns_servers("127.0.0.1||127.0.0.2", out));
  }

 private:
  FakeDns dns_;
  std::unique_ptr<event_base, void (*)(event_base*)> base_{nullptr, &event_base_free};
  std::unique_ptr<backend::Resolver> resolver_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ResolverTest);

}  // namespace
}  // namespace moxi::test
