// Routing as pure code (src/routing/key_router.h), with no worker and no
// server: a key's server in vBucket and ketama buckets (against the
// reference vectors and the routing oracle, which computes placement with
// zlib and libmemcached, not with moxi's code), the ring without ejected
// servers, the per-server plan of a multiget, the replica order of a read
// and the NOT_MY_VBUCKET re-route.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "src/routing/key_router.h"
#include "t/support/oracle.h"
#include "t/support/tsv.h"
#include "vbucket/config_loader.h"
#include "vbucket/server_list_parse.h"

namespace moxi::test {
namespace {

using routing::KeyRouter;

// As the vectors were made: $HOST is the host the config came from, "localhost".
vbucket::ConfigPtr load_fixture(const std::string& name) {
  vbucket::LoadOptions options;
  options.parse.origin_host = "localhost";
  auto config = vbucket::load_config_file(fixture(name), options);
  CPPUNIT_ASSERT_MESSAGE(name + ": " + (config ? "" : config.error()), config.ok());
  return std::move(config).value();
}

vbucket::ConfigPtr server_list(const std::string& list) {
  auto config = vbucket::parse_server_list(list);
  CPPUNIT_ASSERT_MESSAGE(list, config.ok());
  return std::move(config).value();
}

protocol::Request request_of(const std::vector<std::string>& keys) {
  protocol::Request req;
  req.op = protocol::Op::Get;
  for (const auto& k : keys) req.add_key(k);
  req.prepare_results();
  return req;
}

class KeyRouterTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(KeyRouterTest);
  CPPUNIT_TEST(testVBucketKeysGoToTheirVBucketsMasterAsTheVectorsSay);
  CPPUNIT_TEST(testVBucketPlacementAgreesWithTheOracle);
  CPPUNIT_TEST(testKetamaKeysGoWhereLibmemcachedPutsThem);
  CPPUNIT_TEST(testTheLiveRingIsLibmemcachedsRingOfTheOthers);
  CPPUNIT_TEST(testAPlanGivesEveryKeyItsServerInRequestOrder);
  CPPUNIT_TEST(testKeysWithoutAMasterAreUnrouted);
  CPPUNIT_TEST(testReplicasInMapOrderSkippingDownAndTried);
  CPPUNIT_TEST(testNotMyVbucketGoesToTheNodesOwnerThenTheViewsGuess);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testVBucketKeysGoToTheirVBucketsMasterAsTheVectorsSay() {
    int rows = 0;
    for (const auto& row : read_tsv(fixture("vectors.tsv"))) {
      const auto config = load_fixture(row["config_file"]);
      vbucket::VBucketView view(config);
      const KeyRouter router(*config, &view);
      uint16_t vb = 0xffff;
      const int server = router.server_for(row["key"], &vb);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(row["key"], std::stoi(row["expected_vbucket"]), int{vb});
      CPPUNIT_ASSERT_EQUAL_MESSAGE(row["key"], std::stoi(row["expected_master_index"]), server);
      ++rows;
    }
    CPPUNIT_ASSERT(rows > 0);
  }

  void testVBucketPlacementAgreesWithTheOracle() {
    const auto config = load_fixture("tests-config/testapp-config");
    vbucket::VBucketView view(config);
    const KeyRouter router(*config, &view);
    CPPUNIT_ASSERT(router.vbucket_routing());
    for (int i = 0; i < 2000; ++i) {
      const std::string key = "key:" + std::to_string(i);
      uint16_t vb = 0;
      const int server = router.server_for(key, &vb);
      CPPUNIT_ASSERT_EQUAL(oracle::vbucket_of(key, static_cast<uint32_t>(config->num_vbuckets())), vb);
      CPPUNIT_ASSERT_EQUAL(config->master(vb), server);
    }
  }

