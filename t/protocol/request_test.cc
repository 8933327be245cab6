// Request reuse: a pooled Request keeps its Result objects (and their string
// and evbuffer capacity) across reset(), and none of their content leaks
// into the next request; the meta details reset too, and which meta flags
// need a meta backend is decided in one place.
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <string_view>

#include "src/protocol/request.h"

namespace moxi::protocol {

class RequestReuseTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RequestReuseTest);
  CPPUNIT_TEST(testResultsAreBlankAfterReset);
  CPPUNIT_TEST(testResizeKeepsAndBlanks);
  CPPUNIT_TEST(testAtMostKeptSurvive);
  CPPUNIT_TEST(testMetaIsBlankAfterReset);
  CPPUNIT_TEST(testWhichMetaFlagsNeedAMetaBackend);
  CPPUNIT_TEST_SUITE_END();

  static MetaRequest meta_of(MetaCommand command, std::string_view letters) {
    MetaRequest meta;
    meta.command = command;
    for (char c : letters) meta.flags.push_back({c, ""});
    return meta;
  }

  static void fill(Result& r, const std::string& value) {
    r.hit = true;
    r.flags = 7;
    r.cas = 9;
    r.number = 11;
    r.message = "msg";
    r.error_class = ErrorClass::ServerError;
    r.status = Status::KeyExists;
    r.value.append(value);
    r.ttl_remaining = 30;
    r.last_access = 4;
    r.fetched_before = 1;
    r.win = r.stale = r.already_won = true;
    r.size = 5;
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
    CPPUNIT_ASSERT_EQUAL(Result::kUnknown, r.ttl_remaining);
    CPPUNIT_ASSERT_EQUAL(Result::kUnknown, r.last_access);
    CPPUNIT_ASSERT_EQUAL(int8_t{-1}, r.fetched_before);
    CPPUNIT_ASSERT(!r.win && !r.stale && !r.already_won);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, r.size);
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

  void testMetaIsBlankAfterReset() {
    Request req;
    req.meta = meta_of(MetaCommand::Set, "qbOM");
    req.meta.quiet = req.meta.base64_key = true;
    req.meta.opaque = "123";
    req.meta.mode = 'A';
    CPPUNIT_ASSERT(req.meta.has('O') && !req.meta.has('v'));
    req.reset();
    CPPUNIT_ASSERT(req.meta.command == MetaCommand::None);
    CPPUNIT_ASSERT(req.meta.flags.empty());
    CPPUNIT_ASSERT(!req.meta.quiet && !req.meta.base64_key);
    CPPUNIT_ASSERT(req.meta.opaque.empty());
    CPPUNIT_ASSERT_EQUAL(char{0}, req.meta.mode);
  }

  void testWhichMetaFlagsNeedAMetaBackend() {
    // What the binary protocol can express maps to plain ops.
    CPPUNIT_ASSERT_EQUAL(char{0}, meta_flag_needs_meta_backend(meta_of(MetaCommand::Get, "bcfkOqsvTLP")));
    CPPUNIT_ASSERT_EQUAL(char{0}, meta_flag_needs_meta_backend(meta_of(MetaCommand::Set, "bcCFkMOqT")));
    CPPUNIT_ASSERT_EQUAL(char{0}, meta_flag_needs_meta_backend(meta_of(MetaCommand::Delete, "bCkOq")));
    // ma's N is incr/decr's create-with-initial; mg's and ms's N is vivify.
    CPPUNIT_ASSERT_EQUAL('t', meta_flag_needs_meta_backend(meta_of(MetaCommand::Arithmetic, "NJDt")));
    CPPUNIT_ASSERT_EQUAL(char{0}, meta_flag_needs_meta_backend(meta_of(MetaCommand::Arithmetic, "NJDMCv")));
    CPPUNIT_ASSERT_EQUAL('N', meta_flag_needs_meta_backend(meta_of(MetaCommand::Get, "vN")));
    CPPUNIT_ASSERT_EQUAL('N', meta_flag_needs_meta_backend(meta_of(MetaCommand::Set, "N")));
    // The first such flag in request order is the one named.
    CPPUNIT_ASSERT_EQUAL('h', meta_flag_needs_meta_backend(meta_of(MetaCommand::Get, "vhlt")));
    for (char c : std::string_view("RIxEhltu"))
      CPPUNIT_ASSERT_EQUAL(c, meta_flag_needs_meta_backend(meta_of(MetaCommand::Get, std::string(1, c))));
    CPPUNIT_ASSERT_EQUAL('e', meta_flag_needs_meta_backend(meta_of(MetaCommand::Debug, "")));
    // Neither plain backend protocol carries them.
    CPPUNIT_ASSERT(!backend_carries_meta_flag(Protocol::Binary, 'N'));
    CPPUNIT_ASSERT(!backend_carries_meta_flag(Protocol::Ascii, 'N'));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RequestReuseTest);

}  // namespace moxi::protocol
