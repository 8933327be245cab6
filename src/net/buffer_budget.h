// The process-wide byte budget for buffered request and reply bytes
// (-Z buffer_max): what every connection of every worker holds in moxi —
// client input not yet decoded, replies not yet written, results waiting
// behind an earlier reply, and backend connections' unsent requests and
// unparsed replies.
//
// The per-client budget (client_connection.h) stops one client; this one
// stops a crowd of them. When the total reaches the budget, every worker
// stops reading its clients and sends no new request to the backends
// (replies already on their way still arrive and drain); clients resume in
// the order they were paused. A client that waited buffer_wait without
// room is answered "SERVER_ERROR out of memory" (memcached's text) for what
// it sends until there is room again, so nothing waits forever.
//
// Accounting without contention: each worker keeps its exact total in a
// BufferAccount and publishes it to the shared atomic in steps of
// kPublishStep, so the request path touches the shared cache line once per
// 64 KiB moved, not once per request. The shared total is therefore exact
// to within workers x kPublishStep.
//
// Thread contract: BufferBudget is shared by all workers (atomics only;
// `max` is set before the workers start). A BufferAccount
// belongs to one worker and is used only on its thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace moxi::net {

struct BufferBudget {
  uint64_t max = 0;  // bytes; 0 = no limit (set from ProxySettings::buffer_max before the workers start)
  std::atomic<int64_t> current{0};  // published bytes (buffered + reserved) of every worker
  std::atomic<int64_t> peak{0};     // the highest `current` seen

  // The default budget: an eighth of physical memory, at least 64 MiB.
  static uint64_t default_max();
};

class BufferAccount {
 public:
  static constexpr int64_t kPublishStep = 64 << 10;

  explicit BufferAccount(BufferBudget& budget) : budget_(budget) {}
  ~BufferAccount() { publish(); }
  BufferAccount(const BufferAccount&) = delete;
  BufferAccount& operator=(const BufferAccount&) = delete;

  // This worker's connections now hold `delta` bytes more (or fewer), of
  // which `reserved_delta` are replies expected, not yet received (they
  // count towards the budget, not towards what is buffered).
  void add(int64_t delta, int64_t reserved_delta = 0) {
    bytes_ += delta;
    reserved_ += reserved_delta;
    unpublished_ += delta;
    if (unpublished_ >= kPublishStep || unpublished_ <= -kPublishStep) publish();
  }
  // The total of every worker reached the budget.
  bool full() const {
    return budget_.max != 0 &&
           budget_.current.load(std::memory_order_relaxed) + unpublished_ >= static_cast<int64_t>(budget_.max);
  }
  // Exact, this worker's connections only: bytes buffered (received or to
  // send), and bytes reserved for replies still expected.
  int64_t buffered() const { return bytes_ - reserved_; }
  int64_t reserved() const { return reserved_; }

 private:
  void publish();

  BufferBudget& budget_;
  int64_t bytes_ = 0;     // buffered + reserved: what the budget counts
  int64_t reserved_ = 0;
  int64_t unpublished_ = 0;
};

}  // namespace moxi::net
