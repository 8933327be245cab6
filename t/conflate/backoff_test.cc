// Backoff: jittered, exponential, bounded, reset by a success.
#include <cppunit/extensions/HelperMacros.h>

#include <set>

#include "conflate/backoff.h"

namespace moxi::conflate {

using std::chrono::milliseconds;

class BackoffTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(BackoffTest);
  CPPUNIT_TEST(ceilings_double_up_to_max);
  CPPUNIT_TEST(waits_lie_between_half_and_the_ceiling);
  CPPUNIT_TEST(jitter_spreads_waits);
  CPPUNIT_TEST(reset_starts_again_from_min);
  CPPUNIT_TEST(max_below_min_means_min);
  CPPUNIT_TEST_SUITE_END();

 public:
  void ceilings_double_up_to_max() {
    Backoff b(milliseconds(250), milliseconds(10000), 1);
    CPPUNIT_ASSERT_EQUAL(250L, static_cast<long>(b.ceiling(1).count()));
    CPPUNIT_ASSERT_EQUAL(500L, static_cast<long>(b.ceiling(2).count()));
    CPPUNIT_ASSERT_EQUAL(1000L, static_cast<long>(b.ceiling(3).count()));
    CPPUNIT_ASSERT_EQUAL(8000L, static_cast<long>(b.ceiling(6).count()));
    CPPUNIT_ASSERT_EQUAL(10000L, static_cast<long>(b.ceiling(7).count()));
    CPPUNIT_ASSERT_EQUAL(10000L, static_cast<long>(b.ceiling(1000000).count()));
  }

  void waits_lie_between_half_and_the_ceiling() {
    for (std::uint64_t seed = 1; seed <= 50; ++seed) {
      Backoff b(milliseconds(100), milliseconds(3000), seed);
      for (int n = 1; n <= 12; ++n) {
        const auto wait = b.next();
        const auto ceiling = b.ceiling(n);
        CPPUNIT_ASSERT_EQUAL(n, b.failures());
        CPPUNIT_ASSERT(wait <= ceiling);
        CPPUNIT_ASSERT(wait >= ceiling / 2);
      }
    }
  }

  void jitter_spreads_waits() {
    // Twenty proxies that lost the same server do not retry in lock step.
    std::set<long> firsts;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) firsts.insert(static_cast<long>(Backoff(milliseconds(1000), milliseconds(1000), seed).next().count()));
    CPPUNIT_ASSERT(firsts.size() >= 10);
  }

  void reset_starts_again_from_min() {
    Backoff b(milliseconds(100), milliseconds(1000), 7);
    for (int i = 0; i < 6; ++i) b.next();
    b.reset();
    CPPUNIT_ASSERT_EQUAL(0, b.failures());
    CPPUNIT_ASSERT(b.next() <= milliseconds(100));
  }

  void max_below_min_means_min() {
    Backoff b(milliseconds(400), milliseconds(10), 3);
    for (int i = 0; i < 5; ++i) {
      const auto wait = b.next();
      CPPUNIT_ASSERT(wait >= milliseconds(200) && wait <= milliseconds(400));
    }
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BackoffTest);

}  // namespace moxi::conflate
