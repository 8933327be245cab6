// RAII owner for a libevent evbuffer. Values travel between connections as
// evbuffer chains: evbuffer_remove_buffer / evbuffer_add_buffer move chain
// segments instead of copying bytes.
#pragma once

#include <event2/buffer.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace moxi {

class EvBuf {
 public:
  EvBuf() : buf_(evbuffer_new()) {}
  ~EvBuf() {
    if (buf_) evbuffer_free(buf_);
  }
  EvBuf(const EvBuf&) = delete;
  EvBuf& operator=(const EvBuf&) = delete;
  EvBuf(EvBuf&& other) noexcept : buf_(std::exchange(other.buf_, nullptr)) {}
  EvBuf& operator=(EvBuf&& other) noexcept {
    if (this != &other) {
      if (buf_) evbuffer_free(buf_);
      buf_ = std::exchange(other.buf_, nullptr);
    }
    return *this;
  }

  evbuffer* get() const { return buf_; }
  size_t size() const { return evbuffer_get_length(buf_); }
  bool empty() const { return size() == 0; }
  void clear() { evbuffer_drain(buf_, size()); }
  void append(std::string_view s) { evbuffer_add(buf_, s.data(), s.size()); }
  // Copies the whole content out; for tests and small control replies only.
  std::string str() const {
    std::string out(size(), '\0');
    evbuffer_copyout(buf_, out.data(), out.size());
    return out;
  }

 private:
  evbuffer* buf_;
};

}  // namespace moxi
