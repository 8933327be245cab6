// Request reuse: a pooled Request keeps its Result objects (and their string
// and evbuffer capacity) across reset(), and none of their content leaks
// into the next request.
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "src/protocol/request.h"

namespace moxi::protocol {

class RequestReuseTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RequestReuseTest);
  CPPUNIT_TEST(testResultsAreBlankAfterReset);
  CPPUNIT_TEST(testResizeKeepsAndBlanks);
  CPPUNIT_TEST(testAtMostKeptSurvive);
  CPPUNIT_TEST_SUITE_END();

  static void fill(Result& r, const std::string& value) {
    r.hit = true;
    r.flags = 7;
    r.cas = 9;
    r.number = 11;
    r.message = "msg";
    r.error_class = ErrorClass::ServerError;
    r.status = Status::KeyExists;
    r.value.append(value);
  }

  static void assert_blank(const Result& r) {
    CPPUNIT_ASSERT(!r.hit);
    CPPUNIT_ASSERT_EQUAL(uint32_t{0}, r.flags);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, r.cas);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, r.number);
    CPPUNIT_ASSERT(r.message.empty());
    CPPUNIT_ASSERT(r.error_class == ErrorClass::None);
    CPPUNIT_ASSERT(r.status == Status::Success);
    CPPUNIT_ASSERT(r.value.empty());
    CPPUNIT_ASSERT(r.value.is_small());
  }

 public:
  void testResultsAreBlankAfterReset() {
    Request req;
    req.add_key("a");
    req.add_key("b");
    req.prepare_results();
    CPPUNIT_ASSERT_EQUAL(size_t{2}, req.results.size());
    fill(req.results[0], "small");
    fill(req.results[1], std::string(ValueBytes::kInlineMax * 3, 'x'));  // held as chains
    CPPUNIT_ASSERT(!req.results[1].value.is_small());
    req.reset();
    CPPUNIT_ASSERT_EQUAL(size_t{0}, req.results.size());
    req.add_key("c");
    req.add_key("d");
    req.add_key("e");
    req.prepare_results();
    CPPUNIT_ASSERT_EQUAL(size_t{3}, req.results.size());
    for (const Result& r : req.results) assert_blank(r);
  }

  void testResizeKeepsAndBlanks() {
    ResultList list;
    list.resize(3);
    fill(list[0], "a");
    fill(list[2], "c");
    list.resize(2);  // shrinking blanks what falls off
    CPPUNIT_ASSERT_EQUAL(std::string("a"), list[0].value.str());
    list.resize(3);
    assert_blank(list[2]);
    size_t n = 0;
    for (const Result& r : list) n += r.hit ? 1 : 0;
    CPPUNIT_ASSERT_EQUAL(size_t{1}, n);
  }

  void testAtMostKeptSurvive() {
    ResultList list;
    list.resize(ResultList::kKept * 4);
    for (Result& r : list) fill(r, "v");
    list.clear();
    CPPUNIT_ASSERT(list.empty());
    list.resize(ResultList::kKept * 4);
    for (const Result& r : list) assert_blank(r);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RequestReuseTest);

}  // namespace moxi::protocol
