// A worker's request router on its own (src/core/request_router.h): a
// RequestRouter driven by a test host that plays the worker (RouterHost and
// BackendHost), in this process, against real memcached servers and the
// vBucket fake, with no worker thread, no client connection and no moxi
// process. What it proves: a multiget's keys reach the servers the
// libmemcached oracle names, in one op per server, and come back in the
// client's order; -Z downstream_max admits one request at a time, in
// order, and a waiter past wait_queue_timeout fails alone; broadcasts
// answer once for every server; what the proxy answers itself reaches no
// server; a too-large set unlinks its key; a NOT_MY_VBUCKET write lands on
// the server that owns the vBucket, once learned; a data node's temporary
// failures are retried until it serves.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>
#include <event2/event.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "src/backend/backend_host.h"
#include "src/backend/resolver.h"
#include "src/backend/server_group.h"
#include "src/core/request_router.h"
#include "src/net/buffer_budget.h"
#include "src/net/loop.h"
#include "src/routing/snapshot.h"
#include "src/stats/metrics.h"
#include "src/util/clock.h"
#include "t/core/test_loop_host.h"
#include "t/support/client.h"
#include "t/support/deadline.h"
#include "t/support/oracle.h"
#include "t/support/servers.h"
#include "t/support/vbucket_server.h"
#include "vbucket/config_loader.h"
#include "vbucket/server_list_parse.h"

namespace moxi::test {
namespace {

using protocol::ErrorClass;
using protocol::Op;
using protocol::Protocol;
using protocol::Status;

// The worker's part, played by the test: a loop of its own, the server
// groups, the snapshot, and a record of the exchanges handed back.
class RouterRig final : public TestLoopHost, public RouterHost {
 public:
  explicit RouterRig(ProxySettings settings = {})
      : TestLoopHost("router test"),
        settings_(std::move(settings)),
        router_(std::make_unique<RequestRouter>(*this, base(), settings_, metrics_)) {
    serve(nullptr);
  }
  ~RouterRig() override {
    groups_.clear();  // before the router whose ops they hold, and the loop
    router_.reset();
  }

  // ---- BackendHost ----
  const backend::BackendSettings& backend_settings() const override { return settings_; }
  uint64_t now_ms() const override { return TestLoopHost::now_ms(); }  // RouterHost's too
  void on_op_done(backend::PendingOp* op) override { router_->on_op_done(op); }
  backend::PendingOp* new_probe(Protocol protocol) override { return router_->new_probe(protocol); }
  void on_server_health(const std::string&, bool) override {}
  void on_ejection_changed() override { router_->on_ejection_changed(); }

  // ---- RouterHost ----
  const Snapshot& snapshot() const override { return *snapshot_; }
  backend::ServerGroup& server_group(const BackendServer& server, Protocol protocol, const BackendAuth& auth) override {
    auto& group = groups_[{server.address, protocol}];
    if (!group) group = std::make_unique<backend::ServerGroup>(*this, server, protocol, auth);
    return *group;
  }
  void answer_by_worker(Exchange* ex) override {
    ++answered_by_worker;
    router_->finish(ex);
  }
  void offer_config(ConfigOffer offer) override { offers.push_back(std::move(offer)); }
  void deliver(Exchange* ex) override { delivered.push_back(ex); }

  // ---- for the tests ----
  // Serves `bucket` on one port (none: waiting for a map).
  void serve(std::shared_ptr<const Bucket> bucket) {
    SnapshotBuilder builder;
    builder.add_port(0, bucket);
    snapshot_ = builder.build();
    bucket_ = std::move(bucket);
    router_->on_snapshot();
  }
  // A client's request (client 1, ascii) of `keys`.
  Exchange* request(Op op, const std::vector<std::string>& keys, const std::string& value = "") {
    Exchange* ex = router_->exchanges().get();
    ex->client_id = 1;
    ex->request.protocol = Protocol::Ascii;
    ex->request.op = op;
    for (const auto& k : keys) ex->request.add_key(k);
    ex->request.value.append(value);
    return ex;
  }
  Exchange* dispatch(Exchange* ex, NoBucket why = NoBucket::AwaitingMap) {
    router_->dispatch(ex, bucket_, why);
    return ex;
  }
  // Runs loop turns until `count` exchanges were handed back (or the deadline).
  void pump_until_delivered(size_t count, Deadline deadline = std::chrono::seconds(10)) {
    while (delivered.size() < count && !deadline.expired()) loop().turn();
    CPPUNIT_ASSERT_EQUAL_MESSAGE("exchanges delivered", count, delivered.size());
  }
  uint64_t server_requests(const std::string& address) { return metrics_.server(address).requests; }

