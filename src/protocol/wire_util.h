// Small helpers shared by the codecs (internal to src/protocol/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "src/protocol/ascii_numbers.h"
#include "src/util/byte_chain.h"

namespace moxi::protocol::wire {

// Builds short output (a reply line, a request line) in a stack buffer and
// hands it to the chain in one append, instead of one call per piece.
// Longer output spills over transparently.
class LineWriter {
 public:
  explicit LineWriter(ByteChain& out) : out_(out) {}
  ~LineWriter() { flush(); }
  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;

  LineWriter& str(std::string_view s) {
    if (s.size() > sizeof(buf_) - used_) {
      flush();
      if (s.size() > sizeof(buf_)) {
        out_.append(s);
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
  // Moves the first `n` bytes of `src` in when they fit in what is left of
  // the line buffer: a small value goes out in the same append as its
  // header line. False, and `src` untouched, when not.
  bool take_from(ByteChain& src, size_t n) {
    if (n > sizeof(buf_) - used_ || n > src.size()) return false;
    src.remove(buf_ + used_, n);
    used_ += n;
    return true;
  }
  void flush() {
    if (used_ > 0) out_.append(buf_, used_);
    used_ = 0;
  }

 private:
  ByteChain& out_;
  char buf_[512];
  size_t used_ = 0;
};

}  // namespace moxi::protocol::wire
