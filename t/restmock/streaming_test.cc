// The streaming endpoints: each write reaches the client while the response
// is still open (thin flushes), the framing (JSON chunk, then the delimiter
// as its own chunk), pushes to every open stream, heartbeats, the sasl
// stream, HTTP/1.0 clients, a removed bucket, and the $HOST marker.
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "t/restmock/helpers.h"

namespace moxi::test {

using namespace std::chrono_literals;

namespace {

const std::string kStream = "/pools/default/bucketsStreaming/default";
const std::string kStreamConfig = "/pools/default/bucketsStreamingConfig/default";

}  // namespace

class StreamingTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(StreamingTest);
  CPPUNIT_TEST(first_config_arrives_while_the_stream_is_open);
  CPPUNIT_TEST(config_and_delimiter_are_separate_chunks);
  CPPUNIT_TEST(change_is_pushed_to_every_open_stream);
  CPPUNIT_TEST(heartbeat_sends_bare_delimiters);
  CPPUNIT_TEST(sasl_stream_carries_every_bucket);
  CPPUNIT_TEST(http10_client_gets_unchunked_documents);
  CPPUNIT_TEST(removed_bucket_ends_its_stream_cleanly);
  CPPUNIT_TEST(host_marker_becomes_the_requested_host);
  CPPUNIT_TEST(terse_endpoints_keep_host_and_add_rev_and_nodes_ext);
  CPPUNIT_TEST(client_that_goes_away_is_unregistered);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override { mock().reset(); }

  static RestMock& mock() { return shared_rest_mock(); }