  void testKetamaKeysGoWhereLibmemcachedPutsThem() {
    const std::vector<std::string> servers = {"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11212:3"};
    const auto config = server_list("10.0.0.1:11211,10.0.0.2:11211,10.0.0.3:11212:3");
    const oracle::Ketama ketama(servers);
    const KeyRouter router(*config, nullptr);
    CPPUNIT_ASSERT(!router.vbucket_routing());
    std::set<int> used;
    for (int i = 0; i < 3000; ++i) {
      const std::string key = "k" + std::to_string(i);
      uint16_t vb = 7;
      const int server = router.server_for(key, &vb);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(key, ketama.owner(key), server);
      CPPUNIT_ASSERT_EQUAL(uint16_t{7}, vb);  // ketama has no vBuckets
      used.insert(server);
    }
    CPPUNIT_ASSERT_EQUAL(size_t{3}, used.size());
  }

  void testTheLiveRingIsLibmemcachedsRingOfTheOthers() {
    const auto config = server_list("10.0.0.1:11211,10.0.0.2:11211,10.0.0.3:11211,10.0.0.4:11211");
    // None ejected, or all: no ring of its own (the config's routes).
    CPPUNIT_ASSERT(!routing::build_live_ring(*config, {false, false, false, false}).ring);
    CPPUNIT_ASSERT(!routing::build_live_ring(*config, {true, true, true, true}).ring);
    const routing::LiveRing live = routing::build_live_ring(*config, {false, true, false, true});
    CPPUNIT_ASSERT(live.ring);
    CPPUNIT_ASSERT(live.servers == (std::vector<int>{0, 2}));
    const oracle::Ketama others({"10.0.0.1:11211", "10.0.0.3:11211"});
    const KeyRouter router(*config, nullptr, &live);
    for (int i = 0; i < 2000; ++i) {
      const std::string key = "k" + std::to_string(i);
      uint16_t vb = 0;
      CPPUNIT_ASSERT_EQUAL_MESSAGE(key, others.owner(key) == 0 ? 0 : 2, router.server_for(key, &vb));
    }
  }

  void testAPlanGivesEveryKeyItsServerInRequestOrder() {
    const auto config = load_fixture("tests-config/testapp-config");
    vbucket::VBucketView view(config);
    const KeyRouter router(*config, &view);
    std::vector<std::string> keys;
    for (int i = 0; i < 50; ++i) keys.push_back("m" + std::to_string(i % 40));  // with duplicates
    protocol::Request req = request_of(keys);
    std::map<int, std::vector<uint32_t>> batches;
    std::vector<uint32_t> order, unrouted;
    routing::plan_keys(
        router, static_cast<size_t>(config->num_servers()), req,
        [&](int server, uint32_t k) {
          batches[server].push_back(k);
          order.push_back(k);
        },
        [&](uint32_t k) { unrouted.push_back(k); });
    CPPUNIT_ASSERT(unrouted.empty());
    CPPUNIT_ASSERT_EQUAL(keys.size(), order.size());
    for (size_t k = 0; k < order.size(); ++k) CPPUNIT_ASSERT_EQUAL(uint32_t(k), order[k]);
    CPPUNIT_ASSERT_EQUAL(keys.size(), req.vbuckets.size());
    for (const auto& [server, ks] : batches) {
      for (uint32_t k : ks) {
        const uint16_t vb = oracle::vbucket_of(keys[k], static_cast<uint32_t>(config->num_vbuckets()));
        CPPUNIT_ASSERT_EQUAL(vb, req.vbuckets[k]);
        CPPUNIT_ASSERT_EQUAL(config->master(vb), server);
      }
    }
    CPPUNIT_ASSERT(batches.size() > 1);
  }

