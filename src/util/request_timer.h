// The timeout rule of downstream_timeout (a backend connection's oldest
// outstanding request) and of wait_queue_timeout (the oldest request
// waiting for a downstream_max slot), apart from the event loop: given the
// clock reading `now_ms` (the worker's, passed in), expire or wait how long.
// Kept pure so the deadline can be checked exactly with any clock
// (t/core/request_timer_test.cc); the callers only arm libevent with the
// wait it returns.
#pragma once

#include <cstdint>

namespace moxi {

struct RequestTimerStep {
  bool expired = false;  // the request has waited its whole timeout: fail the connection
  uint64_t wait_ms = 0;  // otherwise: arm the timer this long (the time left to the deadline)
};

// A request sent at `sent_at_ms` times out exactly `timeout_ms` later: not
// before (the timer may fire early, or be armed for a later request), not
// after (each step arms the timer for the time left).
constexpr RequestTimerStep request_timer_step(uint64_t sent_at_ms, uint64_t timeout_ms, uint64_t now_ms) {
  const uint64_t deadline = sent_at_ms + timeout_ms;
  if (now_ms >= deadline) return {true, 0};
  return {false, deadline - now_ms};
}

}  // namespace moxi
