#include "src/util/event_alloc.h"

#include <event2/event.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define MOXI_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MOXI_SANITIZED 1
#endif

namespace moxi {
namespace {

// Every block starts with this header; the caller gets the bytes after it.
// 16 bytes keeps malloc's alignment for the caller.
struct alignas(16) Header {
  uint32_t cls;       // size class, or kUncached
  uint32_t unused;
  uint64_t capacity;  // usable bytes after the header
};
static_assert(sizeof(Header) == 16);

constexpr uint32_t kMinShift = 6;   // 64 bytes
constexpr uint32_t kMaxShift = 18;  // 256 KiB: libevent's 64 KiB read reservation rounds up to 128 KiB
constexpr uint32_t kClasses = kMaxShift - kMinShift + 1;
constexpr uint32_t kUncached = 0xffffffffu;
constexpr uint32_t kMaxPerClass = 512;
constexpr size_t kMaxCachedBytes = 1u << 20;  // per thread: bounds what a burst leaves behind

uint32_t class_of(size_t size) {
  if (size > (size_t{1} << kMaxShift)) return kUncached;
  if (size <= (size_t{1} << kMinShift)) return 0;
  const auto shift = static_cast<uint32_t>(64 - __builtin_clzll(static_cast<unsigned long long>(size - 1)));
  return shift - kMinShift;
}

struct FreeBlock {
  FreeBlock* next;
};

struct Cache {
  FreeBlock* head[kClasses] = {};
  uint32_t count[kClasses] = {};
  size_t bytes = 0;
  size_t release() {
    size_t freed = bytes;
    for (uint32_t c = 0; c < kClasses; ++c) {
      while (FreeBlock* b = head[c]) {
        head[c] = b->next;
        std::free(reinterpret_cast<Header*>(b) - 1);
      }
      count[c] = 0;
    }
    bytes = 0;
    return freed;
  }
  ~Cache();
};

// Trivially destructible, so still readable while thread-locals are torn
// down: a libevent free after this thread's cache is gone goes to free().
thread_local bool t_cache_gone = false;
thread_local Cache t_cache;

Cache::~Cache() {
  release();
  t_cache_gone = true;
}

[[maybe_unused]] void* raw_alloc(size_t size) {
  const uint32_t cls = class_of(size);
  if (cls != kUncached && !t_cache_gone) {
    Cache& cache = t_cache;
    if (FreeBlock* b = cache.head[cls]) {
      cache.head[cls] = b->next;
      --cache.count[cls];
      cache.bytes -= size_t{1} << (cls + kMinShift);
      return b;
    }
  }
  const size_t capacity = cls == kUncached ? size : size_t{1} << (cls + kMinShift);
  auto* h = static_cast<Header*>(std::malloc(sizeof(Header) + capacity));
  if (!h) return nullptr;
  h->cls = cls;
  h->unused = 0;
  h->capacity = capacity;
  return h + 1;
}

[[maybe_unused]] void raw_free(void* p) {
  if (!p) return;
  Header* h = static_cast<Header*>(p) - 1;
  const uint32_t cls = h->cls;
  if (cls != kUncached && !t_cache_gone) {
    Cache& cache = t_cache;
    const size_t capacity = size_t{1} << (cls + kMinShift);
    if (cache.count[cls] < kMaxPerClass && cache.bytes + capacity <= kMaxCachedBytes) {
      auto* b = static_cast<FreeBlock*>(p);
      b->next = cache.head[cls];
      cache.head[cls] = b;
      ++cache.count[cls];
      cache.bytes += capacity;
      return;
    }
  }
  std::free(h);
}

[[maybe_unused]] void* event_malloc(size_t size) { return raw_alloc(size == 0 ? 1 : size); }

[[maybe_unused]] void* event_realloc(void* p, size_t size) {
  if (!p) return event_malloc(size);
  if (size == 0) {
    raw_free(p);
    return nullptr;
  }
  const Header* h = static_cast<Header*>(p) - 1;
  if (size <= h->capacity) return p;
  void* fresh = raw_alloc(size);
  if (!fresh) return nullptr;
  std::memcpy(fresh, p, std::min<size_t>(h->capacity, size));
  raw_free(p);
  return fresh;
}

[[maybe_unused]] std::atomic<bool> g_installed{false};

}  // namespace

bool install_event_allocator() {
#ifdef MOXI_SANITIZED
  return false;
#else
  if (g_installed.exchange(true)) return true;
  event_set_mem_functions(&event_malloc, &event_realloc, &raw_free);
  return true;
#endif
}

size_t release_event_allocator_cache() { return t_cache_gone ? 0 : t_cache.release(); }

size_t event_allocator_cached_bytes() { return t_cache_gone ? 0 : t_cache.bytes; }

void* alloc_block(size_t& size) {
#ifdef MOXI_SANITIZED
  return std::malloc(size == 0 ? 1 : size);
#else
  void* p = raw_alloc(size == 0 ? 1 : size);
  if (p) size = static_cast<size_t>((static_cast<Header*>(p) - 1)->capacity);
  return p;
#endif
}

void free_block(void* block) {
#ifdef MOXI_SANITIZED
  std::free(block);
#else
  raw_free(block);
#endif
}

}  // namespace moxi
