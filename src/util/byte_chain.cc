#include "src/util/byte_chain.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>

#include "src/util/event_alloc.h"

namespace moxi {

// A slab's header; its bytes follow it in the same block.
struct alignas(16) ByteChain::Slab {
  uint32_t refs;      // segments (in any chain) and reservations viewing it
  uint32_t capacity;  // bytes after the header
  uint32_t used;      // bytes written; [0, used) never change again
  uint32_t unused;
};


char* ByteChain::bytes_of(Slab* slab) { return reinterpret_cast<char*>(slab + 1); }

const char* ByteChain::data_of(const Segment& seg) { return bytes_of(seg.slab) + seg.off; }

ByteChain::Slab* ByteChain::make_slab(size_t at_least) {
  static_assert(sizeof(Slab) == kSlabOverhead);
  constexpr size_t kMax = std::numeric_limits<uint32_t>::max() - sizeof(Slab);
  size_t block = sizeof(Slab) + std::min(at_least, kMax);
  void* p = at_least <= kMax ? alloc_block(block) : nullptr;
  if (!p) {
    std::fprintf(stderr, "moxi: out of memory allocating a %zu-byte buffer\n", at_least);
    std::abort();
  }
  auto* slab = static_cast<Slab*>(p);
  slab->refs = 1;
  slab->capacity = static_cast<uint32_t>(std::min(block - sizeof(Slab), kMax));
  slab->used = 0;
  slab->unused = 0;
  return slab;
}

void ByteChain::unref(Slab* slab) {
  if (--slab->refs == 0) free_block(slab);
}

void ByteChain::swap(ByteChain& other) noexcept {
  segs_.swap(other.segs_);
  std::swap(head_, other.head_);
  std::swap(size_, other.size_);
  std::swap(reserved_, other.reserved_);
}

std::string_view ByteChain::front() const {
  if (size_ == 0) return {};
  const Segment& seg = segs_[head_];
  return {data_of(seg), seg.len};
}

void ByteChain::push_segment(Segment seg) {
  if (head_ < segs_.size()) {
    Segment& last = segs_.back();
    if (last.slab == seg.slab && last.off + last.len == seg.off) {
      last.len += seg.len;
      size_ += seg.len;
      unref(seg.slab);  // one reference covers both
      return;
    }
  } else if (head_ > 0) {
    segs_.clear();
    head_ = 0;
  }
  if (head_ > 0 && segs_.size() == segs_.capacity()) {
    segs_.erase(segs_.begin(), segs_.begin() + static_cast<ptrdiff_t>(head_));
    head_ = 0;
  }
  segs_.push_back(seg);
  size_ += seg.len;
}

void ByteChain::pop_front() {
  unref(segs_[head_].slab);
  if (++head_ == segs_.size()) {
    segs_.clear();
    head_ = 0;
  }
}

void ByteChain::append(const void* data, size_t n) {
  if (n == 0) return;
  const char* src = static_cast<const char*>(data);
  if (head_ < segs_.size()) {
    Segment& last = segs_.back();
    Slab* slab = last.slab;
    if (last.off + last.len == slab->used && slab->used < slab->capacity) {
      const size_t put = std::min<size_t>(n, slab->capacity - slab->used);
      std::memcpy(bytes_of(slab) + slab->used, src, put);
      slab->used += static_cast<uint32_t>(put);
      last.len += static_cast<uint32_t>(put);
      size_ += put;
      src += put;
      n -= put;
      if (n == 0) return;
    }
  }
  Slab* slab = make_slab(std::max(n, kAppendSlab));
  std::memcpy(bytes_of(slab), src, n);
  slab->used = static_cast<uint32_t>(n);
  push_segment(Segment{slab, 0, static_cast<uint32_t>(n)});
}

void ByteChain::append_chain(ByteChain& from) {
  if (&from == this || from.size_ == 0) return;
  if (size_ == 0) {
    // Only the segment lists trade places: O(1), and each keeps a capacity.
    segs_.swap(from.segs_);
    std::swap(head_, from.head_);
    std::swap(size_, from.size_);
    return;
  }
  for (size_t i = from.head_; i < from.segs_.size(); ++i) push_segment(from.segs_[i]);
  from.segs_.clear();
  from.head_ = 0;
  from.size_ = 0;
}

void ByteChain::append_shared(const ByteChain& from) {
  if (&from == this) return;
  for (size_t i = from.head_; i < from.segs_.size(); ++i) {
    const Segment& seg = from.segs_[i];
    if (seg.len < kCopyBelow) {
      append(data_of(seg), seg.len);
      continue;
    }
    ++seg.slab->refs;
    push_segment(seg);
  }
}

void ByteChain::move_front_to(ByteChain& to, size_t n) {
  if (&to == this) return;
  n = std::min(n, size_);
  while (n > 0) {
    Segment& seg = segs_[head_];
    const size_t take = std::min<size_t>(n, seg.len);
    if (take >= kShareMin) {
      if (take == seg.len) {
        const Segment whole = seg;
        if (++head_ == segs_.size()) {
          segs_.clear();
          head_ = 0;
        }
        size_ -= take;
        to.push_segment(whole);  // the reference moves with it
      } else {
        ++seg.slab->refs;
        to.push_segment(Segment{seg.slab, seg.off, static_cast<uint32_t>(take)});
        seg.off += static_cast<uint32_t>(take);
        seg.len -= static_cast<uint32_t>(take);
        size_ -= take;
      }
    } else {
      to.append(data_of(seg), take);
      drain(take);
    }
    n -= take;
  }
}

void ByteChain::drain(size_t n) {
  if (n >= size_) {
    clear();
    return;
  }
  size_ -= n;
  while (n > 0) {
    Segment& seg = segs_[head_];
    if (n < seg.len) {
      seg.off += static_cast<uint32_t>(n);
      seg.len -= static_cast<uint32_t>(n);
      return;
    }
    n -= seg.len;
    pop_front();
  }
}

void ByteChain::clear() {
  for (size_t i = head_; i < segs_.size(); ++i) unref(segs_[i].slab);
  segs_.clear();
  head_ = 0;
  size_ = 0;
  if (reserved_) {
    unref(reserved_);
    reserved_ = nullptr;
  }
}

ByteChain::ReadSlab::~ReadSlab() {
  if (slab_) unref(slab_);
}

std::span<char> ByteChain::ReadSlab::room() {
  if (slab_ && slab_->refs == 1) {
    slab_->used = 0;  // no chain views a byte of it: written again from the start
  } else {
    if (slab_) unref(slab_);  // viewed still: it goes with its last view
    slab_ = make_slab(capacity_);
  }
  return {bytes_of(slab_), slab_->capacity};
}

void ByteChain::ReadSlab::hand(ByteChain& to, size_t n) {
  if (n == 0) return;
  slab_->used = static_cast<uint32_t>(n);
  ++slab_->refs;
  to.push_segment(Segment{slab_, 0, static_cast<uint32_t>(n)});
}

void ByteChain::detach(const ReadSlab& read_slab) {
  Slab* const slab = read_slab.slab_;
  if (!slab || slab->refs == 1) return;  // no chain views it
  bool views = false;
  for (size_t i = head_; i < segs_.size() && !views; ++i) views = segs_[i].slab == slab;
  if (!views) return;
  ByteChain owned;
  for (size_t i = head_; i < segs_.size(); ++i) owned.append(data_of(segs_[i]), segs_[i].len);
  clear();
  swap(owned);
}

size_t ByteChain::copy_out(void* dst, size_t n, size_t from) const {
  char* out = static_cast<char*>(dst);
  size_t done = 0;
  for (size_t i = head_; i < segs_.size() && done < n; ++i) {
    const Segment& seg = segs_[i];
    if (from >= seg.len) {
      from -= seg.len;
      continue;
    }
    const size_t put = std::min<size_t>(n - done, seg.len - from);
    std::memcpy(out + done, data_of(seg) + from, put);
    done += put;
    from = 0;
  }
  return done;
}

size_t ByteChain::remove(void* dst, size_t n) {
  const size_t got = copy_out(dst, n);
  drain(got);
  return got;
}

const char* ByteChain::contiguous(size_t n) {
  if (n > size_) return nullptr;
  if (n == 0) return size_ == 0 ? "" : data_of(segs_[head_]);
  if (segs_[head_].len >= n) return data_of(segs_[head_]);
  Slab* slab = make_slab(n);
  copy_out(bytes_of(slab), n);
  slab->used = static_cast<uint32_t>(n);
  drain(n);
  const Segment joined{slab, 0, static_cast<uint32_t>(n)};
  if (head_ > 0) {
    segs_[--head_] = joined;
  } else {
    segs_.insert(segs_.begin(), joined);
  }
  size_ += n;
  return bytes_of(slab);
}

ptrdiff_t ByteChain::find(char c, size_t from) const {
  size_t base = 0;
  for (size_t i = head_; i < segs_.size(); ++i) {
    const Segment& seg = segs_[i];
    if (from < base + seg.len) {
      const size_t skip = from > base ? from - base : 0;
      const char* p = data_of(seg);
      if (const void* hit = std::memchr(p + skip, c, seg.len - skip))
        return static_cast<ptrdiff_t>(base + static_cast<size_t>(static_cast<const char*>(hit) - p));
    }
    base += seg.len;
  }
  return -1;
}

size_t ByteChain::peek(iovec* vec, size_t max) const {
  size_t n = 0;
  for (size_t i = head_; i < segs_.size() && n < max; ++i, ++n) {
    vec[n].iov_base = const_cast<char*>(data_of(segs_[i]));
    vec[n].iov_len = segs_[i].len;
  }
  return n;
}

std::span<char> ByteChain::reserve(size_t at_least, size_t preferred) {
  if (head_ < segs_.size()) {
    const Segment& last = segs_.back();
    Slab* slab = last.slab;
    if (last.off + last.len == slab->used && slab->capacity - slab->used >= at_least)
      return {bytes_of(slab) + slab->used, static_cast<size_t>(slab->capacity - slab->used)};
  }
  if (reserved_) unref(reserved_);
  reserved_ = make_slab(std::max(at_least, preferred));
  return {bytes_of(reserved_), static_cast<size_t>(reserved_->capacity)};
}

void ByteChain::commit(size_t n) {
  if (Slab* slab = std::exchange(reserved_, nullptr)) {
    if (n == 0) {
      unref(slab);
      return;
    }
    slab->used = static_cast<uint32_t>(n);
    push_segment(Segment{slab, 0, static_cast<uint32_t>(n)});
    return;
  }
  if (n == 0) return;
  Segment& last = segs_.back();
  last.slab->used += static_cast<uint32_t>(n);
  last.len += static_cast<uint32_t>(n);
  size_ += n;
}

std::string ByteChain::str() const {
  std::string out(size_, '\0');
  copy_out(out.data(), size_);
  return out;
}

}  // namespace moxi
