// ValueBytes: the bytes of a value a backend returned, held the cheapest way
// for their size.
//
// Values of at most kInlineMax bytes are copied into `small_`, a string whose
// capacity is kept from request to request (Request keeps its Results). For the
// usual ~100-byte value one memcpy out of the read buffer and one into the
// reply line cost a fraction of what moving chain segments does. Larger
// values move as ByteChain segments (views of the read slabs once they are
// big enough, see byte_chain.h).
//
// The API is ByteChain's (size, empty, append, str, clear) plus take/move_to.
// Thread contract: like the Request holding it, owned by one worker thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "src/util/byte_chain.h"

namespace moxi::protocol {

class ValueBytes {
 public:
  static constexpr size_t kInlineMax = 256;

  size_t size() const { return chained_ ? chain_.size() : small_.size(); }
  bool empty() const { return size() == 0; }
  // True when the bytes are held inline (small()); false: in chain().
  bool is_small() const { return !chained_; }
  std::string_view small() const { return small_; }
  ByteChain& chain() const { return chain_; }

  void clear() {
    small_.clear();
    if (chained_) {
      chain_.clear();
      chained_ = false;
    }
  }

  // Replaces the content with the `n` bytes at `p` (copied).
  void assign(const char* p, size_t n) {
    clear();
    append(std::string_view(p, n));
  }

  // Replaces the content with the first `n` bytes of `in`, which has at least
  // `n`: copied when small, chains moved when not.
  void take(ByteChain& in, size_t n) {
    clear();
    if (n <= kInlineMax) {
      small_.resize(n);
      if (n > 0) in.remove(small_.data(), n);
      return;
    }
    chained_ = true;
    in.move_front_to(chain_, n);
  }

  // Appends bytes (decoders' tests build values this way).
  void append(std::string_view s) {
    if (!chained_ && small_.size() + s.size() <= kInlineMax) {
      small_.append(s);
      return;
    }
    if (!chained_) {
      chain_.clear();
      chain_.append(small_);
      small_.clear();
      chained_ = true;
    }
    chain_.append(s);
  }

  // Appends the bytes to `out`: small ones copied, chains moved (the value
  // is empty afterwards in that case; callers encode a reply once).
  void move_to(ByteChain& out) const {
    if (!chained_) {
      out.append(small_);
      return;
    }
    out.append_chain(chain_);
  }

  // A copy of the bytes; for tests and small control replies only.
  std::string str() const { return chained_ ? chain_.str() : small_; }

 private:
  std::string small_;
  mutable ByteChain chain_;  // emptied by move_to (a reply is encoded once)
  bool chained_ = false;
};

}  // namespace moxi::protocol
