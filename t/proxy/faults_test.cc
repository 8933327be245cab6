// What clients see when backends die, stall or come back, and when clients
// send garbage: exactly memcached's replies for malformed input, prompt
// SERVER_ERRORs (never a hang) for dead backends, and recovery without a
// restart of moxi.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "t/proxy/cluster.h"
#include "t/support/oracle.h"

namespace moxi::test {
namespace {

// Reads reply lines up to the END of the sync marker, or until the peer closes.
std::vector<std::string> replies_until_sync(TestClient& c) {
  std::vector<std::string> lines;
  try {
    for (;;) {
      std::string line = c.read_line();
      if (line == "END") break;
      lines.push_back(line);
    }
  } catch (const PeerClosed&) {
    lines.push_back("<closed>");
  }
  return lines;
}

std::string key_on(const Cluster& cluster, int backend, const std::string& prefix) {
  for (int i = 0;; ++i) {
    std::string k = prefix + std::to_string(i);
    if (cluster.owner(k) == backend) return k;
  }
}

// Clients that keep writing and reading their own keys while a test breaks
// things, checking every reply: a read must give a value that was written
// for that key (stored, or sent and then failed, never one refused unsent;
// a stale one is allowed: an ejected server's keys read their
// old values when it returns), a miss, or a SERVER_ERROR; a write must be
// STORED or a SERVER_ERROR. Anything else is a wrong value.
class VerifyingLoad {
 public:
  VerifyingLoad(int port, int clients, int keys_per_client) {
    for (int id = 0; id < clients; ++id)
      threads_.emplace_back([this, port, id, keys_per_client] { run(port, id, keys_per_client); });
  }
  ~VerifyingLoad() { stop(); }
  // Stops the clients; the wrong replies seen, "" if none.
  std::string stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    std::lock_guard lock(mutex_);
    return wrong_;
  }
  uint64_t stored() const { return stored_; }

 private:
  void run(int port, int id, int keys) {
    std::map<std::string, std::set<std::string>> written;
    try {
      TestClient c(port);
      for (uint64_t seq = 0; !stop_; ++seq) {
        const std::string key = "load" + std::to_string(id) + "-" + std::to_string(seq % keys);
        const std::string value = "v" + std::to_string(id) + "." + std::to_string(seq);
        const std::string reply = c.set(key, value);
        if (reply == "STORED") {
          written[key].insert(value);
          ++stored_;
        } else if (reply.rfind("SERVER_ERROR proxy downstream down ", 0) == 0) {
          // Refused before it was sent: this value must never be read.
        } else if (reply.rfind("SERVER_ERROR ", 0) == 0) {
          // Sent, then failed (a timeout, a closed connection): the server
          // may still apply it (a stopped one does once it runs again), as
          // with any memcached client, so reading it later is right.
          written[key].insert(value);
        } else {
          note(key + ": set answered " + reply);
        }
        c.send("get " + key + "\r\n");
        const std::string line = c.read_line();
        if (line.rfind("VALUE " + key + " 0 ", 0) == 0) {
          const std::string got = c.read_exact(std::stoul(line.substr(line.rfind(' ') + 1)) + 2);
          const std::string end = c.read_line();
          if (!written[key].count(got.substr(0, got.size() - 2)) || end != "END") note(key + ": got " + got);
        } else if (line != "END" && line.rfind("SERVER_ERROR ", 0) != 0) {
          note(key + ": get answered " + line);
        }
      }
    } catch (const std::exception& e) {
      note("client " + std::to_string(id) + ": " + e.what());
    }
  }
  void note(const std::string& what) {
    std::lock_guard lock(mutex_);
    wrong_ += what + "\n";
  }

  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> stored_{0};
  std::mutex mutex_;
  std::string wrong_;
  std::vector<std::thread> threads_;
};

class FaultsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(FaultsTest);
  CPPUNIT_TEST(testMalformedInputMatchesMemcached);
  CPPUNIT_TEST(testBackendKilledThenRestarted);
  CPPUNIT_TEST(testBackendStoppedTimesOutOthersUnaffected);
  CPPUNIT_TEST(testRefusedBackendFailsFast);
  CPPUNIT_TEST(testStoppedBackendIsTakenDownThenProbedBack);
  CPPUNIT_TEST(testOneTimeoutTakesTheServerDownOnEveryWorker);
  CPPUNIT_TEST(testStoppedBackendUnderVerifyingLoad);
  CPPUNIT_TEST(testEjectModeMovesADownServersKeysAndBringsThemBack);
  CPPUNIT_TEST(testDownPolicyPerPool);
  CPPUNIT_TEST(testOneBlipDoesNotEjectAndFlappingIsDamped);
  CPPUNIT_TEST(testTruncatedClientInputHarmsNobody);
  CPPUNIT_TEST(testMultigetWithDeadServerGivesMisses);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testMalformedInputMatchesMemcached() {
    Cluster cluster;
    const std::string long_key(251, 'k');
    const std::vector<std::string> inputs = {
        "bogus\r\n",
        "\r\n",
        "set k 0 0 abc\r\n",
        "set k 0 0 -1\r\n",
        "set k abc 0 1\r\nx\r\n",
        "set k 0 0 3\r\nabcd\r\n",
        "set k 0 0\r\n",
        "get\r\n",
        "get " + long_key + "\r\n",
        "set " + long_key + " 0 0 1\r\nx\r\n",
        "incr k abc\r\n",
        "incr k\r\n",
        "delete k 5\r\n",
        "touch k\r\n",
        "verbosity\r\n",
        "flush_all abc\r\n",
        "cas k 0 0 1\r\nx\r\n",
        "set k 0 0 2000000\r\n" + std::string(2000000, 'x') + "\r\n",
        // Value lengths memcached truncates to a 32-bit int: -1, INT_MAX,
        // INT_MAX - 1 (no room for the CRLF) and INT_MIN. (2^32, truncated
        // to 0, eats the start of the next line: not comparable this way.)
        "set k 0 0 4294967295\r\n",
        "set k 0 0 2147483647\r\n",
        "set k 0 0 2147483646\r\n",
        "set k 0 0 2147483648\r\n",
        "GET k\r\n",
    };
    for (const auto& input : inputs) {
      TestClient proxy = cluster.client();
      TestClient direct = cluster.direct(0);
      proxy.send(input + "get __sync__\r\n");
      direct.send(input + "get __sync__\r\n");
      auto expected = replies_until_sync(direct);
      auto got = replies_until_sync(proxy);
      std::string what = "input: " + escape_bytes(input, 60);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(what, expected.size(), got.size());
      for (size_t i = 0; i < expected.size(); ++i) CPPUNIT_ASSERT_EQUAL_MESSAGE(what, expected[i], got[i]);
    }
  }

