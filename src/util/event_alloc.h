// libevent's memory, and moxi's own buffers' (byte_chain.h), through
// per-thread free lists.
//
// Why: every evbuffer chain is malloc'd when data arrives or is queued and
// freed as soon as the buffer drains, several times per request (the read
// reservation, the reply, the request to the backend, a value's buffer).
// glibc serves these sizes (1 KiB .. 128 KiB, powers of two: libevent rounds
// chain sizes up) mostly outside its small per-thread cache, at a few
// hundred instructions per malloc/free pair. A free list per size class and
// thread makes the pair a few dozen.
//
// Thread contract: each thread has its own lists, so no lock and no atomic
// on the hot path. A block freed on another thread than the one that
// allocated it simply joins the freeing thread's lists. Each list is
// bounded (count and bytes per thread); what does not fit goes back to
// malloc, and release_event_allocator_cache() hands the calling thread's
// cached blocks back (an idle worker calls it, see Worker).
//
// Sanitizer builds do not install it: ASan must see libevent's own frees.
#pragma once

#include <cstddef>

namespace moxi {

// Routes libevent's malloc/realloc/free through the per-thread lists. Call
// once, before any other libevent function (first thing in main()); later
// calls do nothing. Returns false when not installed (sanitizer build).
bool install_event_allocator();

// Frees every block the calling thread keeps cached; returns the bytes freed.
size_t release_event_allocator_cache();

// Bytes the calling thread keeps cached right now (tests, stats).
size_t event_allocator_cached_bytes();

// The same lists for moxi's own buffers (byte_chain.h): a block of at
// least `size` bytes, `size` set to what it really holds (its size class),
// null when memory ran out. free_block takes it back on any thread.
// Sanitizer builds use plain malloc/free, so ASan sees every block.
void* alloc_block(size_t& size);
void free_block(void* block);

}  // namespace moxi
