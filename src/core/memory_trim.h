// Gives memory back to the operating system after many client connections
// have gone.
//
// Why: freed connection state (10,000 idle connections are ~10 MiB) stays in
// malloc's arenas, so RSS stayed at its peak long after a burst of clients
// left. Once a second, on the main thread, this compares the open connection
// count with its high-water mark; when at least kDrop connections have closed
// since then, or when at least kReleasedBytes of buffered replies left with
// closed connections (slow readers), it calls malloc_trim(0), which releases
// the free pages of every arena (the workers' too; glibc locks each arena
// while it trims).
//
// Thread contract: created, run and destroyed on the main thread; reads the
// shared connection count with a relaxed load only.
#pragma once

#include <event2/event.h>

#include <atomic>
#include <cstdint>

namespace moxi {

class MemoryTrimmer {
 public:
  static constexpr int64_t kDrop = 256;  // connections closed since the peak before trimming
  static constexpr uint64_t kReleasedBytes = 16 << 20;

  MemoryTrimmer(event_base* base, const std::atomic<int64_t>& connections,
                const std::atomic<uint64_t>& released_bytes);
  ~MemoryTrimmer();
  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;

  // One check (the timer calls it every second); true when it trimmed.
  bool check();

 private:
  static void tick_cb(evutil_socket_t, short, void* arg);

  const std::atomic<int64_t>& connections_;
  const std::atomic<uint64_t>& released_bytes_;
  int64_t peak_ = 0;
  uint64_t released_at_trim_ = 0;
  event* timer_ = nullptr;
};

}  // namespace moxi
