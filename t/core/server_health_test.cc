// ServerHealth (src/backend/server_health.h): the backend health state
// machine, driven with explicit times.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "src/backend/server_health.h"

namespace moxi::test {
namespace {

using Failure = backend::ServerHealth::Failure;

std::string name(const backend::ServerHealth& h) { return std::string(backend::health_name(h.state())); }

backend::HealthPolicy policy(uint32_t max_errors = 3, uint64_t interval = 1000, uint64_t retry_max = 30000) {
  backend::HealthPolicy p;
  p.max_errors = max_errors;
  p.probe_interval_ms = interval;
  p.retry_max_ms = retry_max;
  return p;
}

// Brings a down server back: its probe is answered, then it answers enough.
void recover(backend::ServerHealth& h, uint64_t& now) {
  now = h.probe_at_ms();
  CPPUNIT_ASSERT(h.start_probe(now));
  CPPUNIT_ASSERT(h.on_reply(now));
  while (h.state() != backend::Health::Healthy) h.on_reply(now);
}

class ServerHealthTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ServerHealthTest);
  CPPUNIT_TEST(testOneBlipDoesNotTakeItDown);
  CPPUNIT_TEST(testFailuresInARowTakeItDownUntilAProbeAnswers);
  CPPUNIT_TEST(testATimeoutTakesItDownAtOnce);
  CPPUNIT_TEST(testALongOutageIsProbedAtTheBaseInterval);
  CPPUNIT_TEST(testFlappingIsDamped);
  CPPUNIT_TEST(testLongHealthForgivesFlaps);
  CPPUNIT_TEST(testZeroMaxErrors);
  CPPUNIT_TEST(testAPeersFindingsAreFollowed);
  CPPUNIT_TEST_SUITE_END();

