// Backoff: how long the HTTP source waits before its next attempt.
//
// Exponential with "equal jitter": after the n-th consecutive failure
// (n = 1, 2, ...) the wait is uniform in [d/2, d] where
// d = min(max, min * 2^(n-1)). So the first wait is in [min/2, min], the
// waits double until they reach max, and several proxies that lost the same
// server do not come back in lock step. reset() after a success starts again
// from min. A max below min is treated as min.
//
// Thread-safety: none; owned by one source thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace moxi::conflate {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, std::uint64_t seed);

  // The wait after one more failure.
  std::chrono::milliseconds next();
  void reset() { failures_ = 0; }
  int failures() const { return failures_; }

  // The upper bound d of the wait after `failures` consecutive failures.
  std::chrono::milliseconds ceiling(int failures) const;

 private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  int failures_ = 0;
  std::mt19937_64 random_;
};

}  // namespace moxi::conflate