  // The stream never ends by itself, so a server that held writes back until
  // the end of the response would make next_config time out.
  void first_config_arrives_while_the_stream_is_open() {
    HttpStream s(mock().url(kStream));
    const std::string config = s.next_config(5s);
    CPPUNIT_ASSERT_MESSAGE("the stream ended: " + s.error(), !s.ended());
    CPPUNIT_ASSERT_EQUAL(200L, s.status());
    assert_header(s, "content-type", "application/json; charset=utf-8");
    auto doc = parse_json(config);
    CPPUNIT_ASSERT_EQUAL(std::string("default"), string_member(doc, "name"));
    CPPUNIT_ASSERT_EQUAL(std::string(kStream), string_member(doc, "streamingUri"));
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), server_list(doc).size());

    // The mock agrees: one stream open, one config written to it.
    auto state = mock().wait_for_open_streams(1);
    CPPUNIT_ASSERT_EQUAL(1L, state.configs_pushed);
    CPPUNIT_ASSERT_EQUAL(1L, state.streams_opened);
    CPPUNIT_ASSERT(!s.ended());
  }

  // Read off the wire without libcurl's de-chunking.
  void config_and_delimiter_are_separate_chunks() {
    HttpStream::Options raw;
    raw.raw = true;
    HttpStream s(mock().url(kStream), raw);
    auto chunks_at_least = [](std::size_t n) {
      return [n](const std::string& all) { return decode_chunks(all).size() >= n; };
    };
    CPPUNIT_ASSERT(s.read_until(chunks_at_least(2), 5s));
    CPPUNIT_ASSERT_EQUAL(std::string("chunked"), s.header("Transfer-Encoding"));

    mock().set_config(bucket_config("default", {"127.0.0.1:12001", "127.0.0.1:12002"}));
    CPPUNIT_ASSERT(s.read_until(chunks_at_least(4), 5s));
    bool terminated = true;
    auto chunks = decode_chunks(s.received(), &terminated);
    CPPUNIT_ASSERT_EQUAL(std::size_t(4), chunks.size());
    CPPUNIT_ASSERT(!terminated);
    for (std::size_t i : {0, 2}) {
      CPPUNIT_ASSERT_MESSAGE("a config holds no newline: " + chunks[i], chunks[i].find('\n') == std::string::npos);
      auto doc = parse_json(chunks[i]);
      CPPUNIT_ASSERT_EQUAL(std::string("default"), string_member(doc, "name"));
      CPPUNIT_ASSERT_EQUAL(std::string(kConfigDelimiter), chunks[i + 1]);
    }
    CPPUNIT_ASSERT_EQUAL(std::size_t(2), server_list(parse_json(chunks[2])).size());
  }

  void change_is_pushed_to_every_open_stream() {
    HttpStream a(mock().url(kStream));
    HttpStream b(mock().url(kStreamConfig));
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), server_list(parse_json(a.next_config(5s))).size());
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), server_list(parse_json(b.next_config(5s))).size());
    mock().wait_for_open_streams(2);

    const std::vector<std::string> two = {"127.0.0.1:12001", "127.0.0.1:12002"};
    mock().set_config(bucket_config("default", two));
    CPPUNIT_ASSERT(two == server_list(parse_json(a.next_config(5s))));
    CPPUNIT_ASSERT(two == server_list(parse_json(b.next_config(5s))));

    const std::vector<std::string> three = {"127.0.0.1:12001", "127.0.0.1:12002", "127.0.0.1:12003"};
    mock().set_config(bucket_config("default", three));
    CPPUNIT_ASSERT(three == server_list(parse_json(a.next_config(5s))));
    CPPUNIT_ASSERT(three == server_list(parse_json(b.next_config(5s))));

    auto state = mock().state();
    CPPUNIT_ASSERT_EQUAL(6L, state.configs_pushed);
    CPPUNIT_ASSERT_EQUAL(2L, state.config_version);
    CPPUNIT_ASSERT(!a.ended() && !b.ended());
  }

  void heartbeat_sends_bare_delimiters() {
    HttpStream s(mock().url(kStream + "?heartbeat=0.02"));
    CPPUNIT_ASSERT(is_json(s.next_segment(5s)));
    CPPUNIT_ASSERT_EQUAL(std::string(), s.next_segment(5s));
    CPPUNIT_ASSERT_EQUAL(std::string(), s.next_segment(5s));
    CPPUNIT_ASSERT(mock().state().heartbeats_sent >= 2);
    // A config still comes through between heartbeats.
    mock().set_config(bucket_config("default", {"127.0.0.1:12009"}));
    auto doc = parse_json(s.next_config(5s));
    CPPUNIT_ASSERT(std::vector<std::string>{"127.0.0.1:12009"} == server_list(doc));
  }

  void sasl_stream_carries_every_bucket() {
    mock().set_config("{\"buckets\":[" + bucket_config("a", {"127.0.0.1:12001"}) + "," +
                      bucket_config("b", {"127.0.0.1:12002"}) + "]}");
    HttpStream s(mock().url("/pools/default/saslBucketsStreaming"));
    auto doc = parse_json(s.next_config(5s));
    CPPUNIT_ASSERT(doc.HasMember("buckets") && doc["buckets"].IsArray());
    CPPUNIT_ASSERT_EQUAL(2u, doc["buckets"].Size());
    CPPUNIT_ASSERT_EQUAL(std::string("a"), string_member(doc["buckets"][0], "name"));
    CPPUNIT_ASSERT_EQUAL(std::string("b"), string_member(doc["buckets"][1], "name"));

    mock().set_config("{\"buckets\":[" + bucket_config("b", {"127.0.0.1:12002"}) + "]}");
    auto after = parse_json(s.next_config(5s));
    CPPUNIT_ASSERT_EQUAL(1u, after["buckets"].Size());
  }

  // moxi's old tests fed it "{json}\n\n\n\n" over a plain HTTP/1.0 body.
  void http10_client_gets_unchunked_documents() {
    HttpStream::Options options;
    options.http10 = true;
    HttpStream s(mock().url(kStream), options);
    auto config = s.next_config(5s);
    CPPUNIT_ASSERT(is_json(config));
    CPPUNIT_ASSERT_EQUAL(std::string(), s.header("Transfer-Encoding"));
    CPPUNIT_ASSERT_EQUAL(std::string(config + std::string(kConfigDelimiter)), s.received());
    mock().wait_for_open_streams(1);
    CPPUNIT_ASSERT_EQUAL(1, mock().drop_streams(/*clean=*/true));
    CPPUNIT_ASSERT_MESSAGE(s.error(), s.wait_end(5s));
  }

  // As ns_server does when a bucket is deleted: the zero-length chunk.
  void removed_bucket_ends_its_stream_cleanly() {
    HttpStream s(mock().url(kStream));
    s.next_config(5s);
    mock().set_config(bucket_config("other", {"127.0.0.1:12001"}));
    CPPUNIT_ASSERT_MESSAGE("ended badly: " + s.error(), s.wait_end(5s));
    CPPUNIT_ASSERT_EQUAL(0, mock().wait_for_open_streams(0).open_streams);
    CPPUNIT_ASSERT_EQUAL(404L, http_get(mock().url(kStream)).status);
  }

  void host_marker_becomes_the_requested_host() {
    mock().set_config(bucket_config("default", {"$HOST:12001"}));
    HttpStream s(mock().url(kStream));
    CPPUNIT_ASSERT(std::vector<std::string>{"127.0.0.1:12001"} == server_list(parse_json(s.next_config(5s))));
    auto r = http_get(mock().url("/pools/default/buckets/default"));
    CPPUNIT_ASSERT(std::vector<std::string>{"127.0.0.1:12001"} == server_list(parse_json(r.body)));
  }

  void terse_endpoints_keep_host_and_add_rev_and_nodes_ext() {
    mock().set_config(bucket_config("default", {"$HOST:12001", "10.0.0.2:12002", "[fd00::3]:12003"}));
    HttpStream s(mock().url("/pools/default/bs/default"));
    const rapidjson::Document first = parse_json(s.next_config(5s));
    CPPUNIT_ASSERT(std::vector<std::string>({"$HOST:12001", "10.0.0.2:12002", "[fd00::3]:12003"}) ==
                   server_list(first));
    CPPUNIT_ASSERT_EQUAL(2, first["rev"].GetInt());  // one set_config since the start
    CPPUNIT_ASSERT_EQUAL(1, first["revEpoch"].GetInt());
    const rapidjson::Value& ext = first["nodesExt"];
    CPPUNIT_ASSERT_EQUAL(3u, ext.Size());
    CPPUNIT_ASSERT(!ext[0].HasMember("hostname"));  // $HOST
    CPPUNIT_ASSERT(ext[0]["thisNode"].GetBool());
    CPPUNIT_ASSERT_EQUAL(12001, ext[0]["services"]["kv"].GetInt());
    CPPUNIT_ASSERT_EQUAL(mock().port(), ext[0]["services"]["mgmt"].GetInt());
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.2"), string_member(ext[1], "hostname"));
    CPPUNIT_ASSERT(!ext[1].HasMember("thisNode"));
    CPPUNIT_ASSERT_EQUAL(std::string("fd00::3"), string_member(ext[2], "hostname"));
    CPPUNIT_ASSERT_EQUAL(12003, ext[2]["services"]["kv"].GetInt());
    // A change is pushed with the next rev; the one-shot endpoint agrees.
    mock().set_config(bucket_config("default", {"$HOST:12001"}));
    const rapidjson::Document second = parse_json(s.next_config(5s));
    CPPUNIT_ASSERT_EQUAL(3, second["rev"].GetInt());
    auto one = http_get(mock().url("/pools/default/b/default"));
    CPPUNIT_ASSERT_EQUAL(200L, one.status);
    const rapidjson::Document terse = parse_json(one.body);
    CPPUNIT_ASSERT_EQUAL(3, terse["rev"].GetInt());
    CPPUNIT_ASSERT(std::vector<std::string>{"$HOST:12001"} == server_list(terse));
    // A config's own rev and nodesExt are served as given.
    mock().set_config(R"({"name":"default","rev":40,"revEpoch":3,"nodesExt":[{"services":{"kv":1,"kvSSL":2}}],)"
                      R"("vBucketServerMap":{"numReplicas":0,"serverList":["$HOST:1"],"vBucketMap":[[0]]}})");
    const rapidjson::Document own = parse_json(s.next_config(5s));
    CPPUNIT_ASSERT_EQUAL(40, own["rev"].GetInt());
    CPPUNIT_ASSERT_EQUAL(3, own["revEpoch"].GetInt());
    CPPUNIT_ASSERT_EQUAL(2, own["nodesExt"][0]["services"]["kvSSL"].GetInt());
    CPPUNIT_ASSERT_EQUAL(404L, http_get(mock().url("/pools/default/b/nobucket")).status);
    HttpStream missing(mock().url("/pools/default/bs/nobucket"));
    CPPUNIT_ASSERT_EQUAL(404L, missing.wait_headers(5s));
  }

  void client_that_goes_away_is_unregistered() {
    {
      HttpStream s(mock().url(kStream));
      s.next_config(5s);
      mock().wait_for_open_streams(1);
    }
    mock().wait_for_open_streams(0);
    // Later pushes go nowhere and break nothing.
    mock().set_config(bucket_config("default", {"127.0.0.1:12001"}));
    CPPUNIT_ASSERT_EQUAL(1L, mock().state().configs_pushed);
  }

 private:
  static void assert_header(const HttpStream& s, const char* name, const std::string& want) {
    CPPUNIT_ASSERT_EQUAL_MESSAGE(name, want, s.header(name));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(StreamingTest);

}  // namespace moxi::test
