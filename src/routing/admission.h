// -Z downstream_max and wait_queue_timeout as pure code: how many requests
// of one bucket a worker has at the backends at once, and the first come,
// first served queue of those waiting for a slot, each with the time it was
// queued. The worker routes what this admits and fails what expires; this
// holds no clock and does no I/O (t/core/admission_test.cc).
//
// Thread contract: a value owned by one worker's bucket state.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "src/util/request_timer.h"

namespace moxi::routing {

template <class T>
class Admission {
 public:
  // `max`: slots (0: no limit, nothing ever waits).
  explicit Admission(uint32_t max = 0) : max_(max) {}

  // A new request: true when it takes a slot now; false when the slots are
  // full or others wait before it (first come, first served): then the
  // caller queue()s it. (Apart, so the usual request reads no clock.)
  bool try_admit() {
    if (max_ != 0 && (active_ >= max_ || !waiting_.empty())) return false;
    ++active_;
    return true;
  }
  void queue(T item, uint64_t now_ms) { waiting_.emplace_back(std::move(item), now_ms); }
  // A request that held a slot is done with it.
  void release() { --active_; }
  // The oldest waiter, taking the slot a release() freed; none while the
  // slots are full or nobody waits.
  std::optional<T> next_admitted() {
    if (waiting_.empty() || (max_ != 0 && active_ >= max_)) return std::nullopt;
    T item = std::move(waiting_.front().first);
    waiting_.pop_front();
    ++active_;
    return item;
  }
  // Takes every waiter that has waited `timeout_ms` by `now_ms` (the oldest
  // first) and hands it to `expired`; returns when the oldest one left was
  // queued, if any (the caller arms its timer for that one's deadline).
  template <class OnExpired>
  std::optional<uint64_t> expire(uint64_t now_ms, uint64_t timeout_ms, OnExpired&& expired) {
    while (!waiting_.empty() && request_timer_step(waiting_.front().second, timeout_ms, now_ms).expired) {
      T item = std::move(waiting_.front().first);
      waiting_.pop_front();
      expired(std::move(item));
    }
    if (waiting_.empty()) return std::nullopt;
    return waiting_.front().second;
  }

  uint32_t active() const { return active_; }
  size_t waiting() const { return waiting_.size(); }
  // Nothing at the backends and nobody waiting.
  bool idle() const { return active_ == 0 && waiting_.empty(); }

 private:
  uint32_t max_;
  uint32_t active_ = 0;
  std::deque<std::pair<T, uint64_t>> waiting_;  // (request, when it was queued)
};

}  // namespace moxi::routing
