// A point in time after which a test helper gives up waiting. Deadlines in
// the test support code are failure bounds, never a way to synchronise: every
// wait is on an event (fd readable, process exit, file renamed) and the
// deadline only decides when to stop waiting and report an error.
#pragma once

#include <algorithm>
#include <chrono>
#include <climits>

namespace moxi::test {

using Clock = std::chrono::steady_clock;

class Deadline {
 public:
  // Implicit on purpose, so helpers can be called as wait_exit(2s).
  template <class Rep, class Period>
  Deadline(std::chrono::duration<Rep, Period> from_now)  // NOLINT(google-explicit-constructor)
      : at_(Clock::now() + std::chrono::duration_cast<Clock::duration>(from_now)) {}

  static Deadline at(Clock::time_point when) {
    Deadline d(std::chrono::milliseconds(0));
    d.at_ = when;
    return d;
  }

  Clock::time_point when() const { return at_; }
  bool expired() const { return Clock::now() >= at_; }

  // Time left, zero once expired.
  std::chrono::milliseconds remaining() const {
    auto left = at_ - Clock::now();
    if (left <= Clock::duration::zero()) return std::chrono::milliseconds(0);
    // Round up so poll() never returns early just because of truncation.
    return std::chrono::ceil<std::chrono::milliseconds>(left);
  }

  // Timeout argument for poll(2): remaining milliseconds, clamped to int.
  int poll_timeout_ms() const {
    auto ms = remaining().count();
    return static_cast<int>(std::min<long long>(ms, INT_MAX));
  }

 private:
  Clock::time_point at_;
};

}  // namespace moxi::test
