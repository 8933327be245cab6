// moxi's static file ("PORT = CONFIG;..."), libmemcached server lists, and
// the any-shape loader.
#include <cppunit/extensions/HelperMacros.h>

#include "t/vbucket/fixtures.h"
#include "vbucket/config_loader.h"
#include "vbucket/server_list_parse.h"
#include "vbucket/static_config_parse.h"

namespace moxi::vbucket::test {
namespace {

const std::string kMap = R"({"numReplicas":0,"serverList":["m1:11210"],"vBucketMap":[[0],[0]]})";

void expect_contains(const std::string& text, const std::string& fragment) {
  CPPUNIT_ASSERT_MESSAGE("\"" + text + "\" lacks \"" + fragment + "\"", text.find(fragment) != std::string::npos);
}

}  // namespace

class StaticConfigTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(StaticConfigTest);
  CPPUNIT_TEST(moxiFixtureFiles);
  CPPUNIT_TEST(severalSections);
  CPPUNIT_TEST(staticErrorsNameTheSection);
  CPPUNIT_TEST(serverLists);
  CPPUNIT_TEST(serverListErrors);
  CPPUNIT_TEST(loaderDetectsShapes);
  CPPUNIT_TEST(loaderErrors);
  CPPUNIT_TEST_SUITE_END();

 public:
  void moxiFixtureFiles() {
    auto r = parse_static_config_file(moxi::test::fixture("moxi-t/vbucket1.cfg"));
    CPPUNIT_ASSERT_MESSAGE(r.error(), r.ok());
    CPPUNIT_ASSERT_EQUAL(size_t(1), r.value().size());
    CPPUNIT_ASSERT_EQUAL(11211, static_cast<int>(r.value()[0].port));
    CPPUNIT_ASSERT_EQUAL(std::string("localhost:11311"), r.value()[0].config->server(0));
    CPPUNIT_ASSERT_EQUAL(4, r.value()[0].config->num_vbuckets());
    auto mock = parse_static_config_file(moxi::test::fixture("moxi-t/moxi_mock.cfg"));
    CPPUNIT_ASSERT_MESSAGE(mock.error(), mock.ok());
    CPPUNIT_ASSERT_EQUAL(11333, static_cast<int>(mock.value()[0].port));
    CPPUNIT_ASSERT(looks_like_static_config(moxi::test::read_file(moxi::test::fixture("moxi-t/vbucket2.cfg"))));
    CPPUNIT_ASSERT(!looks_like_static_config(kMap));
    CPPUNIT_ASSERT(!looks_like_static_config("127.0.0.1:11211"));
  }

  void severalSections() {
    const std::string text = "11211 = " + kMap + ";\n 11212=host1:11311, host2:11312:3 ;\n\n;";
    auto r = parse_static_config(text);
    CPPUNIT_ASSERT_MESSAGE(r.error(), r.ok());
    const auto& s = r.value();
    CPPUNIT_ASSERT_EQUAL(size_t(2), s.size());
    CPPUNIT_ASSERT_EQUAL(11211, static_cast<int>(s[0].port));
    CPPUNIT_ASSERT(s[0].config->distribution() == Distribution::vbucket);
    CPPUNIT_ASSERT(s[0].config->same_document(kMap));
    CPPUNIT_ASSERT_EQUAL(11212, static_cast<int>(s[1].port));
    CPPUNIT_ASSERT(s[1].config->distribution() == Distribution::ketama);
    CPPUNIT_ASSERT_EQUAL(std::string("host1:11311"), s[1].config->server(0));
    CPPUNIT_ASSERT_EQUAL(std::string("host2:11312"), s[1].config->server(1));
    CPPUNIT_ASSERT_EQUAL(1u, s[1].config->servers()[0].weight);
    CPPUNIT_ASSERT_EQUAL(3u, s[1].config->servers()[1].weight);
  }

  void staticErrorsNameTheSection() {
    auto no_eq = parse_static_config("11211 " + kMap);
    CPPUNIT_ASSERT(!no_eq.ok());
    expect_contains(no_eq.error(), "section 1: expected \"PORT = CONFIG\"");
    auto bad_port = parse_static_config("11211 = a:1;x = b:2");
    CPPUNIT_ASSERT(!bad_port.ok());
    expect_contains(bad_port.error(), "section 2: the port before '=' must be 1..65535, got \"x\"");
    auto dup = parse_static_config("11211 = a:1;11211 = b:2");
    CPPUNIT_ASSERT(!dup.ok());
    expect_contains(dup.error(), "section 2 (port 11211): port 11211 is configured twice");
    auto empty_config = parse_static_config("11211 =   ");
    CPPUNIT_ASSERT(!empty_config.ok());
    expect_contains(empty_config.error(), "no CONFIG after '='");
    auto bad_json =
        parse_static_config("11211 = a:1;\n11212 = {\"numReplicas\":0,\"serverList\":[\"a:1\"],\"vBucketMap\":[[3]]}");
    CPPUNIT_ASSERT(!bad_json.ok());
    expect_contains(bad_json.error(), "section 2 (port 11212): vBucketMap[0][0]: Server ID must be >= -1");
    auto nothing = parse_static_config(" ; ");
    CPPUNIT_ASSERT(!nothing.ok());
    expect_contains(nothing.error(), "no \"PORT = CONFIG\" section");
    auto file = parse_static_config_file("/nonexistent.cfg");
    CPPUNIT_ASSERT(!file.ok());
    expect_contains(file.error(), "/nonexistent.cfg: cannot read");
  }

