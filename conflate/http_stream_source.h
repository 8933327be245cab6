// HttpStreamSource: follows a cluster through the cluster manager's REST API
// (cluster-config.md §6) on its own thread, with libcurl.
//
// URLs
//   * Streaming endpoints (.../bucketsStreaming/NAME,
//     .../bucketsStreamingConfig/NAME, saslBucketsStreaming, /bs/NAME; see
//     url.h) are read as a stream: every document before a "\n\n\n\n" is
//     handled as soon as its delimiter arrives. When `heartbeat` is set,
//     "heartbeat=SECONDS" is added to their query so that ns_server writes a
//     bare delimiter while nothing changes.
//   * Any other URL (e.g. .../buckets/NAME) answers one document, the whole
//     body; it is polled every `poll_interval` while it answers well.
//
// Attempts, failover and backoff
//   * URLs are tried in the order given. After an error (connect failure,
//     HTTP status outside 2xx, broken or stalled stream, a polled URL that
//     gave no valid document) or the end of a stream, the next URL is tried
//     (wrapping), after a backoff (backoff.h): jittered, exponential from
//     backoff_min to backoff_max over consecutive attempts that brought no
//     valid document; an attempt that brought one resets it.
//   * HTTP 401/403 are reported as auth_failure ("authentication failed for
//     URL (HTTP 401): check -z auth=USER%PASSWORD or -Z usr/pwd") and retried
//     like any error: the source never exits and never gives up.
//   * A stream that receives nothing (not even a heartbeat) for
//     `stall_timeout` is declared dead and the next attempt starts.
//
// Documents
//   Each document is validated with vbucket::parse_document, the
//   host of its URL replacing $HOST, before the UpdateCallback sees it. An
//   invalid or oversized one is counted and reported once per distinct
//   message (document_filter.h); nothing is delivered, so the last good
//   config stays in force. A document byte-identical to the last delivered
//   one (from the same host) is counted as a duplicate and not delivered.
//
// Status reports
//   connected when a URL starts answering 2xx after it was not; a failure
//   (disconnected, auth_failure, http_error) when it differs from the last
//   failure reported for that URL since it last answered 2xx. So a server
//   that stays down is reported once, not on every retry; stats() counts
//   every attempt.
//
// Config cache (when cache_path is set)
//   * After a document is delivered (the UpdateCallback has returned), it is
//     saved to cache_path atomically (config_cache.h).
//   * At start() the cache file, if present, is read. It is delivered once,
//     validated like any document (with the host of the first URL as $HOST)
//     and with from_cache = true, if no URL has delivered a config yet when
//     either `cache_grace` has passed since start() or every URL has had an
//     attempt that failed (e.g. all refuse connections: then at once).
//     Once a URL has delivered a config, the cache is not used in that run.
//   * A later document from a URL is delivered as usual (from_cache = false)
//     unless it is byte-identical to the cached one (then it is a duplicate:
//     the proxy already has it).
//
// Threads: the callbacks run on the source's thread (config_source.h).
// start(), stop() and the destructor belong to the owning thread; stats()
// may be called from any thread. stop() returns within about 100 ms even
// while a stream is open, a connect is pending or a backoff runs: it wakes
// the thread's curl_multi_poll() with curl_multi_wakeup().
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "conflate/backoff.h"
#include "conflate/config_cache.h"
#include "conflate/config_source.h"
#include "conflate/document_filter.h"
#include "conflate/http_transfer.h"
#include "conflate/stream_splitter.h"

