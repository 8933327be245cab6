// moxi following a cluster: config from rest_mock's stream, hot swaps under
// load, NOT_MY_VBUCKET re-routing against backends that enforce vBucket
// ownership (and the configs they hand out: NOT_MY_VBUCKET bodies,
// GET_CLUSTER_CONFIG), URL failover, bad documents, and the config cache.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>


#include "t/proxy/cluster.h"
#include "t/proxy/rest_moxi.h"
#include "t/support/client.h"
#include "t/support/oracle.h"
#include "t/support/rest_mock.h"
#include "t/support/servers.h"
#include "t/support/temp_dir.h"
#include "t/support/vbucket_server.h"

namespace moxi::test {
namespace {

constexpr int kVBuckets = 64;

// A bucket document: vBucket v is mastered by owner(v); with a forward map
// when `forward` is given.
std::string bucket_json(const std::vector<std::string>& servers, const std::function<int(int)>& owner,
                        const std::function<int(int)>* forward = nullptr, int vbuckets = kVBuckets) {
  std::string json = R"({"name":"default","nodeLocator":"vbucket","vBucketServerMap":{"hashAlgorithm":"CRC","numReplicas":0,"serverList":[)";
  for (size_t i = 0; i < servers.size(); ++i) json += (i ? ",\"" : "\"") + servers[i] + "\"";
  json += R"(],"vBucketMap":[)";
  for (int v = 0; v < vbuckets; ++v) json += (v ? ",[" : "[") + std::to_string(owner(v)) + "]";
  json += "]";
  if (forward) {
    json += R"(,"vBucketMapForward":[)";
    for (int v = 0; v < vbuckets; ++v) json += (v ? ",[" : "[") + std::to_string((*forward)(v)) + "]";
    json += "]";
  }
  return json + "}}";
}

int vbucket_of(const std::string& key) { return oracle::vbucket_of(key, kVBuckets); }


std::string stream_url(const RestMock& mock) { return mock.url("/pools/default/bucketsStreaming/default"); }

// Waits (a bounded loop of requests, no sleeping) until every one of
// `clients` is served by generation >= `gen`.
void wait_generation(std::vector<TestClient*> clients, long gen, Deadline deadline = std::chrono::seconds(10)) {
  for (TestClient* c : clients) {
    long seen;
    while ((seen = generation(*c)) < gen)
      CPPUNIT_ASSERT_MESSAGE("generation " + std::to_string(seen) + " never reached " + std::to_string(gen),
                             !deadline.expired());
  }
}

std::unique_ptr<Moxi> follow(const std::string& url, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"-l", "127.0.0.1", "-t", "2", "-Z", "port_listen=0"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(url);
  return std::make_unique<Moxi>(args);
}

// Sets `key` until it is stored (the first map may still be on its way).
void set_eventually(TestClient& c, const std::string& key, const std::string& value,
                    Deadline deadline = std::chrono::seconds(10)) {
  std::string reply;
  while ((reply = c.set(key, value)) != "STORED")
    CPPUNIT_ASSERT_MESSAGE("never stored: " + reply, !deadline.expired());
}

// Client threads that each set, then read back, keys of their own through
// moxi until stop(), recording every acknowledged value (the latest per
// key). A reply other than STORED, or a read returning another value, is a
// failure; a read that misses is one too unless misses are allowed (while
// data is being copied between servers).
class Writers {
 public:
  Writers(int port, int clients, const std::string& prefix, int keys_per_client, bool misses_allowed) {
    for (int id = 0; id < clients; ++id)
      threads_.emplace_back([=, this] { run(port, prefix + std::to_string(id) + "-", keys_per_client, misses_allowed, id); });
  }
  ~Writers() { stop(); }

  // Joins the clients; afterwards latest() and failures() are final.
  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  // Waits until the clients made `more` further round trips (or one failed).
  void wait_ops(long more) {
    const long target = ops_.load() + more;
    std::unique_lock<std::mutex> lock(mutex_);
    const bool ok = progress_.wait_for(lock, std::chrono::seconds(30),
                                       [&] { return ops_.load() >= target || !failures_.empty(); });
    CPPUNIT_ASSERT_MESSAGE("clients made no progress", ok);
  }
  // Runs f(latest) with the clients unable to record anything meanwhile.
  template <class F>
  void with_latest(F f) {
    std::lock_guard<std::mutex> lock(mutex_);
    f(static_cast<const std::map<std::string, std::string>&>(latest_));
  }
  std::map<std::string, std::string> latest() {
    std::lock_guard<std::mutex> lock(mutex_);
    return latest_;
  }
  std::string first_failure() {
    std::lock_guard<std::mutex> lock(mutex_);
    return failures_.empty() ? std::string() : failures_.front();
  }