  void testKeysWithoutAMasterAreUnrouted() {
    // Two vBuckets, the second without a master (-1), one server.
    const auto config = vbucket::load_config(
        R"({"hashAlgorithm":"CRC","numReplicas":0,"serverList":["10.0.0.1:11211"],"vBucketMap":[[0],[-1]]})");
    CPPUNIT_ASSERT(config.ok());
    vbucket::VBucketView view(config.value());
    const KeyRouter router(*config.value(), &view);
    std::vector<std::string> keys;
    for (int i = 0; i < 20; ++i) keys.push_back("u" + std::to_string(i));
    protocol::Request req = request_of(keys);
    std::vector<uint32_t> routed, unrouted;
    routing::plan_keys(
        router, 1, req, [&](int server, uint32_t k) { CPPUNIT_ASSERT_EQUAL(0, server), routed.push_back(k); },
        [&](uint32_t k) { unrouted.push_back(k); });
    CPPUNIT_ASSERT(!routed.empty() && !unrouted.empty());
    for (uint32_t k : unrouted) CPPUNIT_ASSERT_EQUAL(uint16_t{1}, oracle::vbucket_of(keys[k], 2));
    for (uint32_t k : routed) CPPUNIT_ASSERT_EQUAL(uint16_t{0}, oracle::vbucket_of(keys[k], 2));
    // A server index the bucket does not have (a map naming more servers than
    // it has groups) is unrouted too.
    std::vector<uint32_t> none;
    routing::plan_keys(
        router, 0, req, [&](int, uint32_t) { CPPUNIT_FAIL("routed to a server the bucket lacks"); },
        [&](uint32_t k) { none.push_back(k); });
    CPPUNIT_ASSERT_EQUAL(keys.size(), none.size());
  }

  void testReplicasInMapOrderSkippingDownAndTried() {
    // vBucket 0: master 0, replicas 1, 2, 3.
    const auto config = vbucket::load_config(
        R"({"hashAlgorithm":"CRC","numReplicas":3,"serverList":["a:1","b:1","c:1","d:1"],"vBucketMap":[[0,1,2,3]]})");
    CPPUNIT_ASSERT(config.ok());
    const vbucket::Config& c = *config.value();
    auto none_down = [](int) { return false; };
    CPPUNIT_ASSERT_EQUAL(1, routing::next_replica(c, 0, 0, false, none_down));
    CPPUNIT_ASSERT_EQUAL(2, routing::next_replica(c, 0, 1, true, none_down));
    CPPUNIT_ASSERT_EQUAL(3, routing::next_replica(c, 0, 2, true, none_down));
    CPPUNIT_ASSERT_EQUAL(-1, routing::next_replica(c, 0, 3, true, none_down));
    auto one_down = [](int s) { return s == 1; };
    CPPUNIT_ASSERT_EQUAL(2, routing::next_replica(c, 0, 0, false, one_down));
    auto all_down = [](int s) { return s != 0; };
    CPPUNIT_ASSERT_EQUAL(-1, routing::next_replica(c, 0, 0, false, all_down));
  }

  void testNotMyVbucketGoesToTheNodesOwnerThenTheViewsGuess() {
    const auto config = load_fixture("tests-config/testapp-config");
    const size_t servers = static_cast<size_t>(config->num_servers());
    {
      // A data node's newer config names the owner: it wins.
      vbucket::VBucketView view(config);
      CPPUNIT_ASSERT_EQUAL(2, routing::nmv_next_server(view, 2, 0, 0, servers));
    }
    // Without one, the view's guesses follow the reference sequence
    // (nmv.tsv, from libvbucket's testapp: wrong server -> next master).
    vbucket::VBucketView view(config);
    int rows = 0;
    for (const auto& row : read_tsv(fixture("nmv.tsv"))) {
      if (row["config_file"] != "tests-config/testapp-config" || row["sequence"] != "testWrongServer") continue;
      const int vb = std::stoi(row["vbucket"]);
      const int wrong = std::stoi(row["wrong_server_index"]);
      if (view.master(vb) != wrong) {
        // The refusing server is not the one the view points at: the view's master.
        CPPUNIT_ASSERT_EQUAL(view.master(vb), routing::nmv_next_server(view, -1, wrong, vb, servers));
        continue;
      }
      CPPUNIT_ASSERT_EQUAL_MESSAGE(row["step"], std::stoi(row["expected_return"]),
                                   routing::nmv_next_server(view, -1, wrong, vb, servers));
      CPPUNIT_ASSERT_EQUAL(std::stoi(row["expected_master_after"]), view.master(vb));
      ++rows;
    }
    CPPUNIT_ASSERT(rows > 0);
    // A server the bucket does not have: nowhere.
    vbucket::VBucketView fresh(config);
    CPPUNIT_ASSERT_EQUAL(-1, routing::nmv_next_server(fresh, 99, 0, 0, servers));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(KeyRouterTest);

}  // namespace
}  // namespace moxi::test
