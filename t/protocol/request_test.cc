// Request reuse: a pooled Request keeps its Result objects (and their string
// and chain capacity) across reset(), and none of their content leaks
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
    r.meta_reply = true;
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
    CPPUNIT_ASSERT(!r.meta_reply);
  }

 public:
  void testResultsAreBlankAfterReset() {
    Request req;
    req.add_key("a");
    req.add_key("b");
    req.prepare_results();
    CPPUNIT_ASSERT_EQUAL(size_t{2}, req.results.size());
    fill(req.results[0], "small");
    fill(req.results[1], std::string(ValueBytes::kInlineMax * 3, 'x'));  // held in a chain
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
    req.meta.mode = 'A';
    req.meta.line = "ms foo 3 q b O1 MA";
    CPPUNIT_ASSERT(req.meta.has('O') && !req.meta.has('v'));
    req.reset();
    CPPUNIT_ASSERT(req.meta.command == MetaCommand::None);
    CPPUNIT_ASSERT(req.meta.flags.empty());
    CPPUNIT_ASSERT(!req.meta.quiet && !req.meta.base64_key);
    CPPUNIT_ASSERT(req.meta.line.empty());
    CPPUNIT_ASSERT_EQUAL(char{0}, req.meta.mode);
  }

  static std::string needs(MetaCommand command, std::string_view letters, Protocol backend = Protocol::Binary) {
    return std::string(meta_needs_meta_backend(meta_of(command, letters), backend));
  }

  void testWhichMetaFlagsNeedAMetaBackend() {
    // What the binary protocol can express maps to plain ops.
    CPPUNIT_ASSERT_EQUAL(std::string(), needs(MetaCommand::Get, "bcfkOqsvTLP"));
    CPPUNIT_ASSERT_EQUAL(std::string(), needs(MetaCommand::Set, "bcCFkMOqT"));
    CPPUNIT_ASSERT_EQUAL(std::string(), needs(MetaCommand::Delete, "bCkOq"));
    CPPUNIT_ASSERT_EQUAL(std::string(), needs(MetaCommand::Arithmetic, "NJDMCvck"));
    // ma's N is incr/decr's create-with-initial; mg's and ms's N is vivify.
    CPPUNIT_ASSERT_EQUAL(std::string("t"), needs(MetaCommand::Arithmetic, "NJDt"));
    CPPUNIT_ASSERT_EQUAL(std::string("T"), needs(MetaCommand::Arithmetic, "DT"));
    CPPUNIT_ASSERT_EQUAL(std::string("N"), needs(MetaCommand::Get, "vN"));
    CPPUNIT_ASSERT_EQUAL(std::string("N"), needs(MetaCommand::Set, "N"));
    CPPUNIT_ASSERT_EQUAL(std::string("I"), needs(MetaCommand::Delete, "IT"));
    // The first such flag in request order is the one named.
    CPPUNIT_ASSERT_EQUAL(std::string("h"), needs(MetaCommand::Get, "vhlt"));
    for (char c : std::string_view("RIhltu"))
      CPPUNIT_ASSERT_EQUAL(std::string(1, c), needs(MetaCommand::Get, std::string(1, c)));
    CPPUNIT_ASSERT_EQUAL(std::string("me"), needs(MetaCommand::Debug, ""));
    // The ascii backend has no cas on delete and arithmetic, and none after a store.
    CPPUNIT_ASSERT_EQUAL(std::string(), needs(MetaCommand::Get, "c", Protocol::Ascii));
    CPPUNIT_ASSERT_EQUAL(std::string("c"), needs(MetaCommand::Set, "c", Protocol::Ascii));
    CPPUNIT_ASSERT_EQUAL(std::string("C"), needs(MetaCommand::Delete, "C", Protocol::Ascii));
    CPPUNIT_ASSERT_EQUAL(std::string("C"), needs(MetaCommand::Arithmetic, "C", Protocol::Ascii));
    // ... and compares a cas only on a set ("cas"): ms C is carried where
    // it means a cas (modes S and R) or nothing (E; C0 in A and P), and
    // refused where append or prepend would compare it.
    auto ms_with = [](char mode, const char* cas, Protocol backend = Protocol::Ascii) {
      MetaRequest m = meta_of(MetaCommand::Set, "M");
      m.flags.push_back({'C', cas});
      m.mode = mode;
      return std::string(meta_needs_meta_backend(m, backend));
    };
    for (char mode : std::string_view("SRE")) CPPUNIT_ASSERT_EQUAL(std::string(), ms_with(mode, "5"));
    CPPUNIT_ASSERT_EQUAL(std::string(), ms_with(0, "5"));
    for (char mode : std::string_view("AP")) {
      CPPUNIT_ASSERT_EQUAL(std::string("C"), ms_with(mode, "5"));
      CPPUNIT_ASSERT_EQUAL(std::string(), ms_with(mode, "0"));
      CPPUNIT_ASSERT_EQUAL(std::string(), ms_with(mode, "00"));
      CPPUNIT_ASSERT_EQUAL(std::string(), ms_with(mode, "5", Protocol::Binary));
    }
    // A meta backend carries everything; a request that is not meta needs nothing.
    CPPUNIT_ASSERT_EQUAL(std::string(), needs(MetaCommand::Debug, "", Protocol::Meta));
    CPPUNIT_ASSERT_EQUAL(std::string(), needs(MetaCommand::Get, "NRIhltu", Protocol::Meta));
    CPPUNIT_ASSERT_EQUAL(std::string(), needs(MetaCommand::None, "N"));
  }

};

CPPUNIT_TEST_SUITE_REGISTRATION(RequestReuseTest);

}  // namespace moxi::protocol