  void testBackendKilledThenRestarted() {
    ClusterOptions o;
    o.behaviors = {"downstream_timeout=2000"};
    Cluster cluster(o);
    const std::string k0 = key_on(cluster, 0, "dead"), k1 = key_on(cluster, 1, "alive");
    TestClient c = cluster.client();
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(k0, "a"));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(k1, "b"));
    cluster.backend(0).kill(SIGKILL);
    std::string reply = c.set(k0, "again");
    CPPUNIT_ASSERT_MESSAGE(reply, reply.rfind("SERVER_ERROR proxy ", 0) == 0);
    CPPUNIT_ASSERT_EQUAL(std::string("b"), c.get(k1).value());
    cluster.backend(0).restart();
    // Service resumes by itself once the reconnect backoff (at most 1 s) passes.
    Deadline deadline = Deadline(std::chrono::seconds(10));
    while ((reply = c.set(k0, "back")) != "STORED") {
      CPPUNIT_ASSERT_MESSAGE("moxi never reconnected: " + reply, !deadline.expired());
      CPPUNIT_ASSERT_MESSAGE(reply, reply.rfind("SERVER_ERROR proxy ", 0) == 0);
    }
    CPPUNIT_ASSERT_EQUAL(std::string("back"), c.get(k0).value());
  }

  void testBackendStoppedTimesOutOthersUnaffected() {
    ClusterOptions o;
    o.behaviors = {"downstream_timeout=300"};
    Cluster cluster(o);
    const std::string k0 = key_on(cluster, 0, "stop"), k1 = key_on(cluster, 1, "run");
    TestClient c = cluster.client();
    TestClient other = cluster.client();
    c.set(k0, "x");
    cluster.backend(0).pause();
    c.send("get " + k0 + "\r\n");
    // While the first client waits, the other backend serves the other client.
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), other.set(k1, "y"));
    CPPUNIT_ASSERT_EQUAL(std::string("y"), other.get(k1).value());
    CPPUNIT_ASSERT_EQUAL("SERVER_ERROR proxy downstream timeout " + cluster.backend(0).address(), c.read_line());
    cluster.backend(0).resume();
    Deadline deadline = Deadline(std::chrono::seconds(10));
    std::optional<std::string> v;
    for (;;) {
      c.send("get " + k0 + "\r\n");
      std::string line = c.read_line();
      if (line.rfind("VALUE ", 0) == 0) {
        CPPUNIT_ASSERT_EQUAL(std::string("x"), c.read_line());
        CPPUNIT_ASSERT_EQUAL(std::string("END"), c.read_line());
        break;
      }
      CPPUNIT_ASSERT_MESSAGE("no recovery: " + line, !deadline.expired());
    }
  }

  void testRefusedBackendFailsFast() {
    Cluster cluster;
    const std::string k0 = key_on(cluster, 0, "refused");
    cluster.backend(0).stop();
    TestClient c = cluster.client();
    for (int i = 0; i < 5; ++i) {
      std::string reply = c.set(k0, "x");
      CPPUNIT_ASSERT_EQUAL("SERVER_ERROR proxy write to downstream " + cluster.backend(0).address(), reply);
    }
  }

  // A stopped (SIGSTOP) backend: the first request finds it by its
  // timeout, and the server is down from then on: later requests fail at
  // once (no further timeout is counted) naming it as host:port, until a
  // probe finds it answering again after SIGCONT.
  void testStoppedBackendIsTakenDownThenProbedBack() {
    ClusterOptions o;
    o.behaviors = {"downstream_timeout=300", "probe_interval=100"};
    o.extra_args = {"-t", "1"};
    Cluster cluster(o);
    const std::string k0 = key_on(cluster, 0, "stalled"), k1 = key_on(cluster, 1, "fine");
    const std::string address = cluster.backend(0).address();
    TestClient c = cluster.client();
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(k0, "x"));
    cluster.backend(0).pause();
    CPPUNIT_ASSERT_EQUAL("SERVER_ERROR proxy downstream timeout " + address, c.request("get " + k0));
    for (int i = 0; i < 5; ++i)
      CPPUNIT_ASSERT_EQUAL("SERVER_ERROR proxy downstream down " + address, c.request("get " + k0));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(k1, "y"));  // the other server is not concerned
    Stats stats = stats_proxy(c);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats, "backend_timeouts_total"));  // only the first waited
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats, "backend_down_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats, "backend_in_backoff:" + address));
    const std::string health = stats.at("backend_health:" + address);
    CPPUNIT_ASSERT_MESSAGE(health, health == "down" || health == "probing");
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats, "backend_server_downs_total:" + address));
    CPPUNIT_ASSERT_EQUAL(std::string("healthy"), stats.at("backend_health:" + cluster.backend(1).address()));
    // Probes meet the stopped server (each times out), then find it again.
    for (Deadline d(std::chrono::seconds(10)); stat(stats_proxy(c), "backend_probes_total") < 2;)
      CPPUNIT_ASSERT(!d.expired());
    cluster.backend(0).resume();
    std::string reply;
    for (Deadline d(std::chrono::seconds(10)); (reply = c.request("get " + k0)) != "VALUE " + k0 + " 0 1";)
      CPPUNIT_ASSERT_MESSAGE("no recovery: " + reply, !d.expired());
    CPPUNIT_ASSERT_EQUAL(std::string("x"), c.read_line());
    CPPUNIT_ASSERT_EQUAL(std::string("END"), c.read_line());
    stats = stats_proxy(c);
    CPPUNIT_ASSERT(stat(stats, "backend_recoveries_total") >= 1);
    CPPUNIT_ASSERT(stats.count("backend_in_backoff:" + address) == 0 || stats["backend_in_backoff:" + address] == "0");
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats, "backend_down_total"));  // one outage
    const std::string back = stats.at("backend_health:" + address);
    CPPUNIT_ASSERT_MESSAGE(back, back == "suspect" || back == "healthy");  // on probation, or past it
  }

  // Workers share what they find: after one timeout on one worker, a client
  // of any other worker (each new connection goes to the next worker in
  // turn) is refused at once, and no second timeout is paid. After SIGCONT,
  // every worker serves the server again.
  void testOneTimeoutTakesTheServerDownOnEveryWorker() {
    constexpr int kWorkers = 4;
    ClusterOptions o;
    o.behaviors = {"downstream_timeout=300", "probe_interval=100"};
    o.extra_args = {"-t", std::to_string(kWorkers)};
    Cluster cluster(o);
    const std::string k0 = key_on(cluster, 0, "stalled");
    const std::string address = cluster.backend(0).address();
    {
      TestClient c = cluster.client();
      CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(k0, "x"));
    }
    cluster.backend(0).pause();
    TestClient first = cluster.client();
    CPPUNIT_ASSERT_EQUAL("SERVER_ERROR proxy downstream timeout " + address, first.request("get " + k0));
    // stats proxy asks every worker through its notify queue, after the
    // news of the outage: once it answers, every worker knows.
    Stats stats = stats_proxy(first);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats, "backend_down_total"));  // found once
    for (int i = 0; i < 2 * kWorkers; ++i) {
      TestClient c = cluster.client();  // each on the next worker
      CPPUNIT_ASSERT_EQUAL_MESSAGE("client " + std::to_string(i) + ", workers with it down: " +
                                       std::to_string(stat(stats, "backend_in_backoff:" + address)),
                                   "SERVER_ERROR proxy downstream down " + address, c.request("get " + k0));
    }
    stats = stats_proxy(first);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats, "backend_timeouts_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats, "backend_server_downs_total:" + address));
    CPPUNIT_ASSERT_EQUAL(uint64_t{kWorkers}, stat(stats, "backend_in_backoff:" + address));
    cluster.backend(0).resume();
    for (int i = 0; i < 2 * kWorkers; ++i) {
      TestClient c = cluster.client();
      std::string reply;
      for (Deadline d(std::chrono::seconds(10)); (reply = c.request("get " + k0)) != "VALUE " + k0 + " 0 1";)
        CPPUNIT_ASSERT_MESSAGE("no recovery: " + reply, !d.expired());
      CPPUNIT_ASSERT_EQUAL(std::string("x"), c.read_line());
      CPPUNIT_ASSERT_EQUAL(std::string("END"), c.read_line());
    }
  }

  // The same outage under load: clients keep writing and reading keys of
  // both servers; while one is stopped the others' keys are served (the
  // load makes progress), every reply is right or a SERVER_ERROR, and after
  // SIGCONT the stopped server's keys are served again.
  void testStoppedBackendUnderVerifyingLoad() {
    ClusterOptions o;
    o.behaviors = {"downstream_timeout=300", "probe_interval=100"};
    Cluster cluster(o);
    const std::string k0 = key_on(cluster, 0, "stalled");
    VerifyingLoad load(cluster.port(), 4, 20);
    for (Deadline d(std::chrono::seconds(10)); load.stored() < 100;) CPPUNIT_ASSERT(!d.expired());
    cluster.backend(0).pause();
    uint64_t stored = load.stored();
    for (Deadline d(std::chrono::seconds(10)); load.stored() < stored + 200;) CPPUNIT_ASSERT(!d.expired());
    TestClient c = cluster.client();
    const std::string down = c.set(k0, "x");
    CPPUNIT_ASSERT_MESSAGE(down, down.rfind("SERVER_ERROR proxy downstream ", 0) == 0);
    cluster.backend(0).resume();
    for (Deadline d(std::chrono::seconds(10)); c.set(k0, "back") != "STORED";) CPPUNIT_ASSERT(!d.expired());
    CPPUNIT_ASSERT_EQUAL(std::string("back"), c.get(k0).value_or("<miss>"));
    stored = load.stored();
    for (Deadline d(std::chrono::seconds(10)); load.stored() < stored + 100;) CPPUNIT_ASSERT(!d.expired());
    const std::string wrong = load.stop();
    CPPUNIT_ASSERT_MESSAGE(wrong, wrong.empty());
  }

  // -Z down_policy=eject: once the server is down its keys are stored where
  // libmemcached puts them without it (checked on those servers directly),
  // and once it is healthy again (connect_max_errors probes answered) its
  // keys go back to it.
  void testEjectModeMovesADownServersKeysAndBringsThemBack() {
    ClusterOptions o;
    o.backends = 3;
    o.behaviors = {"down_policy=eject", "connect_max_errors=2", "probe_interval=100"};
    o.extra_args = {"-t", "1"};
    Cluster cluster(o);
    const std::string gone = cluster.backend(0).address();
    oracle::Ketama without_gone({cluster.backend(1).address(), cluster.backend(2).address()});
    std::vector<std::string> keys;
    for (int i = 0; keys.size() < 20; ++i)
      if (cluster.owner("ej" + std::to_string(i)) == 0) keys.push_back("ej" + std::to_string(i));
    VerifyingLoad load(cluster.port(), 3, 30);
    cluster.backend(0).stop();
    TestClient c = cluster.client();
    // Two refused connects take it down, and so out of the ring.
    std::string reply;
    for (Deadline d(std::chrono::seconds(10)); (reply = c.set(keys[0], "moved")) != "STORED";) {
      // refused, or closed under a request of the load's on the shared connection
      CPPUNIT_ASSERT_MESSAGE(reply, reply.rfind("SERVER_ERROR proxy ", 0) == 0 && reply.ends_with(" " + gone));
      CPPUNIT_ASSERT(!d.expired());
    }
    for (const auto& k : keys) {
      CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(k, "moved-" + k));
      TestClient direct(cluster.backend(1 + without_gone.owner(k)).port());
      CPPUNIT_ASSERT_EQUAL_MESSAGE(k, std::string("moved-") + k, direct.get(k).value_or("<miss>"));
      CPPUNIT_ASSERT_EQUAL(std::string("moved-") + k, c.get(k).value_or("<miss>"));
    }
    Stats stats = stats_proxy(c);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats, "backend_ejections_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats, "backend_down_total"));
    // Back: probed, then healthy after two answered probes.
    cluster.backend(0).restart();
    for (Deadline d(std::chrono::seconds(10)); stats_proxy(c).at("backend_health:" + gone) != "healthy";)
      CPPUNIT_ASSERT(!d.expired());
    TestClient direct(cluster.backend(0).port());
    for (const auto& k : keys) {
      CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(k, "home-" + k));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(k, std::string("home-") + k, direct.get(k).value_or("<miss>"));
    }
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats_proxy(c), "backend_ejections_total"));
    const uint64_t stored = load.stored();
    for (Deadline d(std::chrono::seconds(10)); load.stored() < stored + 100;) CPPUNIT_ASSERT(!d.expired());
    const std::string wrong = load.stop();
    CPPUNIT_ASSERT_MESSAGE(wrong, wrong.empty());
  }

  // down_policy per pool: two pools on the same two servers, one ejecting,
  // one failing: with one server stopped, the first stores its keys on the
  // other server, the second refuses them naming the server.
  void testDownPolicyPerPool() {
    Memcached a, b;
    auto free_port = [] {  // from the OS: bound, read, released
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof sa;
      CPPUNIT_ASSERT(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
      CPPUNIT_ASSERT(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
      ::close(fd);
      return ntohs(sa.sin_port);
    };
    const int ejecting = free_port();
    int failing = free_port();
    while (failing == ejecting) failing = free_port();
    const std::string servers = a.address() + "," + b.address();
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-Z",
               "down_policy=" + std::to_string(ejecting) + ":eject|" + std::to_string(failing) +
                   ":fail,connect_max_errors=2,probe_interval=100",
               "-z", std::to_string(ejecting) + "=" + servers + ";" + std::to_string(failing) + "=" + servers});
    oracle::Ketama ring({a.address(), b.address()});
    std::string k;
    for (int i = 0; k.empty(); ++i)
      if (ring.owner("pool" + std::to_string(i)) == 0) k = "pool" + std::to_string(i);
    a.stop();
    TestClient ej(ejecting), fa(failing);
    std::string reply;
    for (Deadline d(std::chrono::seconds(10)); (reply = ej.set(k, "elsewhere")) != "STORED";)
      CPPUNIT_ASSERT_MESSAGE(reply, !d.expired() && reply.rfind("SERVER_ERROR proxy ", 0) == 0);
    TestClient on_b(b.port());
    CPPUNIT_ASSERT_EQUAL(std::string("elsewhere"), on_b.get(k).value_or("<miss>"));
    CPPUNIT_ASSERT_EQUAL("SERVER_ERROR proxy downstream down " + a.address(), fa.set(k, "x"));
  }

  // Hysteresis, on real processes: one restart of the backend (its idle
  // connection dies) costs nothing and takes nothing down; a server that
  // fails again while on probation after each return goes down at its
  // first failure, and is probed half as often each time (100, 200, 400 ms).
  void testOneBlipDoesNotEjectAndFlappingIsDamped() {
    ClusterOptions o;
    o.backends = 1;
    o.behaviors = {"probe_interval=100", "connect_max_errors=5", "connect_retry_interval=10000"};
    o.extra_args = {"-t", "1"};
    Cluster cluster(o);
    const std::string address = cluster.backend(0).address();
    TestClient c = cluster.client();
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("blip", "1"));
    cluster.backend(0).restart();  // a blip: the connection moxi holds is dead
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("blip", "2"));  // re-sent on a new connection
    Stats stats = stats_proxy(c);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(stats, "backend_down_total"));
    CPPUNIT_ASSERT(stats.at("backend_health:" + address) != "down");

    auto wait_down = [&] {
      std::string reply;
      for (Deadline d(std::chrono::seconds(10)); (reply = c.set("blip", "x")) != "SERVER_ERROR proxy downstream down " + address;)
        CPPUNIT_ASSERT_MESSAGE(reply, !d.expired() && reply.rfind("SERVER_ERROR", 0) == 0);
    };
    auto wait_probation = [&] {  // a probe answered: suspect, on probation
      for (Deadline d(std::chrono::seconds(10)); stats_proxy(c).at("backend_health:" + address) != "suspect";)
        CPPUNIT_ASSERT(!d.expired());
    };
    cluster.backend(0).stop();
    wait_down();  // five failures in a row
    for (uint64_t flap = 1; flap <= 2; ++flap) {
      cluster.backend(0).restart();
      wait_probation();
      cluster.backend(0).stop();
      // On probation one failure is enough.
      const std::string first = c.set("blip", "x");
      CPPUNIT_ASSERT_MESSAGE(first, first.rfind("SERVER_ERROR proxy", 0) == 0);
      CPPUNIT_ASSERT_EQUAL("SERVER_ERROR proxy downstream down " + address, c.set("blip", "x"));
      CPPUNIT_ASSERT_EQUAL(flap + 1, stat(stats_proxy(c), "backend_down_total"));
    }
    const std::string log = cluster.moxi().log();
    const auto at100 = log.find("probed every 100 ms"), at200 = log.find("probed every 200 ms"),
               at400 = log.find("probed every 400 ms");
    CPPUNIT_ASSERT_MESSAGE(log, at100 != std::string::npos && at200 != std::string::npos && at400 != std::string::npos);
    CPPUNIT_ASSERT(at100 < at200 && at200 < at400);
    cluster.backend(0).restart();
    wait_probation();
    for (Deadline d(std::chrono::seconds(10)); c.set("blip", "back") != "STORED";) CPPUNIT_ASSERT(!d.expired());
  }

  void testTruncatedClientInputHarmsNobody() {
    Cluster cluster;
    {
      TestClient half = cluster.client();
      half.send("set trunc 0 0 100\r\nonly-part");
    }
    {
      TestClient half = cluster.client();
      half.send("get a b c");  // no CRLF, then gone
    }
    {
      TestClient bin = cluster.client();
      bin.send(std::string("\x80\x01\x00\x05", 4));  // a quarter of a binary header
    }
    TestClient c = cluster.client();
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("trunc", "whole"));
    CPPUNIT_ASSERT_EQUAL(std::string("whole"), c.get("trunc").value());
  }

  void testMultigetWithDeadServerGivesMisses() {
    Cluster cluster;
    const std::string k0 = key_on(cluster, 0, "gone"), k1 = key_on(cluster, 1, "here");
    TestClient c = cluster.client();
    c.set(k0, "0");
    c.set(k1, "1");
    cluster.backend(0).stop();
    auto items = c.retrieve("get " + k0 + " " + k1);
    CPPUNIT_ASSERT_EQUAL(size_t(1), items.size());
    CPPUNIT_ASSERT_EQUAL(k1, items[0].key);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(FaultsTest);

}  // namespace
}  // namespace moxi::test

