// From the options parser's UrlSource and Behaviors to HttpStreamOptions.
#include <cppunit/extensions/HelperMacros.h>

#include "src/core/url_source_options.h"

namespace moxi::conflate {

class UrlSourceOptionsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(UrlSourceOptionsTest);
  CPPUNIT_TEST(urls_auth_and_cache);
  CPPUNIT_TEST(no_auth);
  CPPUNIT_TEST(stall_timeout_and_heartbeat);
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
};

CPPUNIT_TEST_SUITE_REGISTRATION(UrlSourceOptionsTest);

}  // namespace moxi::conflate
