// The multi-bucket gateway: one port serving every bucket of a
// saslBucketsStreaming document from rest_mock. Each bucket's servers are
// real memcacheds: "default" a plain one, the password-protected buckets a
// memcached -S whose sasldb knows the bucket's name and saslPassword, so
// moxi must log in to each with that bucket's own credentials. Clients
// start on the default bucket, binary clients change bucket with SASL
// PLAIN, and a connection without a bucket (a failed login, a bucket gone
// from the map, no start bucket) reaches no server at all: every write is
// checked on the memcached it must (and must not) have landed on. Then real
// SASL clients (t/clients/: Dalli, PHP's memcached) do the same.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "t/proxy/cluster.h"
#include "t/proxy/rest_moxi.h"
#include "t/support/client.h"
#include "t/support/rest_mock.h"
#include "t/support/process.h"
#include "t/support/sasl_memcached.h"
#include "t/support/servers.h"
#include "t/support/tls_files.h"
#include "t/support/temp_dir.h"

namespace moxi::test {
namespace {

constexpr uint8_t kSaslListMechs = 0x20;
constexpr uint8_t kSaslStep = 0x22;
constexpr uint16_t kAuthError = 0x20;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A vBucket bucket of 4 vBuckets, all on `server`.
// `password` null: no saslPassword at all.
std::string bucket_doc(const std::string& name, const char* password, const std::string& server) {
  std::string doc = "{\"name\":\"" + name + "\"";
  if (password) doc += ",\"saslPassword\":\"" + std::string(password) + "\"";
  return doc + R"(,"nodeLocator":"vbucket","vBucketServerMap":{"hashAlgorithm":"CRC","numReplicas":0,"serverList":[")" +
         server + R"("],"vBucketMap":[[0],[0],[0],[0]]}})";
}

std::string buckets_doc(const std::vector<std::string>& buckets) {
  std::string doc = "{\"buckets\":[";
  for (size_t i = 0; i < buckets.size(); ++i) doc += (i ? "," : "") + buckets[i];
  return doc + "]}";
}

// A client of a memcached -S, logged in as `user` (the way to look at
// what moxi stored there).
TestClient logged_in(Memcached& server, const std::string& user, const std::string& password) {
  TestClient c(server.port());
  const BinaryPacket reply = sasl_auth(c, user, password);
  CPPUNIT_ASSERT_EQUAL_MESSAGE("direct login as " + user, bin::kSuccess, reply.status());
  return c;
}

// Three buckets: "default" without a password on a plain memcached, and
// b1/b2 with passwords, each on a memcached -S that knows only its bucket.
struct Cluster {
  Memcached plain;
  SaslMemcached b1{{{"b1", "p1"}}, "plain"};
  SaslMemcached b2{{{"b2", "p2"}}, "plain"};

  std::string default_bucket() { return bucket_doc("default", "", plain.address()); }
  std::string bucket1() { return bucket_doc("b1", "p1", b1.server().address()); }
  std::string bucket2() { return bucket_doc("b2", "p2", b2.server().address()); }
  std::string all() { return buckets_doc({default_bucket(), bucket1(), bucket2()}); }
};

class GatewayTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(GatewayTest);
  CPPUNIT_TEST(testEveryBucketIsServedAndWritesLandInTheirOwn);
  CPPUNIT_TEST(testFailedLoginLeavesNoBucket);
  CPPUNIT_TEST(testProtectedBucketIsNeverServedUnauthenticated);
  CPPUNIT_TEST(testEmptyDefaultBucketNameStartsOnNoBucket);
  CPPUNIT_TEST(testBucketLeavingTheMapIsTheNullBucket);
  CPPUNIT_TEST(testBucketRemovedUnderLoad);
  CPPUNIT_TEST(testClientPasswordsFile);
  CPPUNIT_TEST(testSighupReadsPasswordsAndUrls);
  CPPUNIT_TEST(testStaticBucketListIsAGateway);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testEveryBucketIsServedAndWritesLandInTheirOwn() {
    Cluster cluster;
    RestMock mock(mock_serving(cluster.all()));
    auto moxi = gateway_moxi(mock, "default_bucket_name=default");

    // ascii clients use the default bucket.
    TestClient ascii(moxi->port());
    wait_generation(ascii, 1);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi->log(), std::string("STORED"), ascii.set("k", "in-default"));

    TestClient c1(moxi->port());
    wait_generation(c1, 1, true);  // a new connection may be on a worker still switching
    c1.send_binary(bin::request(kSaslListMechs));
    BinaryPacket mechs = c1.read_binary();
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, mechs.status());
    CPPUNIT_ASSERT_EQUAL(std::string("PLAIN"), mechs.value);
    BinaryPacket ok = sasl_auth(c1, "b1", "p1");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi->log(), bin::kSuccess, ok.status());
    CPPUNIT_ASSERT_EQUAL(std::string("Authenticated"), ok.value);
    const BinaryPacket stored = bin_set(c1, "k", "in-b1");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(stored.value + "\n" + moxi->log(), bin::kSuccess, stored.status());
    CPPUNIT_ASSERT_EQUAL(std::string("in-b1"), bin_get(c1, "k").value);

    TestClient c2(moxi->port());
    wait_generation(c2, 1, true);  // a new connection may be on a worker still switching
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, sasl_auth(c2, "b2", "p2").status());
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, bin_get(c2, "k").status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, bin_set(c2, "k2", "in-b2").status());

    // Where the writes are, read on the memcacheds themselves.
    TestClient plain(cluster.plain.port());
    CPPUNIT_ASSERT_EQUAL(std::string("in-default"), plain.get("k").value_or("<miss>"));
    CPPUNIT_ASSERT(!plain.get("k2"));
    TestClient direct1 = logged_in(cluster.b1.server(), "b1", "p1");
    CPPUNIT_ASSERT_EQUAL(std::string("in-b1"), bin_get(direct1, "k").value);
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, bin_get(direct1, "k2").status());
    TestClient direct2 = logged_in(cluster.b2.server(), "b2", "p2");
    CPPUNIT_ASSERT_EQUAL(std::string("in-b2"), bin_get(direct2, "k2").value);

    // moxi logged in to each protected bucket's server as that bucket.
    CPPUNIT_ASSERT_MESSAGE(moxi->log(), contains(moxi->log(), "authenticated as b1"));
    CPPUNIT_ASSERT_MESSAGE(moxi->log(), contains(moxi->log(), "authenticated as b2"));
    CPPUNIT_ASSERT_MESSAGE("a password in the log", !contains(moxi->log(), "p1") && !contains(moxi->log(), "p2"));
    const Stats stats = stats_proxy(ascii);
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, stat(stats, "client_auth_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(stats, "backend_auth_failures_total"));
  }

  void testFailedLoginLeavesNoBucket() {
    Cluster cluster;
    RestMock mock(mock_serving(cluster.all()));
    auto moxi = gateway_moxi(mock, "default_bucket_name=default");
    TestClient c(moxi->port());
    wait_generation(c, 1, true);
    // Before any login the connection is on "default".
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, bin_set(c, "before", "x").status());

    BinaryPacket refused = sasl_auth(c, "b1", "wrong");
    CPPUNIT_ASSERT_EQUAL(kAuthError, refused.status());
    // Now on no bucket: nothing reaches any server.
    BinaryPacket set = bin_set(c, "after", "x");
    CPPUNIT_ASSERT_EQUAL(kAuthError, set.status());
    CPPUNIT_ASSERT_EQUAL(std::string("unauthorized, null bucket"), set.value);
    CPPUNIT_ASSERT_EQUAL(kAuthError, bin_get(c, "before").status());
    // Other ways to fail: an unknown bucket, another mechanism, a step.
    CPPUNIT_ASSERT_EQUAL(kAuthError, sasl_auth(c, "nosuch", "").status());
    CPPUNIT_ASSERT_EQUAL(kAuthError, sasl_auth(c, "b1", "p1", "CRAM-MD5").status());
    c.send_binary(bin::request(kSaslStep, "PLAIN", "x"));
    CPPUNIT_ASSERT_EQUAL(kAuthError, c.read_binary().status());
    // What the proxy answers itself still works.
    c.send_binary(bin::request(bin::kVersion));
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, c.read_binary().status());
    // The right password gets a bucket again.
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, sasl_auth(c, "b1", "p1").status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, bin_set(c, "after", "y").status());

    TestClient plain(cluster.plain.port());
    CPPUNIT_ASSERT(plain.get("before"));
    CPPUNIT_ASSERT(!plain.get("after"));
    TestClient direct1 = logged_in(cluster.b1.server(), "b1", "p1");
    CPPUNIT_ASSERT_EQUAL(std::string("y"), bin_get(direct1, "after").value);
    TestClient ascii(moxi->port());
    const Stats stats = stats_proxy(ascii);  // summed over the workers
    CPPUNIT_ASSERT_EQUAL(uint64_t{4}, stat(stats, "client_auth_failures_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, stat(stats, "null_bucket_requests_total"));
  }

  void testProtectedBucketIsNeverServedUnauthenticated() {
    Cluster cluster;
    // No "default": the first bucket has a password, so clients start on none
    // (the original served them the first bucket).
    RestMock mock(mock_serving(buckets_doc({cluster.bucket1(), cluster.bucket2()})));
    auto moxi = gateway_moxi(mock);
    TestClient c(moxi->port());
    wait_generation(c, 1);
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR unauthorized, null bucket"), c.set("k", "v"));
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR unauthorized, null bucket"), c.request("get k"));
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR unauthorized, null bucket"), c.request("flush_all"));
    CPPUNIT_ASSERT(c.request("version").starts_with("VERSION "));

    // Naming it as the default bucket does not open it either.
    auto named = gateway_moxi(mock, "default_bucket_name=b1");
    TestClient n(named->port());
    wait_generation(n, 1);
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR unauthorized, null bucket"), n.set("k", "v"));
    TestClient direct1 = logged_in(cluster.b1.server(), "b1", "p1");
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, bin_get(direct1, "k").status());
  }

  void testEmptyDefaultBucketNameStartsOnNoBucket() {
    Cluster cluster;
    RestMock mock(mock_serving(cluster.all()));
    auto moxi = gateway_moxi(mock, "default_bucket_name=");
    TestClient ascii(moxi->port());
    wait_generation(ascii, 1);
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR unauthorized, null bucket"), ascii.set("k", "v"));
    // "default" has no password: a binary client may name it.
    TestClient c(moxi->port());
    wait_generation(c, 1, true);  // a new connection may be on a worker still switching
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, sasl_auth(c, "default", "").status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, bin_set(c, "k", "v").status());
    TestClient plain(cluster.plain.port());
    CPPUNIT_ASSERT_EQUAL(std::string("v"), plain.get("k").value_or("<miss>"));
  }

  void testBucketLeavingTheMapIsTheNullBucket() {
    Cluster cluster;
    RestMock mock(mock_serving(cluster.all()));
    auto moxi = gateway_moxi(mock);  // default_bucket_name unset: new clients start on "default"
    TestClient ascii(moxi->port());
    wait_generation(ascii, 1);
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), ascii.set("k", "v0"));
    TestClient c1(moxi->port());
    wait_generation(c1, 1, true);  // a new connection may be on a worker still switching
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, sasl_auth(c1, "b1", "p1").status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, bin_set(c1, "k", "v1").status());

    // "default" and b1 leave; b2 stays.
    mock.set_config(buckets_doc({cluster.bucket2()}));
    wait_generation(ascii, 2);
    wait_generation(c1, 2, true);
    // Neither connection is moved to b2: their writes reach no server.
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR unauthorized, null bucket"), ascii.set("k", "lost-default"));
    CPPUNIT_ASSERT_EQUAL(kAuthError, bin_set(c1, "k", "lost-b1").status());
    // New connections start on none (b2 has a password) and may log in.
    TestClient late(moxi->port());
    wait_generation(late, 2);  // a new connection may be on a worker still switching
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR unauthorized, null bucket"), late.set("k", "v"));
    TestClient c2(moxi->port());
    wait_generation(c2, 2, true);  // a new connection may be on a worker still switching
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, sasl_auth(c2, "b2", "p2").status());
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, bin_get(c2, "k").status());

    TestClient plain(cluster.plain.port());
    CPPUNIT_ASSERT_EQUAL(std::string("v0"), plain.get("k").value_or("<miss>"));
    TestClient direct1 = logged_in(cluster.b1.server(), "b1", "p1");
    CPPUNIT_ASSERT_EQUAL(std::string("v1"), bin_get(direct1, "k").value);
    TestClient direct2 = logged_in(cluster.b2.server(), "b2", "p2");
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, bin_get(direct2, "k").status());

    // "default" comes back: the ascii connection, bound to it by name, is served again.
    mock.set_config(cluster.all());
    wait_generation(ascii, 3);
    CPPUNIT_ASSERT_EQUAL(std::string("v0"), ascii.get("k").value_or("<miss>"));
  }

  // Writers on b1 and on "default" while b1 leaves the map: every write
  // acknowledged is on its own bucket's memcached, and no write of a b1
  // writer is on any other bucket's.
  void testBucketRemovedUnderLoad() {
    Cluster cluster;
    RestMock mock(mock_serving(cluster.all()));
    auto moxi = gateway_moxi(mock, "default_bucket_name=default");
    TestClient watcher(moxi->port());
    wait_generation(watcher, 1);

    constexpr int kWriters = 4;
    struct Written {
      std::vector<std::string> stored;  // acknowledged
      long refused = 0;                 // AUTH_ERROR: the bucket is gone
      std::string error;                // anything else
    };
    std::vector<Written> written(2 * kWriters);
    std::vector<std::unique_ptr<TestClient>> clients;
    for (int w = 0; w < 2 * kWriters; ++w) {
      clients.push_back(std::make_unique<TestClient>(moxi->port()));
      if (w < kWriters) CPPUNIT_ASSERT_EQUAL(bin::kSuccess, sasl_auth(*clients.back(), "b1", "p1").status());
    }
    std::atomic<bool> removed{false};
    std::vector<std::thread> threads;
    for (int w = 0; w < 2 * kWriters; ++w) {
      threads.emplace_back([&, w] {
        const bool on_b1 = w < kWriters;
        Written& out = written[static_cast<size_t>(w)];
        TestClient& c = *clients[static_cast<size_t>(w)];
        try {
          // Write on through the removal: 20 more writes after it.
          long seen_after = 0;
          for (int i = 0; seen_after < 20 && i < 100000; ++i) {
            const bool late = removed.load();
            const std::string key = "w" + std::to_string(w) + "-" + std::to_string(i);
            const BinaryPacket r = bin_set(c, key, on_b1 ? "b1" : "default");
            if (r.status() == bin::kSuccess) {
              out.stored.push_back(key);
            } else if (r.status() == kAuthError && on_b1) {
              ++out.refused;
            } else {
              throw std::runtime_error(key + ": status " + std::to_string(r.status()) + " " + r.value);
            }
            if (late) ++seen_after;
          }
        } catch (const std::exception& e) {
          out.error = e.what();
        }
      });
    }
    // Remove b1 once every writer is under way.
    for (Deadline d(std::chrono::seconds(10)); !d.expired();) {
      bool all = true;
      for (const Written& out : written) all = all && (out.stored.size() > 10 || !out.error.empty());
      if (all) break;
      std::this_thread::yield();
    }
    mock.set_config(buckets_doc({cluster.default_bucket(), cluster.bucket2()}));
    wait_generation(watcher, 2);
    removed = true;
    for (auto& t : threads) t.join();
    for (const Written& out : written) CPPUNIT_ASSERT_MESSAGE(out.error, out.error.empty());

    TestClient plain(cluster.plain.port());
    TestClient direct1 = logged_in(cluster.b1.server(), "b1", "p1");
    TestClient direct2 = logged_in(cluster.b2.server(), "b2", "p2");
    long refused = 0;
    for (int w = 0; w < 2 * kWriters; ++w) {
      const Written& out = written[static_cast<size_t>(w)];
      refused += out.refused;
      const bool on_b1 = w < kWriters;
      for (const std::string& key : out.stored) {
        if (on_b1) {
          CPPUNIT_ASSERT_EQUAL_MESSAGE(key, std::string("b1"), bin_get(direct1, key).value);
          CPPUNIT_ASSERT_MESSAGE(key + " on default", !plain.get(key));
        } else {
          CPPUNIT_ASSERT_EQUAL_MESSAGE(key, std::string("default"), plain.get(key).value_or("<miss>"));
        }
        CPPUNIT_ASSERT_EQUAL_MESSAGE(key + " on b2", bin::kKeyNotFound, bin_get(direct2, key).status());
      }
    }
    // Once a writer's worker serves the new map, its writes are refused.
    for (int w = 0; w < kWriters; ++w) {
      TestClient& c = *clients[static_cast<size_t>(w)];
      wait_generation(c, 2, true);
      CPPUNIT_ASSERT_EQUAL(kAuthError, bin_set(c, "late", "b1").status());
    }
    CPPUNIT_ASSERT(!plain.get("late"));
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, bin_get(direct2, "late").status());
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, bin_get(direct1, "late").status());
    CPPUNIT_ASSERT_MESSAGE(std::to_string(refused), refused > 0);
  }

  // -Z client_passwords: the proxy's own table of client passwords, for
  // maps without saslPassword (Couchbase 5.0+) or to replace one.
  void testClientPasswordsFile() {
    Cluster cluster;
    TempDir dir("moxi-gateway");
    const std::string table = dir.file("passwords");
    {
      std::ofstream out(table);
      out << "# bucket:password\ndefault:d,%=|pw\nb1:t4ble-only\n";
    }
    RestMock mock(mock_serving(cluster.all()));
    auto moxi = gateway_moxi(mock, "client_passwords=" + table);
    TestClient ascii(moxi->port());
    wait_generation(ascii, 1);
    // "default" has a password now: not a start bucket.
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR unauthorized, null bucket"), ascii.set("k", "v"));
    TestClient c(moxi->port());
    wait_generation(c, 1, true);  // c may be on another worker: it switches through its own queue
    CPPUNIT_ASSERT_EQUAL(kAuthError, sasl_auth(c, "default", "").status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, sasl_auth(c, "default", "d,%=|pw").status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, bin_set(c, "k", "v").status());
    // b1's saslPassword no longer lets a client in; the table's does. moxi
    // still logs in to b1's server with the saslPassword.
    CPPUNIT_ASSERT_EQUAL(kAuthError, sasl_auth(c, "b1", "p1").status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, sasl_auth(c, "b1", "t4ble-only").status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, bin_set(c, "k1", "v1").status());
    // b2 is not listed: its saslPassword.
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, sasl_auth(c, "b2", "p2").status());
    TestClient plain(cluster.plain.port());
    CPPUNIT_ASSERT_EQUAL(std::string("v"), plain.get("k").value_or("<miss>"));
    TestClient direct1 = logged_in(cluster.b1.server(), "b1", "p1");
    CPPUNIT_ASSERT_EQUAL(std::string("v1"), bin_get(direct1, "k1").value);
    CPPUNIT_ASSERT_MESSAGE("a password in the log", !contains(moxi->log(), "t4ble-only") && !contains(moxi->log(), "d,%=|pw"));
  }

  // SIGHUP reads the client password table and a -z file holding the URL
  // again: new passwords at once (a new generation from the last map), the
  // new URL's stream from then on.
  void testSighupReadsPasswordsAndUrls() {
    Cluster cluster;
    RestMock first(mock_serving(cluster.all()));
    RestMock second(mock_serving(buckets_doc({cluster.default_bucket(), cluster.bucket1(), cluster.bucket2(),
                                         bucket_doc("b3", nullptr, cluster.plain.address())})));
    TempDir dir("moxi-gateway");
    const std::string table = dir.file("passwords");
    const std::string url_file = dir.file("url.cfg");
    auto write = [](const std::string& path, const std::string& text) {  // renamed into place
      {
        std::ofstream out(path + ".tmp");
        out << text;
      }
      CPPUNIT_ASSERT(std::rename((path + ".tmp").c_str(), path.c_str()) == 0);
    };
    write(table, "b1:first\n");
    write(url_file, "url=" + first.url("/pools/default/saslBucketsStreaming") + "\n");
    Moxi moxi({"-l", "127.0.0.1", "-t", "2", "-vv", "-Z", "port_listen=0,client_passwords=" + table, "-z", url_file});
    TestClient ascii(moxi.port());
    wait_generation(ascii, 1);
    TestClient c(moxi.port());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, sasl_auth(c, "b1", "first").status());

    write(table, "b1:second\n");
    write(url_file, "url=" + second.url("/pools/default/saslBucketsStreaming") + "\n");
    moxi.process().kill(SIGHUP);
    wait_generation(c, 2, true);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), kAuthError, sasl_auth(c, "b1", "first").status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, sasl_auth(c, "b1", "second").status());
    // The second cluster manager's map (it has b3) follows.
    wait_generation(c, 3, true);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), bin::kSuccess, sasl_auth(c, "b3", "").status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, sasl_auth(c, "b1", "second").status());
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), contains(moxi.log(), "SIGHUP: new credentials"));
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), contains(moxi.log(), "from now on"));
  }

  // A static {"buckets":[...]} section (no cluster manager) serves every
  // bucket it lists, by the same rules.
  void testStaticBucketListIsAGateway() {
    Cluster cluster;
    Moxi moxi({"-l", "127.0.0.1", "-t", "2", "-z", "0=" + cluster.all()});
    TestClient ascii(moxi.port());
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), ascii.set("k", "in-default"));
    TestClient c(moxi.port());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, sasl_auth(c, "b2", "p2").status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, bin_set(c, "k", "in-b2").status());
    CPPUNIT_ASSERT_EQUAL(kAuthError, sasl_auth(c, "b1", "p2").status());
    TestClient plain(cluster.plain.port());
    CPPUNIT_ASSERT_EQUAL(std::string("in-default"), plain.get("k").value_or("<miss>"));
    TestClient direct2 = logged_in(cluster.b2.server(), "b2", "p2");
    CPPUNIT_ASSERT_EQUAL(std::string("in-b2"), bin_get(direct2, "k").value);
    TestClient direct1 = logged_in(cluster.b1.server(), "b1", "p1");
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, bin_get(direct1, "k").status());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(GatewayTest);

