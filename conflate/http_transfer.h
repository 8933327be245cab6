// HttpTransfer: one HTTP GET at a time through libcurl's multi interface,
// driven step by step by the thread that owns it, and interruptible from any
// thread with wakeup(). This is the transport of the HTTP source; it knows
// nothing about documents, URLs lists or retries.
//
//   begin(request, sink)          the GET starts; 2xx body bytes go to sink
//   while (!(result = step(t)))   waits for the network (at most until t, or
//     ...                         until wakeup()) and moves the transfer on
//   cancel()                      drops the transfer in progress
//
// What it sets on the connection: HTTP/1.1, http and https only, no
// redirects, basic auth when given, TCP keep-alive (idle 30 s, then probes
// every 10 s, so a vanished peer is noticed even on a silent stream), the
// connect timeout, no signals. Proxy environment variables are honoured
// as libcurl does by default.
//
// Stall: when the request has a stall_timeout, a transfer that receives no
// byte at all (headers, body, a heartbeat) for that long - counting from
// begin(), so a server that accepts and never answers is covered too - ends
// with Kind::stalled.
//
// Thread-safety: one owning thread calls everything except wakeup(), which
// any thread may call at any time while the object exists.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace moxi::conflate {

struct BasicAuth {
  std::string user;
  std::string password;
  bool operator==(const BasicAuth&) const = default;
};

struct HttpRequest {
  std::string url;
  std::optional<BasicAuth> auth;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds stall_timeout{0};  // 0 = never declare the transfer stalled
};

struct TransferResult {
  enum class Kind {
    complete,       // 2xx, and the server ended the body normally
    http_error,     // a status outside 2xx (the body is not given to the sink)
    network_error,  // resolve, connect, TLS, read error, a body cut short, ...
    stalled,        // nothing received for stall_timeout
  };
  Kind kind = Kind::complete;
  long http_status = 0;  // 0 when no status line arrived
  std::string detail;    // network_error: libcurl's message without timings; http_error: the start of
                         // the body on one line; stalled: ""
};

class HttpTransfer {
 public:
  using Clock = std::chrono::steady_clock;
  // Receives the body of a 2xx response, piece by piece, inside step().
  using BodySink = std::function<void(std::string_view)>;

  // Throws std::runtime_error when libcurl cannot be initialised.
  HttpTransfer();
  ~HttpTransfer();
  HttpTransfer(const HttpTransfer&) = delete;
  HttpTransfer& operator=(const HttpTransfer&) = delete;

  // Starts a GET; a transfer still in progress is cancelled first.
  void begin(const HttpRequest& request, BodySink sink);

  // Runs the transfer until it has news or `until` passes or wakeup() is
  // called; returns its result once it is over (after which active() is
  // false). Without an active transfer, waits for `until` or wakeup().
  std::optional<TransferResult> step(Clock::time_point until);

  // Ends the transfer in progress without a result. Idempotent.
  void cancel();

  // Makes a step() in progress (or the next one) return at once. Any thread.
  void wakeup();

  bool active() const { return easy_ != nullptr; }
  // The response status is 2xx (headers received) on the current transfer.
  bool connected() const { return connected_; }
  long http_status() const { return status_; }
  // Body bytes given to the sink on the current transfer.
  std::uint64_t body_bytes() const { return body_bytes_; }

 private:
  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self);
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self);
  std::optional<TransferResult> collect();
  void release_easy();

  void* multi_ = nullptr;  // CURLM*
  void* easy_ = nullptr;   // CURL* of the transfer in progress
  BodySink sink_;
  std::chrono::milliseconds stall_timeout_{0};
  Clock::time_point last_activity_{};
  bool headers_done_ = false;
  bool connected_ = false;
  long status_ = 0;
  std::uint64_t body_bytes_ = 0;
  std::string error_body_;  // start of a non-2xx body
  std::string user_, password_;
  char error_buffer_[256] = {};
};

}  // namespace moxi::conflate
