// moxi as the gateway of a Couchbase 5.0+ cluster: two buckets ("default"
// and b1) on the same two data nodes, which are VBucketServers in Couchbase
// mode (users, buckets, SCRAM, SELECT_BUCKET, per-bucket vBuckets, the
// key-hash check), and a saslBucketsStreaming document from rest_mock. moxi
// logs every backend connection in as -Z usr and selects the connection's
// bucket; clients pick a bucket with SASL PLAIN as bucket/saslPassword.
// Every write is looked up in the data node's own key spaces: in the right
// bucket, on the server the map names, and nowhere else. Then the failures:
// a wrong -Z pwd (a prompt error, counted, no retry storm), a bucket the
// user may not select (that bucket fails, the other works), and data nodes
// that drop their connections or restart (logged in and selected again).
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "t/proxy/cluster.h"
#include "t/proxy/rest_moxi.h"
#include "t/support/client.h"
#include "t/support/oracle.h"
#include "t/support/rest_mock.h"
#include "t/support/servers.h"
#include "t/support/vbucket_server.h"

namespace moxi::test {
namespace {

using namespace std::chrono_literals;

constexpr int kVbuckets = 4;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A data node with the buckets "default" and "b1" (not "b2": the document
// below also names it, to show a bucket the servers do not have) and the
// users Administrator (every bucket) and app (only "default").
VBucketServer::Options data_node(int port = 0) {
  return VBucketServer::data_node({"default", "b1"},
                                  {{"Administrator", "password", {"*"}, ""}, {"app", "app-pw", {"default"}, ""}}, port);
}

// Two data nodes and the vBucket maps of both buckets over them:
// "default" has vBuckets 0 and 2 on a, 1 and 3 on b; b1 (its server list
// the other way round) 0 and 1 on b, 2 and 3 on a. Each node owns exactly
// what its maps give it and checks every request's vBucket id.
struct CouchbaseCluster {
  std::unique_ptr<VBucketServer> a = std::make_unique<VBucketServer>(data_node());
  std::unique_ptr<VBucketServer> b = std::make_unique<VBucketServer>(data_node());

  CouchbaseCluster() {
    set_up(*a, {0, 2}, {2, 3});
    set_up(*b, {1, 3}, {0, 1});
  }
  static void set_up(VBucketServer& s, std::set<uint16_t> in_default, std::set<uint16_t> in_b1) {
    s.check_vbucket_hash(kVbuckets);
    s.set_owned("default", std::move(in_default));
    s.set_owned("b1", std::move(in_b1));
  }
  // Stops a and starts a new data node on its port (empty, as after a restart).
  void restart_a() {
    const int port = a->port();
    a.reset();
    a = std::make_unique<VBucketServer>(data_node(port));
    set_up(*a, {0, 2}, {2, 3});
  }

  // The server `key` belongs to in `bucket`.
  VBucketServer& owner(const std::string& bucket, const std::string& key) {
    const uint32_t vb = oracle::vbucket_of(key, kVbuckets);
    if (bucket == "default") return vb % 2 == 0 ? *a : *b;
    return vb < 2 ? *b : *a;
  }
  VBucketServer& other(VBucketServer& s) { return &s == a.get() ? *b : *a; }

  // With a revision when `rev` > 0.
  std::string bucket(const std::string& name, const std::string& password, const std::string& first,
                     const std::string& second, const std::string& rows, int rev = 0) {
    return "{" + (rev > 0 ? "\"rev\":" + std::to_string(rev) + "," : std::string()) + "\"name\":\"" + name +
           "\",\"saslPassword\":\"" + password +
           R"(","nodeLocator":"vbucket","vBucketServerMap":{"hashAlgorithm":"CRC","numReplicas":0,"serverList":[")" +
           first + "\",\"" + second + "\"],\"vBucketMap\":" + rows + "}}";
  }
  std::string document(bool with_b2 = false, int rev = 0) {
    std::string doc = "{\"buckets\":[" + bucket("default", "", a->address(), b->address(), "[[0],[1],[0],[1]]", rev) +
                      "," + bucket("b1", "p1", b->address(), a->address(), "[[0],[0],[1],[1]]", rev);
    if (with_b2) doc += "," + bucket("b2", "p2", a->address(), b->address(), "[[0],[1],[0],[1]]");
    return doc + "]}";
  }
};

// A binary client of moxi on bucket b1 (once its worker has the map).
TestClient b1_client(const Moxi& moxi) {
  TestClient c(moxi.port());
  wait_generation(c, 1, true);
  const BinaryPacket ok = sasl_auth(c, "b1", "p1");
  CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), bin::kSuccess, ok.status());
  return c;
}

// Keys of every vBucket, two each.
std::vector<std::string> keys() {
  std::vector<std::string> out;
  int per_vbucket[kVbuckets] = {};
  for (int i = 0; out.size() < 2 * kVbuckets; ++i) {
    const std::string k = "key" + std::to_string(i);
    if (per_vbucket[oracle::vbucket_of(k, kVbuckets)]++ < 2) out.push_back(k);
  }
  return out;
}

// `key` is in `bucket` on its owner with `value`, and in no other key space
// of either server but `other_bucket`'s on that bucket's owner.
void assert_placed(CouchbaseCluster& cluster, const std::string& bucket, const std::string& key,
                   const std::string& value, const std::string& other_bucket = "") {
  VBucketServer& owner = cluster.owner(bucket, key);
  CPPUNIT_ASSERT_EQUAL_MESSAGE(key + " in " + bucket, value, owner.get(bucket, key).value_or("<miss>"));
  for (VBucketServer* s : {cluster.a.get(), cluster.b.get()}) {
    for (const std::string& held : s->buckets_holding(key)) {
      const bool expected = (held == bucket && s == &owner) ||
                            (held == other_bucket && s == &cluster.owner(other_bucket, key));
      CPPUNIT_ASSERT_MESSAGE(key + " also in " + held + " on " + s->address(), expected);
    }
  }
}

// Repeats an ascii set until it is stored (the first may meet a connection
// the server dropped), at most until the deadline; every other answer must
// be one of moxi's errors.
void set_until_stored(TestClient& c, const std::string& key, const std::string& value, const Moxi& moxi) {
  Deadline deadline(10s);
  std::string reply;
  while ((reply = c.set(key, value)) != "STORED") {
    CPPUNIT_ASSERT_MESSAGE(reply + "\n" + moxi.log(), reply.starts_with("SERVER_ERROR proxy "));
    CPPUNIT_ASSERT_MESSAGE("never stored again: " + reply + "\n" + moxi.log(), !deadline.expired());
  }
}

void bin_set_until_stored(TestClient& c, const std::string& key, const std::string& value, const Moxi& moxi) {
  Deadline deadline(10s);
  BinaryPacket reply;
  while ((reply = bin_set(c, key, value)).status() != bin::kSuccess)
    CPPUNIT_ASSERT_MESSAGE("never stored again: " + reply.value + "\n" + moxi.log(), !deadline.expired());
}

// Writes every key to "default" (through `ascii`) and to b1 (through `b1`),
// retrying as above, and checks where each landed.
void write_both_buckets(CouchbaseCluster& cluster, TestClient& ascii, TestClient& b1, const std::string& tag,
                        const Moxi& moxi) {
  for (const std::string& k : keys()) {
    set_until_stored(ascii, k, "default-" + tag, moxi);
    bin_set_until_stored(b1, k, "b1-" + tag, moxi);
  }
  for (const std::string& k : keys()) {
    assert_placed(cluster, "default", k, "default-" + tag, "b1");
    assert_placed(cluster, "b1", k, "b1-" + tag, "default");
  }
}

class CouchbaseAuthTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(CouchbaseAuthTest);
  CPPUNIT_TEST(testEachBucketLandsInItsOwnKeySpaceOnItsServer);
  CPPUNIT_TEST(testWrongPasswordFailsPromptlyWithoutRetryStorm);
  CPPUNIT_TEST(testBucketTheUserMayNotSelectFailsAlone);
  CPPUNIT_TEST(testDroppedAndRestartedServersAreLoggedInAgain);
  CPPUNIT_TEST(testEmptyNotMyVbucketAsksOnTheBucketsConnection);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testEachBucketLandsInItsOwnKeySpaceOnItsServer() {
    CouchbaseCluster cluster;
    RestMock mock(mock_serving(cluster.document()));
    auto moxi = gateway_moxi(mock, "usr=Administrator,pwd=password,default_bucket_name=default");
    TestClient ascii(moxi->port());  // on "default"
    wait_generation(ascii, 1);
    TestClient b1 = b1_client(*moxi);
    for (const std::string& k : keys()) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi->log(), std::string("STORED"), ascii.set(k, "default-" + k));
      const BinaryPacket stored = bin_set(b1, k, "b1-" + k);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(stored.value + "\n" + moxi->log(), bin::kSuccess, stored.status());
    }
    for (const std::string& k : keys()) {
      assert_placed(cluster, "default", k, "default-" + k, "b1");
      assert_placed(cluster, "b1", k, "b1-" + k, "default");
      CPPUNIT_ASSERT_EQUAL(std::string("default-" + k), ascii.get(k).value_or("<miss>"));
      CPPUNIT_ASSERT_EQUAL(std::string("b1-" + k), bin_get(b1, k).value);
    }
    // A binary client may move to "default" (no password) and back.
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, sasl_auth(b1, "default", "").status());
    CPPUNIT_ASSERT_EQUAL(std::string("default-key0"), bin_get(b1, "key0").value);

