// From the options parser's UrlSource and Behaviors to HttpStreamOptions.
#include <cppunit/extensions/HelperMacros.h>

#include "src/config/url_source_options.h"

namespace moxi::conflate {

class UrlSourceOptionsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(UrlSourceOptionsTest);
  CPPUNIT_TEST(urls_auth_and_cache);
  CPPUNIT_TEST(no_auth);
  CPPUNIT_TEST(stall_timeout_and_heartbeat);
  CPPUNIT_TEST(data_nodes_apart_from_rest_urls);
  CPPUNIT_TEST_SUITE_END();

 public:
  void urls_auth_and_cache() {
    moxi::UrlSource source;
    source.urls = {"http://a:8091/pools/default/bucketsStreaming/b", "http://b:8091/pools/default/bucketsStreaming/b"};
    source.auth = moxi::Credentials{"b", "pw"};
    moxi::Behaviors behaviors;
    behaviors.config_cache = "/var/cache/moxi/last.json";
    const HttpStreamOptions options = http_options_from(source, behaviors);
    CPPUNIT_ASSERT(options.urls == source.urls);
    CPPUNIT_ASSERT(options.auth.has_value());
    CPPUNIT_ASSERT(*options.auth == (BasicAuth{"b", "pw"}));
    CPPUNIT_ASSERT_EQUAL(std::string("/var/cache/moxi/last.json"), options.cache_path);
    CPPUNIT_ASSERT(options.stall_timeout == HttpStreamOptions{}.stall_timeout);
  }

  void no_auth() {
    moxi::UrlSource source;
    source.urls = {"http://a:8091/pools/default/buckets/default"};
    const HttpStreamOptions options = http_options_from(source, moxi::Behaviors{});
    CPPUNIT_ASSERT(!options.auth.has_value());
    CPPUNIT_ASSERT(options.cache_path.empty());
  }

  // -Z config_stall_timeout sets the stall timeout; the heartbeat asked is
  // 2/7 of it in whole seconds (10 s of the default 35 s), at least 1 s.
  void stall_timeout_and_heartbeat() {
    moxi::UrlSource source;
    source.urls = {"http://a:8091/pools/default/bucketsStreaming/default"};
    moxi::Behaviors behaviors;
    HttpStreamOptions o = http_options_from(source, behaviors);
    CPPUNIT_ASSERT_EQUAL(35000L, static_cast<long>(o.stall_timeout.count()));
    CPPUNIT_ASSERT_EQUAL(10L, static_cast<long>(o.heartbeat.count()));
    behaviors.config_stall_timeout = std::chrono::milliseconds(3500);
    o = http_options_from(source, behaviors);
    CPPUNIT_ASSERT_EQUAL(3500L, static_cast<long>(o.stall_timeout.count()));
    CPPUNIT_ASSERT_EQUAL(1L, static_cast<long>(o.heartbeat.count()));
    behaviors.config_stall_timeout = std::chrono::milliseconds(1000);
    o = http_options_from(source, behaviors);
    CPPUNIT_ASSERT_EQUAL(1L, static_cast<long>(o.heartbeat.count()));
    behaviors.config_stall_timeout = std::chrono::milliseconds(0);
    o = http_options_from(source, behaviors);
    CPPUNIT_ASSERT_EQUAL(0L, static_cast<long>(o.stall_timeout.count()));
    CPPUNIT_ASSERT(o.heartbeat == HttpStreamOptions{}.heartbeat);
  }

  // One list, two sources: REST URLs to the HTTP source, couchbase:// to the
  // data-node source, which logs in with -Z usr/pwd and asks every
  // node_config_interval.
  void data_nodes_apart_from_rest_urls() {
    moxi::UrlSource source;
    source.urls = {"http://a:8091/pools/default/bs/travel", "couchbase://a/travel", "couchbase://[::1]:12000/travel"};
    moxi::Behaviors behaviors;
    behaviors.usr = "Administrator";
    behaviors.pwd = "password";
    behaviors.node_config_interval = std::chrono::milliseconds(700);
    behaviors.network = "external";
    const HttpStreamOptions http = http_options_from(source, behaviors);
    CPPUNIT_ASSERT((http.urls == std::vector<std::string>{"http://a:8091/pools/default/bs/travel"}));
    const auto nodes = data_node_options_from(source, behaviors);
    CPPUNIT_ASSERT(nodes.has_value());
    CPPUNIT_ASSERT_EQUAL(size_t{2}, nodes->nodes.size());
    CPPUNIT_ASSERT_EQUAL(std::string("a"), nodes->nodes[0].host);
    CPPUNIT_ASSERT_EQUAL(uint16_t{11210}, nodes->nodes[0].port);
    CPPUNIT_ASSERT_EQUAL(std::string("[::1]"), nodes->nodes[1].host);
    CPPUNIT_ASSERT_EQUAL(uint16_t{12000}, nodes->nodes[1].port);
    CPPUNIT_ASSERT_EQUAL(std::string("travel"), nodes->bucket);
    CPPUNIT_ASSERT_EQUAL(std::string("Administrator"), nodes->user);
    CPPUNIT_ASSERT_EQUAL(std::string("password"), nodes->password);
    CPPUNIT_ASSERT_EQUAL(700L, static_cast<long>(nodes->interval.count()));
    CPPUNIT_ASSERT(nodes->network == vbucket::Network::External);
    CPPUNIT_ASSERT(nodes->agent.starts_with("moxi/"));
    CPPUNIT_ASSERT_EQUAL(size_t{2}, make_sources(source, behaviors, {}, {}).size());
    source.urls = {"couchbase://a"};
    CPPUNIT_ASSERT_EQUAL(size_t{1}, make_sources(source, behaviors, {}, {}).size());
    CPPUNIT_ASSERT_EQUAL(std::string("default"), data_node_options_from(source, behaviors)->bucket);
    source.urls = {"http://a:8091/pools/default/bs/travel"};
    CPPUNIT_ASSERT(!data_node_options_from(source, behaviors).has_value());
    CPPUNIT_ASSERT_EQUAL(size_t{1}, make_sources(source, behaviors, {}, {}).size());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(UrlSourceOptionsTest);

}  // namespace moxi::conflate
