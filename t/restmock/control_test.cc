// The control API: injected errors, delay, garbage (plain and oversized),
// stall/resume, dropping streams, reset, and the long poll's timeout.
#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "t/restmock/helpers.h"

namespace moxi::test {

using namespace std::chrono_literals;

namespace {

const std::string kStream = "/pools/default/bucketsStreaming/default";

}  // namespace

class ControlTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ControlTest);
  CPPUNIT_TEST(injected_errors_then_recovery);
  CPPUNIT_TEST(delay_holds_responses_and_stream_starts);
  CPPUNIT_TEST(garbage_is_pushed_then_configs_continue);
  CPPUNIT_TEST(oversized_garbage_has_the_asked_size);
  CPPUNIT_TEST(stall_holds_everything_until_resume);
  CPPUNIT_TEST(stall_holds_the_end_of_a_removed_bucket);
  CPPUNIT_TEST(drop_ends_every_stream_abruptly);
  CPPUNIT_TEST(clean_drop_ends_with_the_last_chunk);
  CPPUNIT_TEST(reset_restores_the_start);
  CPPUNIT_TEST(wait_gives_up_at_the_deadline);
  CPPUNIT_TEST(bad_control_arguments_are_400);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override { mock().reset(); }

  static RestMock& mock() { return shared_rest_mock(); }

  void injected_errors_then_recovery() {
    mock().fail_next(500, 2);
    CPPUNIT_ASSERT_EQUAL(500L, http_get(mock().url("/pools")).status);
    CPPUNIT_ASSERT_EQUAL(500L, http_get(mock().url(kStream)).status);  // a stream start counts too
    CPPUNIT_ASSERT_EQUAL(200L, http_get(mock().url("/pools")).status);
    CPPUNIT_ASSERT_EQUAL(0L, mock().state().streams_opened);

    mock().fail_next(401);
    auto denied = http_get(mock().url("/pools/default"));
    CPPUNIT_ASSERT_EQUAL(401L, denied.status);
    CPPUNIT_ASSERT_EQUAL(std::string("Basic realm=\"Couchbase Server Admin / REST\""),
                         denied.header("WWW-Authenticate"));
    mock().fail_next(403);
    auto forbidden = http_get(mock().url("/pools/default"));
    CPPUNIT_ASSERT_EQUAL(403L, forbidden.status);
    CPPUNIT_ASSERT(!forbidden.has_header("WWW-Authenticate"));

    auto state = mock().state();
    CPPUNIT_ASSERT_EQUAL(4L, state.errors_injected);
    CPPUNIT_ASSERT_EQUAL(0, state.errors_remaining);
    CPPUNIT_ASSERT_EQUAL(200L, http_get(mock().url("/pools/default")).status);
  }

  // Elapsed time is measured, never waited for: the requests themselves
  // block until the mock answers.
  void delay_holds_responses_and_stream_starts() {
    const auto delay = 150ms;
    mock().set_delay(delay);
    CPPUNIT_ASSERT_EQUAL(150, mock().state().delay_ms);

    auto t0 = Clock::now();
    CPPUNIT_ASSERT_EQUAL(200L, http_get(mock().url("/pools")).status);
    CPPUNIT_ASSERT(Clock::now() - t0 >= delay);

    t0 = Clock::now();
    HttpStream s(mock().url(kStream));
    CPPUNIT_ASSERT(is_json(s.next_config(5s)));
    CPPUNIT_ASSERT(Clock::now() - t0 >= delay);

    // Injected errors wait too.
    mock().fail_next(503);
    t0 = Clock::now();
    CPPUNIT_ASSERT_EQUAL(503L, http_get(mock().url("/pools")).status);
    CPPUNIT_ASSERT(Clock::now() - t0 >= delay);

    mock().set_delay(0ms);
    CPPUNIT_ASSERT_EQUAL(0, mock().state().delay_ms);
  }

  void garbage_is_pushed_then_configs_continue() {
    HttpStream a(mock().url(kStream));
    HttpStream b(mock().url("/pools/default/saslBucketsStreaming"));
    a.next_config(5s);
    b.next_config(5s);
    mock().wait_for_open_streams(2);

    CPPUNIT_ASSERT_EQUAL(2, mock().push_garbage());
    for (HttpStream* s : {&a, &b}) {
      const std::string garbage = s->next_config(5s);
      CPPUNIT_ASSERT_MESSAGE("should not parse: " + garbage, !is_json(garbage));
      CPPUNIT_ASSERT(!garbage.empty());
    }
    mock().set_config(bucket_config("default", {"127.0.0.1:12001"}));
    CPPUNIT_ASSERT(std::vector<std::string>{"127.0.0.1:12001"} == server_list(parse_json(a.next_config(5s))));
    CPPUNIT_ASSERT(is_json(b.next_config(5s)));
    CPPUNIT_ASSERT_EQUAL(2L, mock().state().garbage_pushed);
  }

  void oversized_garbage_has_the_asked_size() {
    HttpStream s(mock().url(kStream));
    s.next_config(5s);
    const std::size_t size = 1 << 20;
    CPPUNIT_ASSERT_EQUAL(1, mock().push_garbage(size));
    const std::string doc = s.next_config(10s);
    CPPUNIT_ASSERT_EQUAL(size, doc.size());
    CPPUNIT_ASSERT_EQUAL('{', doc.front());
    CPPUNIT_ASSERT(doc.find('\n') == std::string::npos);
    CPPUNIT_ASSERT(!is_json(doc));
    CPPUNIT_ASSERT(!s.ended());
  }

  // The negative checks (nothing arrives) need a span of time; it is the
  // deadline of quiet_until, not a sleep before looking.
  void stall_holds_everything_until_resume() {
    HttpStream s(mock().url(kStream + "?heartbeat=0.02"));
    const std::string first = s.next_config(5s);
    CPPUNIT_ASSERT_EQUAL(std::string(), s.next_segment(5s));  // heartbeats flow
    mock().stall();
    // The count is frozen from here on. Everything sent before the stall is
    // the config and that many heartbeats; wait until it is all in.
    const auto beats = mock().state().heartbeats_sent;
    const std::size_t sent = first.size() + kConfigDelimiter.size() * static_cast<std::size_t>(1 + beats);
    CPPUNIT_ASSERT(s.read_until([&](const std::string& all) { return all.size() >= sent; }, 5s));
    CPPUNIT_ASSERT_EQUAL(sent, s.received().size());

    mock().set_config(bucket_config("default", {"127.0.0.1:12001", "127.0.0.1:12002"}));
    auto state = mock().state();
    CPPUNIT_ASSERT(state.stalled);
    CPPUNIT_ASSERT_EQUAL(1, state.pending);
    CPPUNIT_ASSERT_EQUAL(1L, state.configs_pushed);
    CPPUNIT_ASSERT_EQUAL(beats, state.heartbeats_sent);
    CPPUNIT_ASSERT_MESSAGE("data arrived while stalled: " + s.received().substr(sent), s.quiet_until(200ms));
    CPPUNIT_ASSERT_EQUAL(beats, mock().state().heartbeats_sent);

    mock().resume();
    CPPUNIT_ASSERT_EQUAL(std::size_t(2), server_list(parse_json(s.next_config(5s))).size());
    CPPUNIT_ASSERT_EQUAL(std::string(), s.next_segment(5s));  // heartbeats again
    state = mock().state();
    CPPUNIT_ASSERT(!state.stalled);
    CPPUNIT_ASSERT_EQUAL(0, state.pending);
    CPPUNIT_ASSERT_EQUAL(2L, state.configs_pushed);
  }

  void stall_holds_the_end_of_a_removed_bucket() {
    HttpStream s(mock().url(kStream));
    const std::string first = s.next_config(5s);
    mock().stall();
    mock().set_config(bucket_config("other", {"127.0.0.1:12001"}));
    CPPUNIT_ASSERT_EQUAL(1, mock().state().pending);
    CPPUNIT_ASSERT_MESSAGE("the stream ended while stalled", s.quiet_until(100ms));
    mock().resume();
    CPPUNIT_ASSERT_MESSAGE("ended badly: " + s.error(), s.wait_end(5s));
    CPPUNIT_ASSERT_EQUAL(first + std::string(kConfigDelimiter), s.received());
  }

  void drop_ends_every_stream_abruptly() {
    HttpStream a(mock().url(kStream));
    HttpStream b(mock().url(kStream));
    a.next_config(5s);
    b.next_config(5s);
    mock().wait_for_open_streams(2);
    CPPUNIT_ASSERT_EQUAL(2, mock().drop_streams());
    for (HttpStream* s : {&a, &b}) {
      CPPUNIT_ASSERT_MESSAGE("a dropped stream must not end cleanly", !s->wait_end(5s));
      CPPUNIT_ASSERT(!s->error().empty());
    }
    CPPUNIT_ASSERT_EQUAL(0, mock().state().open_streams);
    // Clients reconnect and get the config again.
    HttpStream again(mock().url(kStream));
    CPPUNIT_ASSERT(is_json(again.next_config(5s)));
    CPPUNIT_ASSERT_EQUAL(3L, mock().state().streams_opened);
  }

  void clean_drop_ends_with_the_last_chunk() {
    HttpStream::Options raw;
    raw.raw = true;
    HttpStream s(mock().url(kStream), raw);
    CPPUNIT_ASSERT(s.read_until([](const std::string& all) { return decode_chunks(all).size() >= 2; }, 5s));
    CPPUNIT_ASSERT_EQUAL(1, mock().drop_streams(/*clean=*/true));
    s.wait_end(5s);
    bool terminated = false;
    CPPUNIT_ASSERT_EQUAL(std::size_t(2), decode_chunks(s.received(), &terminated).size());
    CPPUNIT_ASSERT_MESSAGE(s.received(), terminated);
  }

  void reset_restores_the_start() {
    HttpStream s(mock().url(kStream));
    s.next_config(5s);
    mock().set_config(bucket_config("other", {"127.0.0.1:12001"}));
    mock().set_delay(1000ms);
    mock().fail_next(500, 5);
    mock().stall();
    mock().reset();
    s.wait_end(5s);
    auto state = mock().state();
    CPPUNIT_ASSERT_EQUAL(0, state.open_streams);
    CPPUNIT_ASSERT_EQUAL(0L, state.config_version);
    CPPUNIT_ASSERT_EQUAL(0L, state.streams_opened);
    CPPUNIT_ASSERT_EQUAL(0, state.delay_ms);
    CPPUNIT_ASSERT_EQUAL(0, state.errors_remaining);
    CPPUNIT_ASSERT(!state.stalled);
    CPPUNIT_ASSERT(std::vector<std::string>{"default"} == state.buckets);
    CPPUNIT_ASSERT_EQUAL(200L, http_get(mock().url("/pools/default/buckets/default")).status);
  }

  void wait_gives_up_at_the_deadline() {
    auto t0 = Clock::now();
    try {
      mock().wait_for_open_streams(3, 300ms);
      CPPUNIT_FAIL("wait_for_open_streams should have thrown");
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      CPPUNIT_ASSERT_MESSAGE(what, what.find("open_streams=3") != std::string::npos);
      CPPUNIT_ASSERT_MESSAGE(what, what.find("\"open_streams\":0") != std::string::npos);
    }
    CPPUNIT_ASSERT(Clock::now() - t0 >= 300ms);
    CPPUNIT_ASSERT(Clock::now() - t0 < 5s);
  }

  void bad_control_arguments_are_400() {
    CPPUNIT_ASSERT_EQUAL(400L, http_post(mock().url("/control/delay?ms=abc")).status);
    CPPUNIT_ASSERT_EQUAL(400L, http_post(mock().url("/control/error?status=999")).status);
    CPPUNIT_ASSERT_EQUAL(400L, http_post(mock().url("/control/garbage?size=0")).status);
    CPPUNIT_ASSERT_EQUAL(400L, http_get(mock().url("/control/wait?no_such_counter=1")).status);
    CPPUNIT_ASSERT_EQUAL(400L, http_get(mock().url(kStream + "?heartbeat=-1")).status);
    // JSON bodies work as well as query strings.
    CPPUNIT_ASSERT_EQUAL(200L, http_post(mock().url("/control/delay"), R"({"ms":7})").status);
    CPPUNIT_ASSERT_EQUAL(7, mock().state().delay_ms);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ControlTest);

}  // namespace moxi::test
