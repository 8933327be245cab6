// The non-streaming REST API: bootstrap the way clients do it (/pools →
// pool → buckets uri → bucket by name → streamingUri), 404s, the config
// shapes the mock accepts, rejected configs, basic auth, and a config file
// given at startup.
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "t/restmock/helpers.h"

namespace moxi::test {

using namespace std::chrono_literals;

class RestApiTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RestApiTest);
  CPPUNIT_TEST(bootstrap_from_pools_to_the_stream);
  CPPUNIT_TEST(unknown_bucket_is_404);
  CPPUNIT_TEST(bare_map_is_served_as_a_bucket_object);
  CPPUNIT_TEST(multi_bucket_document_lists_every_bucket);
  CPPUNIT_TEST(bad_config_is_rejected_and_changes_nothing);
  CPPUNIT_TEST(requests_are_counted_by_path);
  CPPUNIT_TEST(basic_auth_guards_everything_but_control);
  CPPUNIT_TEST(moxi_style_config_file_at_startup);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override { mock().reset(); }

  static RestMock& mock() { return shared_rest_mock(); }

  void bootstrap_from_pools_to_the_stream() {
    auto pools = parse_json(http_get(mock().url("/pools")).body);
    CPPUNIT_ASSERT(pools.HasMember("pools") && pools["pools"].IsArray());
    std::string pool_uri;
    for (const auto& p : pools["pools"].GetArray()) {
      if (string_member(p, "name") == "default") pool_uri = string_member(p, "uri");
    }
    CPPUNIT_ASSERT_EQUAL(std::string("/pools/default"), pool_uri);

    auto pool = parse_json(http_get(mock().url(pool_uri)).body);
    CPPUNIT_ASSERT(pool.HasMember("buckets"));
    const std::string buckets_uri = string_member(pool["buckets"], "uri");

    auto buckets_response = http_get(mock().url(buckets_uri));
    CPPUNIT_ASSERT_EQUAL(200L, buckets_response.status);
    auto buckets = parse_json(buckets_response.body);
    CPPUNIT_ASSERT(buckets.IsArray());
    std::string streaming_uri;
    for (const auto& b : buckets.GetArray()) {
      if (string_member(b, "name") == "default") streaming_uri = string_member(b, "streamingUri");
    }
    CPPUNIT_ASSERT_MESSAGE(buckets_response.body, !streaming_uri.empty());

    HttpStream s(mock().url(streaming_uri));
    auto config = parse_json(s.next_config(5s));
    CPPUNIT_ASSERT_EQUAL(std::string("default"), string_member(config, "name"));
    // The bucket's own uri gives the same object.
    auto one = parse_json(http_get(mock().url(string_member(config, "uri"))).body);
    CPPUNIT_ASSERT(server_list(one) == server_list(config));
  }

  void unknown_bucket_is_404() {
    CPPUNIT_ASSERT_EQUAL(404L, http_get(mock().url("/pools/default/buckets/nope")).status);
    CPPUNIT_ASSERT_EQUAL(404L, http_get(mock().url("/pools/default/bucketsStreaming/nope")).status);
    CPPUNIT_ASSERT_EQUAL(404L, http_get(mock().url("/pools/default/bucketsStreamingConfig/nope")).status);
    CPPUNIT_ASSERT_EQUAL(404L, http_get(mock().url("/no/such/path")).status);
    CPPUNIT_ASSERT_EQUAL(0L, mock().state().streams_opened);
  }

  // Shape A (with its top-level name/saslPassword, as libvbucket reads them)
  // becomes an envelope whose vBucketServerMap is the map.
  void bare_map_is_served_as_a_bucket_object() {
    mock().set_config(
        R"({"name":"default","saslPassword":"pw","hashAlgorithm":"CRC","numReplicas":0,)"
        R"("serverList":["127.0.0.1:12001"],"vBucketMap":[[0],[0]]})");
    auto b = parse_json(http_get(mock().url("/pools/default/buckets/default")).body);
    CPPUNIT_ASSERT_EQUAL(std::string("pw"), string_member(b, "saslPassword"));
    CPPUNIT_ASSERT_EQUAL(std::string("vbucket"), string_member(b, "nodeLocator"));
    CPPUNIT_ASSERT_EQUAL(std::string("/pools/default/bucketsStreaming/default"), string_member(b, "streamingUri"));
    CPPUNIT_ASSERT(std::vector<std::string>{"127.0.0.1:12001"} == server_list(b));
    CPPUNIT_ASSERT(!b["vBucketServerMap"].HasMember("name"));
    CPPUNIT_ASSERT_EQUAL(2u, b["vBucketServerMap"]["vBucketMap"].Size());
  }

  void multi_bucket_document_lists_every_bucket() {
    mock().set_config("{\"buckets\":[" + bucket_config("a", {"127.0.0.1:12001"}) + "," +
                      bucket_config("b", {"127.0.0.1:12002"}) + "]}");
    auto list = parse_json(http_get(mock().url("/pools/default/buckets")).body);
    CPPUNIT_ASSERT(list.IsArray());
    CPPUNIT_ASSERT_EQUAL(2u, list.Size());
    CPPUNIT_ASSERT_EQUAL(std::string("a"), string_member(list[0], "name"));
    CPPUNIT_ASSERT_EQUAL(std::string("/pools/default/buckets/b"), string_member(list[1], "uri"));
    CPPUNIT_ASSERT_EQUAL(404L, http_get(mock().url("/pools/default/buckets/default")).status);
    auto b = parse_json(http_get(mock().url("/pools/default/buckets/b")).body);
    CPPUNIT_ASSERT(std::vector<std::string>{"127.0.0.1:12002"} == server_list(b));
    CPPUNIT_ASSERT(std::vector<std::string>({"a", "b"}) == mock().state().buckets);
  }

  void bad_config_is_rejected_and_changes_nothing() {
    HttpStream s(mock().url("/pools/default/bucketsStreaming/default"));
    s.next_config(5s);
    for (const std::string bad : {"not json", "[1,2]", "{\"buckets\":7}",
                                  "{\"buckets\":[{\"name\":\"a\"},{\"name\":\"a\"}]}"}) {
      auto r = http_post(mock().url("/control/config"), bad);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(bad, 400L, r.status);
      CPPUNIT_ASSERT_MESSAGE(r.body, r.body.find("error") != std::string::npos);
    }
    auto state = mock().state();
    CPPUNIT_ASSERT_EQUAL(0L, state.config_version);
    CPPUNIT_ASSERT_EQUAL(1L, state.configs_pushed);
    CPPUNIT_ASSERT(std::vector<std::string>{"default"} == state.buckets);
    CPPUNIT_ASSERT_EQUAL(200L, http_get(mock().url("/pools/default/buckets/default")).status);
  }

  void requests_are_counted_by_path() {
    http_get(mock().url("/pools"));
    http_get(mock().url("/pools?x=1"));
    http_get(mock().url("/pools/default"));
    auto state = mock().state();
    CPPUNIT_ASSERT_EQUAL(2L, state.requests_to("/pools"));
    CPPUNIT_ASSERT_EQUAL(1L, state.requests_to("/pools/default"));
    CPPUNIT_ASSERT_EQUAL(0L, state.requests_to("/control/state"));
    // A long poll answers as soon as the count is reached.
    CPPUNIT_ASSERT_EQUAL(2L, mock().wait_until("min_requests=2&path=/pools").requests_to("/pools"));
  }

  void basic_auth_guards_everything_but_control() {
    RestMock::Options options;
    options.user = "Administrator";
    options.password = "s3cret";
    RestMock m(options);
    const std::string realm = "Basic realm=\"Couchbase Server Admin / REST\"";
    HttpOptions wrong;
    wrong.user = "Administrator";
    wrong.password = "nope";
    HttpOptions right;
    right.user = "Administrator";
    right.password = "s3cret";

    for (const std::string path : {"/pools", "/pools/default", "/pools/default/buckets",
                                   "/pools/default/buckets/default", "/pools/default/bucketsStreaming/default"}) {
      auto none = http_get(m.url(path));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(path, 401L, none.status);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(path, realm, none.header("WWW-Authenticate"));
      auto bad = http_get(m.url(path), 5s, wrong);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(path, 401L, bad.status);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(path, realm, bad.header("WWW-Authenticate"));
    }
    CPPUNIT_ASSERT_EQUAL(200L, http_get(m.url("/pools"), 5s, right).status);
    CPPUNIT_ASSERT_EQUAL(200L, http_get(m.url("/pools/default/buckets/default"), 5s, right).status);
    HttpStream::Options stream_options;
    stream_options.user = right.user;
    stream_options.password = right.password;
    HttpStream s(m.url("/pools/default/bucketsStreaming/default"), stream_options);
    CPPUNIT_ASSERT(is_json(s.next_config(5s)));

    // The control API needs no credentials.
    m.set_config(bucket_config("default", {"127.0.0.1:12001"}));
    CPPUNIT_ASSERT(std::vector<std::string>{"127.0.0.1:12001"} == server_list(parse_json(s.next_config(5s))));
    CPPUNIT_ASSERT_EQUAL(10L, m.state().auth_failures);
  }

  // moxi's static config format "PORT = {json}" (shape E, one section), a
  // bare map, named by --bucket.
  void moxi_style_config_file_at_startup() {
    RestMock::Options options;
    options.config_json =
        R"(11211 = {"hashAlgorithm":"CRC","numReplicas":0,"serverList":["localhost:11311"],"vBucketMap":[[0],[0]]})"
        "\n";
    options.bucket = "bk";
    RestMock m(options);
    auto list = parse_json(http_get(m.url("/pools/default/buckets")).body);
    CPPUNIT_ASSERT_EQUAL(1u, list.Size());
    CPPUNIT_ASSERT_EQUAL(std::string("bk"), string_member(list[0], "name"));
    HttpStream s(m.url("/pools/default/bucketsStreaming/bk"));
    CPPUNIT_ASSERT(std::vector<std::string>{"localhost:11311"} == server_list(parse_json(s.next_config(5s))));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RestApiTest);

}  // namespace moxi::test