// What a client script (t/clients/) printed, and its exit status.
using ClientRun = ToolRun;

// A client that logs in as `user` with `password` to 127.0.0.1:`port`,
// sets `key` to `value` and gets it.
using ClientScript = std::function<ClientRun(int port, const std::string& user, const std::string& password,
                                             const std::string& key, const std::string& value)>;

ClientRun dalli(int port, const std::string& user, const std::string& password, const std::string& key,
                const std::string& value) {
  return run_tool({RestMock::ruby(), MOXI_SRCDIR "/t/clients/dalli_sasl.rb", "127.0.0.1:" + std::to_string(port),
                     user, password, key, value});
}

ClientRun php_memcached(int port, const std::string& user, const std::string& password, const std::string& key,
                        const std::string& value) {
  return run_tool({"php", MOXI_SRCDIR "/t/clients/php_memcached_sasl.php", "127.0.0.1", std::to_string(port), user,
                     password, key, value});
}

// Real SASL clients of the gateway: Ruby's Dalli and PHP's memcached
// (libmemcached, Cyrus libsasl2), scripts in t/clients/. Each logs in as
// bucket b1 with its saslPassword (binary SASL PLAIN) and sets and gets a
// key: the value must be on b1's memcached and on no other bucket's. With
// a wrong password its operations fail and nothing is stored. moxi runs
// one worker, so the worker a script lands on is the one known to have
// the map.
class GatewayClientsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(GatewayClientsTest);
  CPPUNIT_TEST(testDalli);
  CPPUNIT_TEST(testPhpMemcached);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testDalli() { check(dalli, "dalli"); }
  void testPhpMemcached() { check(php_memcached, "php"); }

 private:
  static void check(const ClientScript& client, const std::string& name) {
    Cluster cluster;
    RestMock mock(mock_serving(cluster.all()));
    auto moxi = gateway_moxi(mock, "default_bucket_name=default", 1);
    TestClient ascii(moxi->port());
    wait_generation(ascii, 1);

    const std::string key = name + "-key", value = name + "-value";
    const ClientRun ok = client(moxi->port(), "b1", "p1", key, value);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ok.output + moxi->log(), 0, ok.status);
    CPPUNIT_ASSERT_EQUAL(std::string("set ok\nget ") + value + "\n", ok.output);
    TestClient direct1 = logged_in(cluster.b1.server(), "b1", "p1");
    CPPUNIT_ASSERT_EQUAL(value, bin_get(direct1, key).value);
    TestClient direct2 = logged_in(cluster.b2.server(), "b2", "p2");
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, bin_get(direct2, key).status());
    TestClient plain(cluster.plain.port());
    CPPUNIT_ASSERT(!plain.get(key));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats_proxy(ascii), "client_auth_total"));

    const std::string other = name + "-refused";
    const ClientRun refused = client(moxi->port(), "b1", "wrong", other, value);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(refused.output, 1, refused.status);
    CPPUNIT_ASSERT_MESSAGE(refused.output, refused.output.starts_with("set failed: "));
    CPPUNIT_ASSERT_MESSAGE(refused.output, refused.output.find("\nget failed: ") != std::string::npos);
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, bin_get(direct1, other).status());
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, bin_get(direct2, other).status());
    CPPUNIT_ASSERT(!plain.get(other));
    CPPUNIT_ASSERT(stat(stats_proxy(ascii), "client_auth_failures_total") >= 1);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(GatewayClientsTest);

}  // namespace
}  // namespace moxi::test
