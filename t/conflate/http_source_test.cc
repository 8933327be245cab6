// HttpStreamSource against the scripted server: streaming, failover, auth,
// bad documents, stalls, de-duplication, $HOST, the config cache, polling,
// and a prompt stop(). Every wait is on a callback or a server event with a
// deadline; the only timed pauses are the fake server's own heartbeat pacing.
#include <cppunit/extensions/HelperMacros.h>

#include <sys/types.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "conflate/http_stream_source.h"
#include "t/conflate/collector.h"
#include "t/conflate/configs.h"
#include "t/conflate/script_server.h"
#include "t/support/temp_dir.h"

namespace moxi::conflate {

using namespace std::chrono_literals;
using test::bucket_json;
using test::Response;
using test::ScriptServer;
using Kind = SourceStatus::Kind;

namespace {

const std::string kStreamPath = "/pools/default/bucketsStreaming/default";
const std::string kPlainPath = "/pools/default/buckets/default";

// Fast retries and no timers the test did not ask for.
HttpStreamOptions fast(std::vector<std::string> urls) {
  HttpStreamOptions o;
  o.urls = std::move(urls);
  o.connect_timeout = 2000ms;
  o.stall_timeout = 0ms;
  o.heartbeat = 0s;
  o.backoff_min = 10ms;
  o.backoff_max = 40ms;
  o.poll_interval = 20ms;
  o.cache_grace = 60s;
  o.random_seed = 1;
  return o;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string documents(const std::vector<ConfigUpdate>& updates) {
  std::string out;
  for (const auto& u : updates) out += u.document + "\n";
  return out;
}

std::string counters(const HttpSourceStats& s) {
  return "received=" + std::to_string(s.documents_received) + " delivered=" + std::to_string(s.documents_delivered) +
         " invalid=" + std::to_string(s.documents_invalid) + " duplicate=" + std::to_string(s.documents_duplicate) +
         " reconnects=" + std::to_string(s.reconnects) + " auth=" + std::to_string(s.auth_failures) +
         " http=" + std::to_string(s.http_errors) + " stalls=" + std::to_string(s.stalls) +
         " bytes=" + std::to_string(s.bytes_received) + " cache=" + std::to_string(s.cache_deliveries);
}

// Heartbeats every 100 ms for 5 s: a stream that stays healthy however long
// the test takes to stop (the stall timeout of these tests is 300 ms).
Response& keep_alive(Response& r) {
  for (int i = 0; i < 50; ++i) r.pause(100ms).heartbeat();
  return r.hold();
}

// Waits for a condition on the counters. They change without a callback, so
// this spins (yielding, never sleeping) until the condition or the deadline.
template <class Pred>
bool wait_stats(const HttpStreamSource& source, Pred pred, moxi::test::Deadline deadline = 5s) {
  while (!pred(source.stats())) {
    if (deadline.expired()) return false;
    std::this_thread::yield();
  }
  return true;
}

// Waits until thread `tid` of this process is asleep in the kernel (state S
// in /proc): the source thread blocked in curl_multi_poll(). Spins with
// yields; the deadline bounds a failure.
bool wait_asleep(pid_t tid, moxi::test::Deadline deadline = 5s) {
  const std::string path = "/proc/self/task/" + std::to_string(tid) + "/stat";
  for (;;) {
    std::ifstream in(path);
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t paren = stat.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'S') return true;
    if (deadline.expired()) return false;
    std::this_thread::yield();
  }
}

// How long stop() took.
std::chrono::milliseconds timed_stop(HttpStreamSource& source) {
  const auto begin = std::chrono::steady_clock::now();
  source.stop();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);
}

}  // namespace

class HttpSourceTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(HttpSourceTest);
  CPPUNIT_TEST(each_config_is_delivered_while_the_stream_is_open);
  CPPUNIT_TEST(delimiter_split_across_chunks);
  CPPUNIT_TEST(document_split_across_chunks);
  CPPUNIT_TEST(first_url_refuses_second_is_used);
  CPPUNIT_TEST(a_server_that_stays_down_is_reported_once);
  CPPUNIT_TEST(first_url_dies_mid_stream_second_takes_over);
  CPPUNIT_TEST(auth_failure_is_reported_once_and_retried);
  CPPUNIT_TEST(forbidden_is_an_auth_failure_too);
  CPPUNIT_TEST(other_http_errors_name_the_status);
  CPPUNIT_TEST(basic_auth_header_is_sent);
  CPPUNIT_TEST(passwords_never_appear_in_reports);
  CPPUNIT_TEST(garbage_and_oversized_are_ignored_with_one_report_each);
  CPPUNIT_TEST(invalid_document_is_reported_once_across_reconnects);
  CPPUNIT_TEST(stalled_stream_is_declared_dead_and_reconnected);
  CPPUNIT_TEST(heartbeats_keep_a_stream_alive);
  CPPUNIT_TEST(identical_documents_are_not_delivered_again);
  CPPUNIT_TEST(dollar_host_becomes_the_url_host);
  CPPUNIT_TEST(terse_stream_on_the_external_network);
  CPPUNIT_TEST(non_bucket_url_says_which_endpoint_to_use);
  CPPUNIT_TEST(heartbeat_is_asked_of_streaming_urls_only);
  CPPUNIT_TEST(plain_url_is_polled);
  CPPUNIT_TEST(http10_stream_closed_by_the_server);
  CPPUNIT_TEST(cache_is_written_then_used_when_the_server_is_down);
  CPPUNIT_TEST(cache_is_used_after_the_grace_then_superseded);
  CPPUNIT_TEST(invalid_cache_is_reported_not_delivered);
  CPPUNIT_TEST(stop_is_prompt_with_an_open_stream);
  CPPUNIT_TEST(stop_is_prompt_with_a_pending_connect);
  CPPUNIT_TEST(stop_is_prompt_during_backoff);
  CPPUNIT_TEST(restart_after_stop);
  CPPUNIT_TEST_SUITE_END();

 public:
  void each_config_is_delivered_while_the_stream_is_open() {
    ScriptServer server;
    server.add(Response::stream().config(bucket_json("default", 1)).gate("second").config(bucket_json("default", 2)).hold());
    test::Collector seen;
    HttpStreamSource source(fast({server.url(kStreamPath)}), seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(1));
    // The server is blocked at the gate: the stream has not ended.
    auto updates = seen.updates();
    CPPUNIT_ASSERT_EQUAL(bucket_json("default", 1), updates[0].document);
    CPPUNIT_ASSERT_EQUAL(server.url(kStreamPath), updates[0].source);
    CPPUNIT_ASSERT(!updates[0].from_cache);
    CPPUNIT_ASSERT_EQUAL(std::string("default"), updates[0].buckets.at(0).name);
    server.open("second");
    CPPUNIT_ASSERT(seen.wait_updates(2));
    CPPUNIT_ASSERT_EQUAL(bucket_json("default", 2), seen.updates()[1].document);
    source.stop();
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), server.connections());
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), seen.count(Kind::connected));
    CPPUNIT_ASSERT_EQUAL("connected to " + server.url(kStreamPath) + " (HTTP 200)",
                         seen.statuses(Kind::connected)[0].message);
    const auto s = source.stats();
    CPPUNIT_ASSERT_EQUAL_MESSAGE(counters(s), std::uint64_t(2), s.documents_delivered);
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), s.documents_received);
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(2 * bucket_json("default", 1).size() + 8), s.bytes_received);
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), s.reconnects);
  }

  void delimiter_split_across_chunks() {
    ScriptServer server;
    const std::string doc = bucket_json("default", 1);
    // The gate makes the two halves of the delimiter separate reads.
    server.add(Response::stream().chunk(doc + "\n\n").mark("half").gate("rest").chunk("\n\n").hold());
    test::Collector seen;
    HttpStreamSource source(fast({server.url(kStreamPath)}), seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT(server.wait_mark("half"));
    CPPUNIT_ASSERT(seen.updates().empty());  // "\n\n" is not a delimiter
    server.open("rest");
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(1));
    source.stop();
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), seen.updates().size());
    CPPUNIT_ASSERT_EQUAL(doc, seen.updates()[0].document);
  }

  void document_split_across_chunks() {
    ScriptServer server;
    const std::string doc = bucket_json("default", 1);
    server.add(Response::stream()
                   .chunk(doc.substr(0, 20))
                   .gate("rest")
                   .chunk(doc.substr(20) + "\n")
                   .chunk("\n\n\n")
                   .config(bucket_json("default", 2))
                   .hold());
    test::Collector seen;
    HttpStreamSource source(fast({server.url(kStreamPath)}), seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT(server.wait_connections(1));
    server.open("rest");
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(2));
    source.stop();
    CPPUNIT_ASSERT_EQUAL(doc + "\n" + bucket_json("default", 2) + "\n", documents(seen.updates()));
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), source.stats().documents_invalid);
  }

  void first_url_refuses_second_is_used() {
    test::RefusingPort dead;
    ScriptServer server;
    server.add(Response::stream().config(bucket_json("default", 1)).hold());
    test::Collector seen;
    HttpStreamSource source(fast({dead.url(kStreamPath), server.url(kStreamPath)}), seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(1));
    source.stop();
    CPPUNIT_ASSERT_EQUAL(server.url(kStreamPath), seen.updates()[0].source);
    auto down = seen.statuses(Kind::disconnected);
    CPPUNIT_ASSERT_MESSAGE(seen.log(), !down.empty());
    CPPUNIT_ASSERT_EQUAL(dead.url(kStreamPath), down[0].source);
    CPPUNIT_ASSERT_MESSAGE(down[0].message, down[0].message.starts_with("cannot connect to " + dead.url(kStreamPath) + ": "));
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), source.stats().reconnects);
  }

  void a_server_that_stays_down_is_reported_once() {
    test::RefusingPort dead;
    auto options = fast({dead.url(kStreamPath)});
    options.backoff_min = options.backoff_max = 1ms;
    test::Collector seen;
    HttpStreamSource source(options, seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT(wait_stats(source, [](const HttpSourceStats& s) { return s.reconnects >= 5; }));
    source.stop();
    auto down = seen.statuses(Kind::disconnected);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(seen.log(), std::size_t(1), down.size());
    // libcurl's timing ("after 0 ms") is not part of the text.
    CPPUNIT_ASSERT_MESSAGE(down[0].message, down[0].message.find(" ms") == std::string::npos);
  }

  void first_url_dies_mid_stream_second_takes_over() {
    ScriptServer first, second;
    // A chunked body cut without its last chunk.
    first.add(Response::stream().config(bucket_json("default", 1)).chunk("{\"half\":").close());
    second.add(Response::stream().config(bucket_json("default", 2)).hold());
    test::Collector seen;
    HttpStreamSource source(fast({first.url(kStreamPath), second.url(kStreamPath)}), seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(2));
    source.stop();
    auto updates = seen.updates();
    CPPUNIT_ASSERT_EQUAL(first.url(kStreamPath), updates[0].source);
    CPPUNIT_ASSERT_EQUAL(second.url(kStreamPath), updates[1].source);
    auto down = seen.statuses(Kind::disconnected);
    CPPUNIT_ASSERT_MESSAGE(seen.log(), !down.empty());
    CPPUNIT_ASSERT_MESSAGE(down[0].message, down[0].message.starts_with("stream from " + first.url(kStreamPath) + " broke: "));
    // The cut half document was never parsed as a config.
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), source.stats().documents_invalid);
  }

  void auth_failure_is_reported_once_and_retried() {
    ScriptServer server;
    server.add(Response::plain(401, "Unauthorized", {"WWW-Authenticate: Basic realm=\"Couchbase Server\""}));
    server.add(Response::plain(401, "Unauthorized", {"WWW-Authenticate: Basic realm=\"Couchbase Server\""}));
    server.add(Response::stream().config(bucket_json("default", 1)).hold());
    auto options = fast({server.url(kStreamPath)});
    options.auth = BasicAuth{"default", "wrong"};
    test::Collector seen;
    HttpStreamSource source(options, seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(1));
    source.stop();
    auto auth = seen.statuses(Kind::auth_failure);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(seen.log(), std::size_t(1), auth.size());
    CPPUNIT_ASSERT_EQUAL("authentication failed for " + server.url(kStreamPath) +
                             " (HTTP 401): check -z auth=USER%PASSWORD or -Z usr/pwd",
                         auth[0].message);
    CPPUNIT_ASSERT_EQUAL(401L, auth[0].http_status);
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), source.stats().auth_failures);
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), source.stats().reconnects);
  }

  void forbidden_is_an_auth_failure_too() {
    ScriptServer server;
    server.add(Response::plain(403, "Forbidden"));
    server.add(Response::stream().config(bucket_json("default", 1)).hold());
    test::Collector seen;
    HttpStreamSource source(fast({server.url(kStreamPath)}), seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(1));
    source.stop();
    auto auth = seen.statuses(Kind::auth_failure);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(seen.log(), std::size_t(1), auth.size());
    CPPUNIT_ASSERT(auth[0].message.find("(HTTP 403)") != std::string::npos);
  }

  void other_http_errors_name_the_status() {
    ScriptServer server;
    server.add(Response::plain(503, "{\"message\":\"Service unavailable. Please retry in a few seconds.\"}"));
    server.add(Response::plain(404, "Requested resource not found.\r\n"));
    server.add(Response::stream().config(bucket_json("default", 1)).hold());
    test::Collector seen;
    HttpStreamSource source(fast({server.url(kStreamPath)}), seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(1));
    source.stop();
    auto errors = seen.statuses(Kind::http_error);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(seen.log(), std::size_t(2), errors.size());
    CPPUNIT_ASSERT_EQUAL("HTTP 503 from " + server.url(kStreamPath) +
                             ": {\"message\":\"Service unavailable. Please retry in a few seconds.\"}",
                         errors[0].message);
    CPPUNIT_ASSERT_EQUAL(503L, errors[0].http_status);
    CPPUNIT_ASSERT_EQUAL("HTTP 404 from " + server.url(kStreamPath) + ": Requested resource not found.",
                         errors[1].message);
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), source.stats().http_errors);
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), source.stats().auth_failures);
  }

  void basic_auth_header_is_sent() {
    ScriptServer server;
    server.add(Response::stream().config(bucket_json("default", 1)).hold());
    auto options = fast({server.url(kStreamPath)});
    options.auth = BasicAuth{"Administrator", "password"};
    test::Collector seen;
    HttpStreamSource source(options, seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(1));
    source.stop();
    const auto request = server.requests().at(0);
    CPPUNIT_ASSERT_MESSAGE(request, request.starts_with("GET " + kStreamPath + " HTTP/1.1\r\n"));
    CPPUNIT_ASSERT_MESSAGE(request, request.find("\r\nAuthorization: Basic QWRtaW5pc3RyYXRvcjpwYXNzd29yZA==\r\n") !=
                                        std::string::npos);

    // Without credentials, no header.
    ScriptServer open_server;
    open_server.add(Response::stream().config(bucket_json("default", 1)).hold());
    test::Collector seen2;
    HttpStreamSource anonymous(fast({open_server.url(kStreamPath)}), seen2.on_update(), seen2.on_status());
    anonymous.start();
    CPPUNIT_ASSERT(seen2.wait_updates(1));
    anonymous.stop();
    CPPUNIT_ASSERT(open_server.requests().at(0).find("Authorization:") == std::string::npos);
  }

  void passwords_never_appear_in_reports() {
    ScriptServer server;
    // The server echoes the password in its error body, and the URL carries one.
    server.add(Response::plain(500, "bad password s3cr3t for user"));
    server.add(Response::stream().config(bucket_json("default", 1)).hold());
    const std::string url = "http://bucket:s3cr3t@127.0.0.1:" + std::to_string(server.port()) + kStreamPath;
    auto options = fast({url});
    options.auth = BasicAuth{"bucket", "s3cr3t"};
    test::Collector seen;
    HttpStreamSource source(options, seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(1));
    source.stop();
    const std::string masked = "http://bucket:****@127.0.0.1:" + std::to_string(server.port()) + kStreamPath;
    CPPUNIT_ASSERT_EQUAL(masked, seen.updates()[0].source);
    CPPUNIT_ASSERT(seen.count(Kind::http_error) == 1);
    for (const auto& s : seen.statuses()) {
      CPPUNIT_ASSERT_MESSAGE(s.message, s.message.find("s3cr3t") == std::string::npos);
      CPPUNIT_ASSERT_MESSAGE(s.source, s.source.find("s3cr3t") == std::string::npos);
    }
    CPPUNIT_ASSERT_EQUAL("HTTP 500 from " + masked + ": bad password **** for user",
                         seen.statuses(Kind::http_error)[0].message);
  }

  void garbage_and_oversized_are_ignored_with_one_report_each() {
    ScriptServer server;
    const std::string big = bucket_json("default", 1) + std::string(3000, ' ') + "x";
    server.add(Response::stream()
                   .config("garbage{")
                   .config("garbage{")
                   .config(big)
                   .config(big)
                   .config(bucket_json("default", 2))
                   .hold());
    auto options = fast({server.url(kStreamPath)});
    options.max_document_bytes = 2048;
    test::Collector seen;
    HttpStreamSource source(options, seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(1));
    source.stop();
    CPPUNIT_ASSERT_EQUAL(bucket_json("default", 2), seen.updates()[0].document);
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), server.connections());  // the stream went on
    auto reports = seen.statuses(Kind::invalid_document);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(seen.log(), std::size_t(2), reports.size());
    CPPUNIT_ASSERT_MESSAGE(reports[0].message,
                           reports[0].message.starts_with("invalid config from " + server.url(kStreamPath) + ": not JSON"));
    CPPUNIT_ASSERT_EQUAL("config from " + server.url(kStreamPath) + " is larger than 2048 bytes; skipped",
                         reports[1].message);
    const auto s = source.stats();
    CPPUNIT_ASSERT_EQUAL_MESSAGE(counters(s), std::uint64_t(4), s.documents_invalid);
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(5), s.documents_received);
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), s.documents_delivered);
  }

  void invalid_document_is_reported_once_across_reconnects() {
    ScriptServer server;
    const std::string bad = R"({"serverList":["a:1"],"numReplicas":0,"vBucketMap":[[0],[0],[0]]})";
    server.add(Response::stream().config(bad).end());
    server.add(Response::stream().config(bad).end());
    server.add(Response::stream().config(bad).config(bucket_json("default", 1)).hold());
    test::Collector seen;
    HttpStreamSource source(fast({server.url(kStreamPath)}), seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(1));
    source.stop();
    CPPUNIT_ASSERT_EQUAL(std::size_t(3), server.connections());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(seen.log(), std::size_t(1), seen.count(Kind::invalid_document));
    CPPUNIT_ASSERT(seen.statuses(Kind::invalid_document)[0].message.find("power of two") != std::string::npos);
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), source.stats().documents_invalid);
  }

  void stalled_stream_is_declared_dead_and_reconnected() {
    ScriptServer server;
    server.add(Response::stream().config(bucket_json("default", 1)).hold());  // then silence
    Response second = Response::stream().config(bucket_json("default", 2));
    server.add(keep_alive(second));
    auto options = fast({server.url(kStreamPath)});
    options.stall_timeout = 300ms;
    test::Collector seen;
    HttpStreamSource source(options, seen.on_update(), seen.on_status());
    const auto begin = std::chrono::steady_clock::now();
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(2));
    const auto took = std::chrono::steady_clock::now() - begin;
    source.stop();
    CPPUNIT_ASSERT(took >= 300ms);
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), source.stats().stalls);
    CPPUNIT_ASSERT_EQUAL(std::size_t(2), server.connections());
    auto down = seen.statuses(Kind::disconnected);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(seen.log(), std::size_t(1), down.size());
    CPPUNIT_ASSERT_EQUAL("stream from " + server.url(kStreamPath) + " stalled: nothing received for 300 ms",
                         down[0].message);
    CPPUNIT_ASSERT_EQUAL(std::size_t(2), seen.count(Kind::connected));
  }

  void heartbeats_keep_a_stream_alive() {
    ScriptServer server;
    Response r = Response::stream().config(bucket_json("default", 1));
    for (int i = 0; i < 8; ++i) r.pause(100ms).heartbeat();  // 800 ms, never 300 ms silent
    r.config(bucket_json("default", 2));
    server.add(keep_alive(r));
    auto options = fast({server.url(kStreamPath)});
    options.stall_timeout = 300ms;
    test::Collector seen;
    HttpStreamSource source(options, seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(2));
    source.stop();
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), source.stats().stalls);
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), server.connections());
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), source.stats().documents_received);  // heartbeats are not documents
  }

  void identical_documents_are_not_delivered_again() {
    ScriptServer server;
    server.add(Response::stream().config(bucket_json("default", 1)).config(bucket_json("default", 1)).end());
    server.add(Response::stream()
                   .config(bucket_json("default", 1))  // the same again after a reconnect
                   .config(bucket_json("default", 2))
                   .hold());
    test::Collector seen;
    HttpStreamSource source(fast({server.url(kStreamPath)}), seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(2));
    source.stop();
    CPPUNIT_ASSERT_EQUAL(bucket_json("default", 1) + "\n" + bucket_json("default", 2) + "\n", documents(seen.updates()));
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), source.stats().documents_duplicate);
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), source.stats().documents_delivered);
    // A stream that ended is reported.
    CPPUNIT_ASSERT_EQUAL("stream from " + server.url(kStreamPath) + " ended",
                         seen.statuses(Kind::disconnected).at(0).message);
  }

  void dollar_host_becomes_the_url_host() {
    ScriptServer server;
    const std::string terse = read_file(test::terse_25_path());
    CPPUNIT_ASSERT(terse.find("$HOST") != std::string::npos);
    server.add(Response::stream().config(terse).hold());
    test::Collector seen;
    HttpStreamSource source(fast({server.url("/pools/default/bs/default")}), seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(1));
    source.stop();
    const auto config = seen.updates()[0].buckets.at(0).config;
    CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1:11210"), config->server(0));
    CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1:8091"), config->servers().at(0).rest_api_server.value_or(""));
  }

  // The terse stream (/bs/) is split and validated like bucketsStreaming;
  // the source's network picks the nodes' addresses.
  void terse_stream_on_the_external_network() {
    ScriptServer server;
    const std::string terse = read_file(test::alternate_addresses_path());
    std::string newer = terse;
    newer.replace(newer.find("\"rev\":5"), 7, "\"rev\":6");
    server.add(Response::stream().config(terse).heartbeat().config(newer).hold());
    auto options = fast({server.url("/pools/default/bs/travel")});
    options.network = vbucket::Network::External;
    test::Collector seen;
    HttpStreamSource source(options, seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(2));
    source.stop();
    const auto updates = seen.updates();
    const auto& first = updates.at(0);
    CPPUNIT_ASSERT_EQUAL(std::string("travel"), first.buckets.at(0).name);
    CPPUNIT_ASSERT(!first.bucket_list);
    CPPUNIT_ASSERT_EQUAL(std::string("db1.example.com:31210"), first.buckets[0].config->server(0));
    CPPUNIT_ASSERT_EQUAL(std::string("db2.example.com:11210"), first.buckets[0].config->server(1));
    CPPUNIT_ASSERT_EQUAL(std::string("epoch 2 rev 6"),
                         vbucket::to_string(*updates.at(1).buckets.at(0).config->revision()));
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), source.stats().documents_delivered);
  }

  // A URL of the pool, not of a bucket: the report says which to follow.
  void non_bucket_url_says_which_endpoint_to_use() {
    ScriptServer server;
    const std::string pool = R"({"name":"default","nodes":[{"hostname":"127.0.0.1:8091"}],"buckets":{"uri":"/pools/default/buckets"}})";
    server.add(Response::plain(200, pool));
    server.add(Response::stream().config(bucket_json("default", 1)).hold());
    test::Collector seen;
    HttpStreamSource source(fast({server.url("/pools/default"), server.url(kStreamPath)}), seen.on_update(),
                            seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(1));
    source.stop();
    auto reports = seen.statuses(Kind::invalid_document);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(seen.log(), std::size_t(1), reports.size());
    const std::string& m = reports[0].message;
    CPPUNIT_ASSERT_MESSAGE(m, m.starts_with("invalid config from " + server.url("/pools/default") + ": "));
    CPPUNIT_ASSERT_MESSAGE(m, m.find("(/pools/default is not a bucket config endpoint: follow /pools/default/bs/NAME "
                                     "(terse) or /pools/default/bucketsStreaming/NAME for bucket NAME") !=
                                  std::string::npos);
    // A bucket endpoint's bad document gets no such hint (see invalid_document_is_reported_once_across_reconnects).
  }

  void heartbeat_is_asked_of_streaming_urls_only() {
    ScriptServer server;
    server.add(Response::stream().config(bucket_json("default", 1)).end());
    server.add(Response::plain(200, bucket_json("default", 2)));
    auto options = fast({server.url(kStreamPath), server.url(kPlainPath)});
    options.heartbeat = 10s;
    test::Collector seen;
    HttpStreamSource source(options, seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(2));
    source.stop();
    const auto requests = server.requests();
    CPPUNIT_ASSERT_MESSAGE(requests[0], requests[0].starts_with("GET " + kStreamPath + "?heartbeat=10 HTTP/1.1\r\n"));
    CPPUNIT_ASSERT_MESSAGE(requests[1], requests[1].starts_with("GET " + kPlainPath + " HTTP/1.1\r\n"));
    // Reports name the URL as configured.
    CPPUNIT_ASSERT_EQUAL(server.url(kStreamPath), seen.updates()[0].source);
  }

  void plain_url_is_polled() {
    ScriptServer server;
    server.add(Response::plain(200, bucket_json("default", 1)));
    server.add(Response::plain(200, bucket_json("default", 1)));
    server.add(Response::plain(200, bucket_json("default", 2) + "\n\n\n\n"));  // rest_mock's style
    server.add(Response::stream().chunk(bucket_json("default", 3)).end());     // a chunked one-shot body
    test::Collector seen;
    HttpStreamSource source(fast({server.url(kPlainPath)}), seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(3));
    source.stop();
    CPPUNIT_ASSERT_EQUAL(bucket_json("default", 1) + "\n" + bucket_json("default", 2) + "\n" +
                             bucket_json("default", 3) + "\n",
                         documents(seen.updates()));
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), source.stats().documents_duplicate);
    // A poll that answers well is neither a disconnection nor a new connection.
    CPPUNIT_ASSERT_EQUAL_MESSAGE(seen.log(), std::size_t(0), seen.count(Kind::disconnected));
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), seen.count(Kind::connected));
  }

  void http10_stream_closed_by_the_server() {
    // moxi's shell tests serve configs with nc: HTTP/1.0, no chunking, close.
    ScriptServer server;
    server.add(Response::raw("HTTP/1.0 200 OK\r\n\r\n" + bucket_json("default", 1) + "\n\n\n\n" +
                             bucket_json("default", 2) + "\n\n\n\n")
                   .close());
    test::Collector seen;
    HttpStreamSource source(fast({server.url(kStreamPath)}), seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(2));
    source.stop();
    CPPUNIT_ASSERT_EQUAL(bucket_json("default", 1) + "\n" + bucket_json("default", 2) + "\n", documents(seen.updates()));
  }

  void cache_is_written_then_used_when_the_server_is_down() {
    moxi::test::TempDir dir("conflate-http");
    const std::string cache = dir.file("last-config.json");
    {
      ScriptServer server;
      server.add(Response::stream().config(bucket_json("beer", 7)).hold());
      auto options = fast({server.url(kStreamPath)});
      options.cache_path = cache;
      test::Collector seen;
      HttpStreamSource source(options, seen.on_update(), seen.on_status());
      source.start();
      CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(1));
      source.stop();  // joins the thread: the save after the delivery is done
      CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), source.stats().cache_deliveries);
    }
    CPPUNIT_ASSERT_EQUAL(bucket_json("beer", 7) + "\n", read_file(cache));

    // Restart with the cluster manager down: every URL refuses at once, so
    // the cache is used at once (the grace of 60 s is not waited for).
    test::RefusingPort dead1, dead2;
    auto options = fast({dead1.url(kStreamPath), dead2.url(kStreamPath)});
    options.cache_path = cache;
    test::Collector seen;
    HttpStreamSource source(options, seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(1, 5s));
    source.stop();
    const auto update = seen.updates()[0];
    CPPUNIT_ASSERT(update.from_cache);
    CPPUNIT_ASSERT_EQUAL(cache, update.source);
    CPPUNIT_ASSERT_EQUAL(bucket_json("beer", 7), update.document);
    CPPUNIT_ASSERT_EQUAL(std::string("beer"), update.buckets.at(0).name);
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), seen.updates().size());  // once
    auto using_cache = seen.statuses(Kind::using_cache);
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), using_cache.size());
    CPPUNIT_ASSERT_EQUAL("no config from " + dead1.url(kStreamPath) + ", " + dead2.url(kStreamPath) +
                             " yet; using the cached config " + cache,
                         using_cache[0].message);
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), source.stats().cache_deliveries);
  }

  void cache_is_used_after_the_grace_then_superseded() {
    moxi::test::TempDir dir("conflate-http");
    const std::string cache = dir.file("last-config.json");
    std::ofstream(cache) << bucket_json("default", 1) << "\n";
    ScriptServer server;
    // Accepts and answers nothing until the test has seen the cache used.
    server.add(Response::stream().gate("answer").config(bucket_json("default", 2)).hold());
    auto options = fast({server.url(kStreamPath)});
    options.cache_path = cache;
    options.cache_grace = 200ms;
    test::Collector seen;
    HttpStreamSource source(options, seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(1));
    CPPUNIT_ASSERT(seen.updates()[0].from_cache);
    server.open("answer");
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(2));
    source.stop();
    CPPUNIT_ASSERT(!seen.updates()[1].from_cache);
    CPPUNIT_ASSERT_EQUAL(bucket_json("default", 2), seen.updates()[1].document);
    // The network config replaced the cache.
    CPPUNIT_ASSERT_EQUAL(bucket_json("default", 2) + "\n", read_file(cache));
  }

  void invalid_cache_is_reported_not_delivered() {
    moxi::test::TempDir dir("conflate-http");
    const std::string cache = dir.file("last-config.json");
    std::ofstream(cache) << "{\"truncated\":";
    test::RefusingPort dead;
    auto options = fast({dead.url(kStreamPath)});
    options.cache_path = cache;
    test::Collector seen;
    HttpStreamSource source(options, seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_status(Kind::cache_error));
    source.stop();
    CPPUNIT_ASSERT(seen.updates().empty());
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.statuses(Kind::cache_error)[0].message.starts_with(
                                           "cached config " + cache + " is invalid, not used: not JSON"));
  }

  void stop_is_prompt_with_an_open_stream() {
    ScriptServer server;
    server.add(Response::stream().config(bucket_json("default", 1)).hold());
    auto options = fast({server.url(kStreamPath)});
    options.stall_timeout = 60s;
    test::Collector seen;
    HttpStreamSource source(options, seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT(seen.wait_updates(1));
    CPPUNIT_ASSERT(wait_asleep(seen.callback_thread()));  // reading the silent stream
    const auto took = timed_stop(source);
    CPPUNIT_ASSERT_MESSAGE(std::to_string(took.count()) + " ms", took < 100ms);
    CPPUNIT_ASSERT(server.wait_idle());  // the connection was closed
  }

  void stop_is_prompt_with_a_pending_connect() {
    // A refusing URL first: its report, then the counter of attempts, show
    // that the connect to the black hole has begun.
    test::RefusingPort dead;
    test::BlackholePort blackhole;
    auto options = fast({dead.url(kStreamPath), blackhole.url(kStreamPath)});
    options.connect_timeout = 60s;
    options.backoff_min = options.backoff_max = 1ms;
    test::Collector seen;
    HttpStreamSource source(options, seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT(seen.wait_status(Kind::disconnected));
    CPPUNIT_ASSERT(wait_stats(source, [](const HttpSourceStats& s) { return s.reconnects >= 1; }));
    CPPUNIT_ASSERT(wait_asleep(seen.callback_thread()));  // waiting for the SYN-ACK that never comes
    const auto took = timed_stop(source);
    CPPUNIT_ASSERT_MESSAGE(std::to_string(took.count()) + " ms", took < 100ms);
    // And when the server has read the request and never answers.
    test::RefusingPort dead2;
    ScriptServer silent;
    silent.add(Response::raw("").mark("asked").hold());
    test::Collector seen2;
    auto options2 = fast({dead2.url(kStreamPath), silent.url(kStreamPath)});
    options2.backoff_min = options2.backoff_max = 1ms;
    HttpStreamSource waiting(options2, seen2.on_update(), seen2.on_status());
    waiting.start();
    CPPUNIT_ASSERT(seen2.wait_status(Kind::disconnected));
    CPPUNIT_ASSERT(silent.wait_mark("asked"));
    CPPUNIT_ASSERT(wait_asleep(seen2.callback_thread()));
    const auto took2 = timed_stop(waiting);
    CPPUNIT_ASSERT_MESSAGE(std::to_string(took2.count()) + " ms", took2 < 100ms);
    CPPUNIT_ASSERT(seen.updates().empty() && seen2.updates().empty());
  }

  void stop_is_prompt_during_backoff() {
    test::RefusingPort dead;
    auto options = fast({dead.url(kStreamPath)});
    options.backoff_min = 60s;
    options.backoff_max = 60s;
    test::Collector seen;
    HttpStreamSource source(options, seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT(seen.wait_status(Kind::disconnected));
    CPPUNIT_ASSERT(wait_asleep(seen.callback_thread()));  // in a backoff of at least 30 s
    const auto took = timed_stop(source);
    CPPUNIT_ASSERT_MESSAGE(std::to_string(took.count()) + " ms", took < 100ms);
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), source.stats().reconnects);
  }

  void restart_after_stop() {
    ScriptServer server;
    server.add(Response::stream().config(bucket_json("default", 1)).hold());
    server.add(Response::stream().config(bucket_json("default", 1)).config(bucket_json("default", 2)).hold());
    test::Collector seen;
    HttpStreamSource source(fast({server.url(kStreamPath)}), seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT(seen.wait_updates(1));
    source.stop();
    source.stop();  // idempotent
    source.start();
    CPPUNIT_ASSERT_MESSAGE(seen.log(), seen.wait_updates(2));
    source.stop();
    CPPUNIT_ASSERT_EQUAL(bucket_json("default", 2), seen.updates()[1].document);
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), source.stats().documents_duplicate);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(HttpSourceTest);

}  // namespace moxi::conflate
