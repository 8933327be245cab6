#include "src/net/buffer_budget.h"

#include <unistd.h>

#include <algorithm>

namespace moxi::net {

uint64_t BufferBudget::default_max() {
  constexpr uint64_t kFloor = uint64_t{64} << 20;
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return kFloor;
  return std::max(kFloor, static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size) / 8);
}

void BufferAccount::publish() {
  if (unpublished_ == 0) return;
  const int64_t now = budget_.current.fetch_add(unpublished_, std::memory_order_relaxed) + unpublished_;
  unpublished_ = 0;
  int64_t peak = budget_.peak.load(std::memory_order_relaxed);
  while (now > peak && !budget_.peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

}  // namespace moxi::net
