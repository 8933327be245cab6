#include "conflate/file_source.h"

#include <utility>

#include "conflate/document_file.h"

namespace moxi::conflate {

FileSource::FileSource(std::string path, UpdateCallback on_update, StatusCallback on_status, std::string peer,
                       std::size_t max_document_bytes)
    : path_(std::move(path)),
      on_update_(std::move(on_update)),
      on_status_(std::move(on_status)),
      peer_(std::move(peer)),
      max_bytes_(max_document_bytes) {}

void FileSource::start() {
  stopped_ = false;
  reload();
}

void FileSource::stop() { stopped_ = true; }

void FileSource::report(SourceStatus::Kind kind, const std::string& message) {
  if (!filter_.first_report(message) || !on_status_) return;
  on_status_(SourceStatus{kind, path_, message, 0});
}

FileSource::Reload FileSource::reload() {
  if (stopped_) return Reload::stopped;
  std::string error;
  auto text = read_document_file(path_, max_bytes_, "config file", error);
  if (!text) {
    if (error.empty()) error = "cannot read config file " + path_ + ": No such file or directory";
    report(SourceStatus::Kind::invalid_document, error);
    return Reload::unreadable;
  }
  auto verdict = filter_.check(*text, peer_);
  switch (verdict.kind) {
    case DocumentFilter::Verdict::Kind::duplicate:
      return Reload::unchanged;
    case DocumentFilter::Verdict::Kind::invalid:
      report(SourceStatus::Kind::invalid_document, "invalid config in " + path_ + ": " + verdict.error);
      return Reload::invalid;
    case DocumentFilter::Verdict::Kind::deliver:
      break;
  }
  if (on_update_) on_update_(ConfigUpdate{std::move(*text), std::move(verdict.buckets), path_, false, verdict.bucket_list});
  return Reload::delivered;
}

std::string_view to_string(FileSource::Reload result) noexcept {
  switch (result) {
    case FileSource::Reload::delivered:
      return "delivered";
    case FileSource::Reload::unchanged:
      return "unchanged";
    case FileSource::Reload::invalid:
      return "invalid";
    case FileSource::Reload::unreadable:
      return "unreadable";
    case FileSource::Reload::stopped:
      return "stopped";
  }
  return "unknown";
}

}  // namespace moxi::conflate
