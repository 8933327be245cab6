// rest_mock (rest_mock/rest_mock.rb, a mock of the cluster manager's
// streaming REST API) as a test fixture, and the small HTTP client the tests
// use to talk to it (libcurl).
//
// RestMock owns a `ruby rest_mock.rb -p 0 --port-file ...` process: the port
// comes from the OS and is learned from the port file (port_file.h); the
// destructor stops the process. The control API (rest_mock/README.md) is
// wrapped one method per endpoint. Waiting for the mock to reach a state
// (say, two open streams) is a long poll on /control/wait: the mock answers
// when the state holds, the client repeats the request until its Deadline.
// Nothing sleeps.
//
//   RestMock mock;                                  // default bucket "default"
//   HttpStream s(mock.url("/pools/default/bucketsStreaming/default"));
//   std::string first = s.next_config(5s);          // before the stream ends
//   mock.set_config(R"({"name":"default", ...})");  // pushed to s
//   std::string second = s.next_config(5s);
//
// Link with $(LIBCURL_LIBS).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "t/support/deadline.h"
#include "t/support/process.h"
#include "t/support/temp_dir.h"

namespace moxi::test {

// ---- HTTP --------------------------------------------------------------------

struct HttpOptions {
  // HTTP basic auth when user is not empty.
  std::string user;
  std::string password;
  // Send HTTP/1.0 requests (the mock then streams without chunking).
  bool http10 = false;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  // In arrival order; names lower-cased.
  std::vector<std::pair<std::string, std::string>> headers;

  // The first value of a header (name in any case), or "" if absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

// One request, bounded by the deadline. Throws std::runtime_error (naming the
// URL) on transport errors and timeouts; any HTTP status is a response.
HttpResponse http_get(const std::string& url, Deadline deadline = std::chrono::seconds(5),
                      const HttpOptions& options = {});
HttpResponse http_post(const std::string& url, std::string_view body = {},
                       Deadline deadline = std::chrono::seconds(5), const HttpOptions& options = {},
                       std::string_view content_type = "application/json");

// The config delimiter of the streaming API: four LFs.
inline constexpr std::string_view kConfigDelimiter = "\n\n\n\n";

struct HttpStreamOptions : HttpOptions {
  // Hand the body over as it came off the wire: chunk framing included
  // (libcurl's CURLOPT_HTTP_TRANSFER_DECODING off). next_segment() and
  // next_config() make no sense then; use read_until() and received().
  bool raw = false;
};

// A streaming GET, read incrementally: each read pumps libcurl's multi
// interface and waits in curl_multi_poll for the socket, bounded by a
// Deadline. The destructor closes the connection.
class HttpStream {
 public:
  using Options = HttpStreamOptions;

  explicit HttpStream(std::string url, Options options = {});
  ~HttpStream();
  HttpStream(const HttpStream&) = delete;
  HttpStream& operator=(const HttpStream&) = delete;

  // Waits for the response headers (or the end of the transfer); returns
  // the status. Throws on timeout.
  long wait_headers(Deadline deadline);
  long status() const;                        // 0 until the headers arrived
  std::string header(std::string_view) const; // "" if absent or not yet arrived

  // The next delimited segment: the body text up to the next "\n\n\n\n"
  // (consumed along with it). A heartbeat is an empty segment. Throws
  // std::runtime_error, quoting what arrived, if the stream ends or the
  // deadline passes first.
  std::string next_segment(Deadline deadline);
  // The next non-blank segment (a config, or whatever document the server
  // sent), skipping heartbeats as clients do.
  std::string next_config(Deadline deadline);

  // Reads until pred(received()) holds (true) or the transfer ends (false).
  // Throws on timeout.
  bool read_until(const std::function<bool(const std::string&)>& pred, Deadline deadline);
  // Reads until the deadline; true if nothing arrived and the stream is
  // still open. For checking that something does NOT happen; the deadline is
  // the length of the check.
  bool quiet_until(Deadline deadline);
  // Reads until the transfer ends; throws on timeout. Returns ended_cleanly().
  bool wait_end(Deadline deadline);

  bool ended() const;
  // Ended with the whole response received (a chunked stream closed by its
  // terminating chunk, or an HTTP/1.0 body closed by the server).
  bool ended_cleanly() const;
  // libcurl's reason when the transfer ended badly, e.g. "transfer closed
  // with outstanding read data remaining".
  std::string error() const;