 private:
  void run(int port, const std::string& prefix, int keys, bool misses_allowed, int id) {
    try {
      TestClient c(port, std::chrono::seconds(10));
      for (long n = 0; !stop_.load(); ++n) {
        const std::string key = prefix + std::to_string(n % keys);
        const std::string value = std::to_string(n);
        std::string reply = c.set(key, value);
        if (reply != "STORED") throw std::runtime_error("set " + key + ": " + reply);
        {
          std::lock_guard<std::mutex> lock(mutex_);
          latest_[key] = value;
        }
        auto got = c.get(key);
        if (got ? *got != value : !misses_allowed)
          throw std::runtime_error("get " + key + ": " + got.value_or("<miss>") + ", not " + value);
        if (++ops_ % 200 == 0) progress_.notify_all();
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      failures_.push_back("client " + std::to_string(id) + ": " + e.what());
      progress_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable progress_;
  std::map<std::string, std::string> latest_;
  std::vector<std::string> failures_;
  std::atomic<long> ops_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

class LiveConfigTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(LiveConfigTest);
  CPPUNIT_TEST(testNoMapYetIsAPromptError);
  CPPUNIT_TEST(testFollowsMapChangesAndClosesRemovedServers);
  CPPUNIT_TEST(testSwapWithRequestsInFlight);
  CPPUNIT_TEST(testIdenticalDocumentChangesNothing);
  CPPUNIT_TEST(testOlderRevisionsAreIgnored);
  CPPUNIT_TEST(testFollowsTheTerseStreamWithHostPlaceholders);
  CPPUNIT_TEST(testGarbageAndOversizedDocumentsKeepLastGoodMap);
  CPPUNIT_TEST(testUrlFailoverToSecondServer);
  CPPUNIT_TEST(testBasicAuth);
  CPPUNIT_TEST(testRestartWithConfigServerDownUsesCache);
  CPPUNIT_TEST(testCouchbaseServerCommandLine);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testNoMapYetIsAPromptError() {
    RestMock mock;
    mock.fail_next(503, 1000000);
    auto moxi = follow(stream_url(mock));
    TestClient c(moxi->port());
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR proxy no cluster map loaded yet"), c.request("get k"));
    TestClient b(moxi->port());  // the protocol is per connection
    b.send_binary(bin::request(bin::kGet, "k", "", "", 5));
    BinaryPacket r = b.read_binary();
    CPPUNIT_ASSERT_EQUAL(uint16_t(0x86), r.status());
    CPPUNIT_ASSERT_EQUAL(uint32_t(5), r.opaque);
    // Local commands still work.
    CPPUNIT_ASSERT_EQUAL(std::string("VERSION 2.0.0"), c.request("version"));
    // Operators see what it waits for: no map loaded (generation 0) from the URL.
    const Stats stats = stats_proxy(c);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(stats, "config_generation"));
    CPPUNIT_ASSERT_EQUAL(stream_url(mock), stats.at("config_source"));
    Memcached mc;
    mock.set_config(bucket_json({mc.address()}, [](int) { return 0; }));
    mock.fail_next(503, 0);
    set_eventually(c, "k", "v");
    CPPUNIT_ASSERT_EQUAL(std::string("v"), TestClient(mc.port()).get("k").value());
  }

  void testFollowsMapChangesAndClosesRemovedServers() {
    VBucketServer a, b, gone;
    RestMock mock(mock_serving(bucket_json({a.address(), b.address(), gone.address()}, [](int v) { return v % 3; })));
    auto moxi = follow(stream_url(mock));
    TestClient c(moxi->port());
    for (int i = 0; i < 60; ++i) set_eventually(c, "k" + std::to_string(i), "v");
    CPPUNIT_ASSERT(gone.item_count() > 0);
    CPPUNIT_ASSERT(gone.connections() > 0);
    // Fail the third server over: its vBuckets move to the first two.
    const long gen = generation(c);
    const uint64_t accepted_a = a.accepted(), accepted_b = b.accepted();
    a.own_all();
    b.own_all();
    mock.set_config(bucket_json({a.address(), b.address()}, [](int v) { return v % 2; }));
    wait_generation({&c}, gen + 1);
    const uint64_t before = gone.requests();
    for (int i = 0; i < 60; ++i) CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("n" + std::to_string(i), "w"));
    CPPUNIT_ASSERT_EQUAL(before, gone.requests());
    // Servers that stay keep their connections: the swap opened none.
    CPPUNIT_ASSERT_EQUAL(accepted_a, a.accepted());
    CPPUNIT_ASSERT_EQUAL(accepted_b, b.accepted());
    CPPUNIT_ASSERT_EQUAL(std::string("w"), (vbucket_of("n1") % 2 == 0 ? a : b).get("n1").value());
    // Its idle connections are closed.
    Deadline deadline(std::chrono::seconds(5));
    while (gone.connections() != 0) {
      CPPUNIT_ASSERT_MESSAGE("connections to the removed server stay open", !deadline.expired());
      std::this_thread::yield();
    }
  }

  // A map swap while requests wait at held backends: they finish on the map
  // they started with (the retired bucket's state lives until its last
  // request is answered: freed early, the answers would read freed memory,
  // which ASan reports and a normal build crashes on), new requests use the
  // new map at once, and the removed server's connection closes once idle.
  // One worker, so the probe connection shows what the held one's worker runs.
  void testSwapWithRequestsInFlight() {
    VBucketServer a, b, c;
    // Map 1: even vBuckets on a, odd on b. Map 2: a leaves, c takes its half.
    RestMock mock(mock_serving(bucket_json({a.address(), b.address()}, [](int v) { return v % 2; })));
    auto moxi = follow(stream_url(mock), {"-t", "1"});
    auto half = [](std::string_view k) { return vbucket_of(std::string(k)) % 2; };
    std::vector<std::string> even, odd;
    for (int i = 0; i < 4; ++i) {
      even.push_back(oracle::first_key_on(half, 0, "e" + std::to_string(i) + "-"));
      odd.push_back(oracle::first_key_on(half, 1, "o" + std::to_string(i) + "-"));
      a.put(even.back(), "old-" + even.back());
      c.put(even.back(), "new-" + even.back());
      if (i < 3) b.put(odd.back(), "b-" + odd.back());
    }
    const std::string missing = oracle::first_key_on(half, 0, "missing-");
    TestClient probe(moxi->port(), std::chrono::seconds(10));
    set_eventually(probe, odd[3], "b-" + odd[3]);  // the first map is in (on b: a's count stays 0)
    const long gen = generation(probe);

    a.hold_replies();
    b.hold_replies();
    TestClient held(moxi->port(), std::chrono::seconds(10));
    // A multiget over both servers with a duplicate key and a miss, a get,
    // and a set that must land on b under either map.
    held.send("get " + even[0] + " " + odd[0] + " " + even[1] + " " + missing + " " + odd[1] + " " + even[0] +
              "\r\nget " + even[2] + "\r\nset " + odd[2] + " 0 0 3\r\nnew\r\n");
    CPPUNIT_ASSERT(a.wait_for_requests(5, std::chrono::seconds(10)));  // e0 e1 missing e0, e2
    CPPUNIT_ASSERT(b.wait_for_requests(1 + 3, std::chrono::seconds(10)));  // o0 o1, the set
    CPPUNIT_ASSERT_EQUAL(size_t{5}, a.held_requests());
    CPPUNIT_ASSERT_EQUAL(size_t{3}, b.held_requests());

    mock.set_config(bucket_json({c.address(), b.address()}, [](int v) { return v % 2; }));
    wait_generation({&probe}, gen + 1);
    // New requests use the new map while the old ones are still held.
    CPPUNIT_ASSERT_EQUAL("new-" + even[3], probe.get(even[3]).value_or("<miss>"));
    CPPUNIT_ASSERT_EQUAL("new-" + even[2], probe.get(even[2]).value_or("<miss>"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{5}, a.requests());

    a.release_replies();
    b.release_replies();
    const std::vector<AsciiItem> multi = held.read_items();
    std::vector<std::string> got;
    for (const auto& item : multi) got.push_back(item.key + "=" + item.value);
    const std::vector<std::string> want = {even[0] + "=old-" + even[0], odd[0] + "=b-" + odd[0],
                                           even[1] + "=old-" + even[1], odd[1] + "=b-" + odd[1],
                                           even[0] + "=old-" + even[0]};
    CPPUNIT_ASSERT(want == got);
    const std::vector<AsciiItem> single = held.read_items();
    CPPUNIT_ASSERT_EQUAL(size_t{1}, single.size());
    CPPUNIT_ASSERT_EQUAL("old-" + even[2], single[0].value);
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), held.read_line());
    CPPUNIT_ASSERT_EQUAL(std::string("new"), b.get(odd[2]).value_or("<miss>"));

    // The same connection now runs on the new map, and a is left alone.
    CPPUNIT_ASSERT_EQUAL("new-" + even[0], held.get(even[0]).value_or("<miss>"));
    CPPUNIT_ASSERT_EQUAL("b-" + odd[1], held.get(odd[1]).value_or("<miss>"));
    Deadline deadline(std::chrono::seconds(5));
    while (a.connections() != 0) {
      CPPUNIT_ASSERT_MESSAGE("the removed server's drained connection stays open", !deadline.expired());
      std::this_thread::yield();
    }
    CPPUNIT_ASSERT_EQUAL(uint64_t{5}, a.requests());
  }

