#include "conflate/backoff.h"

#include <algorithm>

namespace moxi::conflate {

Backoff::Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, std::uint64_t seed)
    : min_(std::max(min, std::chrono::milliseconds(0))), max_(std::max(min_, max)), random_(seed) {}

std::chrono::milliseconds Backoff::ceiling(int failures) const {
  auto d = min_;
  for (int i = 1; i < failures && d < max_; ++i) d *= 2;
  return std::min(d, max_);
}

std::chrono::milliseconds Backoff::next() {
  if (failures_ < 1'000'000) ++failures_;
  const auto d = ceiling(failures_).count();
  std::uniform_int_distribution<std::chrono::milliseconds::rep> pick(d / 2, d);
  return std::chrono::milliseconds(pick(random_));
}

}  // namespace moxi::conflate
