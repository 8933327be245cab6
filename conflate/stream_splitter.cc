#include "conflate/stream_splitter.h"

#include <algorithm>

namespace moxi::conflate {
namespace {

constexpr std::size_t kTail = kDocumentDelimiter.size() - 1;  // bytes that may start a cut delimiter

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

int trailing_newlines(std::string_view bytes) {
  int n = 0;
  while (n < static_cast<int>(kTail) && static_cast<std::size_t>(n) < bytes.size() &&
         bytes[bytes.size() - 1 - static_cast<std::size_t>(n)] == '\n')
    ++n;
  return n;
}

}  // namespace

StreamSplitter::StreamSplitter(std::size_t max_document_bytes) : max_(max_document_bytes) {}

void StreamSplitter::emit(std::string_view raw, std::vector<Piece>& out) {
  if (raw.size() > max_) {
    out.push_back(Piece{Piece::Kind::oversized, {}});
    return;
  }
  const std::string_view text = trim(raw);
  if (text.empty()) {
    ++heartbeats_;
    return;
  }
  out.push_back(Piece{Piece::Kind::document, std::string(text)});
}

void StreamSplitter::feed(std::string_view bytes, std::vector<Piece>& out) {
  if (skipping_) {
    feed_skipping(bytes, out);
    return;
  }
  buffer_.append(bytes);
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = buffer_.find(kDocumentDelimiter, std::max(start, scanned_));
    if (at == std::string::npos) break;
    emit(std::string_view(buffer_).substr(start, at - start), out);
    start = at + kDocumentDelimiter.size();
  }
  buffer_.erase(0, start);
  scanned_ = buffer_.size() > kTail ? buffer_.size() - kTail : 0;

  // No delimiter in the buffer, so one can start at scanned_ at the earliest:
  // the piece in progress is at least that long.
  if (scanned_ > max_) {
    out.push_back(Piece{Piece::Kind::oversized, {}});
    skipping_ = true;
    newlines_ = trailing_newlines(buffer_);
    buffer_.clear();
    buffer_.shrink_to_fit();
    scanned_ = 0;
  }
}

void StreamSplitter::feed_skipping(std::string_view bytes, std::vector<Piece>& out) {
  std::size_t from = 0;
  if (newlines_ > 0) {
    // A delimiter may complete at the start of this feed.
    const std::size_t need = kDocumentDelimiter.size() - static_cast<std::size_t>(newlines_);
    std::size_t run = 0;
    while (run < need && run < bytes.size() && bytes[run] == '\n') ++run;
    if (run == need) {
      skipping_ = false;
      newlines_ = 0;
      feed(bytes.substr(need), out);
      return;
    }
    if (run == bytes.size()) {
      newlines_ += static_cast<int>(run);
      return;
    }
    newlines_ = 0;
    from = run;
  }
  const std::size_t at = bytes.find(kDocumentDelimiter, from);
  if (at != std::string_view::npos) {
    skipping_ = false;
    newlines_ = 0;
    feed(bytes.substr(at + kDocumentDelimiter.size()), out);
    return;
  }
  newlines_ = trailing_newlines(bytes.substr(from));
}

void StreamSplitter::finish(std::vector<Piece>& out) {
  if (!skipping_) {
    const std::string_view rest(buffer_);
    if (rest.size() > max_) {
      out.push_back(Piece{Piece::Kind::oversized, {}});
    } else if (!trim(rest).empty()) {
      emit(rest, out);
    }
  }
  reset();
}

void StreamSplitter::reset() {
  buffer_.clear();
  scanned_ = 0;
  skipping_ = false;
  newlines_ = 0;
}

}  // namespace moxi::conflate
