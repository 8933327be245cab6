// ConfigSource: where the proxy's cluster configs come from. The proxy's main
// thread owns the sources; each one hands over validated documents through an
// UpdateCallback and says what is happening through a StatusCallback.
//
// Contract for both callbacks:
//   * They run on the source's own thread (HttpStreamSource) or on the thread
//     that called start()/reload() (FileSource), never concurrently for one
//     source. They must be cheap and must not block: the proxy posts the
//     update to its main loop and returns.
//   * They must not call stop() or destroy the source.
//   * Every ConfigUpdate has passed the vbucket library's validation; an
//     invalid document never reaches the UpdateCallback (the last good config
//     stays in force), it is reported through the StatusCallback once per
//     distinct error.
//   * No text (status message, ConfigUpdate::source) contains a password:
//     URLs are shown as "http://user:****@host/...".
//
// Note: moxi::ConfigSource (src/config/cluster_source.h) is the parsed command-line
// description of a source; moxi::conflate::ConfigSource is the running thing.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "vbucket/buckets_parse.h"

namespace moxi::conflate {

// A validated document.
struct ConfigUpdate {
  std::string document;                  // raw JSON text (trimmed of surrounding white space)
  std::vector<vbucket::NamedConfig> buckets;  // parsed and validated; a single-bucket document gives one
                                         // element named by its "name" (or "default" without one)
  std::string source;                    // the URL (password masked) or the file path
  bool from_cache = false;               // read from the config cache, not from `source` now
  bool bucket_list = false;              // the {"buckets":[...]} form: a gateway's, however many it lists
};

struct SourceStatus {
  enum class Kind {
    connected,         // a URL answered 2xx and its stream is being read
    disconnected,      // a connect failed, a stream ended, broke or stalled; the source retries
    auth_failure,      // HTTP 401/403; the source retries
    http_error,        // any other HTTP status outside 2xx; the source retries
    invalid_document,  // a document failed validation or was too large; ignored
    using_cache,       // the cached config was delivered (from_cache = true)
    cache_error,       // the config cache could not be read, written or validated
  };
  Kind kind;
  std::string source;   // the URL (password masked), file or cache path concerned
  std::string message;  // one line for a human, names the source, no password
  long http_status = 0; // auth_failure and http_error: the status; connected: 2xx; else 0
};

// "connected", "disconnected", "auth_failure", ...
std::string_view to_string(SourceStatus::Kind kind) noexcept;

using UpdateCallback = std::function<void(ConfigUpdate)>;
using StatusCallback = std::function<void(const SourceStatus&)>;

class ConfigSource {
 public:
  virtual ~ConfigSource();
  // Begins delivering. Not thread-safe against stop(): call both from the
  // owning (main) thread.
  virtual void start() = 0;
  // Stops delivering; no callback runs once stop() has returned. Idempotent.
  virtual void stop() = 0;
};

}  // namespace moxi::conflate
