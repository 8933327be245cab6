#include "src/core/memory_trim.h"

#include <malloc.h>

namespace moxi {

MemoryTrimmer::MemoryTrimmer(event_base* base, const std::atomic<int64_t>& connections,
                             const std::atomic<uint64_t>& released_bytes)
    : connections_(connections), released_bytes_(released_bytes), timer_(event_new(base, -1, EV_PERSIST, &MemoryTrimmer::tick_cb, this)) {
  const timeval second{1, 0};
  if (timer_) event_add(timer_, &second);
}

MemoryTrimmer::~MemoryTrimmer() {
  if (timer_) event_free(timer_);
}

void MemoryTrimmer::tick_cb(evutil_socket_t, short, void* arg) { static_cast<MemoryTrimmer*>(arg)->check(); }

bool MemoryTrimmer::check() {
  const int64_t now = connections_.load(std::memory_order_relaxed);
  if (now > peak_) peak_ = now;
  const uint64_t released = released_bytes_.load(std::memory_order_relaxed);
  if (peak_ - now < kDrop && released - released_at_trim_ < kReleasedBytes) return false;
  malloc_trim(0);
  peak_ = now;
  released_at_trim_ = released;
  return true;
}

}  // namespace moxi