  void serverLists() {
    auto r = parse_server_list(" a, b:11212 ,c:11213:5,d:11214 7,[::1]:11215 ");
    CPPUNIT_ASSERT_MESSAGE(r.error(), r.ok());
    const Config& c = *r.value();
    CPPUNIT_ASSERT(c.distribution() == Distribution::ketama);
    CPPUNIT_ASSERT_EQUAL(5, c.num_servers());
    CPPUNIT_ASSERT_EQUAL(std::string("a:11211"), c.server(0));  // default port, list order kept
    CPPUNIT_ASSERT_EQUAL(std::string("b:11212"), c.server(1));
    CPPUNIT_ASSERT_EQUAL(std::string("c:11213"), c.server(2));
    CPPUNIT_ASSERT_EQUAL(5u, c.servers()[2].weight);
    CPPUNIT_ASSERT_EQUAL(7u, c.servers()[3].weight);
    CPPUNIT_ASSERT_EQUAL(std::string("[::1]"), c.servers()[4].host);
    CPPUNIT_ASSERT_EQUAL(11215, static_cast<int>(c.servers()[4].port));
    CPPUNIT_ASSERT_EQUAL(0, c.num_vbuckets());
    CPPUNIT_ASSERT_EQUAL(1u, parse_server_list("a:1:0").value()->servers()[0].weight);  // 0 counts as 1
  }

  void serverListErrors() {
    auto check = [](const std::string& list, const std::string& fragment) {
      auto r = parse_server_list(list);
      CPPUNIT_ASSERT_MESSAGE("should fail: " + list, !r.ok());
      expect_contains(r.error(), fragment);
    };
    check("", "server list: empty");
    check("a,,b", "server list entry 2: empty");
    check("a:0", "entry 1 (\"a:0\"): port must be 1..65535");
    check("a:x", "port must be 1..65535, got \"x\"");
    check("a:1,b:70000", "entry 2 (\"b:70000\"): port");
    check("a:1:x", "weight must be a number");
    check("a b", "white space");
    check("[::1:11211", "unterminated");
    check(std::string(2000, 'h'), "longer than 1000 characters");
  }

  void loaderDetectsShapes() {
    // static file: first section unless a port is asked for
    const std::string text = "11211 = " + kMap + ";11212 = k1:1,k2:2";
    auto first = load_config(text);
    CPPUNIT_ASSERT_MESSAGE(first.error(), first.ok());
    CPPUNIT_ASSERT(first.value()->distribution() == Distribution::vbucket);
    LoadOptions by_port;
    by_port.port = 11212;
    auto second = load_config(text, by_port);
    CPPUNIT_ASSERT_MESSAGE(second.error(), second.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("k1:1"), second.value()->server(0));
    // single bucket JSON, with $HOST
    LoadOptions peer;
    peer.parse.origin_host = "10.9.8.7";
    auto terse = load_config_file(moxi::test::fixture("libcouchbase-confdata/terse_25.json"), peer);
    CPPUNIT_ASSERT_MESSAGE(terse.error(), terse.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("10.9.8.7:11210"), terse.value()->server(0));
    // multi-bucket: "default" first, or by name
    auto mixed = load_config_file(moxi::test::fixture("moxi-t/ketama_rest_mixed.cfg"));
    CPPUNIT_ASSERT_MESSAGE(mixed.error(), mixed.ok());
    CPPUNIT_ASSERT(mixed.value()->distribution() == Distribution::vbucket && !mixed.value()->user());
    LoadOptions k;
    k.bucket = "k";
    auto ketama = load_config_file(moxi::test::fixture("moxi-t/ketama_rest_mixed.cfg"), k);
    CPPUNIT_ASSERT_MESSAGE(ketama.error(), ketama.ok());
    CPPUNIT_ASSERT(ketama.value()->distribution() == Distribution::ketama);
    // bare server list
    auto list = load_config("10.0.0.1:11211,10.0.0.2:11211");
    CPPUNIT_ASSERT_MESSAGE(list.error(), list.ok());
    CPPUNIT_ASSERT_EQUAL(2, list.value()->num_servers());
  }

  void loaderErrors() {
    LoadOptions port;
    port.port = 9;
    auto no_port = load_config("11211 = a:1;11212 = b:1", port);
    CPPUNIT_ASSERT(!no_port.ok());
    expect_contains(no_port.error(), "no section for port 9 (the file has 11211, 11212)");
    LoadOptions bucket;
    bucket.bucket = "nope";
    auto no_bucket = load_config_file(moxi::test::fixture("moxi-t/moxi_multitenancy_rest.cfg"), bucket);
    CPPUNIT_ASSERT(!no_bucket.ok());
    expect_contains(no_bucket.error(),
                    "moxi_multitenancy_rest.cfg: no bucket named \"nope\" (the document has \"bucket0\", \"bucket1\")");
    auto empty = load_config(" \n");
    CPPUNIT_ASSERT(!empty.ok());
    expect_contains(empty.error(), "empty config");
    auto garbage = load_config("this is not a config");
    CPPUNIT_ASSERT(!garbage.ok());
    expect_contains(garbage.error(), "not JSON, not \"PORT = CONFIG\", and not a server list");
    auto no_buckets = load_config(R"({"buckets":[]})");
    CPPUNIT_ASSERT(!no_buckets.ok());
    expect_contains(no_buckets.error(), "lists no bucket");
    auto bad = load_config_file(moxi::test::fixture("tests-config/testapp-config-wrong-num-vbuckets"));
    CPPUNIT_ASSERT(!bad.ok());
    expect_contains(bad.error(),
                    "testapp-config-wrong-num-vbuckets: vBucketMap: Number of vBuckets must be a power of two");
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(StaticConfigTest);

}  // namespace moxi::vbucket::test
