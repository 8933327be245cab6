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

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "t/proxy/cluster.h"
#include "t/support/client.h"
#include "t/support/rest_mock.h"
#include "t/support/sasl_memcached.h"
#include "t/support/servers.h"
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
std::string bucket_doc(const std::string& name, std::optional<std::string> password, const std::string& server) {
  std::string doc = "{\"name\":\"" + name + "\"";
  if (password) doc += ",\"saslPassword\":\"" + *password + "\"";
  return doc + R"(,"nodeLocator":"vbucket","vBucketServerMap":{"hashAlgorithm":"CRC","numReplicas":0,"serverList":[")" +
         server + R"("],"vBucketMap":[[0],[0],[0],[0]]}})";
}

std::string buckets_doc(const std::vector<std::string>& buckets) {
  std::string doc = "{\"buckets\":[";
  for (size_t i = 0; i < buckets.size(); ++i) doc += (i ? "," : "") + buckets[i];
  return doc + "]}";
}

RestMockOptions serving(std::string json) {
  RestMockOptions o;
  o.config_json = std::move(json);
  return o;
}

std::unique_ptr<Moxi> gateway(const RestMock& mock, const std::string& behaviors = "", int threads = 2) {
  std::vector<std::string> args = {"-l", "127.0.0.1", "-t", std::to_string(threads), "-vv", "-Z",
                                   "port_listen=0" + (behaviors.empty() ? "" : "," + behaviors)};
  args.push_back(mock.url("/pools/default/saslBucketsStreaming"));
  return std::make_unique<Moxi>(args);
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
  CPPUNIT_TEST_SUITE_END();

 public:
  void testEveryBucketIsServedAndWritesLandInTheirOwn() {
    Cluster cluster;
    RestMock mock(serving(cluster.all()));
    auto moxi = gateway(mock, "default_bucket_name=default");

    // ascii clients use the default bucket.
    TestClient ascii(moxi->port());
    wait_generation(ascii, 1);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi->log(), std::string("STORED"), ascii.set("k", "in-default"));

    TestClient c1(moxi->port());
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
    RestMock mock(serving(cluster.all()));
    auto moxi = gateway(mock, "default_bucket_name=default");
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
    RestMock mock(serving(buckets_doc({cluster.bucket1(), cluster.bucket2()})));
    auto moxi = gateway(mock);
    TestClient c(moxi->port());
    wait_generation(c, 1);
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR unauthorized, null bucket"), c.set("k", "v"));
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR unauthorized, null bucket"), c.request("get k"));
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR unauthorized, null bucket"), c.request("flush_all"));
    CPPUNIT_ASSERT(c.request("version").starts_with("VERSION "));

    // Naming it as the default bucket does not open it either.
    auto named = gateway(mock, "default_bucket_name=b1");
    TestClient n(named->port());
    wait_generation(n, 1);
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR unauthorized, null bucket"), n.set("k", "v"));
    TestClient direct1 = logged_in(cluster.b1.server(), "b1", "p1");
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, bin_get(direct1, "k").status());
  }

  void testEmptyDefaultBucketNameStartsOnNoBucket() {
    Cluster cluster;
    RestMock mock(serving(cluster.all()));
    auto moxi = gateway(mock, "default_bucket_name=");
    TestClient ascii(moxi->port());
    wait_generation(ascii, 1);
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR unauthorized, null bucket"), ascii.set("k", "v"));
    // "default" has no password: a binary client may name it.
    TestClient c(moxi->port());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, sasl_auth(c, "default", "").status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, bin_set(c, "k", "v").status());
    TestClient plain(cluster.plain.port());
    CPPUNIT_ASSERT_EQUAL(std::string("v"), plain.get("k").value_or("<miss>"));
  }

  void testBucketLeavingTheMapIsTheNullBucket() {
    Cluster cluster;
    RestMock mock(serving(cluster.all()));
    auto moxi = gateway(mock);  // default_bucket_name unset: new clients start on "default"
    TestClient ascii(moxi->port());
    wait_generation(ascii, 1);
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), ascii.set("k", "v0"));
    TestClient c1(moxi->port());
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
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR unauthorized, null bucket"), late.set("k", "v"));
    TestClient c2(moxi->port());
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
};

CPPUNIT_TEST_SUITE_REGISTRATION(GatewayTest);

// What a client script (t/clients/) printed, and its exit status.
struct ClientRun {
  int status = -1;  // the exit status; -1 when killed by a signal
  std::string output;
};

// Runs a client script to its end (bounded) with stdout and stderr together.
ClientRun run_client(const std::vector<std::string>& argv) {
  TempDir dir("moxi-client");
  ProcessOptions options;
  options.out = ProcessOutput::file(dir.file("output"));
  options.err = options.out;
  Process client(argv, options);
  const std::optional<int> status = client.wait_exit(std::chrono::seconds(30));
  std::ifstream file(dir.file("output"));
  std::stringstream output;
  output << file.rdbuf();
  CPPUNIT_ASSERT_MESSAGE(argv[1] + " did not finish: " + output.str(), status.has_value());
  return {WIFEXITED(*status) ? WEXITSTATUS(*status) : -1, output.str()};
}

// A client that logs in as `user` with `password` to 127.0.0.1:`port`,
// sets `key` to `value` and gets it.
using ClientScript = std::function<ClientRun(int port, const std::string& user, const std::string& password,
                                             const std::string& key, const std::string& value)>;

ClientRun dalli(int port, const std::string& user, const std::string& password, const std::string& key,
                const std::string& value) {
  return run_client({RestMock::ruby(), MOXI_SRCDIR "/t/clients/dalli_sasl.rb", "127.0.0.1:" + std::to_string(port),
                     user, password, key, value});
}

ClientRun php_memcached(int port, const std::string& user, const std::string& password, const std::string& key,
                        const std::string& value) {
  return run_client({"php", MOXI_SRCDIR "/t/clients/php_memcached_sasl.php", "127.0.0.1", std::to_string(port), user,
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
    RestMock mock(serving(cluster.all()));
    auto moxi = gateway(mock, "default_bucket_name=default", 1);
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
