// Backend names, end to end: moxi asks only FakeDns (-Z dns_servers), whose
// answers the test changes while moxi runs.
//   - a name that does not resolve fails its server only: moxi starts, the
//     other server's keys are served, the bad one's fail at once naming it;
//   - a name moved to another address (127.0.0.2, same port) is followed
//     when its server fails, under load, with clients that check every
//     value they read;
//   - a name that stops resolving leaves live connections alone; once the
//     server restarts the requests fail clearly, until the name is back;
//   - a name whose resolver does not answer holds up none of the other
//     servers (one worker: its loop never blocks on DNS).
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "t/proxy/cluster.h"
#include "t/support/client.h"
#include "t/support/dns_server.h"
#include "t/support/oracle.h"
#include "t/support/servers.h"

namespace moxi::test {
namespace {

using Clock = std::chrono::steady_clock;

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// moxi -t THREADS on 127.0.0.1, serving `servers` as a memcached pool,
// resolving names with `dns` only.
Moxi moxi_for(const FakeDns& dns, const std::string& servers, const std::string& more_behaviors = "",
              int threads = 1) {
  std::string behaviors = "downstream_protocol=ascii,dns_servers=" + dns.address();
  if (!more_behaviors.empty()) behaviors += "," + more_behaviors;
  return Moxi({"-l", "127.0.0.1", "-t", std::to_string(threads), "-Z", behaviors, "-z", "0=" + servers});
}

class DnsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DnsTest);
  CPPUNIT_TEST(testAnUnresolvableNameFailsOnlyItsServer);
  CPPUNIT_TEST(testAMovedNameIsFollowedUnderLoad);
  CPPUNIT_TEST(testLiveConnectionsOutliveTheNameThenFailClearly);
  CPPUNIT_TEST(testASlowNameHoldsUpNoOtherServer);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testAnUnresolvableNameFailsOnlyItsServer() {
    FakeDns dns;
    Memcached good;
    dns.set("a.moxi.test", "127.0.0.1");
    const std::string bad = "nowhere.moxi.test:" + std::to_string(unused_loopback_port());
    const std::vector<std::string> servers{"a.moxi.test:" + std::to_string(good.port()), bad};
    oracle::Ketama ring(servers);
    auto on = [&](int server, const std::string& prefix) {
      return oracle::first_key_on([&](std::string_view k) { return ring.owner(k); }, server, prefix);
    };
    // A long connect_timeout: a failure within it is the NXDOMAIN, not a timeout.
    Moxi moxi = moxi_for(dns, servers[0] + "," + servers[1], "connect_timeout=5000", 2);
    TestClient c(moxi.port(), std::chrono::seconds(5));
    TestClient direct(good.port());
    for (int i = 0; i < 10; ++i) {
      const std::string ok = on(0, "ok" + std::to_string(i) + "-");
      CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), std::string("STORED"), c.set(ok, "v" + std::to_string(i)));
      CPPUNIT_ASSERT_EQUAL(std::string("v" + std::to_string(i)), direct.get(ok).value_or("(miss)"));
      const std::string ko = on(1, "ko" + std::to_string(i) + "-");
      const auto start = Clock::now();
      const std::string reply = c.set(ko, "x");
      CPPUNIT_ASSERT_MESSAGE(reply, reply == "SERVER_ERROR proxy write to downstream " + bad ||
                                        reply == "SERVER_ERROR proxy downstream down " + bad);
      CPPUNIT_ASSERT_MESSAGE(std::to_string(elapsed_ms(start)) + " ms", elapsed_ms(start) < 2000);
    }
    CPPUNIT_ASSERT(stat(stats_proxy(c), "backend_resolve_failures_total") >= 1);
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), moxi.log().find("resolve failed: nowhere.moxi.test: ") != std::string::npos);
    CPPUNIT_ASSERT(dns.queries("nowhere.moxi.test") >= 1);
  }

  void testAMovedNameIsFollowedUnderLoad() {
    FakeDns dns;
    Memcached first;
    Memcached second("127.0.0.2", first.port());
    dns.set("m.moxi.test", "127.0.0.1");
    Moxi moxi = moxi_for(dns, "m.moxi.test:" + std::to_string(first.port()));
    {
      TestClient c(moxi.port());
      CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), std::string("STORED"), c.set("before", "1"));
    }
    TestClient on_first(first.port());
    TestClient on_second("127.0.0.2", second.port());
    CPPUNIT_ASSERT_EQUAL(std::string("1"), on_first.get("before").value_or("(miss)"));
    const uint64_t asked = dns.queries("m.moxi.test");

    // Clients that check every value: a get answers a value this client
    // stored for the key (its last acknowledged one, or one whose set failed
    // since), a miss (the new server starts empty) or a SERVER_ERROR while
    // the server changes; anything else is a wrong value.
    constexpr int kClients = 4, kKeys = 20;
    std::atomic<bool> stop{false};
    std::mutex mutex;
    std::condition_variable progress;
    uint64_t stored = 0;  // acknowledged sets, under mutex
    std::vector<std::string> wrong;
    auto wait_stored = [&](uint64_t n) {
      std::unique_lock lock(mutex);
      return progress.wait_for(lock, std::chrono::seconds(10), [&] { return stored >= n || !wrong.empty(); });
    };
    auto client = [&](int id) {
      auto fail = [&](const std::string& what) {
        std::lock_guard lock(mutex);
        wrong.push_back(what);
        progress.notify_all();
      };
      try {
        TestClient c(moxi.port(), std::chrono::seconds(5));
        std::map<std::string, std::set<std::string>> allowed;
        for (uint64_t n = 0; !stop.load(); ++n) {
          const std::string key = "c" + std::to_string(id) + "-" + std::to_string(n % kKeys);
          const std::string value = std::to_string(id) + ":" + std::to_string(n);
          const std::string reply = c.set(key, value);
          if (reply == "STORED") {
            allowed[key] = {value};
            std::lock_guard lock(mutex);
            ++stored;
            progress.notify_all();
          } else if (starts_with(reply, "SERVER_ERROR ")) {
            allowed[key].insert(value);  // it may have been stored all the same
          } else {
            fail(key + ": set answered " + reply);
          }
          c.send("get " + key + "\r\n");
          const std::string line = c.read_line();
          if (starts_with(line, "VALUE " + key + " 0 ")) {
            const std::string got = c.read_exact(std::stoul(line.substr(line.rfind(' ') + 1)) + 2);
            const std::string end = c.read_line();
            const std::string got_value = got.substr(0, got.size() - 2);
            if (allowed[key].count(got_value) == 0 || end != "END") fail(key + ": got " + got_value + " " + end);
          } else if (line != "END" && !starts_with(line, "SERVER_ERROR ")) {
            fail(key + ": get answered " + line);
          }
        }
      } catch (const std::exception& e) {
        fail(std::string("client ") + std::to_string(id) + ": " + e.what());
      }
    };
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) clients.emplace_back(client, i);
    auto stored_now = [&] {
      std::lock_guard lock(mutex);
      return stored;
    };

    // The name moves; the live connection stays where it is.
    dns.set("m.moxi.test", "127.0.0.2");
    CPPUNIT_ASSERT(wait_stored(200));
    const uint64_t stored_on_first = stored_now();
    CPPUNIT_ASSERT_EQUAL_MESSAGE("a live connection was re-resolved", asked, dns.queries("m.moxi.test"));
    CPPUNIT_ASSERT(on_second.get("c0-0") == std::nullopt);

    // The first server dies: the reconnect asks again and finds the second.
    first.stop();
    bool moved = false;
    for (const auto deadline = Clock::now() + std::chrono::seconds(10); !moved && Clock::now() < deadline;)
      moved = on_second.get("c0-0").has_value() || on_second.get("c1-0").has_value();
    const bool went_on = moved && wait_stored(stored_now() + 200);
    stop = true;
    for (auto& t : clients) t.join();
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), moved);
    CPPUNIT_ASSERT(went_on);
    CPPUNIT_ASSERT(stored_now() > stored_on_first + 200);
    CPPUNIT_ASSERT(dns.queries("m.moxi.test") > asked);
    std::string all_wrong;
    for (const auto& w : wrong) all_wrong += w + "\n";
    CPPUNIT_ASSERT_MESSAGE(all_wrong, wrong.empty());
    // Everything now goes to the second server, and reads back.
    TestClient c(moxi.port());
    for (int k = 0; k < kKeys; ++k) {
      const std::string key = "final" + std::to_string(k);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), std::string("STORED"), c.set(key, "f" + std::to_string(k)));
      CPPUNIT_ASSERT_EQUAL(std::string("f" + std::to_string(k)), on_second.get(key).value_or("(miss)"));
      CPPUNIT_ASSERT_EQUAL(std::string("f" + std::to_string(k)), c.get(key).value_or("(miss)"));
    }
  }

  void testLiveConnectionsOutliveTheNameThenFailClearly() {
    FakeDns dns;
    Memcached mc;
    dns.set("n.moxi.test", "127.0.0.1");
    const std::string address = "n.moxi.test:" + std::to_string(mc.port());
    // dns_ttl=0: every new connection asks; failures never take it down, so
    // each request shows what one connect attempt does.
    Moxi moxi = moxi_for(dns, address, "dns_ttl=0,connect_max_errors=0");
    TestClient c(moxi.port(), std::chrono::seconds(5));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), std::string("STORED"), c.set("k", "1"));
    const uint64_t asked = dns.queries("n.moxi.test");

    dns.remove("n.moxi.test");
    for (int i = 0; i < 50; ++i) CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k" + std::to_string(i), "v"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("a live connection was re-resolved", asked, dns.queries("n.moxi.test"));

    // The server restarts (same address): its connection is gone, and a new
    // one needs the name, which does not resolve.
    mc.restart();
    bool failed_clearly = false;
    for (int i = 0; i < 20 && !failed_clearly; ++i) {
      const std::string reply = c.set("after", "x");
      CPPUNIT_ASSERT_MESSAGE(reply, starts_with(reply, "SERVER_ERROR proxy ") && reply.ends_with(" " + address));
      failed_clearly = reply == "SERVER_ERROR proxy write to downstream " + address;
    }
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), failed_clearly);
    CPPUNIT_ASSERT(stat(stats_proxy(c), "backend_resolve_failures_total") >= 1);
    CPPUNIT_ASSERT(TestClient(mc.port()).get("after") == std::nullopt);

    dns.set("n.moxi.test", "127.0.0.1");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), std::string("STORED"), c.set("after", "back"));
    CPPUNIT_ASSERT_EQUAL(std::string("back"), TestClient(mc.port()).get("after").value_or("(miss)"));
  }

  void testASlowNameHoldsUpNoOtherServer() {
    FakeDns dns;
    Memcached fast, slow;
    dns.set("fast.moxi.test", "127.0.0.1");
    dns.set("slow.moxi.test", "127.0.0.1");
    const std::vector<std::string> servers{"fast.moxi.test:" + std::to_string(fast.port()),
                                           "slow.moxi.test:" + std::to_string(slow.port())};
    oracle::Ketama ring(servers);
    auto on = [&](int server, const std::string& prefix) {
      return oracle::first_key_on([&](std::string_view k) { return ring.owner(k); }, server, prefix);
    };
    dns.hold("slow.moxi.test");
    // One worker, and a connect_timeout longer than the test: the held
    // request waits for its name, while the worker serves the other server.
    Moxi moxi = moxi_for(dns, servers[0] + "," + servers[1], "connect_timeout=30000,downstream_timeout=30000");
    TestClient waiting(moxi.port(), std::chrono::seconds(10));
    const std::string slow_key = on(1, "slow");
    waiting.send("set " + slow_key + " 0 0 1\r\ns\r\n");
    CPPUNIT_ASSERT(dns.wait_queries("slow.moxi.test", 1, std::chrono::seconds(5)));

    TestClient c(moxi.port());
    for (int i = 0; i < 50; ++i) {
      const std::string key = on(0, "fast" + std::to_string(i) + "-");
      CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), std::string("STORED"), c.set(key, "f"));
      CPPUNIT_ASSERT_EQUAL(std::string("f"), c.get(key).value_or("(miss)"));
    }
    CPPUNIT_ASSERT(TestClient(slow.port()).get(slow_key) == std::nullopt);  // still waiting for its name

    dns.release("slow.moxi.test");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), std::string("STORED"), waiting.read_line());
    CPPUNIT_ASSERT_EQUAL(std::string("s"), TestClient(slow.port()).get(slow_key).value_or("(miss)"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DnsTest);

}  // namespace
}  // namespace moxi::test
