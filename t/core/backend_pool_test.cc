// The backend layer on its own (src/backend/server_group.h and
// server_connection.h): a ServerGroup driven by a recording BackendHost, in
// this process, against a real memcached, with no worker and no moxi process.
// What it proves: every submitted op comes back through on_op_done exactly
// once, in the order one client sent them; a stopped server fails requests
// with the server named, is taken down after connect_max_errors failures
// (told to the host), then fails requests at once without a connect; its
// probe (the host's new_probe) finds it again once it answers; probes are
// not counted as the server's requests; a silent server times out.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>
#include <event2/event.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "src/net/buffer_budget.h"
#include "src/net/loop.h"
#include "src/routing/snapshot.h"
#include "src/stats/metrics.h"
#include "src/backend/backend_host.h"
#include "src/backend/resolver.h"
#include "src/backend/server_group.h"
#include "src/util/clock.h"
#include "t/core/test_loop_host.h"
#include "t/support/deadline.h"
#include "t/support/servers.h"
#include "vbucket/config.h"

namespace moxi::test {
namespace {

using protocol::Op;
using protocol::Protocol;

// A BackendHost that runs its own loop and records what the backend layer tells it.
class RecordingHost final : public TestLoopHost {
 public:
  explicit RecordingHost(backend::BackendSettings settings)
      : TestLoopHost("test host"), settings_(std::move(settings)) {}
  ~RecordingHost() override { groups.clear(); }  // before the loop and resolver they use

  // ---- BackendHost ----
  const backend::BackendSettings& backend_settings() const override { return settings_; }
  void on_op_done(backend::PendingOp* op) override {
    if (op->internal) {
      ++probes_answered;
      return;
    }
    done.push_back(op);
  }
  backend::PendingOp* new_probe(Protocol protocol) override {
    auto& p = probes_.emplace_back(std::make_unique<Call>());
    p->request.protocol = protocol;
    p->request.op = protocol == Protocol::Binary ? Op::Noop : Op::Version;
    p->request.prepare_results();
    p->op.op.request = &p->request;
    return &p->op;
  }
  void on_server_health(const std::string& address, bool down) override {
    health.push_back(address + (down ? " down" : " up"));
  }
  void on_ejection_changed() override {}

  // ---- for the tests ----
  struct Call {
    protocol::Request request;
    backend::PendingOp op;
  };
  backend::ServerGroup& group_for(int port, Protocol protocol) {
    vbucket::Server server;
    server.authority = "127.0.0.1:" + std::to_string(port);
    server.host = "127.0.0.1";
    server.port = static_cast<uint16_t>(port);
    groups.push_back(std::make_unique<backend::ServerGroup>(*this, backend_server(server), protocol, BackendAuth{}));
    return *groups.back();
  }
  // A request of one key for `client`, made and owned here.
  backend::PendingOp* call(Op op, const std::string& key, uint64_t client, Protocol protocol, const std::string& value = "") {
    auto& c = calls_.emplace_back(std::make_unique<Call>());
    c->request.protocol = protocol;
    c->request.op = op;
    c->request.add_key(key);
    c->request.vbuckets.assign(1, 0);
    c->request.value.append(value);
    c->request.prepare_results();
    c->op.op.request = &c->request;
    c->op.op.key_indexes.push_back(0);
    c->op.client_id = client;
    c->op.sent_at_ms = now_ms();
    return &c->op;
  }
  // Runs loop turns until `done_count` ops came back (or the deadline).
  void pump_until_done(size_t done_count, Deadline deadline = std::chrono::seconds(10)) {
    while (done.size() < done_count && !deadline.expired()) loop().turn();
    CPPUNIT_ASSERT_EQUAL_MESSAGE("ops handed back", done_count, done.size());
  }
  template <class Pred>
  void pump_until(Pred pred, const char* what, Deadline deadline = std::chrono::seconds(10)) {
    while (!pred() && !deadline.expired()) loop().turn();
    CPPUNIT_ASSERT_MESSAGE(what, pred());
  }

  std::vector<backend::PendingOp*> done;
  std::vector<std::string> health;
  size_t probes_answered = 0;
  std::vector<std::unique_ptr<backend::ServerGroup>> groups;
  size_t probes_made() const { return probes_.size(); }