namespace moxi::test {
namespace {

class LimitsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(LimitsTest);
  CPPUNIT_TEST(testWaitQueueTimeout);
  CPPUNIT_TEST(testClientThatNeverReadsIsBounded);
  CPPUNIT_TEST(testManyNeverReadingClientsStayInTheBudget);
  CPPUNIT_TEST(testConnectionLimitRefusesCleanly);
  CPPUNIT_TEST(testHugeDeclaredValuesAreSwallowedInBoundedMemory);
  CPPUNIT_TEST_SUITE_END();

 public:
  // The wait queue's bound, checked by the order of two timers rather
  // than by the wall clock: the queued request must be refused at its
  // wait_queue_timeout (300 ms), before the held request's
  // downstream_timeout (450 ms) frees the slot. A wait-queue timer at
  // twice its setting (600 ms) would let it through to its server, which
  // answers it.
  void testWaitQueueTimeout() {
    ClusterOptions o;
    o.behaviors = {"downstream_max=1", "wait_queue_timeout=300", "downstream_timeout=450"};
    o.extra_args = {"-t", "1"};
    Cluster cluster(o);
    const std::string k0 = key_on(cluster, 0, "slow"), k1 = key_on(cluster, 1, "queued");
    TestClient a = cluster.client(), b = cluster.client();
    a.set(k0, "a");
    cluster.backend(0).pause();
    a.send("get " + k0 + "\r\n");      // holds the only slot
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR proxy wait queue timeout"), b.request("get " + k1));
    CPPUNIT_ASSERT_EQUAL("SERVER_ERROR proxy downstream timeout " + cluster.backend(0).address(), a.read_line());
    cluster.backend(0).resume();
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), b.set(k1, "now"));  // its server was never concerned
  }

  void testClientThatNeverReadsIsBounded() {
    Cluster cluster;
    TestClient setter = cluster.client();
    const std::string big(100 * 1024, 'b');
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), setter.set("big", big));
    const long before = rss_kib(cluster.moxi().pid());
    // 6M gets of 100 KiB would be 600 GiB of replies; the client reads none.
    // The 54 MB of requests outsize any socket buffers (tcp_rmem allows 32 MiB),
    // so the send blocks for good only if moxi stops reading.
    TestClient hog = cluster.client();
    int flags = fcntl(hog.fd(), F_GETFL);
    fcntl(hog.fd(), F_SETFL, flags | O_NONBLOCK);
    std::string requests;
    const std::string one = "get big\r\n";
    requests.reserve(one.size() * 6000000);
    for (int i = 0; i < 6000000; ++i) requests += one;
    size_t sent = 0;
    Deadline deadline(std::chrono::seconds(20));
    while (sent < requests.size()) {
      ssize_t n = ::send(hog.fd(), requests.data() + sent, requests.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        continue;
      }
      CPPUNIT_ASSERT(errno == EAGAIN);
      // moxi stopped reading this client if its socket stays full.
      pollfd p{hog.fd(), POLLOUT, 0};
      if (::poll(&p, 1, 300) == 0) break;
      CPPUNIT_ASSERT_MESSAGE("moxi kept reading a client that never reads", !deadline.expired());
    }
    CPPUNIT_ASSERT_MESSAGE("moxi read every request of a client that never reads", sent < requests.size());
    // Others are served meanwhile, and moxi's memory stayed bounded.
    TestClient other = cluster.client();
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), other.set("small", "x"));
    CPPUNIT_ASSERT_EQUAL(std::string("x"), other.get("small").value());
    const long after = rss_kib(cluster.moxi().pid());
    CPPUNIT_ASSERT_MESSAGE("RSS grew from " + std::to_string(before) + " to " + std::to_string(after) + " KiB",
                           after - before < 64 * 1024);
  }

  // Clients that pipeline gets of a 512 KiB value and never read: each may
  // hold -Z client_buffer_max (4 MiB) plus what its first 4 requests bring
  // (the window before a reply size is known), never 300 x 512 KiB. Peak RSS
  // (VmHWM, so the moment of measuring does not matter) stays within that
  // plus a fixed overhead, others are served meanwhile, and the memory is
  // returned once the clients leave.
  void testManyNeverReadingClientsStayInTheBudget() {
    // ASan's quarantine would keep every freed reply resident: off for this
    // moxi, as in testHugeDeclaredValuesAreSwallowedInBoundedMemory.
    ClusterOptions o;
    const char* asan = std::getenv("ASAN_OPTIONS");
    o.moxi_env = {{"ASAN_OPTIONS", std::string(asan ? asan : "") + (asan && *asan ? ":" : "") + "quarantine_size_mb=0"}};
    Cluster cluster(o);
    const std::string big(512 * 1024, 'b');
    TestClient setter = cluster.client();
    for (const char* k : {"big", "big1", "big2", "big3"}) CPPUNIT_ASSERT_EQUAL(std::string("STORED"), setter.set(k, big));
    const pid_t pid = cluster.moxi().pid();
    const long before = rss_kib(pid);
    std::string ascii, binary, multi;
    for (int i = 0; i < 300; ++i) {
      ascii += "get big\r\n";
      binary += encode_binary(bin::request(bin::kGet, "big", "", "", static_cast<uint32_t>(i)));
      multi += "get big big1 big2 big3\r\n";
    }
    std::vector<TestClient> hogs;
    for (const std::string* stream : {&ascii, &binary, &multi}) {
      for (int i = 0; i < 7; ++i) {
        hogs.push_back(cluster.client());
        int small = 4096;
        setsockopt(hogs.back().fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        hogs.back().send(*stream);
      }
    }
    // Settled when the backends see no more gets for a while: every client
    // then holds what it can.
    CPPUNIT_ASSERT_MESSAGE("backends never went quiet", wait_backends_quiet(cluster, Deadline(std::chrono::seconds(20))));
    TestClient other = cluster.client();
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), other.set("small", "x"));
    CPPUNIT_ASSERT_EQUAL(std::string("x"), other.get("small").value());
    const long peak = hwm_kib(pid);
    // Per client: the 4 MiB budget plus 4 first requests (a multiget of four
    // 512 KiB values is one request of 2 MiB), and 32 MiB for everything else.
    const long bound = before + 7 * (4096 + 4 * 512) + 7 * (4096 + 4 * 512) + 7 * (4096 + 4 * 2048) + 32 * 1024;
    CPPUNIT_ASSERT_MESSAGE("peak RSS " + std::to_string(peak) + " KiB, bound " + std::to_string(bound) + " KiB",
                           peak < bound);
    hogs.clear();
    Deadline release(std::chrono::seconds(10));
    long now_kib = rss_kib(pid);
    while (kRssReturnsFreedMemory && (now_kib = rss_kib(pid)) > before + 16 * 1024) {
      CPPUNIT_ASSERT_MESSAGE("RSS stayed at " + std::to_string(now_kib) + " KiB after the clients left (before: " +
                                 std::to_string(before) + ")",
                             !release.expired());
      other.get("small");  // a round trip lets the workers run their idle trim
    }
  }

  void testConnectionLimitRefusesCleanly() {
    ClusterOptions o;
    o.extra_args = {"-c", "2"};
    Cluster cluster(o);
    TestClient a = cluster.client(), b = cluster.client();
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), a.set("x", "1"));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), b.set("y", "2"));
    TestClient c = cluster.client();
    CPPUNIT_ASSERT_EQUAL(std::string("ERROR Too many open connections"), c.read_line());
    CPPUNIT_ASSERT(c.expect_closed(Deadline(std::chrono::seconds(2))));
    a.close();
    // A slot frees when a client leaves; the next one gets in (the close is
    // noticed asynchronously, so the first attempts may still be refused).
    Deadline deadline(std::chrono::seconds(5));
    for (;;) {
      TestClient d = cluster.client();
      d.send("version\r\n");
      std::string line = d.read_line();
      if (line.rfind("VERSION", 0) == 0) break;
      CPPUNIT_ASSERT_EQUAL(std::string("ERROR Too many open connections"), line);
      CPPUNIT_ASSERT(!deadline.expired());
    }
  }
  // A client declares a value far over the item size (ascii 1e9 bytes,
  // binary bodylen 0xffffffff) and then really sends 64 MiB of it: the
  // error comes at once, before the data; the data is discarded as it
  // arrives (moxi's memory stays flat); other clients are served meanwhile;
  // and the client's connection stays open, swallowing the declared bytes.
  // (memcached 1.6 swallows an ascii value over the item size too, but
  // answers only once all of it is read; moxi answers at once.)
  void testHugeDeclaredValuesAreSwallowedInBoundedMemory() {
    // In the ASan build, freed memory is held in quarantine (256 MiB by
    // default), which would show every discarded read as growth: turn it off
    // for this moxi (the variable means nothing to other builds).
    Memcached mc;
    MoxiOptions options;
    const char* asan = std::getenv("ASAN_OPTIONS");
    options.env = {{"ASAN_OPTIONS", std::string(asan ? asan : "") + (asan && *asan ? ":" : "") + "quarantine_size_mb=0"}};
    Moxi moxi({"-l", "127.0.0.1", "-t", "2", "-z", "0=" + mc.address()}, options);
    TestClient other(moxi.port());
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), other.set("small", "x"));
    const long before = rss_kib(moxi.pid());
    const std::string chunk(1 << 20, 'z');
    auto stream = [&](TestClient& c, const std::string& what) {
      for (int i = 0; i < 64; ++i) {
        c.send(chunk);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string("x"), other.get("small").value_or("<miss>"));
      }
      const long after = rss_kib(moxi.pid());
      CPPUNIT_ASSERT_MESSAGE(what + ": RSS grew from " + std::to_string(before) + " to " + std::to_string(after) + " KiB",
                             after - before < 16 * 1024);
    };
    TestClient ascii(moxi.port());
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR object too large for cache"),
                         ascii.request("set huge 0 0 1000000000"));
    stream(ascii, "ascii");
    TestClient binary(moxi.port());
    BinaryPacket p = bin::request(bin::kSet, "huge", "", bin::set_extras(0, 0), 42);
    p.keylen = 4;
    p.extlen = 8;
    p.bodylen = 0xffffffffu;
    binary.send(encode_binary_raw(p));
    BinaryPacket r = binary.read_binary();
    CPPUNIT_ASSERT_EQUAL(bin::kValueTooLarge, r.status());
    CPPUNIT_ASSERT_EQUAL(uint32_t(42), r.opaque);
    stream(binary, "binary");
    // Nothing was stored under the key, and the swallowing connections are
    // still open (nothing came back on them).
    CPPUNIT_ASSERT(!other.get("huge").has_value());
    CPPUNIT_ASSERT(!ascii.expect_closed(Deadline(std::chrono::milliseconds(100))));
    CPPUNIT_ASSERT(!binary.expect_closed(Deadline(std::chrono::milliseconds(100))));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(LimitsTest);

}  // namespace
}  // namespace moxi::test
