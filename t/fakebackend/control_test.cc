// VBucketServer as a test tool: pipelined batches answered in order, input
// split anywhere, large replies, the reply gate, synchronising on requests
// and connections, closing connections, stopping with clients attached, and
// use from several threads at once. Nothing here sleeps: every wait is on an
// event, and deadlines only bound failures.
#include <cppunit/extensions/HelperMacros.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "t/fakebackend/fake_util.h"
#include "t/support/client.h"
#include "t/support/vbucket_server.h"

namespace moxi::test {

using namespace std::chrono_literals;
using namespace fake;

namespace {

// True when bytes are waiting on the client's socket right now. Only used
// where the server cannot have produced a reply (its request is held), so
// the answer does not depend on timing.
bool readable_now(const TestClient& c) {
  pollfd p{c.fd(), POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

}  // namespace

class FakeControlTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(FakeControlTest);
  CPPUNIT_TEST(pipelined_batch_answered_in_order);
  CPPUNIT_TEST(input_split_byte_by_byte);
  CPPUNIT_TEST(large_replies_are_written_in_full);
  CPPUNIT_TEST(gate_holds_replies_until_released);
  CPPUNIT_TEST(held_requests_run_against_state_at_release);
  CPPUNIT_TEST(release_n_lets_oldest_through);
  CPPUNIT_TEST(release_credits_apply_to_later_arrivals);
  CPPUNIT_TEST(wait_for_requests_and_connections);
  CPPUNIT_TEST(close_all_connections_keeps_listening);
  CPPUNIT_TEST(stop_with_connections_open);
  CPPUNIT_TEST(destructor_with_held_requests);
  CPPUNIT_TEST(many_clients_on_threads);
  CPPUNIT_TEST_SUITE_END();

 public:
  void pipelined_batch_answered_in_order() {
    VBucketServer s;
    TestClient c(s.port());
    std::string batch;
    uint32_t opaque = 0;
    std::vector<uint32_t> answered;  // opaques that get a reply
    for (int i = 0; i < 100; ++i) {
      const std::string key = "k" + std::to_string(i);
      batch += encode_binary(req(Op::Set, key, "v" + std::to_string(i), set_extras(uint32_t(i), 0), 0, 0, ++opaque));
      answered.push_back(opaque);
      batch += encode_binary(req(Op::SetQ, key + "q", "q", set_extras(0, 0), 0, 0, ++opaque));  // silent
      batch += encode_binary(req(Op::GetQ, "missing" + key, "", "", 0, 0, ++opaque));            // silent
      batch += encode_binary(req(Op::GetK, key, "", "", 0, 0, ++opaque));
      answered.push_back(opaque);
    }
    batch += encode_binary(req(Op::Noop, "", "", "", 0, 0, ++opaque));
    answered.push_back(opaque);
    c.send(batch);  // one write; the server reads it in whatever pieces
    std::vector<BinaryPacket> r = read_through_noop(c);
    CPPUNIT_ASSERT_EQUAL(answered.size(), r.size());
    for (std::size_t i = 0; i < r.size(); ++i) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(r[i]), answered[i], r[i].opaque);
      ASSERT_STATUS(bin::kSuccess, r[i]);
    }
    for (int i = 0; i < 100; ++i) {
      const BinaryPacket& g = r[2 * static_cast<std::size_t>(i) + 1];
      CPPUNIT_ASSERT_EQUAL("k" + std::to_string(i), g.key);
      CPPUNIT_ASSERT_EQUAL("v" + std::to_string(i), g.value);
      CPPUNIT_ASSERT_EQUAL(uint32_t(i), flags_of(g));
    }
    CPPUNIT_ASSERT_EQUAL(size_t(200), s.item_count());
    CPPUNIT_ASSERT_EQUAL(uint64_t(opaque), s.requests());
  }

  void input_split_byte_by_byte() {
    VBucketServer s;
    TestClient c(s.port());
    const std::string wire = encode_binary(req(Op::Set, "key", "value", set_extras(1, 0), 0, 0, 1)) +
                             encode_binary(req(Op::Get, "key", "", "", 0, 0, 2));
    for (char ch : wire) c.send(std::string_view(&ch, 1));
    BinaryPacket set = c.read_binary();
    BinaryPacket get = c.read_binary();
    CPPUNIT_ASSERT_EQUAL(uint32_t(1), set.opaque);
    ASSERT_STATUS(bin::kSuccess, set);
    CPPUNIT_ASSERT_EQUAL(uint32_t(2), get.opaque);
    CPPUNIT_ASSERT_EQUAL(std::string("value"), get.value);
  }

  void large_replies_are_written_in_full() {
    VBucketServer s;
    const std::string big(1024 * 1024, 'b');
    s.put("big", big);
    TestClient c(s.port());
    std::string batch;
    for (uint32_t i = 1; i <= 12; ++i) batch += encode_binary(req(Op::Get, "big", "", "", 0, 0, i));
    c.send(batch);  // 12 MiB of replies: more than any socket buffer
    for (uint32_t i = 1; i <= 12; ++i) {
      BinaryPacket g = c.read_binary();
      CPPUNIT_ASSERT_EQUAL(i, g.opaque);
      CPPUNIT_ASSERT(g.value == big);
    }
    // And a large request body arriving in many reads.
    BinaryPacket set = call(c, req(Op::Set, "big2", big, set_extras(0, 0)));
    ASSERT_STATUS(bin::kSuccess, set);
    CPPUNIT_ASSERT(s.get("big2") == big);
  }

