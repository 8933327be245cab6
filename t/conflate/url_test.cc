// URL helpers: masking, the $HOST peer, streaming detection, heartbeat.
#include <cppunit/extensions/HelperMacros.h>

#include "conflate/url.h"

namespace moxi::conflate {

class UrlTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(UrlTest);
  CPPUNIT_TEST(mask_hides_the_password_only);
  CPPUNIT_TEST(mask_secret_everywhere);
  CPPUNIT_TEST(host_for_dollar_host);
  CPPUNIT_TEST(streaming_endpoints);
  CPPUNIT_TEST(heartbeat_parameter);
  CPPUNIT_TEST(bucket_endpoints_need_no_hint);
  CPPUNIT_TEST(data_node_urls);
  CPPUNIT_TEST(data_node_url_errors);
  CPPUNIT_TEST_SUITE_END();

 public:
  void mask_hides_the_password_only() {
    CPPUNIT_ASSERT_EQUAL(std::string("http://Administrator:****@10.0.0.1:8091/pools/default/bucketsStreaming/b"),
                         mask_url("http://Administrator:s3cret@10.0.0.1:8091/pools/default/bucketsStreaming/b"));
    CPPUNIT_ASSERT_EQUAL(std::string("http://user:****@h/x?p=a@b"), mask_url("http://user:p:w@h/x?p=a@b"));
    CPPUNIT_ASSERT_EQUAL(std::string("http://user@h/x"), mask_url("http://user@h/x"));
    CPPUNIT_ASSERT_EQUAL(std::string("http://h:8091/x?u=a:b@c"), mask_url("http://h:8091/x?u=a:b@c"));
    CPPUNIT_ASSERT_EQUAL(std::string("http://h:8091"), mask_url("http://h:8091"));
  }

  void mask_secret_everywhere() {
    CPPUNIT_ASSERT_EQUAL(std::string("a **** b ****"), mask_secret("a pw b pw", "pw"));
    CPPUNIT_ASSERT_EQUAL(std::string("nothing"), mask_secret("nothing", ""));
    CPPUNIT_ASSERT_EQUAL(std::string("********"), mask_secret("xxxx", "xx"));
  }

  void host_for_dollar_host() {
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.1"), url_host("http://10.0.0.1:8091/pools/default/buckets/default"));
    CPPUNIT_ASSERT_EQUAL(std::string("cb.example.com"), url_host("https://u:p@cb.example.com/pools"));
    CPPUNIT_ASSERT_EQUAL(std::string("[::1]"), url_host("http://[::1]:8091/pools"));
    CPPUNIT_ASSERT_EQUAL(std::string("h"), url_host("http://h"));
    CPPUNIT_ASSERT_EQUAL(std::string("h"), url_host("http://h?x=1"));
  }

  void bucket_endpoints_need_no_hint() {
    for (const char* path : {"/pools/default/b/x", "/pools/default/bs/x", "/pools/default/buckets/x",
                             "/pools/default/bucketsStreaming/x?heartbeat=10", "/pools/default/bucketsStreamingConfig/x",
                             "/pools/default/saslBucketsStreaming", "/config.json", ""})
      CPPUNIT_ASSERT_EQUAL_MESSAGE(path, std::string(), bucket_endpoint_hint(std::string("http://h:8091") + path));
    for (const char* path : {"/pools/default", "/pools/default/bs/", "/pools/default/bs", "/pools/default/nodeServicesStreaming",
                             "/pools/default/buckets", "/pools/default/bs/x/y"}) {
      const std::string hint = bucket_endpoint_hint(std::string("http://h:8091") + path);
      CPPUNIT_ASSERT_MESSAGE(path, hint.starts_with(std::string(path) + " is not a bucket config endpoint: follow "
                                                                        "/pools/default/bs/NAME (terse) or"));
      CPPUNIT_ASSERT_MESSAGE(hint, hint.find("/pools/default/saslBucketsStreaming for every bucket") != std::string::npos);
    }
  }

  void streaming_endpoints() {
    CPPUNIT_ASSERT(is_streaming_url("http://h:8091/pools/default/bucketsStreaming/default"));
    CPPUNIT_ASSERT(is_streaming_url("http://h:8091/pools/default/bucketsStreamingConfig/default"));
    CPPUNIT_ASSERT(is_streaming_url("http://h:8091/pools/default/saslBucketsStreaming"));
    CPPUNIT_ASSERT(is_streaming_url("http://h:8091/pools/default/bs/default"));
    CPPUNIT_ASSERT(!is_streaming_url("http://h:8091/pools/default/buckets/default"));
    CPPUNIT_ASSERT(!is_streaming_url("http://h:8091/pools/default/b/default"));
    CPPUNIT_ASSERT(!is_streaming_url("http://h:8091/pools/default/buckets/default?x=Streaming"));
    CPPUNIT_ASSERT(!is_streaming_url("http://Streaming:8091/pools/default/buckets/x"));
  }

