// RAII owner for a libevent evbuffer. Values travel between connections as
// evbuffer chains: evbuffer_remove_buffer / evbuffer_add_buffer move chain
// segments instead of copying bytes.
#pragma once

#include <event2/buffer.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace moxi {

class EvBuf {
 public:
  // The evbuffer is created on first use: a Result that never holds a value
  // (a set's, a miss's) costs no allocation.
  EvBuf() = default;
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

  // Logically const: creating the (empty) buffer changes no content.
  evbuffer* get() const {
    if (!buf_) buf_ = evbuffer_new();
    return buf_;
  }
  bool has_buffer() const { return buf_ != nullptr; }
  size_t size() const { return buf_ ? evbuffer_get_length(buf_) : 0; }
  bool empty() const { return size() == 0; }
  // Empties the buffer. Chains are freed with their data, but an empty
  // chain holding reserved space stays (libevent does not drain an empty
  // buffer): release() frees that too.
  void clear() {
    if (buf_) evbuffer_drain(buf_, SIZE_MAX);  // drains everything; no length query
  }
  // Frees the evbuffer and every chain; the next get() makes a new one.
  void release() {
    if (buf_) evbuffer_free(buf_);
    buf_ = nullptr;
  }
  void append(std::string_view s) { evbuffer_add(get(), s.data(), s.size()); }
  // Copies the whole content out; for tests and small control replies only.
  std::string str() const {
    std::string out(size(), '\0');
    if (buf_) evbuffer_copyout(buf_, out.data(), out.size());
    return out;
  }

 private:
  mutable evbuffer* buf_ = nullptr;
};

}  // namespace moxi