 public:
  // Another worker's outage takes a healthy or suspect server down here too,
  // without counting an outage of this worker's; its recovery makes the
  // probe due at once. Neither changes a server already down or probing.
  void testAPeersFindingsAreFollowed() {
    backend::ServerHealth h(policy());
    CPPUNIT_ASSERT(h.on_peer_down(100));
    CPPUNIT_ASSERT_EQUAL(std::string("down"), name(h));
    CPPUNIT_ASSERT(h.refuses());
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, h.downs());
    CPPUNIT_ASSERT_EQUAL(uint64_t{1100}, h.probe_at_ms());
    CPPUNIT_ASSERT(!h.on_peer_down(200));  // already down: the probe time stays
    CPPUNIT_ASSERT_EQUAL(uint64_t{1100}, h.probe_at_ms());
    CPPUNIT_ASSERT(h.on_peer_recovery(300));
    CPPUNIT_ASSERT_EQUAL(uint64_t{300}, h.probe_at_ms());
    CPPUNIT_ASSERT(h.start_probe(300));
    CPPUNIT_ASSERT(!h.on_peer_down(301));      // probing: its own probe decides
    CPPUNIT_ASSERT(!h.on_peer_recovery(301));
    CPPUNIT_ASSERT_EQUAL(std::string("probing"), name(h));
    CPPUNIT_ASSERT(h.on_reply(310));
    CPPUNIT_ASSERT(h.on_probation());
    CPPUNIT_ASSERT(!h.on_peer_recovery(311));  // not down: nothing to hurry
    backend::ServerHealth suspect(policy());
    suspect.on_failure(Failure::Connect, 10);
    CPPUNIT_ASSERT(suspect.on_peer_down(20));
    CPPUNIT_ASSERT_EQUAL(std::string("down"), name(suspect));
  }

  void testOneBlipDoesNotTakeItDown() {
    backend::ServerHealth h(policy());
    CPPUNIT_ASSERT(h.on_failure(Failure::Connect, 10));
    CPPUNIT_ASSERT_EQUAL(std::string("suspect"), name(h));
    CPPUNIT_ASSERT(!h.refuses());
    CPPUNIT_ASSERT(!h.on_failure(Failure::Closed, 11));  // two of three
    CPPUNIT_ASSERT(!h.refuses());
    // A reply breaks the run; it takes max_errors replies to be healthy.
    CPPUNIT_ASSERT(!h.on_reply(12));
    CPPUNIT_ASSERT(!h.on_failure(Failure::Garbage, 13));
    CPPUNIT_ASSERT(!h.on_failure(Failure::Connect, 14));
    CPPUNIT_ASSERT(!h.refuses());
    h.on_reply(15);
    h.on_reply(16);
    CPPUNIT_ASSERT(h.on_reply(17));
    CPPUNIT_ASSERT_EQUAL(std::string("healthy"), name(h));
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, h.downs());
  }

  void testFailuresInARowTakeItDownUntilAProbeAnswers() {
    backend::ServerHealth h(policy());
    h.on_failure(Failure::Connect, 100);
    h.on_failure(Failure::Connect, 101);
    CPPUNIT_ASSERT(h.on_failure(Failure::Connect, 102));
    CPPUNIT_ASSERT_EQUAL(std::string("down"), name(h));
    CPPUNIT_ASSERT(h.refuses());
    CPPUNIT_ASSERT_EQUAL(uint64_t{1102}, h.probe_at_ms());
    CPPUNIT_ASSERT(!h.start_probe(1101));  // not due
    CPPUNIT_ASSERT(h.start_probe(1102));
    CPPUNIT_ASSERT_EQUAL(std::string("probing"), name(h));
    CPPUNIT_ASSERT(h.refuses());  // one probe, not the clients' requests
    CPPUNIT_ASSERT(h.on_reply(1110));
    // On probation: served again, healthy after max_errors answers...
    CPPUNIT_ASSERT_EQUAL(std::string("suspect"), name(h));
    CPPUNIT_ASSERT(!h.refuses());
    h.on_reply(1111);
    CPPUNIT_ASSERT(h.on_reply(1112));
    CPPUNIT_ASSERT_EQUAL(std::string("healthy"), name(h));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, h.downs());
  }

  void testATimeoutTakesItDownAtOnce() {
    backend::ServerHealth h(policy());
    CPPUNIT_ASSERT(h.on_failure(Failure::Timeout, 5000));
    CPPUNIT_ASSERT_EQUAL(std::string("down"), name(h));
    CPPUNIT_ASSERT_EQUAL(uint64_t{6000}, h.probe_at_ms());
    // Its other connections' timeouts are the same outage.
    CPPUNIT_ASSERT(!h.on_failure(Failure::Timeout, 5001));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, h.downs());
    // A server that timed a request out while still sending is busy, not
    // stalled: a failure like any other.
    backend::ServerHealth busy(policy());
    CPPUNIT_ASSERT(busy.on_failure(Failure::Slow, 10));
    CPPUNIT_ASSERT_EQUAL(std::string("suspect"), name(busy));
    busy.on_reply(11);
    busy.on_failure(Failure::Slow, 12);
    CPPUNIT_ASSERT(!busy.refuses());
  }

  void testALongOutageIsProbedAtTheBaseInterval() {
    backend::ServerHealth h(policy());
    h.on_failure(Failure::Timeout, 0);
    uint64_t now = 0;
    for (int i = 0; i < 50; ++i) {  // 50 failed probes
      now = h.probe_at_ms();
      CPPUNIT_ASSERT(h.start_probe(now));
      CPPUNIT_ASSERT(h.on_failure(Failure::Connect, now + 3));
      CPPUNIT_ASSERT_EQUAL(now + 3 + 1000, h.probe_at_ms());
    }
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, h.downs());
    // Back after 50 s: found by the next probe.
    recover(h, now);
    CPPUNIT_ASSERT_EQUAL(std::string("healthy"), name(h));
  }

  void testFlappingIsDamped() {
    backend::ServerHealth h(policy(3, 1000, 5000));
    uint64_t now = 0;
    h.on_failure(Failure::Timeout, now);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1000}, h.probe_delay_ms());
    // Answers the probe, then fails again while on probation: a flap.
    now = h.probe_at_ms();
    h.start_probe(now);
    h.on_reply(now);
    CPPUNIT_ASSERT(h.on_failure(Failure::Closed, now + 1));  // one failure on probation is enough
    CPPUNIT_ASSERT_EQUAL(std::string("down"), name(h));
    CPPUNIT_ASSERT_EQUAL(uint64_t{2000}, h.probe_delay_ms());
    // Recovers fully, fails again soon: still flapping.
    recover(h, now);
    h.on_failure(Failure::Timeout, now + 10);
    CPPUNIT_ASSERT_EQUAL(uint64_t{4000}, h.probe_delay_ms());
    recover(h, now);
    h.on_failure(Failure::Timeout, now + 10);
    CPPUNIT_ASSERT_EQUAL(uint64_t{5000}, h.probe_delay_ms());  // capped at retry_max
    CPPUNIT_ASSERT_EQUAL(uint64_t{4}, h.downs());
  }

  void testLongHealthForgivesFlaps() {
    backend::ServerHealth h(policy());
    uint64_t now = 0;
    h.on_failure(Failure::Timeout, now);
    recover(h, now);
    h.on_failure(Failure::Timeout, now + 1);
    CPPUNIT_ASSERT_EQUAL(uint64_t{2000}, h.probe_delay_ms());
    recover(h, now);
    // Healthy for longer than the flap window: a new outage starts afresh.
    now += backend::ServerHealth::kFlapWindow * 1000 + 1;
    h.on_failure(Failure::Timeout, now);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1000}, h.probe_delay_ms());
  }

  void testZeroMaxErrors() {
    backend::ServerHealth h(policy(0));
    for (uint64_t t = 0; t < 100; ++t) h.on_failure(Failure::Connect, t);
    CPPUNIT_ASSERT(!h.refuses());
    CPPUNIT_ASSERT(h.on_reply(100));  // one answer is enough
    CPPUNIT_ASSERT_EQUAL(std::string("healthy"), name(h));
    CPPUNIT_ASSERT(h.on_failure(Failure::Timeout, 200));
    CPPUNIT_ASSERT(h.refuses());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ServerHealthTest);

}  // namespace
}  // namespace moxi::test