    for (VBucketServer* s : {cluster.a.get(), cluster.b.get()}) {
      // Every request reached the server it belongs to, with its right id.
      CPPUNIT_ASSERT_EQUAL(uint64_t{0}, s->nmv_count());
      CPPUNIT_ASSERT_EQUAL(uint64_t{0}, s->bad_vbucket_count());
      // Each backend connection logged in once, with the strongest
      // mechanism offered, and selected its bucket.
      const VBucketServer::AuthCounters n = s->auth_counters();
      CPPUNIT_ASSERT_EQUAL(uint64_t{0}, n.auth_failures);
      CPPUNIT_ASSERT(n.logins >= 2);  // a connection per bucket at least
      CPPUNIT_ASSERT_EQUAL(std::size_t{1}, n.logins_by_mechanism.size());
      CPPUNIT_ASSERT_EQUAL(n.logins, n.logins_by_mechanism.begin()->second);
      CPPUNIT_ASSERT_EQUAL(std::string("SCRAM-SHA512"), n.logins_by_mechanism.begin()->first);
      CPPUNIT_ASSERT_EQUAL(n.logins, n.selects);
      CPPUNIT_ASSERT_EQUAL(uint64_t{0}, n.unauthenticated + n.no_bucket + n.select_refusals);
      // Nothing ran outside a bucket but the login itself. Each
      // connection said HELLO twice: first without a key (the form plain
      // memcached survives), then naming moxi with its version.
      uint64_t hellos = 0, agent_hellos = 0;
      for (const VBucketServer::Request& r : s->received()) {
        if (r.opcode == bin::kSet || r.opcode == bin::kGet) CPPUNIT_ASSERT(!r.bucket.empty());
        if (r.opcode != 0x1f) continue;
        ++hellos;
        if (r.key == std::string("moxi/") + PACKAGE_VERSION) ++agent_hellos;
      }
      CPPUNIT_ASSERT_EQUAL(2 * n.logins, hellos);
      CPPUNIT_ASSERT_EQUAL(n.logins, agent_hellos);
    }
    const std::string log = moxi->log();
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, "authenticated as Administrator (SCRAM-SHA512, extended errors)"));
    CPPUNIT_ASSERT_MESSAGE("the password in the log", !contains(log, "pwd=password"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(stats_proxy(ascii), "backend_auth_failures_total"));
  }

  void testWrongPasswordFailsPromptlyWithoutRetryStorm() {
    CouchbaseCluster cluster;
    RestMock mock(mock_serving(cluster.document()));
    auto moxi = gateway_moxi(mock, "usr=Administrator,pwd=wrong,default_bucket_name=default");
    TestClient c(moxi->port(), 1s);  // each answer within 1 s: prompt
    wait_generation(c, 1);
    constexpr int kRequests = 40;
    const auto started = std::chrono::steady_clock::now();
    int auth_errors = 0;
    for (int i = 0; i < kRequests; ++i) {
      const std::string k = keys()[static_cast<size_t>(i) % keys().size()];
      const std::string reply = c.set(k, "v");
      if (reply == "SERVER_ERROR proxy downstream auth failure " + cluster.owner("default", k).address()) {
        ++auth_errors;
        continue;
      }
      CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi->log(), std::string("SERVER_ERROR proxy downstream auth failure"),
                                   reply.substr(0, 41));
    }
    const double elapsed_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi->log(), kRequests, auth_errors);

    // Each refusal seen by a server is one moxi counted, and nothing was stored.
    const VBucketServer::AuthCounters na = cluster.a->auth_counters(), nb = cluster.b->auth_counters();
    const uint64_t attempts = na.sasl_auth + nb.sasl_auth;
    CPPUNIT_ASSERT_EQUAL(attempts, na.auth_failures + nb.auth_failures);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, na.logins + nb.logins);
    CPPUNIT_ASSERT_EQUAL(attempts, stat(stats_proxy(c), "backend_auth_failures_total"));
    for (VBucketServer* s : {cluster.a.get(), cluster.b.get()})
      CPPUNIT_ASSERT_EQUAL(std::size_t{0}, s->item_count("default") + s->item_count("b1"));
    // No retry storm: this client's worker logs in to each server at most
    // connect_max_errors (5) times in a row, then backs off 50 ms doubling:
    // within the elapsed time at most 1 + log2(elapsed / 50 + 1) more tries.
    const uint64_t bound = 2 * (5 + 1 + static_cast<uint64_t>(std::log2(elapsed_ms / 50 + 1)));
    CPPUNIT_ASSERT_MESSAGE(std::to_string(attempts) + " logins for " + std::to_string(kRequests) +
                               " requests in " + std::to_string(elapsed_ms) + " ms",
                           attempts >= 2 && attempts <= bound);
    const std::string log = moxi->log();
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, "user \"Administrator\" was refused (SCRAM-SHA512, status 0x20)"));
  }

  void testBucketTheUserMayNotSelectFailsAlone() {
    CouchbaseCluster cluster;
    RestMock mock(mock_serving(cluster.document(true)));
    // "app" may select "default" only; b2 is on no server.
    auto moxi = gateway_moxi(mock, "usr=app,pwd=app-pw,default_bucket_name=default");
    TestClient ascii(moxi->port());
    wait_generation(ascii, 1);
    TestClient b1 = b1_client(*moxi);
    TestClient b2(moxi->port());
    wait_generation(b2, 1, true);
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, sasl_auth(b2, "b2", "p2").status());
    b1.set_timeout(1s);
    b2.set_timeout(1s);
    for (const std::string& k : keys()) {
      const BinaryPacket refused = bin_set(b1, k, "never");
      CPPUNIT_ASSERT(refused.status() != bin::kSuccess);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi->log(), "proxy downstream auth failure " + cluster.owner("b1", k).address(),
                                   refused.value);
      CPPUNIT_ASSERT(bin_set(b2, k, "never").status() != bin::kSuccess);
      // The bucket the user may select keeps working, on the same servers.
      CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi->log(), std::string("STORED"), ascii.set(k, "default-" + k));
    }
    for (const std::string& k : keys()) assert_placed(cluster, "default", k, "default-" + k);
    uint64_t refusals = 0;
    for (VBucketServer* s : {cluster.a.get(), cluster.b.get()}) {
      const VBucketServer::AuthCounters n = s->auth_counters();
      CPPUNIT_ASSERT_EQUAL(uint64_t{0}, n.auth_failures);  // the login itself is right
      CPPUNIT_ASSERT_EQUAL(std::size_t{0}, s->item_count("b1"));
      refusals += n.select_refusals;
    }
    CPPUNIT_ASSERT(refusals >= 2);
    CPPUNIT_ASSERT_EQUAL(refusals, stat(stats_proxy(ascii), "backend_auth_failures_total"));
    // The log names the step: with XERROR negotiated the server answers
    // the refused select (EACCESS) instead of closing the connection.
    const std::string log = moxi->log();
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, "bucket \"b1\" cannot be selected by user \"app\" (SELECT_BUCKET answered 0x24)"));
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, "bucket \"b2\" cannot be selected by user \"app\" (SELECT_BUCKET answered 0x24)"));
  }

  void testDroppedAndRestartedServersAreLoggedInAgain() {
    CouchbaseCluster cluster;
    RestMock mock(mock_serving(cluster.document()));
    auto moxi = gateway_moxi(mock, "usr=Administrator,pwd=password,default_bucket_name=default");
    TestClient ascii(moxi->port());
    wait_generation(ascii, 1);
    TestClient b1 = b1_client(*moxi);
    for (const std::string& k : keys()) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi->log(), std::string("STORED"), ascii.set(k, "d1"));
      CPPUNIT_ASSERT_EQUAL(bin::kSuccess, bin_set(b1, k, "b1").status());
    }
    const uint64_t logins_a = cluster.a->auth_counters().logins, logins_b = cluster.b->auth_counters().logins;

    // Both servers drop every connection (as on a bucket's deletion).
    cluster.a->close_all_connections();
    cluster.b->close_all_connections();
    write_both_buckets(cluster, ascii, b1, "after-drop", *moxi);
    for (auto [s, before] : {std::pair{cluster.a.get(), logins_a}, std::pair{cluster.b.get(), logins_b}}) {
      const VBucketServer::AuthCounters n = s->auth_counters();
      CPPUNIT_ASSERT(n.logins >= before + 2);  // each bucket's connection again
      CPPUNIT_ASSERT_EQUAL(n.logins, n.selects);
      CPPUNIT_ASSERT_EQUAL(uint64_t{0}, n.unauthenticated + n.no_bucket);
    }

    // a restarts: a new, empty process on the same port.
    cluster.restart_a();
    write_both_buckets(cluster, ascii, b1, "after-restart", *moxi);
    const VBucketServer::AuthCounters n = cluster.a->auth_counters();
    CPPUNIT_ASSERT(n.logins >= 2);
    CPPUNIT_ASSERT_EQUAL(n.logins, n.selects);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, n.unauthenticated + n.no_bucket + n.auth_failures);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, cluster.a->nmv_count() + cluster.a->bad_vbucket_count());
  }

  // b1's vBuckets on a move to b, and a refuses them with empty
  // NOT_MY_VBUCKET bodies: moxi asks a for its config (GET_CLUSTER_CONFIG)
  // on a connection logged in and bound to b1 (the node answers it nowhere
  // else), and b1 follows that config; "default" keeps its map.
  void testEmptyNotMyVbucketAsksOnTheBucketsConnection() {
    CouchbaseCluster cluster;
    RestMock mock(mock_serving(cluster.document(false, 1)));
    auto moxi = gateway_moxi(mock, "usr=Administrator,pwd=password,default_bucket_name=default");
    TestClient ascii(moxi->port());
    wait_generation(ascii, 1);
    TestClient b1 = b1_client(*moxi);
    const long generation = generation_of(b1, true);
    cluster.a->set_owned("b1", {});
    cluster.b->set_owned("b1", {0, 1, 2, 3});
    const std::string moved = cluster.bucket("b1", "p1", cluster.b->address(), cluster.a->address(),
                                             "[[0],[0],[0],[0]]", 2);
    cluster.a->set_cluster_config(moved);
    cluster.b->set_cluster_config(moved);
    for (const std::string& k : keys()) {
      const BinaryPacket stored = bin_set(b1, k, "moved-" + k);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(stored.value + "\n" + moxi->log(), bin::kSuccess, stored.status());
      CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi->log(), std::string("STORED"), ascii.set(k, "default-" + k));
    }
    CPPUNIT_ASSERT(cluster.a->nmv_count() > 0);
    // The one new generation (the stream sent nothing) serves the fetched
    // config, on both clients' workers.
    wait_generation(b1, generation + 1, true);
    wait_generation(ascii, generation + 1);
    std::string served = "<none>";
    for (const auto& [name, value] : stats_proxy(ascii, "config"))
      if (name.ends_with(":b1:rev")) served = value;
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi->log(), std::string("rev 2"), served);
    // Nothing is refused once it is served.
    const uint64_t refused = cluster.a->nmv_count();
    for (const std::string& k : keys()) CPPUNIT_ASSERT_EQUAL(bin::kSuccess, bin_set(b1, k, "again-" + k).status());
    CPPUNIT_ASSERT_EQUAL(refused, cluster.a->nmv_count());
    for (const std::string& k : keys()) {
      CPPUNIT_ASSERT_EQUAL(std::string("again-" + k), cluster.b->get("b1", k).value_or("<miss>"));
      CPPUNIT_ASSERT_EQUAL(std::string("default-" + k), cluster.owner("default", k).get("default", k).value_or("<miss>"));
    }
    CPPUNIT_ASSERT(cluster.a->cluster_config_requests() > 0);
    for (const VBucketServer::Request& r : cluster.a->received())
      if (r.opcode == 0xb5) CPPUNIT_ASSERT_EQUAL(std::string("b1"), r.bucket);
    const VBucketServer::AuthCounters n = cluster.a->auth_counters();
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, n.unauthenticated + n.no_bucket + n.auth_failures);
    CPPUNIT_ASSERT(stat(stats_proxy(ascii), "cluster_config_fetches_total") > 0);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CouchbaseAuthTest);

}  // namespace
}  // namespace moxi::test
