// Small helpers shared by the codecs (internal to src/protocol/).
#pragma once

#include <event2/buffer.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "src/protocol/ascii_numbers.h"

namespace moxi::protocol::wire {

// Builds short output (a reply line, a request line) in a stack buffer and
// hands it to the evbuffer in one evbuffer_add, instead of one libevent call
// per piece. Longer output spills over transparently.
class LineWriter {
 public:
  explicit LineWriter(evbuffer* out) : out_(out) {}
  ~LineWriter() { flush(); }
  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;

  LineWriter& str(std::string_view s) {
    if (s.size() > sizeof(buf_) - used_) {
      flush();
      if (s.size() > sizeof(buf_)) {
        evbuffer_add(out_, s.data(), s.size());
        return *this;
      }
    }
    std::memcpy(buf_ + used_, s.data(), s.size());
    used_ += s.size();
    return *this;
  }
  // Single bytes and CRLF are stored directly: a memcpy call per byte cost
  // more than the byte.
  LineWriter& ch(char c) {
    if (used_ == sizeof(buf_)) flush();
    buf_[used_++] = c;
    return *this;
  }
  LineWriter& u64(uint64_t v) {
    if (sizeof(buf_) - used_ < 20) flush();  // 20 digits at most: formatted in place
    used_ = static_cast<size_t>(format_u64(v, buf_ + used_) - buf_);
    return *this;
  }
  LineWriter& i64(int64_t v) {
    char tmp[24];
    return str(std::string_view(tmp, static_cast<size_t>(format_i64(v, tmp) - tmp)));
  }
  LineWriter& crlf() {
    if (sizeof(buf_) - used_ < 2) flush();
    buf_[used_++] = '\r';
    buf_[used_++] = '\n';
    return *this;
  }
  // Moves the first `n` bytes of `src` in (evbuffer_remove) when they fit in
  // what is left of the line buffer: a small value goes out in the same
  // evbuffer_add as its header line. False, and `src` untouched, when not.
  bool take_from(evbuffer* src, size_t n) {
    if (n > sizeof(buf_) - used_) return false;
    if (n > 0 && evbuffer_remove(src, buf_ + used_, n) != static_cast<int>(n)) return false;
    used_ += n;
    return true;
  }
  void flush() {
    if (used_ > 0) evbuffer_add(out_, buf_, used_);
    used_ = 0;
  }

 private:
  evbuffer* out_;
  char buf_[512];
  size_t used_ = 0;
};

// Position of the first '\n' at or after `from`, or -1.
inline ptrdiff_t find_newline(evbuffer* in, size_t from) {
  // Usually the line is in the first chain: one memchr, no evbuffer_ptr walk.
  evbuffer_iovec first;
  if (evbuffer_peek(in, 1, nullptr, &first, 1) >= 1 && from < first.iov_len) {
    const char* base = static_cast<const char*>(first.iov_base);
    if (const void* nl = std::memchr(base + from, '\n', first.iov_len - from))
      return static_cast<const char*>(nl) - base;
    if (first.iov_len == evbuffer_get_length(in)) return -1;
  }
  evbuffer_ptr start;
  if (evbuffer_ptr_set(in, &start, from, EVBUFFER_PTR_SET) != 0) return -1;
  evbuffer_ptr p = evbuffer_search(in, "\n", 1, &start);
  return p.pos;
}

// Appends `value`'s bytes to `out` without copying and without emptying
// `value`: the output references the same chain memory. Used for request
// values sent to a backend, which must stay in the request for a retry.
inline void add_reference(evbuffer* out, evbuffer* value) {
  if (evbuffer_get_length(value) == 0) return;
  if (evbuffer_add_buffer_reference(out, value) == 0) return;
  // libevent refuses to reference a buffer that itself holds references;
  // copy chain by chain in that (rare) case.
  size_t done = 0;
  const size_t total = evbuffer_get_length(value);
  while (done < total) {
    evbuffer_ptr pos;
    evbuffer_iovec v;
    if (evbuffer_ptr_set(value, &pos, done, EVBUFFER_PTR_SET) != 0) break;
    if (evbuffer_peek(value, -1, &pos, &v, 1) < 1 || v.iov_len == 0) break;
    evbuffer_add(out, v.iov_base, v.iov_len);
    done += v.iov_len;
  }
}

}  // namespace moxi::protocol::wire
