// ByteChain: moxi's own byte buffer, the one every connection reads into
// and writes from, and values travel in.
//
// A chain is a list of segments, each a view into a slab: a block of bytes
// with a reference count. Bytes below a slab's `used` mark never change
// once written, so several chains may hold views of the same bytes; a chain
// appends into a slab's free tail only while its last segment ends exactly
// at that mark (the first writer there moves it, so no two chains write the
// same bytes). That is what makes the zero-copy moves safe:
//  * move_front_to: a value leaves a read buffer as views, not a copy, when
//    its pieces are big enough (kShareMin): a small piece is copied, so a
//    few bytes never pin a whole read slab behind the byte budget's back
//    (a budget counts bytes held, and a piece pins at most a few times its
//    own size);
//  * append_shared: a request's value goes to a backend as views and stays
//    in the request for a retry;
//  * append_chain: output moves to a send as segments.
// A send takes the front as iovecs (peek), a receive writes into reserved
// tail space (reserve/commit), a decoder looks at the front (front,
// find, contiguous) and drains what it used.
//
// Slabs come from the per-thread block lists of event_alloc.h, so taking
// and giving back one is a few dozen instructions, and an empty chain holds
// no slab: an idle connection's buffers cost only their segment lists.
//
// Why not libevent's evbuffer: its generality (locks, callbacks, reference
// chains, file segments) cost about 1,200 instructions per request on the
// W1 mix; the operations here are the handful moxi needs.
//
// Out of memory (malloc failing, which Linux's overcommit makes rare) ends
// the process with a message: a reply silently cut short would desync
// every client after it.
//
// Thread contract: a chain and the slabs it references belong to one
// thread at a time (reference counts are not atomic).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace moxi {

class ByteChain {
  struct Slab;  // defined in byte_chain.cc

 public:
  // Pieces at least this long move between chains as views
  // (move_front_to); shorter ones are copied.
  static constexpr size_t kShareMin = 16 * 1024;
  // append_shared copies pieces shorter than this: a copy costs less than
  // another iovec and a reference.
  static constexpr size_t kCopyBelow = 512;
  // What a slab's header takes of its block: a slab of `n` bytes fills a
  // block of n + kSlabOverhead (blocks come in powers of two).
  static constexpr size_t kSlabOverhead = 16;
  // Slab bytes a small append starts with (its block is 4 KiB).
  static constexpr size_t kAppendSlab = 4096 - kSlabOverhead;

  ByteChain() = default;
  ~ByteChain() { clear(); }
  ByteChain(const ByteChain&) = delete;
  ByteChain& operator=(const ByteChain&) = delete;
  ByteChain(ByteChain&& other) noexcept { swap(other); }
  ByteChain& operator=(ByteChain&& other) noexcept {
    if (this != &other) {
      clear();
      swap(other);
    }
    return *this;
  }
  void swap(ByteChain& other) noexcept;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The first segment's bytes (empty when the chain is).
  std::string_view front() const;
  size_t segment_count() const { return segs_.size() - head_; }

  // Appends a copy of `n` bytes.
  void append(const void* data, size_t n);
  void append(std::string_view s) { append(s.data(), s.size()); }
  // Moves every byte of `from` to the end of this chain, as segments; `from` is empty afterwards.
  void append_chain(ByteChain& from);
  // Appends `from`'s bytes as views of the same slabs (small pieces
  // copied); `from` is unchanged.
  void append_shared(const ByteChain& from);
  // Moves the first `n` bytes (at most size()) to the end of `to`: pieces
  // of kShareMin or more as views, shorter ones copied.
  void move_front_to(ByteChain& to, size_t n);

  // Removes the first `n` bytes (all of them when n >= size()).
  void drain(size_t n);
  // Removes everything; the segment list keeps its capacity.
  void clear();
  // Copies up to `n` bytes from offset `from` to `dst`; returns how many.
  size_t copy_out(void* dst, size_t n, size_t from = 0) const;
  // copy_out the first `n` bytes, then drain them; returns how many.
  size_t remove(void* dst, size_t n);
  // The first `n` bytes (n <= size()) in one piece: a pointer into the
  // first segment, which is replaced by a copy of them when they span
  // several. Valid until the chain changes. Null when n > size().
  const char* contiguous(size_t n);
  // Offset of the first `c` at or after `from`, or -1.
  ptrdiff_t find(char c, size_t from = 0) const;
  // Fills up to `max` iovecs with the front segments; returns how many.
  size_t peek(iovec* vec, size_t max) const;

  // Writable space at the end for a receive: the last slab's free tail
  // when it has `at_least` bytes, else a new slab of max(at_least,
  // `preferred`). commit(n) then adds the first
  // `n` bytes written (0: nothing came; a new slab is given back). Nothing
  // else may touch the chain between the two.
  std::span<char> reserve(size_t at_least, size_t preferred);
  void commit(size_t n);

  // A copy of every byte; for tests and small control replies.
  std::string str() const;

  // A slab a loop reads into again and again: a read lands in room(), and
  // hand() gives the bytes that came to a chain as a view, without a copy.
  // Once no chain views it any more, room() is the same slab from its
  // start; while one does, room() is a fresh slab (the old one goes with
  // its last view). A reader detaches its chain (ByteChain::detach) when
  // it has taken what it could, so that the few bytes of a half-sent
  // message do not pin the whole slab behind the byte budget's back.
  // Owned by one thread, as chains are.
  class ReadSlab {
   public:
    explicit ReadSlab(size_t capacity) : capacity_(capacity) {}
    ~ReadSlab();
    ReadSlab(const ReadSlab&) = delete;
    ReadSlab& operator=(const ReadSlab&) = delete;
    // Writable space of `capacity` bytes for one read.
    std::span<char> room();
    // The first `n` bytes written to the last room() go to the end of the
    // empty chain `to` as a view.
    void hand(ByteChain& to, size_t n);

   private:
    friend class ByteChain;
    Slab* slab_ = nullptr;
    size_t capacity_;
  };
  // Replaces whatever of this chain views `read_slab` with copies in slabs
  // of its own (fitted to the bytes); cheap when it views none of it.
  void detach(const ReadSlab& read_slab);

 private:
  struct Segment {
    Slab* slab;
    uint32_t off;
    uint32_t len;
  };
  static Slab* make_slab(size_t at_least);
  static void unref(Slab* slab);
  static char* bytes_of(Slab* slab);
  static const char* data_of(const Segment& seg);
  // Appends a segment whose reference this chain now owns, merging it into
  // the last one when it continues it.
  void push_segment(Segment seg);
  void pop_front();

  std::vector<Segment> segs_;
  size_t head_ = 0;  // segs_[head_..] are the live ones
  size_t size_ = 0;
  Slab* reserved_ = nullptr;  // a new slab between reserve and commit
};

}  // namespace moxi