 private:
  backend::BackendSettings settings_;
  std::deque<std::unique_ptr<Call>> calls_, probes_;
};

const protocol::Result& result_of(const backend::PendingOp* op) { return op->op.request->results[0]; }

std::string value_of(const backend::PendingOp* op) {
  const protocol::Result& r = result_of(op);
  if (r.value.is_small()) return std::string(r.value.small());
  return r.value.chain().str();
}

class BackendPoolTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(BackendPoolTest);
  CPPUNIT_TEST(testEveryOpComesBackOnceInTheOrderSent);
  CPPUNIT_TEST(testAStoppedServerGoesDownFailsFastAndItsProbeFindsItAgain);
  CPPUNIT_TEST(testASilentServerTimesOut);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testEveryOpComesBackOnceInTheOrderSent() {
    Memcached memcached;
    for (Protocol protocol : {Protocol::Binary, Protocol::Ascii, Protocol::Meta}) {
      RecordingHost host{backend::BackendSettings{}};
      backend::ServerGroup& group = host.group_for(memcached.port(), protocol);
      const std::string key = "k-" + std::to_string(static_cast<int>(protocol));
      std::vector<backend::PendingOp*> sent;
      sent.push_back(host.call(Op::Set, key, 7, protocol, "v0"));
      // A pipeline of one client's sets and gets: answered in order, so
      // each get sees the set just before it.
      for (int i = 1; i <= 20; ++i) {
        sent.push_back(host.call(Op::Get, key, 7, protocol));
        sent.push_back(host.call(Op::Set, key, 7, protocol, "v" + std::to_string(i)));
      }
      sent.push_back(host.call(Op::Get, key, 7, protocol));
      for (backend::PendingOp* op : sent) group.submit(op);
      host.pump_until_done(sent.size());
      CPPUNIT_ASSERT(host.done == sent);
      for (size_t i = 0; i < sent.size(); ++i) {
        const protocol::Result& r = result_of(sent[i]);
        CPPUNIT_ASSERT_EQUAL_MESSAGE("op " + std::to_string(i), protocol::ErrorClass::None, r.error_class);
        if (sent[i]->op.request->op == Op::Get) {
          CPPUNIT_ASSERT(r.hit);
          CPPUNIT_ASSERT_EQUAL("v" + std::to_string((i - 1) / 2), value_of(sent[i]));
        }
      }
      CPPUNIT_ASSERT_EQUAL(uint64_t{sent.size()}, host.metrics().server(group.server().address).requests);
      CPPUNIT_ASSERT_EQUAL(uint64_t{0}, host.metrics().server(group.server().address).errors);
      CPPUNIT_ASSERT(host.health.empty());
    }
  }

  void testAStoppedServerGoesDownFailsFastAndItsProbeFindsItAgain() {
    Memcached memcached;
    backend::BackendSettings settings;
    settings.connect_max_errors = 2;
    settings.probe_interval_ms = 20;
    RecordingHost host{settings};
    backend::ServerGroup& group = host.group_for(memcached.port(), Protocol::Binary);
    const std::string address = group.server().address;
    memcached.stop();

    // Two refused connects: each request fails naming the server; the
    // second failure takes the server down.
    for (size_t i = 1; i <= 2; ++i) {
      group.submit(host.call(Op::Get, "k", i, Protocol::Binary));
      host.pump_until_done(i);
      const protocol::Result& r = result_of(host.done.back());
      CPPUNIT_ASSERT_EQUAL(protocol::ErrorClass::ServerError, r.error_class);
      CPPUNIT_ASSERT_MESSAGE(r.message, r.message.find(address) != std::string::npos);
    }
    CPPUNIT_ASSERT(group.down());
    CPPUNIT_ASSERT(host.health == std::vector<std::string>{address + " down"});

    // Down: refused within submit(), no connect, no loop turn.
    group.submit(host.call(Op::Get, "k", 3, Protocol::Binary));
    CPPUNIT_ASSERT_EQUAL(size_t{3}, host.done.size());
    CPPUNIT_ASSERT_EQUAL("proxy downstream down " + address, result_of(host.done.back()).message);

    // The probes find it once it answers again; the host is told.
    host.pump_until([&] { return host.probes_made() > 0; }, "a probe was made");
    memcached.restart();
    host.pump_until([&] { return !group.down(); }, "the server is up again after a probe");
    CPPUNIT_ASSERT(host.health == (std::vector<std::string>{address + " down", address + " up"}));
    CPPUNIT_ASSERT(host.probes_answered > 0);

    group.submit(host.call(Op::Set, "k", 4, Protocol::Binary, "back"));
    group.submit(host.call(Op::Get, "k", 4, Protocol::Binary));
    host.pump_until_done(5);
    CPPUNIT_ASSERT_EQUAL(std::string("back"), value_of(host.done.back()));
    // The client's five requests, not the probes; three of them failed.
    CPPUNIT_ASSERT_EQUAL(uint64_t{5}, host.metrics().server(address).requests);
    CPPUNIT_ASSERT_EQUAL(uint64_t{3}, host.metrics().server(address).errors);
  }

  void testASilentServerTimesOut() {
    Memcached memcached;
    backend::BackendSettings settings;
    settings.downstream_timeout_ms = 100;
    RecordingHost host{settings};
    backend::ServerGroup& group = host.group_for(memcached.port(), Protocol::Binary);
    group.submit(host.call(Op::Set, "k", 1, Protocol::Binary, "v"));
    host.pump_until_done(1);  // connected, and answering
    memcached.pause();
    group.submit(host.call(Op::Get, "k", 1, Protocol::Binary));
    host.pump_until_done(2);
    memcached.resume();
    const protocol::Result& r = result_of(host.done.back());
    CPPUNIT_ASSERT_EQUAL(protocol::ErrorClass::ServerError, r.error_class);
    CPPUNIT_ASSERT_EQUAL("proxy downstream timeout " + group.server().address, r.message);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, host.metrics().get(Metric::backend_timeouts_total));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BackendPoolTest);

}  // namespace
}  // namespace moxi::test
