// Helpers shared by the libFuzzer targets (t/fuzz/fuzz_*.cc, built by t/fuzz/run).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace moxi::fuzz {

// A property the code promises does not hold: report and abort, which
// libFuzzer records as a crash with its reproducer.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz property violated: %s\n", what);
  std::abort();
}

// FNV-1a of the input: a deterministic seed, so one input always gets the
// same cut points and a reproducer reproduces.
inline uint64_t hash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Sorted cut offsets in (0, size), drawn from `seed` (xorshift). About one
// cut per 8 bytes, at most 64; seed 0 gives no cuts.
inline std::vector<size_t> cuts(uint64_t seed, size_t size) {
  std::vector<size_t> out;
  if (size < 2 || seed == 0) return out;
  size_t n = std::min<size_t>(64, size / 8 + 1);
  uint64_t x = seed;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out.push_back(1 + x % (size - 1));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace moxi::fuzz