  // Everything received so far (body only), whether consumed or not.
  const std::string& received() const;
  // Received but not yet consumed by next_segment/next_config.
  const std::string& unconsumed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- the fixture -------------------------------------------------------------

struct RestMockOptions {
  // --config: a file to serve. When config_json is set instead, it is written
  // to a file in the mock's temp dir and passed the same way.
  std::string config_file;
  std::string config_json;
  // --bucket: name of the built-in bucket (and of a bare map).
  std::string bucket;
  // --auth user:password when user is not empty.
  std::string user;
  std::string password;
  std::vector<std::string> extra_args;
  std::chrono::milliseconds startup = std::chrono::seconds(20);
};

// GET /control/state, parsed.
struct RestMockState {
  int open_streams = 0;
  int pending = 0;  // documents held back by a stall
  bool stalled = false;
  int delay_ms = 0;
  int error_status = 0;  // 0 when no injected error is pending
  int errors_remaining = 0;
  long streams_opened = 0;
  long configs_pushed = 0;
  long heartbeats_sent = 0;
  long garbage_pushed = 0;
  long config_version = 0;  // bumped by every set_config
  long auth_failures = 0;
  long errors_injected = 0;
  std::vector<std::string> buckets;
  std::map<std::string, long> requests;  // non-control requests by path
  std::string json;                      // the raw document

  long requests_to(const std::string& path) const;
};

class RestMock {
 public:
  using Options = RestMockOptions;
  using State = RestMockState;

  // Starts the mock and waits for its port file; throws std::runtime_error
  // with the mock's output if it exits or does not come up in time.
  explicit RestMock(Options options = {});
  ~RestMock();
  RestMock(const RestMock&) = delete;
  RestMock& operator=(const RestMock&) = delete;

  // ruby (or $MOXI_TEST_RUBY) and the script.
  static std::string ruby();
  static std::string script();  // MOXI_SRCDIR "/rest_mock/rest_mock.rb"

  int port() const { return port_; }
  // "http://127.0.0.1:PORT" + path
  std::string url(std::string_view path = "") const;
  pid_t pid() const;  // -1 once stopped
  bool running();
  std::string log() const;  // the mock's stdout and stderr, all starts
  const std::string& dir() const { return dir_.path(); }

  // ---- control API (each throws, with the log, unless the mock says 200)
  // Replaces the whole config (any shape the mock accepts); pushed to every
  // open stream. Remembered for restart().
  void set_config(const std::string& json);
  // Closes every open stream: abruptly (no terminating chunk) or cleanly.
  // Returns how many there were.
  int drop_streams(bool clean = false);
  // Holds every later non-control response and stream start for `delay`.
  void set_delay(std::chrono::milliseconds delay);
  // The next `count` non-control requests get `status`.
  void fail_next(int status, int count = 1);
  // Pushes a non-JSON document and the delimiter to every open stream; with
  // size, an unterminated JSON-looking document of exactly size bytes.
  int push_garbage(std::optional<std::size_t> size = std::nullopt);
  // Open streams send nothing (configs are held, heartbeats skipped) until
  // resume(), which sends what was held.
  // With partial, each open stream first gets the first `partial` bytes of
  // its current config: a stall in the middle of a document (the rest comes
  // first at resume, on streams still open).
  void stall(std::optional<std::size_t> partial = std::nullopt);
  void resume();
  // Back to the start: drops the streams, restores the initial config, clears
  // delay/errors/stall, zeroes the counters.
  void reset();
  State state();

  // Long-polls /control/wait with `conditions` (its query string, e.g.
  // "min_configs_pushed=3") until they hold; returns the state then.
  // Throws, quoting the last state, when the deadline passes.
  State wait_until(const std::string& conditions, Deadline deadline = std::chrono::seconds(5));
  // Exactly n streams open.
  State wait_for_open_streams(int n, Deadline deadline = std::chrono::seconds(5));

  // ---- the process
  // SIGTERM and reap; returns the wait status. port() stays for restart().
  int stop();
  // SIGKILL and reap (a crash: streams end mid-response).
  int kill();
  // Stops the process if running, then starts a new one on the same port
  // with the config last set (or the original one). Retries while the port
  // is still taken, until the deadline.
  void restart(Deadline deadline = std::chrono::seconds(20));

 private:
  void start(int port, Deadline deadline);
  HttpResponse control(const std::string& method, const std::string& path, std::string_view body = {});

  Options options_;
  TempDir dir_{"moxi-rest-mock"};
  std::optional<Process> process_;
  int port_ = 0;
  int starts_ = 0;
  std::string current_config_;  // set_config's last document, for restart()
};

}  // namespace moxi::test
