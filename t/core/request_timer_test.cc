// downstream_timeout, exactly: request_timer_step (src/util/request_timer.h)
// driven by a fake clock. No wall clock is read, so a timeout that fires a
// millisecond early or at twice its setting fails here.
#include <cppunit/extensions/HelperMacros.h>

#include <cstdint>
#include <deque>
#include <string>

#include "src/util/request_timer.h"

namespace moxi {
namespace {

// The worker's clock as the test sets it, and a one-shot timer that fires
// exactly when armed (or, with `early_by`, that much before: libevent may
// wake up a little early, and a timer armed for the old head of the queue
// fires before the new head's deadline).
struct FakeLoop {
  uint64_t now = 0;
  uint64_t early_by = 0;
  // Runs the connection's timer steps for one request sent at `sent_at`
  // until it expires; returns the clock reading at which it expired.
  uint64_t run_until_expired(uint64_t sent_at, uint64_t timeout) {
    RequestTimerStep step = request_timer_step(sent_at, timeout, now);
    for (int turns = 0; !step.expired; ++turns) {
      CPPUNIT_ASSERT_MESSAGE("the timer never expires", turns < 100000);
      CPPUNIT_ASSERT(step.wait_ms > 0);
      now += step.wait_ms > early_by ? step.wait_ms - early_by : 1;
      step = request_timer_step(sent_at, timeout, now);
    }
    return now;
  }
};

}  // namespace

class RequestTimerTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RequestTimerTest);
  CPPUNIT_TEST(waits_exactly_the_time_left);
  CPPUNIT_TEST(expires_at_the_deadline_not_before);
  CPPUNIT_TEST(expires_at_the_deadline_when_the_timer_fires_early);
  CPPUNIT_TEST(late_check_expires_at_once);
  CPPUNIT_TEST(deadline_follows_the_oldest_request);
  CPPUNIT_TEST_SUITE_END();

 public:
  void waits_exactly_the_time_left() {
    const RequestTimerStep at_send = request_timer_step(1000, 300, 1000);
    CPPUNIT_ASSERT(!at_send.expired);
    CPPUNIT_ASSERT_EQUAL(uint64_t{300}, at_send.wait_ms);
    const RequestTimerStep later = request_timer_step(1000, 300, 1120);
    CPPUNIT_ASSERT(!later.expired);
    CPPUNIT_ASSERT_EQUAL(uint64_t{180}, later.wait_ms);
  }

  void expires_at_the_deadline_not_before() {
    const RequestTimerStep one_before = request_timer_step(5000, 250, 5249);
    CPPUNIT_ASSERT(!one_before.expired);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, one_before.wait_ms);
    CPPUNIT_ASSERT(request_timer_step(5000, 250, 5250).expired);
    FakeLoop loop;
    loop.now = 7000;
    CPPUNIT_ASSERT_EQUAL(uint64_t{7000 + 1000}, loop.run_until_expired(7000, 1000));
  }

  void expires_at_the_deadline_when_the_timer_fires_early() {
    for (uint64_t early : {1, 7, 99, 299}) {
      FakeLoop loop;
      loop.now = 1000;
      loop.early_by = early;
      CPPUNIT_ASSERT_EQUAL_MESSAGE("early by " + std::to_string(early), uint64_t{1300}, loop.run_until_expired(1000, 300));
    }
  }

  // A timer checked after its deadline (a busy loop turn) fails the request
  // then, with no further wait.
  void late_check_expires_at_once() {
    const RequestTimerStep late = request_timer_step(1000, 300, 4000);
    CPPUNIT_ASSERT(late.expired);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, late.wait_ms);
  }

  // Requests sent at 0, 100 and 250 with a 300 ms timeout, answered at 290
  // and 380: after each answer the timer guards the new oldest request, so
  // the third expires at 550, not 300 after the last answer nor 300 after
  // the first send.
  void deadline_follows_the_oldest_request() {
    std::deque<uint64_t> sent = {0, 100, 250};
    CPPUNIT_ASSERT_EQUAL(uint64_t{300}, request_timer_step(sent.front(), 300, 0).wait_ms);
    sent.pop_front();  // answered at 290
    const RequestTimerStep after_first = request_timer_step(sent.front(), 300, 290);
    CPPUNIT_ASSERT(!after_first.expired);
    CPPUNIT_ASSERT_EQUAL(uint64_t{110}, after_first.wait_ms);
    sent.pop_front();  // answered at 380
    FakeLoop loop;
    loop.now = 380;
    CPPUNIT_ASSERT_EQUAL(uint64_t{550}, loop.run_until_expired(sent.front(), 300));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RequestTimerTest);

}  // namespace moxi
