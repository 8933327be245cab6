// Validating documents (every shape, named buckets, $HOST) and the filter
// that drops duplicates and reports each error once.
#include <cppunit/extensions/HelperMacros.h>

#include <fstream>
#include <sstream>

#include "vbucket/document_parse.h"
#include "conflate/document_filter.h"
#include "t/conflate/configs.h"

namespace moxi::conflate {

using test::bucket_json;
using test::buckets_json;
using test::unnamed_json;
using Kind = DocumentFilter::Verdict::Kind;

// The buckets of a document fetched from `origin` (vbucket::parse_document,
// as every source reads it).
vbucket::Result<std::vector<vbucket::NamedConfig>> parse_document(std::string_view text, std::string origin) {
  auto doc = vbucket::parse_document(text, vbucket::ParseOptions{std::move(origin)});
  if (!doc) return vbucket::Result<std::vector<vbucket::NamedConfig>>::failure(doc.error());
  return vbucket::Result<std::vector<vbucket::NamedConfig>>::success(std::move(doc.value().buckets));
}

class DocumentTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DocumentTest);
  CPPUNIT_TEST(single_bucket_is_named_by_its_name);
  CPPUNIT_TEST(single_bucket_without_name_is_default);
  CPPUNIT_TEST(multi_bucket_document);
  CPPUNIT_TEST(buckets_key_is_case_insensitive);
  CPPUNIT_TEST(invalid_documents_carry_the_parser_message);
  CPPUNIT_TEST(dollar_host_becomes_the_peer);
  CPPUNIT_TEST(filter_drops_a_repeat_of_the_last_delivery);
  CPPUNIT_TEST(filter_keys_repeats_by_peer);
  CPPUNIT_TEST(filter_invalid_does_not_replace_the_last_good);
  CPPUNIT_TEST(filter_reports_an_error_once_until_a_delivery);
  CPPUNIT_TEST_SUITE_END();

 public:
  void single_bucket_is_named_by_its_name() {
    auto r = parse_document(bucket_json("beer", 1), "h");
    CPPUNIT_ASSERT_MESSAGE(r.error(), r.ok());
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), r.value().size());
    CPPUNIT_ASSERT_EQUAL(std::string("beer"), r.value()[0].name);
    CPPUNIT_ASSERT_EQUAL(2, r.value()[0].config->num_vbuckets());
  }

  void single_bucket_without_name_is_default() {
    auto r = parse_document(unnamed_json(1), "h");
    CPPUNIT_ASSERT_MESSAGE(r.error(), r.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("default"), r.value()[0].name);
    auto empty_name = parse_document(
        R"({"name":"","serverList":["a:1"],"numReplicas":0,"vBucketMap":[[0]]})", "h");
    CPPUNIT_ASSERT_MESSAGE(empty_name.error(), empty_name.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("default"), empty_name.value()[0].name);
  }

  void multi_bucket_document() {
    auto r = parse_document(buckets_json({"a", "default", "b"}, 1), "h");
    CPPUNIT_ASSERT_MESSAGE(r.error(), r.ok());
    CPPUNIT_ASSERT_EQUAL(std::size_t(3), r.value().size());
    CPPUNIT_ASSERT_EQUAL(std::string("default"), r.value()[0].name);  // moxi's order
    CPPUNIT_ASSERT_EQUAL(std::string("a"), r.value()[1].name);
    auto none = parse_document(R"({"buckets":[]})", "h");
    CPPUNIT_ASSERT_MESSAGE(none.error(), none.ok());
    CPPUNIT_ASSERT(none.value().empty());
  }

  void buckets_key_is_case_insensitive() {
    auto r = parse_document("{\"Buckets\":[" + bucket_json("x", 1) + "]}", "h");
    CPPUNIT_ASSERT_MESSAGE(r.error(), r.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("x"), r.value()[0].name);
  }

  void invalid_documents_carry_the_parser_message() {
    auto garbage = parse_document("this is not json", "h");
    CPPUNIT_ASSERT(!garbage.ok());
    CPPUNIT_ASSERT_MESSAGE(garbage.error(), garbage.error().find("not JSON") != std::string::npos);
    auto bad_map = parse_document(R"({"serverList":["a:1"],"numReplicas":0,"vBucketMap":[[0],[0],[0]]})", "h");
    CPPUNIT_ASSERT(!bad_map.ok());
    CPPUNIT_ASSERT_MESSAGE(bad_map.error(), bad_map.error().find("power of two") != std::string::npos);
    auto bad_element = parse_document(R"({"buckets":[{"name":"a"}]})", "h");
    CPPUNIT_ASSERT(!bad_element.ok());
    CPPUNIT_ASSERT_MESSAGE(bad_element.error(), bad_element.error().find("bucket \"a\"") != std::string::npos);
    auto message = parse_document(R"({"message":"Service unavailable. Please retry in a few seconds."})", "h");
    CPPUNIT_ASSERT(!message.ok());
  }

  void dollar_host_becomes_the_peer() {
    std::ifstream in(test::terse_25_path());
    std::stringstream text;
    text << in.rdbuf();
    auto r = parse_document(text.str(), "10.1.2.3");
    CPPUNIT_ASSERT_MESSAGE(r.error(), r.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("10.1.2.3:11210"), r.value()[0].config->server(0));
  }

  void filter_drops_a_repeat_of_the_last_delivery() {
    DocumentFilter filter;
    CPPUNIT_ASSERT(filter.check(bucket_json("a", 1), "h").kind == Kind::deliver);
    CPPUNIT_ASSERT(filter.check(bucket_json("a", 1), "h").kind == Kind::duplicate);
    CPPUNIT_ASSERT(filter.check(bucket_json("a", 2), "h").kind == Kind::deliver);
    // Only the last delivery counts: going back to rev 1 is a change.
    CPPUNIT_ASSERT(filter.check(bucket_json("a", 1), "h").kind == Kind::deliver);
  }

  void filter_keys_repeats_by_peer() {
    DocumentFilter filter;
    CPPUNIT_ASSERT(filter.check(bucket_json("a", 1, "$HOST:11210"), "h1").kind == Kind::deliver);
    auto other = filter.check(bucket_json("a", 1, "$HOST:11210"), "h2");
    CPPUNIT_ASSERT(other.kind == Kind::deliver);
    CPPUNIT_ASSERT_EQUAL(std::string("h2:11210"), other.buckets[0].config->server(0));
  }

  void filter_invalid_does_not_replace_the_last_good() {
    DocumentFilter filter;
    CPPUNIT_ASSERT(filter.check(bucket_json("a", 1), "h").kind == Kind::deliver);
    auto bad = filter.check("{", "h");
    CPPUNIT_ASSERT(bad.kind == Kind::invalid);
    CPPUNIT_ASSERT(!bad.error.empty());
    CPPUNIT_ASSERT(filter.check(bucket_json("a", 1), "h").kind == Kind::duplicate);
  }

  void filter_reports_an_error_once_until_a_delivery() {
    DocumentFilter filter;
    CPPUNIT_ASSERT(filter.first_report("e1"));
    CPPUNIT_ASSERT(!filter.first_report("e1"));
    CPPUNIT_ASSERT(filter.first_report("e2"));
    CPPUNIT_ASSERT(!filter.first_report("e1"));
    filter.check(bucket_json("a", 1), "h");
    CPPUNIT_ASSERT(filter.first_report("e1"));  // it came back after a good config
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DocumentTest);

}  // namespace moxi::conflate
