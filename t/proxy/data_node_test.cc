// How moxi meets what Couchbase data nodes answer beyond memcached: replica
// reads, temporary failures, and the bucket config they hand out
// (couchbase:// config sources).
//
// -Z replica_reads: a vBucket get whose active server is down, stopped or
// failed is answered by the vBucket's replicas in map order, with
// GET_REPLICA; writes never go to a replica; without the key the failure
// stands. Three fake data nodes; vBucket v is active on v % 3, and its
// replicas are on (v + 1) % 3, then (v + 2) % 3. The replicas' copies are
// put on the servers by the test with values of their own, so every answer
// says which server gave it.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <functional>
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

constexpr int kVbuckets = 64;

int vbucket(std::string_view key) { return static_cast<int>(oracle::vbucket_of(key, kVbuckets)); }
int active(std::string_view key) { return vbucket(key) % 3; }

std::string replicated_map(const std::vector<std::string>& servers) {
  std::string json = R"({"hashAlgorithm":"CRC","numReplicas":2,"serverList":[)";
  for (size_t i = 0; i < servers.size(); ++i) json += (i ? ",\"" : "\"") + servers[i] + "\"";
  json += R"(],"vBucketMap":[)";
  for (int v = 0; v < kVbuckets; ++v)
    json += (v ? ",[" : "[") + std::to_string(v % 3) + "," + std::to_string((v + 1) % 3) + "," +
            std::to_string((v + 2) % 3) + "]";
  return json + "]}";
}

struct ReplicatedCluster {
  VBucketServer nodes[3];
  ReplicatedCluster() {
    for (int i = 0; i < 3; ++i) {
      std::set<uint16_t> owned, replicas;
      for (int v = 0; v < kVbuckets; ++v) {
        if (v % 3 == i) owned.insert(static_cast<uint16_t>(v));
        if ((v + 1) % 3 == i || (v + 2) % 3 == i) replicas.insert(static_cast<uint16_t>(v));
      }
      nodes[i].set_owned(owned);
      nodes[i].set_replicas(replicas);
    }
  }
  std::string map() { return replicated_map({nodes[0].address(), nodes[1].address(), nodes[2].address()}); }
};

std::string key_on(int server, const std::string& prefix) {
  return oracle::first_key_on([](std::string_view k) { return active(k); }, server, prefix);
}

class ReplicaReadsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ReplicaReadsTest);
  CPPUNIT_TEST(testStoppedActiveServerIsReadFromItsReplica);
  CPPUNIT_TEST(testStalledActiveServerIsReadFromItsReplica);
  CPPUNIT_TEST(testWithoutTheKeyTheFailureStands);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testStoppedActiveServerIsReadFromItsReplica() {
    ReplicatedCluster cluster;
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-Z", "replica_reads=1,downstream_timeout=2000", "-z",
               "0=" + cluster.map()});
    TestClient c(moxi.port(), std::chrono::seconds(5));
    const std::string on_a = key_on(0, "a-"), on_b = key_on(1, "b-");
    std::string skip;  // its first replica does not hold it; a vBucket of its own
    for (int n = 0; skip.empty() || vbucket(skip) == vbucket(on_a); ++n) skip = key_on(0, "skip-" + std::to_string(n) + "-");
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(on_a, "active"));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(on_b, "b-active"));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(skip, "active"));
    // The copies the replicas hold: vBucket v's first replica is (v+1) % 3.
    const int first_a = (vbucket(on_a) + 1) % 3, first_skip = (vbucket(skip) + 1) % 3;
    const int second_skip = (vbucket(skip) + 2) % 3;
    cluster.nodes[first_a].put(on_a, "from-replica-" + std::to_string(first_a));
    cluster.nodes[second_skip].put(skip, "from-replica-" + std::to_string(second_skip));
    std::set<uint16_t> replicas;
    for (int v = 0; v < kVbuckets; ++v)
      if (((v + 1) % 3 == first_skip || (v + 2) % 3 == first_skip) && v != vbucket(skip))
        replicas.insert(static_cast<uint16_t>(v));
    cluster.nodes[first_skip].set_replicas(replicas);

    cluster.nodes[0].stop();
    CPPUNIT_ASSERT_EQUAL(std::string("from-replica-" + std::to_string(first_a)), c.get(on_a).value_or("(miss)"));
    // The first replica answers NOT_MY_VBUCKET: the second one serves it.
    CPPUNIT_ASSERT_EQUAL(std::string("from-replica-" + std::to_string(second_skip)), c.get(skip).value_or("(miss)"));
    // A multiget: each key from where it can be read.
    const auto got = c.get_multi({on_b, on_a});
    CPPUNIT_ASSERT_EQUAL(size_t{2}, got.size());
    CPPUNIT_ASSERT_EQUAL(std::string("b-active"), got[0].second);
    CPPUNIT_ASSERT_EQUAL("from-replica-" + std::to_string(first_a), got[1].second);
    // Writes never go to a replica.
    c.send("set " + on_a + " 0 0 3\r\nnew\r\n");
    const std::string refused = c.read_line();
    CPPUNIT_ASSERT_MESSAGE(refused, refused.rfind("SERVER_ERROR proxy ", 0) == 0);
    CPPUNIT_ASSERT_EQUAL(std::string("from-replica-" + std::to_string(first_a)), cluster.nodes[first_a].get(on_a).value_or("(miss)"));
    const Stats s = stats_proxy(c);
    CPPUNIT_ASSERT_EQUAL(uint64_t{4}, stat(s, "replica_reads_total"));  // on_a twice, skip on two replicas
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(s, "not_my_vbucket_total"));
    // A binary get is answered from the replica too.
    TestClient binary(moxi.port(), std::chrono::seconds(5));
    BinaryPacket get;
    get.opcode = bin::kGet;
    get.key = on_a;
    binary.send_binary(get);
    const BinaryPacket reply = binary.read_binary();
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, reply.status());
    CPPUNIT_ASSERT_EQUAL("from-replica-" + std::to_string(first_a), reply.value);
  }

  void testStalledActiveServerIsReadFromItsReplica() {
    ReplicatedCluster cluster;
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-Z", "replica_reads=1,downstream_timeout=300", "-z",
               "0=" + cluster.map()});
    TestClient c(moxi.port(), std::chrono::seconds(5));
    const std::string on_a = key_on(0, "stall-");
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(on_a, "active"));
    const int first = (vbucket(on_a) + 1) % 3;
    cluster.nodes[first].put(on_a, "replica");
    // The active server reads the request and never answers it: after
    // downstream_timeout the replica does.
    cluster.nodes[0].hold_replies();
    CPPUNIT_ASSERT_EQUAL(std::string("replica"), c.get(on_a).value_or("(miss)"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats_proxy(c), "replica_reads_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats_proxy(c), "backend_timeouts_total"));
    cluster.nodes[0].release_replies();
  }

  void testWithoutTheKeyTheFailureStands() {
    ReplicatedCluster cluster;
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-z", "0=" + cluster.map()});
    TestClient c(moxi.port(), std::chrono::seconds(5));
    const std::string on_a = key_on(0, "off-");
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(on_a, "active"));
    cluster.nodes[(vbucket(on_a) + 1) % 3].put(on_a, "replica");
    cluster.nodes[0].stop();
    c.send("get " + on_a + "\r\n");
    const std::string line = c.read_line();
    CPPUNIT_ASSERT_MESSAGE(line, line.rfind("SERVER_ERROR proxy ", 0) == 0);
    CPPUNIT_ASSERT_MESSAGE(line, line.find(cluster.nodes[0].address()) != std::string::npos);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(stats_proxy(c), "replica_reads_total"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ReplicaReadsTest);

// A data node warming up answers ETMPFAIL: moxi sends the request again
// after 10 ms, doubling, five times at most; then the client gets the
// temporary failure.
class TemporaryFailureTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(TemporaryFailureTest);
  CPPUNIT_TEST(testWarmingUpServerIsRetried);
  CPPUNIT_TEST(testRetriesAreBounded);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testWarmingUpServerIsRetried() {
    VBucketServer a;
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-z", "0=" + vbucket_map_json({a.address()}, kVbuckets)});
    TestClient c(moxi.port(), std::chrono::seconds(5));
    a.set_warming_up(3);
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("warm", "v"));
    CPPUNIT_ASSERT_EQUAL(std::string("v"), a.get("warm").value_or("(miss)"));
    a.set_warming_up(2);
    CPPUNIT_ASSERT_EQUAL(std::string("v"), c.get("warm").value_or("(miss)"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{5}, stat(stats_proxy(c), "temporary_failure_retries_total"));
    // A multiget: only the refused keys go again.
    a.put("w2", "2");
    a.set_warming_up(1);
    const auto got = c.get_multi({"warm", "w2"});
    CPPUNIT_ASSERT_EQUAL(size_t{2}, got.size());
    CPPUNIT_ASSERT_EQUAL(uint64_t{6}, stat(stats_proxy(c), "temporary_failure_retries_total"));
  }

  void testRetriesAreBounded() {
    VBucketServer a;
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-z", "0=" + vbucket_map_json({a.address()}, kVbuckets)});
    TestClient c(moxi.port(), std::chrono::seconds(5));
    a.set_warming_up(1000);
    const uint64_t before = a.requests();
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR temporary failure"), c.set("cold", "v"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{6}, a.requests() - before);  // the request and 5 retries
    CPPUNIT_ASSERT(!a.get("cold").has_value());
    TestClient binary(moxi.port(), std::chrono::seconds(5));
    BinaryPacket get;
    get.opcode = bin::kGet;
    get.key = "cold";
    binary.send_binary(get);
    CPPUNIT_ASSERT_EQUAL(uint16_t{0x86}, binary.read_binary().status());
    a.set_warming_up(0);
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("cold", "v"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(TemporaryFailureTest);

// -z couchbase://HOST:PORT/BUCKET: moxi follows the cluster through its
// data nodes (GET_CLUSTER_CONFIG) with no REST port at all, fails over to
// the next node when one stops, and, with a REST URL in the same list,
// serves whichever source's config is newer. Two fake 7.6 data nodes
// (SASL, SELECT_BUCKET) hold bucket "travel" of 4 vBuckets.
class DataNodeConfigTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DataNodeConfigTest);
  CPPUNIT_TEST(testFollowsTheClusterThroughItsDataNodesAlone);
  CPPUNIT_TEST(testRestAndDataNodesTogetherTheNewerRevisionWins);
  CPPUNIT_TEST_SUITE_END();

  static constexpr int kTravelVbuckets = 4;

  static VBucketServer::Options travel_node() {
    return VBucketServer::data_node({"travel"}, {{"app", "app-pw", {"travel"}, ""}});
  }

  // Revision `rev` (epoch 1, as rest_mock stamps its own) of "travel" as a
  // node hands it out: every server
  // "$HOST:PORT" (both nodes are on this host), vBucket v on owner(v).
  static std::string config(int rev, const std::vector<int>& ports, const std::function<int(int)>& owner) {
    std::string json = R"({"rev":)" + std::to_string(rev) +
                       R"(,"revEpoch":1,"name":"travel","nodeLocator":"vbucket","vBucketServerMap":{"hashAlgorithm":"CRC",)"
                       R"("numReplicas":0,"serverList":[)";
    for (size_t i = 0; i < ports.size(); ++i) json += (i ? ",\"$HOST:" : "\"$HOST:") + std::to_string(ports[i]) + "\"";
    json += R"(],"vBucketMap":[)";
    for (int v = 0; v < kTravelVbuckets; ++v) json += (v ? ",[" : "[") + std::to_string(owner(v)) + "]";
    return json + "]}}";
  }

  static std::string served_revision(TestClient& c) {
    for (const auto& [name, value] : stats_proxy(c, "config"))
      if (name.ends_with(":rev")) return value;
    return "<none>";
  }
  static void wait_revision(TestClient& c, const std::string& rev, const Moxi& moxi) {
    Deadline deadline(std::chrono::seconds(10));
    while (served_revision(c) != rev)
      CPPUNIT_ASSERT_MESSAGE(rev + " never served; " + served_revision(c) + "\n" + moxi.log(), !deadline.expired());
  }
  // Each node owns what `owner` gives it.
  static void own(std::vector<VBucketServer*> nodes, const std::function<int(int)>& owner) {
    for (size_t n = 0; n < nodes.size(); ++n) {
      std::set<uint16_t> mine;
      for (int v = 0; v < kTravelVbuckets; ++v)
        if (owner(v) == static_cast<int>(n)) mine.insert(static_cast<uint16_t>(v));
      nodes[n]->set_owned("travel", mine);
    }
  }
  static std::string key_in(int vbucket, const std::string& prefix) {
    return oracle::first_key_on([](std::string_view k) { return static_cast<int>(oracle::vbucket_of(k, kTravelVbuckets)); },
                                vbucket, prefix);
  }

 public:
  void testFollowsTheClusterThroughItsDataNodesAlone() {
    auto a = std::make_unique<VBucketServer>(travel_node());
    VBucketServer b(travel_node());
    const std::vector<int> ports = {a->port(), b.port()};
    auto split = [](int v) { return v % 2; };
    own({a.get(), &b}, split);
    for (VBucketServer* n : {a.get(), &b}) n->set_cluster_config(config(1, ports, split));
    const std::string url_a = "couchbase://127.0.0.1:" + std::to_string(a->port()) + "/travel";
    const std::string url_b = "couchbase://127.0.0.1:" + std::to_string(b.port()) + "/travel";
    Moxi moxi({"-l", "127.0.0.1", "-t", "2", "-vv", "-Z", "port_listen=0,usr=app,pwd=app-pw,node_config_interval=50",
               "-z", url_a + "," + url_b});
    TestClient c(moxi.port(), std::chrono::seconds(5));
    wait_revision(c, "epoch 1 rev 1", moxi);
    // Each key on the node the node's own map names.
    for (int v = 0; v < kTravelVbuckets; ++v) {
      const std::string k = key_in(v, "one-");
      CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), std::string("STORED"), c.set(k, "1"));
      CPPUNIT_ASSERT_EQUAL(std::string("1"), (v % 2 == 0 ? *a : b).get("travel", k).value_or("<miss>"));
    }
    // The cluster moves every vBucket to b; moxi hears it from node a.
    auto on_b = [](int) { return 1; };
    own({a.get(), &b}, on_b);
    for (VBucketServer* n : {a.get(), &b}) n->set_cluster_config(config(2, ports, on_b));
    wait_revision(c, "epoch 1 rev 2", moxi);
    for (int v = 0; v < kTravelVbuckets; ++v) {
      const std::string k = key_in(v, "two-");
      CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), std::string("STORED"), c.set(k, "2"));
      CPPUNIT_ASSERT_EQUAL(std::string("2"), b.get("travel", k).value_or("<miss>"));
    }
    // Node a stops: the source goes on with b, which has a newer map.
    a.reset();
    b.set_cluster_config(config(3, ports, on_b));
    wait_revision(c, "epoch 1 rev 3", moxi);
    CPPUNIT_ASSERT(b.cluster_config_requests() > 0);
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(key_in(1, "three-"), "3"));
    const std::string log = moxi.log();
    CPPUNIT_ASSERT_MESSAGE(log, log.find("config generation") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(log, log.find(url_b) != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE("the password in the log", log.find("app-pw") == std::string::npos);
    // Every login on b succeeded and nothing ran without a bucket.
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, b.auth_counters().auth_failures + b.auth_counters().no_bucket);
  }

  void testRestAndDataNodesTogetherTheNewerRevisionWins() {
    VBucketServer a(travel_node()), b(travel_node());
    const std::vector<int> ports = {a.port(), b.port()};
    auto on_a = [](int) { return 0; };
    auto on_b = [](int) { return 1; };
    // The REST port lags (rev 5, all on a); the nodes know better (rev 6, all on b).
    own({&a, &b}, on_b);
    RestMock mock(mock_serving(config(5, ports, on_a)));
    for (VBucketServer* n : {&a, &b}) n->set_cluster_config(config(6, ports, on_b));
    const std::string rest = mock.url("/pools/default/bs/travel");
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-vv", "-Z", "port_listen=0,usr=app,pwd=app-pw,node_config_interval=50",
               "-z", "url=" + rest + ",url=couchbase://127.0.0.1:" + std::to_string(a.port()) + "/travel"});
    TestClient c(moxi.port(), std::chrono::seconds(5));
    wait_revision(c, "epoch 1 rev 6", moxi);
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(key_in(0, "k-"), "6"));
    CPPUNIT_ASSERT_EQUAL(std::string("6"), b.get("travel", key_in(0, "k-")).value_or("<miss>"));
    // Now the REST stream is ahead: rev 7 puts everything on a.
    own({&a, &b}, on_a);
    mock.set_config(config(7, ports, on_a));
    wait_revision(c, "epoch 1 rev 7", moxi);
    // The nodes still hand out rev 6: it stays ignored.
    const uint64_t asked = a.cluster_config_requests();
    Deadline deadline(std::chrono::seconds(10));
    while (a.cluster_config_requests() < asked + 3) CPPUNIT_ASSERT(!deadline.expired());
    CPPUNIT_ASSERT_EQUAL(std::string("epoch 1 rev 7"), served_revision(c));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(key_in(0, "k-"), "7"));
    CPPUNIT_ASSERT_EQUAL(std::string("7"), a.get("travel", key_in(0, "k-")).value_or("<miss>"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DataNodeConfigTest);

}  // namespace
}  // namespace moxi::test
