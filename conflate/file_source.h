// FileSource: a cluster config in a local JSON file (moxi -z ./file.json),
// read at start() and again on each reload() (the proxy calls reload() on
// SIGHUP).
//
// The file holds one document, of any shape vbucket::parse_document accepts (a single
// bucket, or {"buckets":[...]}); "$HOST" becomes `peer` ("localhost" unless
// told otherwise, as libvbucket does for files). It is validated like a
// document from a URL: an invalid file is reported (invalid_document, once
// per distinct message) and nothing is delivered, so the last good config
// stays in force; a file whose text has not changed since the last delivery
// is not delivered again. Files larger than max_document_bytes are refused.
// ("PORT = {json}" static files are the options parser's business:
// src/config/cluster_source.h.)
//
// Threads: no thread of its own. The callbacks run on the thread that calls
// start() or reload(), before that call returns. start(), reload() and stop()
// must not run concurrently.
#pragma once

#include <cstddef>
#include <string>

#include "conflate/config_source.h"
#include "conflate/document_filter.h"
#include "conflate/stream_splitter.h"

namespace moxi::conflate {

class FileSource final : public ConfigSource {
 public:
  enum class Reload {
    delivered,   // a new valid config went to the UpdateCallback
    unchanged,   // same text as the last delivered config
    invalid,     // failed validation (reported)
    unreadable,  // missing, unreadable, empty or too large (reported)
    stopped,     // stop() was called; nothing read
  };

  FileSource(std::string path, UpdateCallback on_update, StatusCallback on_status, std::string peer = "localhost",
             std::size_t max_document_bytes = kDefaultMaxDocumentBytes);

  void start() override;  // reload(); allows reloads again after stop()
  void stop() override;   // later reload() calls do nothing
  Reload reload();

  const std::string& path() const { return path_; }

 private:
  void report(SourceStatus::Kind kind, const std::string& message);

  std::string path_;
  UpdateCallback on_update_;
  StatusCallback on_status_;
  std::string peer_;
  std::size_t max_bytes_;
  bool stopped_ = false;
  DocumentFilter filter_;
};

std::string_view to_string(FileSource::Reload result) noexcept;

}  // namespace moxi::conflate