  void heartbeat_parameter() {
    using std::chrono::seconds;
    CPPUNIT_ASSERT_EQUAL(std::string("http://h/pools/default/bucketsStreaming/b?heartbeat=10"),
                         with_heartbeat("http://h/pools/default/bucketsStreaming/b", seconds(10)));
    CPPUNIT_ASSERT_EQUAL(std::string("http://h/bs/b?bucket_uuid=u&heartbeat=5"),
                         with_heartbeat("http://h/bs/b?bucket_uuid=u", seconds(5)));
    CPPUNIT_ASSERT_EQUAL(std::string("http://h/bs/b?heartbeat=5"), with_heartbeat("http://h/bs/b?", seconds(5)));
    CPPUNIT_ASSERT_EQUAL(std::string("http://h/bs/b?heartbeat=3#f"), with_heartbeat("http://h/bs/b#f", seconds(3)));
    CPPUNIT_ASSERT_EQUAL(std::string("http://h/bs/b?heartbeat=1"), with_heartbeat("http://h/bs/b?heartbeat=1", seconds(9)));
    CPPUNIT_ASSERT_EQUAL(std::string("http://h/bs/b?a=1&heartbeat=1"),
                         with_heartbeat("http://h/bs/b?a=1&heartbeat=1", seconds(9)));
    CPPUNIT_ASSERT_EQUAL(std::string("http://h/bs/b"), with_heartbeat("http://h/bs/b", seconds(0)));
  }

  void data_node_urls() {
    CPPUNIT_ASSERT(is_data_node_url("couchbase://h"));
    CPPUNIT_ASSERT(is_data_node_url("COUCHBASE://h"));
    CPPUNIT_ASSERT(!is_data_node_url("couchbases://h"));
    CPPUNIT_ASSERT(!is_data_node_url("http://h"));
    std::string error;
    auto n = parse_data_node_url("couchbase://10.0.0.1", error);
    CPPUNIT_ASSERT(n.has_value());
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.1"), n->host);
    CPPUNIT_ASSERT_EQUAL(uint16_t{11210}, n->port);
    CPPUNIT_ASSERT_EQUAL(std::string(), n->bucket);
    n = parse_data_node_url("couchbase://cb.example.com:12000/travel-sample", error);
    CPPUNIT_ASSERT(n.has_value());
    CPPUNIT_ASSERT_EQUAL(std::string("cb.example.com"), n->host);
    CPPUNIT_ASSERT_EQUAL(uint16_t{12000}, n->port);
    CPPUNIT_ASSERT_EQUAL(std::string("travel-sample"), n->bucket);
    n = parse_data_node_url("couchbase://[::1]:11210/default", error);
    CPPUNIT_ASSERT(n.has_value());
    CPPUNIT_ASSERT_EQUAL(std::string("[::1]"), n->host);
    CPPUNIT_ASSERT_EQUAL(uint16_t{11210}, n->port);
    n = parse_data_node_url("couchbase://[fe80::1]/", error);
    CPPUNIT_ASSERT(n.has_value());
    CPPUNIT_ASSERT_EQUAL(std::string("[fe80::1]"), n->host);
    CPPUNIT_ASSERT_EQUAL(uint16_t{11210}, n->port);
    CPPUNIT_ASSERT_EQUAL(std::string(), n->bucket);
  }

  void data_node_url_errors() {
    auto error_of = [](std::string_view url) {
      std::string error;
      CPPUNIT_ASSERT_MESSAGE(std::string(url), !parse_data_node_url(url, error).has_value());
      return error;
    };
    CPPUNIT_ASSERT_EQUAL(std::string("\"couchbase://\" has no host"), error_of("couchbase://"));
    CPPUNIT_ASSERT_EQUAL(std::string("\"couchbase://:11210/b\" has no host"), error_of("couchbase://:11210/b"));
    CPPUNIT_ASSERT_EQUAL(std::string("\"couchbase://h:0\": port \"0\" is not 1 to 65535"), error_of("couchbase://h:0"));
    CPPUNIT_ASSERT_EQUAL(std::string("\"couchbase://h:70000\": port \"70000\" is not 1 to 65535"),
                         error_of("couchbase://h:70000"));
    CPPUNIT_ASSERT_EQUAL(std::string("\"couchbase://h:\": port \"\" is not 1 to 65535"), error_of("couchbase://h:"));
    CPPUNIT_ASSERT_EQUAL(std::string("\"couchbase://h:x1\": port \"x1\" is not 1 to 65535"), error_of("couchbase://h:x1"));
    CPPUNIT_ASSERT_EQUAL(std::string("\"couchbase://[::1/b\": an IPv6 host needs its closing ']'"),
                         error_of("couchbase://[::1/b"));
    CPPUNIT_ASSERT_EQUAL(std::string("\"couchbase://[::1]x/b\": expected ':PORT' after the IPv6 host"),
                         error_of("couchbase://[::1]x/b"));
    CPPUNIT_ASSERT_EQUAL(std::string("\"couchbase://h/a/b\": the path names one bucket (couchbase://HOST[:PORT]/BUCKET)"),
                         error_of("couchbase://h/a/b"));
    CPPUNIT_ASSERT_EQUAL(std::string("\"couchbase://h/b?x=1\": a data node URL takes no query"),
                         error_of("couchbase://h/b?x=1"));
    // The password stays hidden.
    CPPUNIT_ASSERT_EQUAL(
        std::string("\"couchbase://u:****@h/b\": a data node URL takes no user: the data connections log in with -Z usr and pwd"),
        error_of("couchbase://u:secret@h/b"));
    CPPUNIT_ASSERT_EQUAL(std::string("\"http://h\" is not a couchbase:// URL"), error_of("http://h"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(UrlTest);

}  // namespace moxi::conflate