  void testIdenticalDocumentChangesNothing() {
    Memcached mc;
    const std::string json = bucket_json({mc.address()}, [](int) { return 0; });
    RestMock mock(mock_serving(json));
    auto moxi = follow(stream_url(mock));
    TestClient c(moxi->port());
    set_eventually(c, "x", "1");
    const long gen = generation(c);
    mock.set_config(json);
    mock.set_config(json);
    // A real change afterwards shows the identical ones were skipped, not lost.
    Memcached mc2;
    mock.set_config(bucket_json({mc2.address()}, [](int) { return 0; }));
    wait_generation({&c}, gen + 1);
    CPPUNIT_ASSERT_EQUAL(gen + 1, generation(c));
  }

  // Configs carry Couchbase's rev (and revEpoch): one older than the map
  // served is ignored and counted, one of the same rev changes nothing,
  // a newer one (or a higher epoch with a lower rev) is applied, and one
  // without a rev is applied as configs always were.
  void testOlderRevisionsAreIgnored() {
    Memcached m1, m2, m3;
    auto doc = [](const Memcached& m, const std::string& revision) {
      std::string json = bucket_json({m.address()}, [](int) { return 0; });
      return revision.empty() ? json : "{" + revision + "," + json.substr(1);
    };
    RestMock mock(mock_serving(doc(m1, R"("rev":10)")));
    auto moxi = follow(stream_url(mock));
    TestClient c(moxi->port());
    set_eventually(c, "x", "1");
    const long gen = generation(c);
    auto rev_line = [&] {
      for (const auto& [name, value] : stats_proxy(c, "config"))
        if (name.size() > 4 && name.ends_with(":rev")) return value;
      return std::string("<none>");
    };
    CPPUNIT_ASSERT_EQUAL(std::string("rev 10"), rev_line());
    mock.set_config(doc(m2, R"("rev":9)"));                    // older: ignored, counted
    mock.set_config(doc(m2, R"("rev":10)"));                   // the same rev: nothing
    mock.set_config(doc(m3, R"("rev":11)"));                   // newer: served
    wait_generation({&c}, gen + 1);
    CPPUNIT_ASSERT_EQUAL(gen + 1, generation(c));
    CPPUNIT_ASSERT_EQUAL(std::string("rev 11"), rev_line());
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats_proxy(c), "config_stale_ignored_total"));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("y", "3"));
    CPPUNIT_ASSERT_EQUAL(std::string("3"), TestClient(m3.port()).get("y").value_or("<miss>"));
    CPPUNIT_ASSERT(!TestClient(m2.port()).get("y").has_value());
    // After a quorum failover the epoch rises and the rev may start lower.
    mock.set_config(doc(m1, R"("rev":2,"revEpoch":1)"));
    wait_generation({&c}, gen + 2);
    CPPUNIT_ASSERT_EQUAL(std::string("epoch 1 rev 2"), rev_line());
    mock.set_config(doc(m3, R"("rev":50)"));                   // no epoch: -1, older than epoch 1
    mock.set_config(doc(m2, ""));                              // no rev: applied as it comes
    wait_generation({&c}, gen + 3);
    CPPUNIT_ASSERT_EQUAL(std::string("none"), rev_line());
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, stat(stats_proxy(c), "config_stale_ignored_total"));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("z", "4"));
    CPPUNIT_ASSERT_EQUAL(std::string("4"), TestClient(m2.port()).get("z").value_or("<miss>"));
    const std::string log = moxi->log();
    CPPUNIT_ASSERT_MESSAGE(log, log.find("is older (rev 9) than the one served (rev 10): ignored") != std::string::npos);
  }

  // The terse stream, as ns_server serves it: "$HOST" in serverList (rest_mock
  // leaves it in on /bs/), rev and revEpoch, nodesExt without hostnames.
  // moxi puts the URL's host (127.0.0.1) in, routes by the map's own
  // indexes, and follows a change by its rev.
  void testFollowsTheTerseStreamWithHostPlaceholders() {
    VBucketServer a, b;
    std::set<uint16_t> even, odd;
    for (uint16_t v = 0; v < kVBuckets; ++v) (v % 2 ? odd : even).insert(v);
    a.set_owned(even);
    b.set_owned(odd);
    auto placeholder = [](const VBucketServer& s) { return "$HOST:" + std::to_string(s.port()); };
    RestMock mock(mock_serving(bucket_json({placeholder(a), placeholder(b)}, [](int v) { return v % 2; })));
    const std::string url = mock.url("/pools/default/bs/default");
    CPPUNIT_ASSERT(http_get(mock.url("/pools/default/b/default")).body.find("\"$HOST:") != std::string::npos);
    auto moxi = follow(url);
    TestClient c(moxi->port());
    for (int i = 0; i < 40; ++i) set_eventually(c, "t" + std::to_string(i), "v" + std::to_string(i));
    for (int i = 0; i < 40; ++i) {
      const std::string key = "t" + std::to_string(i);
      VBucketServer& owner = vbucket_of(key) % 2 ? b : a;
      CPPUNIT_ASSERT_EQUAL("v" + std::to_string(i), owner.get(key).value_or("<miss>"));
    }
    CPPUNIT_ASSERT(a.item_count() > 0 && b.item_count() > 0);
    auto rev_line = [&] {
      for (const auto& [name, value] : stats_proxy(c, "config"))
        if (name.size() > 4 && name.ends_with(":rev")) return value;
      return std::string("<none>");
    };
    CPPUNIT_ASSERT_EQUAL(std::string("epoch 1 rev 1"), rev_line());
    CPPUNIT_ASSERT_EQUAL(url, stats_proxy(c).at("config_source"));

    // Every vBucket moves to b: the next terse document (rev 2) says so.
    const long gen = generation(c);
    b.own_all();
    a.set_owned({});
    mock.set_config(bucket_json({placeholder(a), placeholder(b)}, [](int) { return 1; }));
    wait_generation({&c}, gen + 1);
    CPPUNIT_ASSERT_EQUAL(std::string("epoch 1 rev 2"), rev_line());
    const uint64_t at_a = a.requests();
    for (int i = 0; i < 40; ++i)
      CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("u" + std::to_string(i), "w"));
    CPPUNIT_ASSERT_EQUAL(at_a, a.requests());
    CPPUNIT_ASSERT_EQUAL(std::string("w"), b.get("u7").value_or("<miss>"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(stats_proxy(c), "config_stale_ignored_total"));
  }

  void testGarbageAndOversizedDocumentsKeepLastGoodMap() {
    Memcached mc;
    RestMock mock(mock_serving(bucket_json({mc.address()}, [](int) { return 0; })));
    auto moxi = follow(stream_url(mock));
    TestClient c(moxi->port());
    set_eventually(c, "a", "1");
    const long gen = generation(c);
    mock.push_garbage();
    mock.push_garbage(std::size_t(40) << 20);  // 40 MiB: over the document cap
    mock.set_config(R"({"name":"default","vBucketServerMap":{"serverList":[],"vBucketMap":[]}})");
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("b", "2"));
    CPPUNIT_ASSERT_EQUAL(gen, generation(c));
    Memcached mc2;
    mock.set_config(bucket_json({mc2.address()}, [](int) { return 0; }));
    wait_generation({&c}, gen + 1);
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("c", "3"));
    CPPUNIT_ASSERT_EQUAL(std::string("3"), TestClient(mc2.port()).get("c").value());
  }

  void testUrlFailoverToSecondServer() {
    Memcached mc1, mc2;
    RestMock first(mock_serving(bucket_json({mc1.address()}, [](int) { return 0; })));
    RestMock second(mock_serving(bucket_json({mc2.address()}, [](int) { return 0; })));
    auto moxi = follow(stream_url(first) + "," + stream_url(second));
    TestClient c(moxi->port());
    set_eventually(c, "k", "first");
    CPPUNIT_ASSERT_EQUAL(std::string("first"), TestClient(mc1.port()).get("k").value());
    first.kill();
    // moxi keeps serving the last map, then moves to the second URL's map.
    Deadline deadline(std::chrono::seconds(15));
    while (!TestClient(mc2.port()).get("k").has_value()) {
      CPPUNIT_ASSERT_MESSAGE("never followed the second URL", !deadline.expired());
      CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k", "second"));
    }
  }

  void testBasicAuth() {
    Memcached mc;
    RestMockOptions o;
    o.config_json = bucket_json({mc.address()}, [](int) { return 0; });
    o.user = "bucketuser";
    o.password = "s3cret";
    RestMock mock(o);
    auto good = follow("auth=bucketuser%s3cret,url=" + stream_url(mock));
    TestClient c(good->port());
    set_eventually(c, "k", "v");
    auto bad = follow("auth=bucketuser%wrong,url=" + stream_url(mock));
    TestClient d(bad->port());
    mock.wait_until("min_auth_failures=1");
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR proxy no cluster map loaded yet"), d.request("get k"));
    CPPUNIT_ASSERT(bad->running());
    // Logged after the mock counted the refusal: read until it is there.
    for (Deadline d(std::chrono::seconds(5)); bad->log().find("authentication failed") == std::string::npos;)
      CPPUNIT_ASSERT_MESSAGE(bad->log(), !d.expired());
    CPPUNIT_ASSERT(bad->log().find("wrong") == std::string::npos);  // no password in logs
  }

  // The line Couchbase Server's babysitter ran moxi with, word for word but
  // for the config server's URL (the mock instead of :8091), port_listen
  // (a free port instead of 11211) and -l 127.0.0.1 in front (tests listen
  // on loopback only). moxi serves port_listen and nothing else (-p 0 is
  // not a listen port), logs to stderr, and the babysitter closing its
  // stdin pipe drains it to exit status 0.
  void testCouchbaseServerCommandLine() {
    Memcached mc;
    RestMock mock(mock_serving(bucket_json({mc.address()}, [](int) { return 0; })));
    const int port = unused_loopback_port();
    MoxiOptions options;
    options.stdin_pipe = true;
    options.stdout_apart = true;
    Moxi moxi({"-l", "127.0.0.1", "-Z",
               "port_listen=" + std::to_string(port) +
                   ",default_bucket_name=default,downstream_max=1024,downstream_conn_max=4,connect_max_errors=5,"
                   "connect_retry_interval=30000,connect_timeout=400,auth_timeout=100,cycle=200",
               "-z", "url=" + mock.url("/pools/default/saslBucketsStreaming"), "-p", "0", "-Y", "y", "-O", "stderr"},
              options);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), size_t{1}, moxi.ports().size());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), port, moxi.port());
    TestClient c(port);
    set_eventually(c, "k", "v");
    CPPUNIT_ASSERT_EQUAL(std::string("v"), TestClient(mc.port()).get("k").value_or("<missing>"));
    CPPUNIT_ASSERT(moxi.running());
    moxi.process().close_stdin();
    const std::optional<int> status = moxi.process().wait_exit(std::chrono::seconds(10));
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), status.has_value());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), std::string("exited with status 0"), Process::describe_status(*status));
    // The log went to stderr, in moxi's format; stdout stayed empty.
    const std::string err = moxi.log();
    CPPUNIT_ASSERT_MESSAGE(err, err.find("Z WARN  EOF on stdin. Exiting\n") != std::string::npos);
    CPPUNIT_ASSERT_EQUAL(std::string(), moxi.out());
  }

  void testRestartWithConfigServerDownUsesCache() {
    Memcached mc;
    TempDir dir;
    const std::string cache = dir.file("moxi-config.json");
    std::string url;
    {
      RestMock mock(mock_serving(bucket_json({mc.address()}, [](int) { return 0; })));
      url = stream_url(mock);
      auto moxi = follow(url, {"-Z", "config_cache=" + cache});
      TestClient c(moxi->port());
      set_eventually(c, "cached", "yes");
    }
    // The config server is gone; a new moxi serves from the saved map.
    auto moxi = follow(url, {"-Z", "config_cache=" + cache});
    TestClient c(moxi->port());
    // Until the cached map is applied the answer is "no cluster map loaded yet".
    Deadline deadline(std::chrono::seconds(10));
    for (;;) {
      std::string line = c.request("get cached");
      if (line.rfind("VALUE ", 0) == 0) {
        CPPUNIT_ASSERT_EQUAL(std::string("yes"), c.read_line());
        CPPUNIT_ASSERT_EQUAL(std::string("END"), c.read_line());
        break;
      }
      CPPUNIT_ASSERT_EQUAL_MESSAGE("cache not used", std::string("SERVER_ERROR proxy no cluster map loaded yet"), line);
      CPPUNIT_ASSERT_MESSAGE("cache not used in time", !deadline.expired());
    }
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(LiveConfigTest);

// NOT_MY_VBUCKET against backends that enforce ownership, with a static map
// that is wrong on purpose.
class NotMyVBucketTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(NotMyVBucketTest);
  CPPUNIT_TEST(testStaleMapIsCorrectedByRetries);
  CPPUNIT_TEST(testUnknownKeyedOpcodesReachTheOwner);
  CPPUNIT_TEST(testDefaultBoundIsTwiceTheServers);
  CPPUNIT_TEST(testForwardMapIsTriedFirst);
  CPPUNIT_TEST(testMultigetResendsOnlyRefusedKeys);
  CPPUNIT_TEST(testBoundMakesReadsMissesAndWritesErrors);
  CPPUNIT_TEST_SUITE_END();

 public:
  static std::unique_ptr<Moxi> static_moxi(const std::string& json, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"-l", "127.0.0.1", "-t", "1", "-z", "0=" + json};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<Moxi>(args);
  }

  // Couchbase's GETL/UNL/GET_META...: passed to the key's server (by the
  // map) with the key's vBucket (computed by the oracle, with zlib's CRC-32,
  // not moxi's), answered with the client's opaque. (The fake answers unknown
  // opcodes 0x81 whatever the vBucket, so only the routing is checked.)
  void testUnknownKeyedOpcodesReachTheOwner() {
    VBucketServer a, b;
    const std::string key = "locked-key";
    const int vb = vbucket_of(key);
    auto moxi = static_moxi(bucket_json({a.address(), b.address()}, [vb](int v) { return v == vb ? 1 : 0; }));
    TestClient c(moxi->port());
    c.send_binary(bin::request(0x94, key, "", std::string("\0\0\0\x0f", 4), 0xabcdef));
    BinaryPacket reply = c.read_binary();
    CPPUNIT_ASSERT_EQUAL(0x94, int{reply.opcode});
    CPPUNIT_ASSERT_EQUAL(uint32_t{0xabcdef}, reply.opaque);
    CPPUNIT_ASSERT_EQUAL(bin::kUnknownCommand, reply.status());  // the fake's answer, relayed
    bool seen = false;
    for (const auto& r : b.received())
      if (r.opcode == 0x94 && r.key == key && r.vbucket == vb) seen = true;
    CPPUNIT_ASSERT(seen);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, a.requests());
  }

  void testStaleMapIsCorrectedByRetries() {
    VBucketServer a, b;
    a.set_owned({});  // the map says a owns everything; b really does
    b.own_all();
    a.check_vbucket_hash(kVBuckets);
    b.check_vbucket_hash(kVBuckets);
    auto moxi = static_moxi(bucket_json({a.address(), b.address()}, [](int) { return 0; }));
    TestClient c(moxi->port());
    for (int i = 0; i < 20; ++i) CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("s" + std::to_string(i), "v"));
    CPPUNIT_ASSERT_EQUAL(std::string("v"), c.get("s3").value());
    CPPUNIT_ASSERT_EQUAL(std::string("v"), b.get("s3").value());
    CPPUNIT_ASSERT(a.nmv_count() > 0);
    CPPUNIT_ASSERT_EQUAL(uint64_t(0), a.bad_vbucket_count() + b.bad_vbucket_count());
    // The lesson is kept per worker: later requests go straight to b.
    const uint64_t nmv = a.nmv_count();
    std::set<int> vbs;
    for (int i = 0; i < 20; ++i) vbs.insert(vbucket_of("s" + std::to_string(i)));
    for (int i = 0; i < 20; ++i) c.set("s" + std::to_string(i), "again");
    CPPUNIT_ASSERT_EQUAL(nmv, a.nmv_count());
  }

  void testForwardMapIsTriedFirst() {
    VBucketServer a, b, c3;
    a.set_owned({});
    b.set_owned({});
    c3.own_all();  // the forward map names the third server
    std::function<int(int)> forward = [](int) { return 2; };
    auto moxi = static_moxi(bucket_json({a.address(), b.address(), c3.address()}, [](int) { return 0; }, &forward));
    TestClient c(moxi->port());
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("fwd", "v"));
    CPPUNIT_ASSERT_EQUAL(uint64_t(1), a.nmv_count());
    CPPUNIT_ASSERT_EQUAL(uint64_t(0), b.requests());  // never tried round-robin
    CPPUNIT_ASSERT_EQUAL(std::string("v"), c3.get("fwd").value());
  }

  void testMultigetResendsOnlyRefusedKeys() {
    VBucketServer a, b;
    std::set<uint16_t> even;
    for (uint16_t v = 0; v < kVBuckets; v += 2) even.insert(v);
    a.set_owned(even);  // a owns the even vBuckets only; the map says all
    b.own_all();
    auto moxi = static_moxi(bucket_json({a.address(), b.address()}, [](int) { return 0; }));
    std::vector<std::string> keys;
    for (int i = 0; i < 30; ++i) {
      keys.push_back("m" + std::to_string(i));
      (vbucket_of(keys.back()) % 2 == 0 ? a : b).put(keys.back(), "val" + std::to_string(i));
    }
    TestClient c(moxi->port());
    auto got = c.get_multi(keys);
    CPPUNIT_ASSERT_EQUAL(keys.size(), got.size());
    for (size_t i = 0; i < keys.size(); ++i) CPPUNIT_ASSERT_EQUAL(keys[i], got[i].first);
    // b saw only the keys a refused.
    std::set<std::string> at_b;
    for (const auto& r : b.received()) at_b.insert(r.key);
    for (const auto& k : keys) CPPUNIT_ASSERT_EQUAL(vbucket_of(k) % 2 == 1, at_b.count(k) == 1);
  }

  void testBoundMakesReadsMissesAndWritesErrors() {
    VBucketServer a, b;
    a.set_owned({});
    b.set_owned({});  // nobody owns anything
    auto moxi = static_moxi(bucket_json({a.address(), b.address()}, [](int) { return 0; }), {"-Z", "nmv_max_retries=3"});
    TestClient c(moxi->port());
    CPPUNIT_ASSERT_EQUAL(std::string("END"), c.request("get lost"));
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR not my vbucket"), c.set("lost", "v"));
    TestClient bc(moxi->port());  // the protocol is per connection
    bc.send_binary(bin::request(bin::kSet, "lost", "v", bin::set_extras(0, 0), 9));
    CPPUNIT_ASSERT_EQUAL(bin::kNotMyVbucket, bc.read_binary().status());
    // 3 retries per request at most: the first try plus 3 re-routes (the
    // GET_CLUSTER_CONFIG the empty refusals prompt are no tries).
    auto tries = [&] {
      return a.requests() + b.requests() - a.cluster_config_requests() - b.cluster_config_requests();
    };
    const uint64_t before = tries();
    c.request("delete lost");
    CPPUNIT_ASSERT_EQUAL(uint64_t(4), tries() - before);
  }

  // The default bound is 2 x servers re-routes: with three servers that all
  // refuse, a request is tried 1 + 6 times, never more.
  void testDefaultBoundIsTwiceTheServers() {
    VBucketServer a, b, c3;
    a.set_owned({});
    b.set_owned({});
    c3.set_owned({});
    auto moxi = static_moxi(bucket_json({a.address(), b.address(), c3.address()}, [](int) { return 0; }));
    TestClient c(moxi->port());
    // The GET_CLUSTER_CONFIG the empty refusals prompt are no tries.
    auto tries = [&] {
      return a.requests() + b.requests() + c3.requests() -
             (a.cluster_config_requests() + b.cluster_config_requests() + c3.cluster_config_requests());
    };
    const uint64_t before = tries();
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR not my vbucket"), c.set("lost", "v"));
    CPPUNIT_ASSERT_EQUAL(uint64_t(7), tries() - before);
    CPPUNIT_ASSERT_EQUAL(uint64_t(7), a.nmv_count() + b.nmv_count() + c3.nmv_count());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(NotMyVBucketTest);

// Three fake data nodes whose vBuckets move between them: layout n puts
// vBucket v on (v + n) % 3.
struct MovingCluster {
  std::vector<std::unique_ptr<VBucketServer>> servers;
  std::vector<std::string> addresses;

  MovingCluster() {
    for (int i = 0; i < 3; ++i) {
      servers.push_back(std::make_unique<VBucketServer>());
      addresses.push_back(servers.back()->address());
    }
  }
  static std::function<int(int)> layout(int n) { return [n](int v) { return (v + n) % 3; }; }
  // Layout n as the document of revision n + 1.
  std::string config(int n) const { return "{\"rev\":" + std::to_string(n + 1) + "," + bucket_json(addresses, layout(n)).substr(1); }
  // Each server owns what layout n gives it.
  void own(int n) {
    for (int s = 0; s < 3; ++s) {
      std::set<uint16_t> mine;
      for (int v = 0; v < kVBuckets; ++v)
        if (layout(n)(v) == s) mine.insert(static_cast<uint16_t>(v));
      servers[static_cast<size_t>(s)]->set_owned(mine);
    }
  }
  void hold() {
    for (auto& s : servers) s->hold_replies();
  }
  void release() {
    for (auto& s : servers) s->release_replies();
  }
  // With replies held: the keys the clients wrote move from their layout
  // `from` owner to their layout `to` one. The new owner's copy, if any, is
  // stale (left from an earlier layout): nothing runs while replies are
  // held, so the old owner's is the latest.
  void copy_moved(Writers& writers, int from, int to) {
    writers.with_latest([&](const std::map<std::string, std::string>& latest) {
      for (const auto& [key, value] : latest) {
        const int v = vbucket_of(key);
        auto& old_owner = *servers[static_cast<size_t>(layout(from)(v))];
        auto& new_owner = *servers[static_cast<size_t>(layout(to)(v))];
        if (&old_owner == &new_owner) continue;
        if (auto item = old_owner.item(key)) new_owner.put(key, item->value, item->flags);
      }
    });
  }
  uint64_t nmv_count() const {
    uint64_t n = 0;
    for (const auto& s : servers) n += s->nmv_count();
    return n;
  }
};

// 20+ clients set and read back keys through moxi while the map moves
// vBuckets between servers: first announced with a forward map, then final;
// or told by the data nodes alone (NOT_MY_VBUCKET bodies, GET_CLUSTER_CONFIG).
class RebalanceTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RebalanceTest);
  CPPUNIT_TEST(testRebalanceUnderLoadLosesNothing);
  CPPUNIT_TEST(testRebalanceThroughNotMyVbucketConfigsAlone);
  CPPUNIT_TEST(testRebalanceThroughClusterConfigFetches);
  CPPUNIT_TEST(testNodeWithoutClusterConfigIsAskedOncePerMap);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testRebalanceUnderLoadLosesNothing() {
    MovingCluster cluster;
    const auto& addresses = cluster.addresses;
    auto layout = &MovingCluster::layout;
    cluster.own(0);
    RestMock mock(mock_serving(bucket_json(addresses, layout(0))));
    auto moxi = follow(stream_url(mock));
    {
      TestClient probe(moxi->port());
      set_eventually(probe, "probe", "1");
    }

    // 20 clients; a value read is always the latest, a miss is allowed only
    // while its vBucket's data is being copied (checked at the end).
    Writers writers(moxi->port(), 20, "c", 50, true);

    long generation_expected = 0;
    for (int move = 1; move <= 3; ++move) {
      writers.wait_ops(2000);
      const auto from = layout(move - 1), to = layout(move);
      // 1. The cluster announces the move: current map plus forward map.
      mock.set_config(bucket_json(addresses, from, &to));
      // 2. The data moves: every server holds its requests while ownership
      //    changes and the moved items are copied, then serves again (the
      //    proxy meets NOT_MY_VBUCKET and follows the forward map).
      cluster.hold();
      cluster.own(move);
      cluster.copy_moved(writers, move - 1, move);
      cluster.release();
      writers.wait_ops(2000);
      // 3. The final map.
      mock.set_config(bucket_json(addresses, to));
      generation_expected += 2;
    }
    writers.wait_ops(2000);
    writers.stop();
    CPPUNIT_ASSERT_MESSAGE(writers.first_failure(), writers.first_failure().empty());
    const std::map<std::string, std::string> latest = writers.latest();

    // Every set is readable afterwards, with its last value.
    TestClient check(moxi->port());
    for (const auto& [key, value] : latest) {
      auto got = check.get(key);
      CPPUNIT_ASSERT_MESSAGE("lost " + key, got.has_value());
      CPPUNIT_ASSERT_EQUAL_MESSAGE(key, value, *got);
    }
    CPPUNIT_ASSERT_MESSAGE("the moves never exercised NOT_MY_VBUCKET", cluster.nmv_count() > 0);
  }

  void testRebalanceThroughNotMyVbucketConfigsAlone() { rebalance_through_node_configs(ConfigVia::NotMyVbucketBody); }
  void testRebalanceThroughClusterConfigFetches() { rebalance_through_node_configs(ConfigVia::GetClusterConfig); }

  // A node that does not know GET_CLUSTER_CONFIG (UNKNOWN_COMMAND, as
  // memcached answers) and refuses with empty NOT_MY_VBUCKET bodies: the
  // refused keys still land, on the view's guesses, and the worker asks each
  // node once per map however many refusals follow; a new map, once more.
  void testNodeWithoutClusterConfigIsAskedOncePerMap() {
    MovingCluster cluster;
    cluster.own(0);
    RestMock mock(mock_serving(cluster.config(0)));
    auto moxi = follow(stream_url(mock), {"-t", "1"});  // one worker: one bucket state per map
    TestClient c(moxi->port());
    set_eventually(c, "probe", "1");
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats_proxy(c), "workers"));
    const long first_generation = generation(c);
    std::vector<uint64_t> asked(cluster.servers.size(), 0);
    for (int move = 1; move <= 2; ++move) {
      cluster.own(move);  // every vBucket moves; the map served still says layout move - 1
      const uint64_t refused = cluster.nmv_count();
      std::map<std::string, std::string> written;
      for (int i = 0; i < 100; ++i) {
        const std::string key = "u" + std::to_string(move) + "-" + std::to_string(i);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(key, std::string("STORED"), c.set(key, "v" + key));
        written[key] = "v" + key;
      }
      for (const auto& [key, value] : written) {
        CPPUNIT_ASSERT_EQUAL_MESSAGE(key, value, c.get(key).value_or("<miss>"));
        const auto& owner = *cluster.servers[static_cast<size_t>(MovingCluster::layout(move)(vbucket_of(key)))];
        CPPUNIT_ASSERT_EQUAL_MESSAGE(key, value, owner.get(key).value_or("<missing>"));
      }
      CPPUNIT_ASSERT_MESSAGE("fewer refusals than nodes: nothing to ask twice", cluster.nmv_count() - refused > 3);
      uint64_t asked_now = 0;
      for (size_t s = 0; s < cluster.servers.size(); ++s) {
        const uint64_t n = cluster.servers[s]->cluster_config_requests() - asked[s];
        CPPUNIT_ASSERT_MESSAGE("server " + std::to_string(s) + " asked " + std::to_string(n) + " times in one map",
                               n <= 1);
        asked[s] += n;
        asked_now += n;
      }
      CPPUNIT_ASSERT_MESSAGE("no node was asked", asked_now > 0);
      // The next map, from the stream: the nodes may be asked again.
      mock.set_config(cluster.config(move));
      wait_generation({&c}, first_generation + move);
    }
    uint64_t total = 0;
    for (uint64_t n : asked) total += n;
    CPPUNIT_ASSERT_EQUAL(total, stat(stats_proxy(c), "cluster_config_fetches_total"));
  }

 private:
  // How the data nodes hand moxi their new config.
  enum class ConfigVia {
    NotMyVbucketBody,  // in the NOT_MY_VBUCKET body (moxi never asks)
    GetClusterConfig,  // empty NOT_MY_VBUCKET bodies, the config answered to GET_CLUSTER_CONFIG
  };

  // 20 clients while the cluster moves three times; the stream stays silent
  // on its first map. The data nodes refuse moved vBuckets with
  // NOT_MY_VBUCKET and hand moxi their newer config as `via` says (as
  // Couchbase does, or as a node that dedupes its maps does). moxi follows
  // from those configs alone: the config becomes the served map, and nothing
  // is refused once it is. An older config that arrives afterwards (from the
  // stream) is ignored.
  void rebalance_through_node_configs(ConfigVia via) {
    MovingCluster cluster;
    cluster.own(0);
    RestMock mock(mock_serving(cluster.config(0)));
    auto moxi = follow(stream_url(mock));
    TestClient probe(moxi->port());
    set_eventually(probe, "probe", "1");
    const long first_generation = generation(probe);
    Writers writers(moxi->port(), 20, "n", 50, true);
    for (int move = 1; move <= 3; ++move) {
      writers.wait_ops(2000);
      cluster.hold();
      cluster.own(move);
      // As a single-node Couchbase writes it: "$HOST" for its own address,
      // which moxi reads as the host of the server that sent it.
      std::string config = cluster.config(move);
      for (size_t at; (at = config.find("127.0.0.1:")) != std::string::npos;) config.replace(at, 9, "$HOST");
      for (auto& s : cluster.servers) {
        if (via == ConfigVia::NotMyVbucketBody) {
          s->set_not_my_vbucket_body(config);
        } else {
          s->set_cluster_config(config);
        }
      }
      cluster.copy_moved(writers, move - 1, move);
      cluster.release();
      writers.wait_ops(2000);
      // The served map is the node's: no request meets a refusal any more.
      const std::string rev = "rev " + std::to_string(move + 1);
      auto served = [&] {
        for (const auto& [name, value] : stats_proxy(probe, "config"))
          if (name.ends_with(":rev")) return value;
        return std::string("<none>");
      };
      Deadline deadline(std::chrono::seconds(10));
      while (served() != rev) CPPUNIT_ASSERT_MESSAGE("revision " + rev + " never served", !deadline.expired());
    }
    writers.wait_ops(2000);
    const uint64_t refused = cluster.nmv_count();
    writers.wait_ops(2000);
    const uint64_t after = cluster.nmv_count();
    CPPUNIT_ASSERT_EQUAL_MESSAGE("refusals after the last map was served", refused, after);
    // The stream now sends an older layout: it is ignored (counted; the
    // workers may have offered the served config twice already).
    const uint64_t stale = stat(stats_proxy(probe), "config_stale_ignored_total");
    mock.set_config(cluster.config(1));
    Deadline deadline(std::chrono::seconds(10));
    while (stat(stats_proxy(probe), "config_stale_ignored_total") == stale)
      CPPUNIT_ASSERT_MESSAGE("the older config was not counted", !deadline.expired());
    writers.wait_ops(2000);
    writers.stop();
    CPPUNIT_ASSERT_MESSAGE(writers.first_failure(), writers.first_failure().empty());
    CPPUNIT_ASSERT_EQUAL_MESSAGE("the older config was served", after, cluster.nmv_count());
    TestClient check(moxi->port());
    for (const auto& [key, value] : writers.latest()) {
      auto got = check.get(key);
      CPPUNIT_ASSERT_MESSAGE("lost " + key, got.has_value());
      CPPUNIT_ASSERT_EQUAL_MESSAGE(key, value, *got);
    }
    CPPUNIT_ASSERT(refused > 0);
    // One new generation per move, each from a node's config (the stream
    // sent nothing newer).
    CPPUNIT_ASSERT_EQUAL(first_generation + 3, generation(probe));
    uint64_t asked = 0;
    for (const auto& s : cluster.servers) asked += s->cluster_config_requests();
    const uint64_t fetches = stat(stats_proxy(probe), "cluster_config_fetches_total");
    if (via == ConfigVia::NotMyVbucketBody) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE("asked for a config the refusals carried", uint64_t{0}, asked);
      CPPUNIT_ASSERT_EQUAL(uint64_t{0}, fetches);
    } else {
      CPPUNIT_ASSERT(asked > 0);
      CPPUNIT_ASSERT_EQUAL(asked, fetches);  // every fetch sent arrived
    }
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RebalanceTest);

