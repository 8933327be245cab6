// -Z downstream_max and wait_queue_timeout as pure code
// (src/routing/admission.h): slots, the first come, first served queue,
// and its expiry at exactly the timeout, with a clock the test sets.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "src/routing/admission.h"

namespace moxi::test {
namespace {

using routing::Admission;

// What the worker does with a new request: a slot, or the queue.
template <class T>
bool admit_or_queue(Admission<T>& a, T item, uint64_t now_ms) {
  if (a.try_admit()) return true;
  a.queue(std::move(item), now_ms);
  return false;
}

class AdmissionTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(AdmissionTest);
  CPPUNIT_TEST(testNoLimitAdmitsEverything);
  CPPUNIT_TEST(testFullSlotsQueueInArrivalOrder);
  CPPUNIT_TEST(testANewcomerWaitsBehindEarlierWaiters);
  CPPUNIT_TEST(testWaitersExpireAtExactlyTheTimeout);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testNoLimitAdmitsEverything() {
    Admission<int> a(0);
    for (int i = 0; i < 10000; ++i) CPPUNIT_ASSERT(admit_or_queue(a, i, 0));
    CPPUNIT_ASSERT_EQUAL(uint32_t{10000}, a.active());
    CPPUNIT_ASSERT_EQUAL(size_t{0}, a.waiting());
    CPPUNIT_ASSERT(!a.next_admitted());
    for (int i = 0; i < 10000; ++i) a.release();
    CPPUNIT_ASSERT(a.idle());
  }

  void testFullSlotsQueueInArrivalOrder() {
    Admission<std::string> a(2);
    CPPUNIT_ASSERT(admit_or_queue<std::string>(a, "a", 0));
    CPPUNIT_ASSERT(admit_or_queue<std::string>(a, "b", 0));
    CPPUNIT_ASSERT(!admit_or_queue<std::string>(a, "c", 1));
    CPPUNIT_ASSERT(!admit_or_queue<std::string>(a, "d", 2));
    CPPUNIT_ASSERT_EQUAL(uint32_t{2}, a.active());
    CPPUNIT_ASSERT_EQUAL(size_t{2}, a.waiting());
    CPPUNIT_ASSERT(!a.next_admitted());  // no slot free yet
    a.release();
    CPPUNIT_ASSERT_EQUAL(std::string("c"), a.next_admitted().value());
    CPPUNIT_ASSERT(!a.next_admitted());  // it took the freed slot
    a.release();
    a.release();
    CPPUNIT_ASSERT_EQUAL(std::string("d"), a.next_admitted().value());
    CPPUNIT_ASSERT(!a.next_admitted());
    CPPUNIT_ASSERT(!a.idle());
    a.release();
    CPPUNIT_ASSERT(a.idle());
  }

  void testANewcomerWaitsBehindEarlierWaiters() {
    Admission<int> a(1);
    CPPUNIT_ASSERT(admit_or_queue(a, 1, 0));
    CPPUNIT_ASSERT(!admit_or_queue(a, 2, 0));
    a.release();
    // A slot is free, but 2 was first: 3 queues behind it.
    CPPUNIT_ASSERT(!admit_or_queue(a, 3, 0));
    CPPUNIT_ASSERT_EQUAL(2, a.next_admitted().value());
    a.release();
    CPPUNIT_ASSERT_EQUAL(3, a.next_admitted().value());
  }

  void testWaitersExpireAtExactlyTheTimeout() {
    Admission<int> a(1);
    CPPUNIT_ASSERT(admit_or_queue(a, 0, 1000));
    CPPUNIT_ASSERT(!admit_or_queue(a, 1, 1000));
    CPPUNIT_ASSERT(!admit_or_queue(a, 2, 1050));
    std::vector<int> expired;
    auto collect = [&](int v) { expired.push_back(v); };
    // 200 ms timeout: 1 is due at 1200, 2 at 1250.
    CPPUNIT_ASSERT_EQUAL(uint64_t{1000}, a.expire(1199, 200, collect).value());
    CPPUNIT_ASSERT(expired.empty());
    CPPUNIT_ASSERT_EQUAL(uint64_t{1050}, a.expire(1200, 200, collect).value());
    CPPUNIT_ASSERT(expired == std::vector<int>{1});
    CPPUNIT_ASSERT(!a.expire(5000, 200, collect));
    CPPUNIT_ASSERT(expired == (std::vector<int>{1, 2}));
    CPPUNIT_ASSERT_EQUAL(size_t{0}, a.waiting());
    CPPUNIT_ASSERT_EQUAL(uint32_t{1}, a.active());  // expiry frees no slot it never held
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AdmissionTest);

}  // namespace
}  // namespace moxi::test