namespace moxi::conflate {

struct HttpStreamOptions {
  std::vector<std::string> urls;                   // failover order; at least one
  std::optional<BasicAuth> auth;                   // HTTP basic auth; nullopt = none
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds stall_timeout{35000};  // 0 = never declare a stream stalled
  std::chrono::seconds heartbeat{10};              // asked of streaming URLs; 0 = do not ask
  std::size_t max_document_bytes = kDefaultMaxDocumentBytes;
  std::chrono::milliseconds backoff_min{250};
  std::chrono::milliseconds backoff_max{10000};
  std::chrono::milliseconds poll_interval{10000};  // non-streaming URLs
  std::string cache_path;                          // "" = no config cache
  vbucket::Network network = vbucket::Network::Default;  // whose addresses terse configs' servers get
  std::chrono::milliseconds cache_grace{2000};
  std::uint64_t random_seed = 0;                   // backoff jitter; 0 = from std::random_device
};

struct HttpSourceStats {
  std::uint64_t documents_received = 0;   // pieces read (valid, invalid, oversized, duplicate); not heartbeats
  std::uint64_t documents_delivered = 0;  // given to the UpdateCallback from a URL
  std::uint64_t documents_invalid = 0;    // failed validation or too large
  std::uint64_t documents_duplicate = 0;  // identical to the last delivered one
  std::uint64_t reconnects = 0;           // attempts after the first one
  std::uint64_t auth_failures = 0;        // HTTP 401/403 answers
  std::uint64_t http_errors = 0;          // other answers outside 2xx
  std::uint64_t stalls = 0;               // attempts ended by the stall timeout
  std::uint64_t bytes_received = 0;       // 2xx body bytes, heartbeats included
  std::uint64_t cache_deliveries = 0;     // cached documents delivered (0 or 1 per start())
};

class HttpStreamSource final : public ConfigSource {
 public:
  // Throws std::invalid_argument without URLs, std::runtime_error when
  // libcurl cannot be initialised. Nothing runs before start().
  HttpStreamSource(HttpStreamOptions options, UpdateCallback on_update, StatusCallback on_status);
  ~HttpStreamSource() override;  // stop()

  void start() override;  // starts the thread; no-op while it runs
  void stop() override;   // wakes and joins the thread; idempotent

  HttpSourceStats stats() const;

 private:
  struct Outcome {
    bool good = false;       // at least one valid document (delivered or duplicate)
    bool poll_done = false;  // a polled URL answered 2xx with a valid document
  };

  void run();
  Outcome attempt(std::size_t index);
  bool process(std::size_t index, std::vector<Piece>& pieces);
  void deliver(ConfigUpdate update);
  void finish_attempt(std::size_t index, const TransferResult& result, bool streaming);
  void wait(std::chrono::milliseconds delay);
  void maybe_use_cache();
  std::chrono::steady_clock::time_point next_timer() const;
  void report(SourceStatus::Kind kind, const std::string& source, const std::string& message, long status = 0);
  void report_failure(std::size_t index, SourceStatus::Kind kind, const std::string& message, long status);
  void report_connected(std::size_t index, long status);
  std::string shown(std::size_t index) const;  // URL as printed
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  struct Counters {
    std::atomic<std::uint64_t> documents_received{0}, documents_delivered{0}, documents_invalid{0},
        documents_duplicate{0}, reconnects{0}, auth_failures{0}, http_errors{0}, stalls{0}, bytes_received{0},
        cache_deliveries{0};
  };

  const HttpStreamOptions options_;
  const UpdateCallback on_update_;
  const StatusCallback on_status_;
  HttpTransfer transfer_;  // created here so that stop() can always wake the thread
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  Counters counters_;

  // Source thread only.
  Backoff backoff_;
  StreamSplitter splitter_;
  std::vector<Piece> pending_;
  DocumentFilter filter_;
  std::optional<ConfigCache> cache_;
  std::optional<std::string> cached_document_;  // read at start, until used or superseded
  std::chrono::steady_clock::time_point cache_deadline_{};
  bool network_delivered_ = false;
  bool attempted_ = false;
  std::vector<bool> url_failed_;                 // an attempt on it failed (this run)
  std::vector<bool> url_up_;                     // answering 2xx since its last failure
  std::vector<std::string> url_last_failure_;    // last failure message reported for it
};

}  // namespace moxi::conflate