  std::vector<Exchange*> delivered;
  std::vector<ConfigOffer> offers;
  int answered_by_worker = 0;

 private:
  ProxySettings settings_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::shared_ptr<const Bucket> bucket_;
  std::map<std::tuple<std::string, Protocol>, std::unique_ptr<backend::ServerGroup>> groups_;
  std::unique_ptr<RequestRouter> router_;  // after what it uses; reset first
};

std::string value_of(const protocol::Result& r) {
  if (r.value.is_small()) return std::string(r.value.small());
  return r.value.chain().str();
}

std::shared_ptr<const Bucket> ketama_bucket(const std::vector<std::string>& servers, Protocol protocol) {
  std::string list;
  for (const auto& s : servers) list += (list.empty() ? "" : ",") + s;
  auto config = vbucket::parse_server_list(list);
  CPPUNIT_ASSERT_MESSAGE(list, config.ok());
  return make_bucket("default", std::move(config).value(), protocol);
}

// Four vBuckets, every one mapped to the first server.
std::shared_ptr<const Bucket> vbucket_bucket(const std::vector<std::string>& servers) {
  std::string list;
  for (const auto& s : servers) list += std::string(list.empty() ? "" : ",") + "\"" + s + "\"";
  const std::string json = R"({"hashAlgorithm":"CRC","numReplicas":0,"serverList":[)" + list +
                           R"(],"vBucketMap":[[0],[0],[0],[0]]})";
  auto config = vbucket::load_config(json);
  CPPUNIT_ASSERT_MESSAGE(json, config.ok());
  return make_bucket("default", std::move(config).value(), Protocol::Binary);
}

class RequestRouterTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RequestRouterTest);
  CPPUNIT_TEST(testMultigetKeysGoToTheirServersInOneOpEachAndComeBackInOrder);
  CPPUNIT_TEST(testDownstreamMaxAdmitsOneAtATimeInOrder);
  CPPUNIT_TEST(testAWaiterPastTheWaitQueueTimeoutFailsAlone);
  CPPUNIT_TEST(testBroadcastAnswersOnceForEveryServer);
  CPPUNIT_TEST(testWhatTheProxyAnswersReachesNoServer);
  CPPUNIT_TEST(testATooLargeSetUnlinksItsKey);
  CPPUNIT_TEST(testNotMyVbucketWriteLandsOnTheOwnerOnceLearned);
  CPPUNIT_TEST(testTemporaryFailuresAreRetriedUntilServed);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testMultigetKeysGoToTheirServersInOneOpEachAndComeBackInOrder() {
    Memcached a, b;
    const std::vector<std::string> servers = {a.address(), b.address()};
    oracle::Ketama ring(servers);
    std::vector<std::string> keys;
    for (int i = 0; i < 12; ++i) keys.push_back("mg" + std::to_string(i));
    {  // stored directly where libmemcached places them
      TestClient ca(a.port()), cb(b.port());
      for (const auto& k : keys) CPPUNIT_ASSERT_EQUAL(std::string("STORED"), (ring.owner(k) == 0 ? ca : cb).set(k, "v-" + k));
    }
    for (Protocol protocol : {Protocol::Binary, Protocol::Ascii, Protocol::Meta}) {
      RouterRig rig;
      rig.serve(ketama_bucket(servers, protocol));
      std::vector<std::string> asked = keys;
      asked.insert(asked.begin() + 5, "missing");
      Exchange* ex = rig.dispatch(rig.request(Op::Get, asked));
      rig.pump_until_delivered(1);
      CPPUNIT_ASSERT(rig.delivered[0] == ex);
      const auto& results = ex->request.results;
      CPPUNIT_ASSERT_EQUAL(asked.size(), results.size());
      for (size_t i = 0; i < asked.size(); ++i) {
        const std::string what = asked[i] + " over protocol " + std::to_string(static_cast<int>(protocol));
        if (asked[i] == "missing") {
          CPPUNIT_ASSERT_MESSAGE(what, !results[i].hit);
        } else {
          CPPUNIT_ASSERT_MESSAGE(what, results[i].hit);
          CPPUNIT_ASSERT_EQUAL_MESSAGE(what, "v-" + asked[i], value_of(results[i]));
        }
      }
      // One op per server for the whole multiget.
      CPPUNIT_ASSERT_EQUAL(uint64_t{1}, rig.server_requests(a.address()));
      CPPUNIT_ASSERT_EQUAL(uint64_t{1}, rig.server_requests(b.address()));
      CPPUNIT_ASSERT_EQUAL(uint64_t{asked.size()}, rig.metrics().get(Metric::multiget_keys_total));
      const BucketMetrics& bucket = rig.metrics().bucket("default");
      CPPUNIT_ASSERT_EQUAL(uint64_t{1}, bucket.requests);
      CPPUNIT_ASSERT_EQUAL(uint64_t{keys.size()}, bucket.hits);
      CPPUNIT_ASSERT_EQUAL(uint64_t{1}, bucket.misses);
    }
  }