  void gate_holds_replies_until_released() {
    VBucketServer s;
    s.put("k", "v");
    TestClient c(s.port());
    s.hold_replies();
    c.send_binary(req(Op::Get, "k", "", "", 0, 0, 1));
    c.send_binary(req(Op::Noop, "", "", "", 0, 0, 2));
    CPPUNIT_ASSERT(s.wait_for_requests(2, 2s));
    CPPUNIT_ASSERT_EQUAL(size_t(2), s.held_requests());
    CPPUNIT_ASSERT(!readable_now(c));  // held means not executed: nothing was written
    // Direct access still works while requests are held.
    CPPUNIT_ASSERT_EQUAL(std::string("v"), s.get("k").value_or("?"));

    s.release_replies();
    CPPUNIT_ASSERT_EQUAL(size_t(0), s.held_requests());
    CPPUNIT_ASSERT_EQUAL(uint32_t(1), c.read_binary().opaque);
    CPPUNIT_ASSERT_EQUAL(uint32_t(2), c.read_binary().opaque);
    // The gate is open again.
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Noop)));
  }

  void held_requests_run_against_state_at_release() {
    VBucketServer s;
    s.set_owned({5});
    TestClient c(s.port());
    s.hold_replies();
    c.send_binary(req(Op::Set, "k", "v", set_extras(0, 0), 5, 0, 1));
    CPPUNIT_ASSERT(s.wait_for_requests(1, 2s));
    // The vBucket moves away while the request is in flight.
    s.set_owned({6});
    s.release_replies();
    BinaryPacket r = c.read_binary();
    ASSERT_STATUS(bin::kNotMyVbucket, r);
    CPPUNIT_ASSERT_EQUAL(uint64_t(1), s.nmv_count());
    CPPUNIT_ASSERT(!s.get("k"));
  }

  void release_n_lets_oldest_through() {
    VBucketServer s;
    TestClient a(s.port());
    TestClient b(s.port());
    s.hold_replies();
    a.send_binary(req(Op::Noop, "", "", "", 0, 0, 1));
    CPPUNIT_ASSERT(s.wait_for_requests(1, 2s));
    b.send_binary(req(Op::Noop, "", "", "", 0, 0, 2));
    CPPUNIT_ASSERT(s.wait_for_requests(2, 2s));
    a.send_binary(req(Op::Noop, "", "", "", 0, 0, 3));
    CPPUNIT_ASSERT(s.wait_for_requests(3, 2s));

    s.release_replies(1);  // a's first
    CPPUNIT_ASSERT_EQUAL(size_t(2), s.held_requests());
    CPPUNIT_ASSERT_EQUAL(uint32_t(1), a.read_binary().opaque);
    CPPUNIT_ASSERT(!readable_now(b));
    s.release_replies(1);  // then b's, though a's second is on the same connection as the first
    CPPUNIT_ASSERT_EQUAL(size_t(1), s.held_requests());
    CPPUNIT_ASSERT_EQUAL(uint32_t(2), b.read_binary().opaque);
    CPPUNIT_ASSERT(!readable_now(a));
    s.release_replies();
    CPPUNIT_ASSERT_EQUAL(uint32_t(3), a.read_binary().opaque);
  }

  void release_credits_apply_to_later_arrivals() {
    VBucketServer s;
    TestClient c(s.port());
    s.hold_replies();
    s.release_replies(1);  // nothing held: the next request may pass
    CPPUNIT_ASSERT_EQUAL(uint32_t(1), call(c, req(Op::Noop, "", "", "", 0, 0, 1)).opaque);
    c.send_binary(req(Op::Noop, "", "", "", 0, 0, 2));
    CPPUNIT_ASSERT(s.wait_for_requests(2, 2s));
    CPPUNIT_ASSERT_EQUAL(size_t(1), s.held_requests());
    s.release_replies(5);  // one used, four left over
    CPPUNIT_ASSERT_EQUAL(uint32_t(2), c.read_binary().opaque);
    s.hold_replies();  // holding again withdraws unused credits
    c.send_binary(req(Op::Noop, "", "", "", 0, 0, 3));
    CPPUNIT_ASSERT(s.wait_for_requests(3, 2s));
    CPPUNIT_ASSERT_EQUAL(size_t(1), s.held_requests());
    s.release_replies();
    CPPUNIT_ASSERT_EQUAL(uint32_t(3), c.read_binary().opaque);
  }

  void wait_for_requests_and_connections() {
    VBucketServer s;
    // Deadlines bound failures: with nothing arriving, the waits say false.
    CPPUNIT_ASSERT(!s.wait_for_requests(1, 20ms));
    CPPUNIT_ASSERT(!s.wait_for_connections(1, 20ms));
    CPPUNIT_ASSERT(s.wait_for_requests(0, 0ms));
    TestClient a(s.port());
    TestClient b(s.port());
    CPPUNIT_ASSERT(s.wait_for_connections(2, 2s));
    CPPUNIT_ASSERT_EQUAL(uint64_t(2), s.accepted());
    std::thread sender([&a] { a.send(encode_binary(req(Op::Noop)) + encode_binary(req(Op::Noop))); });
    CPPUNIT_ASSERT(s.wait_for_requests(2, 2s));
    sender.join();
    CPPUNIT_ASSERT_EQUAL(uint64_t(2), s.requests());
    TestClient c(s.port());
    call(c, req(Op::Noop));
    CPPUNIT_ASSERT_EQUAL(uint64_t(3), s.accepted());
  }

  void close_all_connections_keeps_listening() {
    VBucketServer s;
    std::vector<TestClient> clients;
    for (int i = 0; i < 3; ++i) clients.emplace_back(s.port());
    CPPUNIT_ASSERT(s.wait_for_connections(3, 2s));
    // A held request is dropped with its connection.
    s.hold_replies();
    clients[0].send_binary(req(Op::Set, "k", "v", set_extras(0, 0)));
    CPPUNIT_ASSERT(s.wait_for_requests(1, 2s));

    s.close_all_connections();
    CPPUNIT_ASSERT_EQUAL(size_t(0), s.connections());
    CPPUNIT_ASSERT_EQUAL(size_t(0), s.held_requests());
    for (auto& c : clients) CPPUNIT_ASSERT(c.expect_closed(2s));
    CPPUNIT_ASSERT(!s.get("k"));
    s.release_replies();  // nothing held: returns at once

    TestClient again(s.port());
    ASSERT_STATUS(bin::kSuccess, call(again, req(Op::Set, "k", "v", set_extras(0, 0))));
    CPPUNIT_ASSERT_EQUAL(size_t(1), s.connections());
    CPPUNIT_ASSERT_EQUAL(uint64_t(4), s.accepted());
    CPPUNIT_ASSERT(s.running());
  }

  void stop_with_connections_open() {
    auto s = std::make_unique<VBucketServer>();
    const int port = s->port();
    TestClient idle(port);
    TestClient busy(port);
    CPPUNIT_ASSERT(s->wait_for_connections(2, 2s));
    s->hold_replies();
    busy.send_binary(req(Op::Get, "k"));
    CPPUNIT_ASSERT(s->wait_for_requests(1, 2s));

    s->stop();
    CPPUNIT_ASSERT(!s->running());
    CPPUNIT_ASSERT(idle.expect_closed(2s));
    CPPUNIT_ASSERT(busy.expect_closed(2s));
    CPPUNIT_ASSERT_THROW(TestClient(port, 1s), std::runtime_error);  // refused: nobody listens
    // Everything is safe after stop, and returns at once.
    s->stop();
    s->close_all_connections();
    s->release_replies();
    const auto before = Clock::now();
    CPPUNIT_ASSERT(!s->wait_for_requests(2, 10s));
    CPPUNIT_ASSERT(Clock::now() - before < 5s);
    CPPUNIT_ASSERT_EQUAL(uint64_t(1), s->requests());
    s.reset();
  }

  void destructor_with_held_requests() {
    std::unique_ptr<TestClient> c;
    {
      VBucketServer s;
      c = std::make_unique<TestClient>(s.port());
      s.hold_replies();
      c->send_binary(req(Op::Get, "k"));
      CPPUNIT_ASSERT(s.wait_for_requests(1, 2s));
    }  // stops and joins with a connection open and a request held
    CPPUNIT_ASSERT(c->expect_closed(2s));
  }

  void many_clients_on_threads() {
    VBucketServer s;
    constexpr int kThreads = 4;
    constexpr int kOps = 100;
    std::atomic<int> failures{0};
    std::vector<std::string> errors(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        try {
          TestClient c(s.port());
          for (int i = 0; i < kOps; ++i) {
            const std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
            if (call(c, req(Op::Set, key, key, set_extras(0, 0))).status() != bin::kSuccess ||
                call(c, req(Op::Get, key)).value != key) {
              ++failures;
              errors[t] = "wrong reply for " + key;
              return;
            }
          }
        } catch (const std::exception& e) {
          ++failures;
          errors[t] = e.what();
        }
      });
    }
    // The test thread reads and changes state meanwhile.
    while (s.requests() < uint64_t(kThreads * kOps)) {
      (void)s.item_count();
      (void)s.received().size();
      s.own_all();
      if (!s.wait_for_requests(s.requests() + 1, 5s)) break;
    }
    for (auto& th : threads) th.join();
    std::string all;
    for (const auto& e : errors) all += e + "; ";
    CPPUNIT_ASSERT_EQUAL_MESSAGE(all, 0, failures.load());
    CPPUNIT_ASSERT_EQUAL(size_t(kThreads * kOps), s.item_count());
    CPPUNIT_ASSERT_EQUAL(uint64_t(2 * kThreads * kOps), s.requests());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(FakeControlTest);

}  // namespace moxi::test
