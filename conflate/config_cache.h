// ConfigCache: the last good config on disk (-Z config_cache=PATH), so that a
// proxy restarted while the cluster manager is unreachable can still serve.
//
// The file holds the raw document exactly as received (plus a final newline).
// save() never leaves a half-written file: it writes a temporary file in the
// same directory, fsyncs it and renames it over the path. The file is created
// with mode 0600 because bucket configs may carry SASL passwords.
//
// When the HTTP source uses it is its own rule (http_stream_source.h).
//
// Thread-safety: the object is immutable; concurrent save() calls on the same
// path are safe (each has its own temporary file; the last rename wins).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace moxi::conflate {

class ConfigCache {
 public:
  explicit ConfigCache(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }

  // The cached document without surrounding white space. nullopt with an
  // empty `error` when there is no file; nullopt with `error` set when it
  // cannot be read, is empty or is larger than `max_bytes`.
  std::optional<std::string> load(std::size_t max_bytes, std::string& error) const;

  // Replaces the cache atomically. On failure returns false and sets `error`
  // ("cannot write config cache PATH: reason"); the old file is untouched.
  bool save(std::string_view document, std::string& error) const;

 private:
  std::string path_;
};

}  // namespace moxi::conflate