  void testDownstreamMaxAdmitsOneAtATimeInOrder() {
    Memcached m;
    ProxySettings settings;
    settings.downstream_max = 1;
    RouterRig rig(settings);
    rig.serve(ketama_bucket({m.address()}, Protocol::Binary));
    std::vector<Exchange*> sent;
    for (int i = 0; i < 3; ++i) sent.push_back(rig.dispatch(rig.request(Op::Set, {"dm"}, "v" + std::to_string(i))));
    sent.push_back(rig.dispatch(rig.request(Op::Get, {"dm"})));
    // Only the first is at the server; the others wait for its slot.
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, rig.server_requests(m.address()));
    rig.pump_until_delivered(sent.size());
    CPPUNIT_ASSERT(rig.delivered == sent);
    CPPUNIT_ASSERT_EQUAL(uint64_t{sent.size()}, rig.server_requests(m.address()));
    CPPUNIT_ASSERT_EQUAL(std::string("v2"), value_of(sent.back()->request.results[0]));  // the last set wins
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, rig.metrics().get(Metric::wait_queue_timeouts_total));
  }

  void testAWaiterPastTheWaitQueueTimeoutFailsAlone() {
    Memcached m;
    ProxySettings settings;
    settings.downstream_max = 1;
    settings.wait_queue_timeout_ms = 50;
    settings.downstream_timeout_ms = 60000;
    RouterRig rig(settings);
    rig.serve(ketama_bucket({m.address()}, Protocol::Binary));
    m.pause();
    Exchange* first = rig.dispatch(rig.request(Op::Get, {"wq"}));
    Exchange* second = rig.dispatch(rig.request(Op::Get, {"wq"}));
    rig.pump_until_delivered(1);
    CPPUNIT_ASSERT(rig.delivered[0] == second);
    const protocol::Result& r = second->request.results[0];
    CPPUNIT_ASSERT_EQUAL(ErrorClass::ServerError, r.error_class);
    CPPUNIT_ASSERT_EQUAL(std::string("proxy wait queue timeout"), r.message);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, rig.metrics().get(Metric::wait_queue_timeouts_total));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, rig.server_requests(m.address()));  // never sent
    m.resume();
    rig.pump_until_delivered(2);
    CPPUNIT_ASSERT(rig.delivered[1] == first);
    CPPUNIT_ASSERT_EQUAL(ErrorClass::None, first->request.results[0].error_class);
  }

  void testBroadcastAnswersOnceForEveryServer() {
    Memcached a, b;
    {
      TestClient ca(a.port()), cb(b.port());
      CPPUNIT_ASSERT_EQUAL(std::string("STORED"), ca.set("fa", "x"));
      CPPUNIT_ASSERT_EQUAL(std::string("STORED"), cb.set("fb", "x"));
    }
    RouterRig rig;
    rig.serve(ketama_bucket({a.address(), b.address()}, Protocol::Binary));
    Exchange* ex = rig.dispatch(rig.request(Op::Flush, {}));
    rig.pump_until_delivered(1);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, ex->request.results.size());  // combined in server order
    CPPUNIT_ASSERT_EQUAL(ErrorClass::None, ex->request.results[0].error_class);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, rig.server_requests(a.address()));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, rig.server_requests(b.address()));
    TestClient ca(a.port()), cb(b.port());
    CPPUNIT_ASSERT(!ca.get("fa"));
    CPPUNIT_ASSERT(!cb.get("fb"));
  }

  void testWhatTheProxyAnswersReachesNoServer() {
    Memcached m;
    ProxySettings settings;
    settings.version = "9.9.9-test";
    RouterRig rig(settings);
    // No map yet, and the null bucket.
    Exchange* waiting = rig.dispatch(rig.request(Op::Get, {"k"}));
    Exchange* unauthorized = rig.dispatch(rig.request(Op::Get, {"k"}), NoBucket::Unauthorized);
    CPPUNIT_ASSERT_EQUAL(std::string("proxy no cluster map loaded yet"), waiting->request.results[0].message);
    CPPUNIT_ASSERT_EQUAL(std::string("unauthorized, null bucket"), unauthorized->request.results[0].message);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, rig.metrics().get(Metric::null_bucket_requests_total));
    rig.serve(ketama_bucket({m.address()}, Protocol::Binary));
    Exchange* version = rig.dispatch(rig.request(Op::Version, {}));
    CPPUNIT_ASSERT_EQUAL(std::string("9.9.9-test"), version->request.results[0].message);
    Exchange* stats = rig.request(Op::Stats, {});
    stats->request.stats_args = "proxy";
    rig.dispatch(stats);
    CPPUNIT_ASSERT_EQUAL(1, rig.answered_by_worker);
    // A Couchbase data node's opcode, on a memcached pool: memcached's own
    // answer to an unknown command.
    Exchange* passthrough = rig.dispatch(rig.request(Op::Passthrough, {"k"}));
    CPPUNIT_ASSERT_EQUAL(Op::Invalid, passthrough->request.op);
    CPPUNIT_ASSERT_EQUAL(Status::UnknownCommand, passthrough->request.error_status);
    // All answered at once, none of them by the server.
    CPPUNIT_ASSERT((rig.delivered == std::vector<Exchange*>{waiting, unauthorized, version, stats, passthrough}));
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, rig.server_requests(m.address()));
  }

  void testATooLargeSetUnlinksItsKey() {
    Memcached m;
    TestClient direct(m.port());
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), direct.set("big", "old"));
    RouterRig rig;
    rig.serve(ketama_bucket({m.address()}, Protocol::Binary));
    // As the ascii decoder leaves a set over the item size: refused, with its key.
    Exchange* ex = rig.request(Op::Set, {"big"});
    ex->request.make_invalid(ErrorClass::ServerError, "object too large for cache");
    ex->request.add_key("big");
    ex->request.limit = protocol::Limit::ValueSize;
    rig.dispatch(ex);
    rig.pump_until_delivered(1);
    CPPUNIT_ASSERT_EQUAL(Op::Invalid, ex->request.op);  // the client hears the refusal
    CPPUNIT_ASSERT_EQUAL(std::string("object too large for cache"), ex->request.error_text);
    CPPUNIT_ASSERT(!direct.get("big"));  // and the old value is gone, as memcached does
  }

  void testNotMyVbucketWriteLandsOnTheOwnerOnceLearned() {
    VBucketServer a, b;
    a.set_owned({});
    b.own_all();
    RouterRig rig;
    rig.serve(vbucket_bucket({a.address(), b.address()}));
    Exchange* first = rig.dispatch(rig.request(Op::Set, {"moved"}, "v1"));
    rig.pump_until_delivered(1);
    CPPUNIT_ASSERT_EQUAL(ErrorClass::None, first->request.results[0].error_class);
    CPPUNIT_ASSERT_EQUAL(std::string("v1"), b.get("moved").value_or("<none>"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, rig.metrics().get(Metric::not_my_vbucket_total));
    // The vBucket's new master is learned: the next write goes straight there.
    Exchange* second = rig.dispatch(rig.request(Op::Set, {"moved"}, "v2"));
    rig.pump_until_delivered(2);
    CPPUNIT_ASSERT_EQUAL(ErrorClass::None, second->request.results[0].error_class);
    CPPUNIT_ASSERT_EQUAL(std::string("v2"), b.get("moved").value_or("<none>"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, rig.metrics().get(Metric::not_my_vbucket_total));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, rig.server_requests(a.address()));
  }

  void testTemporaryFailuresAreRetriedUntilServed() {
    VBucketServer a;
    a.own_all();
    a.put("warm", "up");
    RouterRig rig;
    rig.serve(vbucket_bucket({a.address()}));
    a.set_warming_up(2);
    Exchange* ex = rig.dispatch(rig.request(Op::Get, {"warm"}));
    rig.pump_until_delivered(1);
    CPPUNIT_ASSERT(ex->request.results[0].hit);
    CPPUNIT_ASSERT_EQUAL(std::string("up"), value_of(ex->request.results[0]));
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, rig.metrics().get(Metric::temporary_failure_retries_total));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RequestRouterTest);

}  // namespace
}  // namespace moxi::test
