// ByteChain, moxi's own buffer (src/util/byte_chain.h): the bytes, the
// zero-copy moves (views share the slab: the same address), the rule that
// shared bytes never change when another chain appends, receive space, and
// a long random run of every operation over three chains checked against
// plain strings.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "src/util/byte_chain.h"

namespace moxi {
namespace {

std::string pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + static_cast<char>(i % 23));
  return s;
}

}  // namespace

class ByteChainTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ByteChainTest);
  CPPUNIT_TEST(append_find_drain);
  CPPUNIT_TEST(small_moves_copy_big_moves_share);
  CPPUNIT_TEST(shared_bytes_survive_appends_by_either_chain);
  CPPUNIT_TEST(append_chain_moves_segments);
  CPPUNIT_TEST(contiguous_joins_segments);
  CPPUNIT_TEST(reserve_uses_room_then_a_new_slab);
  CPPUNIT_TEST(peek_gives_the_segments_in_order);
  CPPUNIT_TEST(read_slab_is_reused_only_when_nothing_views_it);
  CPPUNIT_TEST(detach_copies_what_views_the_read_slab);
  CPPUNIT_TEST(random_operations_match_strings);
  CPPUNIT_TEST_SUITE_END();

 public:
  void append_find_drain() {
    ByteChain c;
    CPPUNIT_ASSERT(c.empty());
    CPPUNIT_ASSERT_EQUAL(ptrdiff_t{-1}, c.find('\n'));
    c.append("get a\r\n");
    c.append(std::string(5000, 'x'));  // spills into a second slab
    c.append("\nend");
    CPPUNIT_ASSERT_EQUAL(size_t{7 + 5000 + 4}, c.size());
    CPPUNIT_ASSERT(c.segment_count() >= 2);
    CPPUNIT_ASSERT_EQUAL(ptrdiff_t{6}, c.find('\n'));
    CPPUNIT_ASSERT_EQUAL(ptrdiff_t{5007}, c.find('\n', 7));
    CPPUNIT_ASSERT_EQUAL(ptrdiff_t{-1}, c.find('\n', 5008));
    char head[5];
    CPPUNIT_ASSERT_EQUAL(size_t{5}, c.remove(head, 5));
    CPPUNIT_ASSERT_EQUAL(std::string("get a"), std::string(head, 5));
    c.drain(2 + 5000);
    CPPUNIT_ASSERT_EQUAL(std::string("\nend"), c.str());
    c.drain(100);
    CPPUNIT_ASSERT(c.empty());
    CPPUNIT_ASSERT_EQUAL(size_t{0}, c.segment_count());
  }

  void small_moves_copy_big_moves_share() {
    ByteChain in;  // one read's slab: a small value, then a big one
    const std::string big = pattern(3 * ByteChain::kShareMin, 'a');
    const std::string read = "small value" + big;
    std::span<char> room = in.reserve(read.size(), read.size());
    std::memcpy(room.data(), read.data(), read.size());
    in.commit(read.size());
    ByteChain small_value, big_value;
    in.move_front_to(small_value, 11);
    CPPUNIT_ASSERT_EQUAL(std::string("small value"), small_value.str());
    CPPUNIT_ASSERT(small_value.front().data() != in.front().data() - 11);  // copied
    const char* where = in.front().data();
    in.move_front_to(big_value, big.size() - 5);
    CPPUNIT_ASSERT_EQUAL(static_cast<const void*>(where), static_cast<const void*>(big_value.front().data()));  // a view of the same bytes
    CPPUNIT_ASSERT_EQUAL(big.substr(0, big.size() - 5), big_value.str());
    CPPUNIT_ASSERT_EQUAL(big.substr(big.size() - 5), in.str());
    in.clear();  // the view keeps the slab
    CPPUNIT_ASSERT_EQUAL(big.substr(0, big.size() - 5), big_value.str());
  }

  void shared_bytes_survive_appends_by_either_chain() {
    ByteChain value;
    value.append(pattern(1000, 'k'));
    ByteChain out;
    out.append("set k 0 0 1000\r\n");
    out.append_shared(value);  // 1000 >= kCopyBelow: a view
    iovec v[4];
    const size_t n = out.peek(v, 4);
    CPPUNIT_ASSERT_EQUAL(static_cast<const void*>(value.front().data()), static_cast<const void*>(v[n - 1].iov_base));
    out.append("\r\n");  // may land in the shared slab's room, never over its bytes
    value.append("more");
    CPPUNIT_ASSERT_EQUAL(pattern(1000, 'k') + "more", value.str());
    CPPUNIT_ASSERT_EQUAL("set k 0 0 1000\r\n" + pattern(1000, 'k') + "\r\n", out.str());
    ByteChain tiny;
    tiny.append("ab");
    out.append_shared(tiny);  // copied: shorter than kCopyBelow
    tiny.clear();
    CPPUNIT_ASSERT_EQUAL("set k 0 0 1000\r\n" + pattern(1000, 'k') + "\r\nab", out.str());
  }

  void append_chain_moves_segments() {
    ByteChain a, b;
    b.append("one");
    a.append_chain(b);  // into an empty chain: the lists trade places
    CPPUNIT_ASSERT(b.empty());
    b.append("two");
    const char* two = b.front().data();
    a.append_chain(b);
    CPPUNIT_ASSERT(b.empty());
    CPPUNIT_ASSERT_EQUAL(std::string("onetwo"), a.str());
    iovec v[4];
    CPPUNIT_ASSERT_EQUAL(size_t{2}, a.peek(v, 4));
    CPPUNIT_ASSERT_EQUAL(static_cast<const void*>(two), static_cast<const void*>(v[1].iov_base));
    ByteChain moved(std::move(a));
    CPPUNIT_ASSERT_EQUAL(std::string("onetwo"), moved.str());
  }

  void contiguous_joins_segments() {
    ByteChain c;
    ByteChain other;
    c.append("abc");
    other.append("defgh");
    c.append_chain(other);
    CPPUNIT_ASSERT_EQUAL(size_t{2}, c.segment_count());
    CPPUNIT_ASSERT(c.contiguous(9) == nullptr);
    const char* p = c.contiguous(6);
    CPPUNIT_ASSERT_EQUAL(std::string("abcdef"), std::string(p, 6));
    CPPUNIT_ASSERT_EQUAL(std::string("abcdefgh"), c.str());
    CPPUNIT_ASSERT_EQUAL(static_cast<const void*>(c.front().data()), static_cast<const void*>(c.contiguous(2)));  // already in one piece
  }

  void reserve_uses_room_then_a_new_slab() {
    ByteChain c;
    std::span<char> room = c.reserve(100, 1000);
    CPPUNIT_ASSERT(room.size() >= 1000);
    c.commit(0);  // nothing came: nothing held
    CPPUNIT_ASSERT(c.empty());
    CPPUNIT_ASSERT_EQUAL(size_t{0}, c.segment_count());
    room = c.reserve(100, 1000);
    std::memcpy(room.data(), "hello", 5);
    c.commit(5);
    std::span<char> more = c.reserve(100, 1000);
    CPPUNIT_ASSERT_EQUAL(static_cast<void*>(room.data() + 5), static_cast<void*>(more.data()));  // the same slab's room
    std::memcpy(more.data(), " world", 6);
    c.commit(6);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, c.segment_count());
    CPPUNIT_ASSERT_EQUAL(std::string("hello world"), c.str());
    std::span<char> fresh = c.reserve(more.size(), 10);  // more than the room left
    CPPUNIT_ASSERT(fresh.data() != more.data() + 6);
    c.commit(0);
    CPPUNIT_ASSERT_EQUAL(std::string("hello world"), c.str());
  }

  // A read lands in the slab and becomes the input without a copy; the
  // next read reuses the slab only when no chain views a byte of it, so
  // bytes a chain holds never change under it.
  void read_slab_is_reused_only_when_nothing_views_it() {
    ByteChain::ReadSlab slab(1000);
    std::span<char> room = slab.room();
    CPPUNIT_ASSERT(room.size() >= 1000);
    std::memcpy(room.data(), "get a\r\n", 7);
    ByteChain in;
    slab.hand(in, 7);
    CPPUNIT_ASSERT_EQUAL(static_cast<const void*>(room.data()), static_cast<const void*>(in.front().data()));
    CPPUNIT_ASSERT_EQUAL(std::string("get a\r\n"), in.str());
    std::span<char> busy = slab.room();  // in views it: a fresh slab
    CPPUNIT_ASSERT(busy.data() != room.data());
    std::memcpy(busy.data(), "xxxxxxx", 7);
    CPPUNIT_ASSERT_EQUAL(std::string("get a\r\n"), in.str());
    in.drain(7);  // decoded: nothing views the fresh slab either
    std::span<char> again = slab.room();
    CPPUNIT_ASSERT_EQUAL(static_cast<void*>(busy.data()), static_cast<void*>(again.data()));
    // A piece that left as a view (a big value) keeps its bytes too.
    const std::string big = pattern(ByteChain::kShareMin, 'v');
    ByteChain::ReadSlab large(2 * ByteChain::kShareMin);
    std::span<char> r = large.room();
    std::memcpy(r.data(), big.data(), big.size());
    large.hand(in, big.size());
    ByteChain value;
    in.move_front_to(value, big.size());
    CPPUNIT_ASSERT(in.empty());
    CPPUNIT_ASSERT_EQUAL(static_cast<const void*>(r.data()), static_cast<const void*>(value.front().data()));
    CPPUNIT_ASSERT(large.room().data() != r.data());
    CPPUNIT_ASSERT_EQUAL(big, value.str());
  }

  // What a reader leaves (a half-sent message) moves to a slab of its own,
  // and the read slab is free again.
  void detach_copies_what_views_the_read_slab() {
    ByteChain::ReadSlab slab(1000);
    std::span<char> room = slab.room();
    std::memcpy(room.data(), "get a\r\nget b", 12);
    ByteChain in, other;
    slab.hand(in, 12);
    in.drain(7);  // "get a" decoded, "get b" half sent
    other.append("unrelated");
    other.detach(slab);  // views none of it: unchanged
    CPPUNIT_ASSERT_EQUAL(std::string("unrelated"), other.str());
    in.detach(slab);
    CPPUNIT_ASSERT_EQUAL(std::string("get b"), in.str());
    CPPUNIT_ASSERT(in.front().data() < room.data() || in.front().data() >= room.data() + room.size());
    CPPUNIT_ASSERT_EQUAL(static_cast<void*>(room.data()), static_cast<void*>(slab.room().data()));  // free again
    std::memcpy(room.data(), "zzzzzzzzzzzz", 12);
    CPPUNIT_ASSERT_EQUAL(std::string("get b"), in.str());
    ByteChain empty;
    empty.detach(slab);
    CPPUNIT_ASSERT(empty.empty());
  }

  void peek_gives_the_segments_in_order() {
    ByteChain c, piece;
    std::string expect;
    for (int i = 0; i < 5; ++i) {
      piece.append(pattern(10, static_cast<char>('a' + i)));
      expect += pattern(10, static_cast<char>('a' + i));
      c.append_chain(piece);
      c.append_shared(c);  // sharing with itself does nothing
    }
    iovec v[3];
    CPPUNIT_ASSERT_EQUAL(size_t{3}, c.peek(v, 3));
    std::string seen;
    for (const iovec& e : v) seen.append(static_cast<const char*>(e.iov_base), e.iov_len);
    CPPUNIT_ASSERT_EQUAL(expect.substr(0, seen.size()), seen);
    CPPUNIT_ASSERT_EQUAL(expect, c.str());
  }

  // Three chains and their models; every step is one operation of the API
  // with random sizes, big enough to cross slabs and the share threshold.
  void random_operations_match_strings() {
    std::mt19937 rng(20261207);
    ByteChain chains[3];
    std::string model[3];
    auto size = [&](size_t max) { return static_cast<size_t>(rng() % (max + 1)); };
    for (int step = 0; step < 20000; ++step) {
      const size_t a = rng() % 3, b = (a + 1 + rng() % 2) % 3;
      ByteChain& c = chains[a];
      std::string& m = model[a];
      switch (rng() % 9) {
        case 0:
        case 1: {
          const std::string s = pattern(size(rng() % 4 ? 300 : 40000), static_cast<char>('a' + step % 26));
          c.append(s);
          m += s;
          break;
        }
        case 2: {
          const size_t n = size(m.size());
          c.move_front_to(chains[b], n);
          model[b] += m.substr(0, n);
          m.erase(0, n);
          break;
        }
        case 3:
          chains[b].append_shared(c);
          model[b] += m;
          break;
        case 4:
          chains[b].append_chain(c);
          model[b] += m;
          m.clear();
          break;
        case 5: {
          const size_t n = size(m.size() + 10);
          c.drain(n);
          m.erase(0, std::min(n, m.size()));
          break;
        }
        case 6: {
          const size_t n = size(m.size());
          const char* p = c.contiguous(n);
          CPPUNIT_ASSERT(p != nullptr);
          CPPUNIT_ASSERT(std::string(p, n) == m.substr(0, n));
          break;
        }
        case 7: {
          std::span<char> room = c.reserve(1 + size(20000), 1 + size(70000));
          const size_t n = size(std::min<size_t>(room.size(), 30000));
          const std::string s = pattern(n, 'R');
          std::memcpy(room.data(), s.data(), n);
          c.commit(n);
          m += s;
          break;
        }
        case 8: {
          if (m.empty()) break;
          const size_t from = size(m.size() - 1);
          const char want = m[from];
          const size_t hit = m.find(want, from);
          CPPUNIT_ASSERT_EQUAL(static_cast<ptrdiff_t>(hit), c.find(want, from));
          break;
        }
      }
      // Keep the chains from growing without end.
      if (m.size() > 200000) {
        c.clear();
        m.clear();
      }
      CPPUNIT_ASSERT_EQUAL(m.size(), c.size());
      if (step % 97 == 0) {
        for (int i = 0; i < 3; ++i) CPPUNIT_ASSERT(chains[i].str() == model[i]);
      }
    }
    for (int i = 0; i < 3; ++i) CPPUNIT_ASSERT(chains[i].str() == model[i]);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ByteChainTest);

}  // namespace moxi
