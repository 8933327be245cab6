// A monotonic clock in microseconds for latency measurement. clock_gettime
// with CLOCK_MONOTONIC is served by the vDSO: no system call, no allocation.
#pragma once

#include <time.h>

#include <cstdint>

namespace moxi {

inline uint64_t monotonic_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

}  // namespace moxi