// Config servers that misbehave while clients run: a stream that stalls in
// the middle of a document, a server that drops its streams again and
// again, a map naming a server nobody listens on. moxi keeps serving the
// last good map, picks up the next one when it can, never hangs a client,
// and loses no acknowledged write.
class ConfigFaultsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ConfigFaultsTest);
  CPPUNIT_TEST(testStallMidDocumentKeepsOldMapThenTakesNext);
  CPPUNIT_TEST(testFlappingConfigServerUnderLoad);
  CPPUNIT_TEST(testMapNamingUnreachableServer);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testStallMidDocumentKeepsOldMapThenTakesNext() {
    Memcached a, b;
    auto all_to = [](int server) { return std::function<int(int)>([server](int) { return server; }); };
    RestMock mock(mock_serving(bucket_json({a.address(), b.address()}, all_to(0))));
    // 3.5 s of silence ends a stream (moxi asks for a heartbeat every second).
    auto moxi = follow(stream_url(mock), {"-Z", "config_stall_timeout=3500"});
    TestClient c(moxi->port(), std::chrono::seconds(5));
    set_eventually(c, "before", "1");
    const long gen = generation(c);
    // The stream delivers 30 bytes of a document, then nothing; the next
    // map is held back by the stall.
    mock.stall(30);
    mock.set_config(bucket_json({a.address(), b.address()}, all_to(1)));
    // moxi notices (no heartbeat for 3.5 s) and opens a new stream, which
    // stays silent too; meanwhile the old map serves every request.
    long n = 0;
    const long streams = mock.state().streams_opened;
    for (Deadline d(std::chrono::seconds(20)); mock.state().streams_opened == streams; ++n) {
      CPPUNIT_ASSERT_MESSAGE("moxi never noticed the stall", !d.expired());
      CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("during" + std::to_string(n % 100), std::to_string(n)));
    }
    CPPUNIT_ASSERT_EQUAL(gen, generation(c));
    CPPUNIT_ASSERT_MESSAGE(moxi->log(), moxi->log().find("stalled") != std::string::npos);
    CPPUNIT_ASSERT_EQUAL(std::string("1"), TestClient(a.port()).get("before").value_or("<missing>"));
    CPPUNIT_ASSERT_EQUAL(std::to_string(n - 1), TestClient(a.port()).get("during" + std::to_string((n - 1) % 100)).value_or("<missing>"));
    // The config server comes back: the held map arrives and is taken.
    mock.resume();
    wait_generation({&c}, gen + 1);
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("after", "2"));
    CPPUNIT_ASSERT_EQUAL(std::string("2"), TestClient(b.port()).get("after").value_or("<missing>"));
  }

  void testFlappingConfigServerUnderLoad() {
    Memcached a, b;
    const std::vector<std::string> servers = {a.address(), b.address()};
    const std::string json = bucket_json(servers, [](int v) { return v % 2; });
    RestMock mock(mock_serving(json));
    auto moxi = follow(stream_url(mock));
    {
      TestClient probe(moxi->port());
      set_eventually(probe, "probe", "1");
    }
    const long gen = [&] {
      TestClient probe(moxi->port());
      return generation(probe);
    }();
    Writers writers(moxi->port(), 4, "f", 200, false);
    // Ten flaps, clean and abrupt, each waiting for moxi to come back.
    for (int flap = 0; flap < 10; ++flap) {
      mock.wait_for_open_streams(1, std::chrono::seconds(20));
      const long opened = mock.state().streams_opened;
      CPPUNIT_ASSERT_EQUAL(1, mock.drop_streams(flap % 2 == 0));
      mock.wait_until("min_streams_opened=" + std::to_string(opened + 1), std::chrono::seconds(20));
    }
    writers.stop();
    CPPUNIT_ASSERT_MESSAGE(writers.first_failure(), writers.first_failure().empty());
    const std::map<std::string, std::string> stored = writers.latest();
    // The same map came back every time: no swap happened.
    TestClient c(moxi->port());
    CPPUNIT_ASSERT_EQUAL(gen, generation(c));
    CPPUNIT_ASSERT(stored.size() > 100);
    for (const auto& [key, value] : stored) {
      Memcached& owner = vbucket_of(key) % 2 == 0 ? a : b;
      CPPUNIT_ASSERT_EQUAL_MESSAGE("lost " + key, value, TestClient(owner.port()).get(key).value_or("<missing>"));
    }
  }

  void testMapNamingUnreachableServer() {
    Memcached a;
    const std::string dead = "127.0.0.1:" + std::to_string(unused_loopback_port());
    RestMock mock(mock_serving(bucket_json({a.address()}, [](int) { return 0; })));
    auto moxi = follow(stream_url(mock));
    TestClient c(moxi->port(), std::chrono::seconds(5));
    set_eventually(c, "warmup", "1");
    const long gen = generation(c);
    // Half of the vBuckets move to a server nobody listens on.
    mock.set_config(bucket_json({a.address(), dead}, [](int v) { return v % 2; }));
    wait_generation({&c}, gen + 1);
    auto key_on = [](int server, const std::string& prefix) {
      return oracle::first_key_on([](std::string_view k) { return vbucket_of(std::string(k)) % 2; }, server, prefix);
    };
    std::map<std::string, std::string> stored;
    for (int round = 0; round < 5; ++round) {
      const std::string live = key_on(0, "live" + std::to_string(round) + "-");
      const std::string gone = key_on(1, "gone" + std::to_string(round) + "-");
      CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(live, "v"));
      stored[live] = "v";
      // Keys of the dead server fail at once (refused connect), every time.
      const auto start = std::chrono::steady_clock::now();
      std::string reply = c.set(gone, "x");
      CPPUNIT_ASSERT_MESSAGE(reply, reply.rfind("SERVER_ERROR ", 0) == 0);
      reply = c.request("get " + gone);
      CPPUNIT_ASSERT_MESSAGE(reply, reply.rfind("SERVER_ERROR ", 0) == 0 || reply == "END");
      auto items = c.get_multi({live, gone});
      CPPUNIT_ASSERT_EQUAL(size_t(1), items.size());
      CPPUNIT_ASSERT_EQUAL(live, items[0].first);
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
      CPPUNIT_ASSERT_MESSAGE("took " + std::to_string(ms) + " ms", ms < 1500);
    }
    TestClient direct(a.port());
    for (const auto& [key, value] : stored) CPPUNIT_ASSERT_EQUAL_MESSAGE(key, value, direct.get(key).value_or("<missing>"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ConfigFaultsTest);

}  // namespace
}  // namespace moxi::test
