// KetamaRing: key -> server for memcached buckets (nodeLocator "ketama") and
// plain server lists, computed by libmemcached itself.
//
// Why libmemcached rather than our own continuum: moxi must place a key on
// exactly the server a libmemcached client with the same server list would
// pick. The ring is built with MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED (MD5 key
// hash, 160 points per server for equal weights), which equals libvbucket's
// ketama as long as no server uses port 11211 (libmemcached then hashes the
// bare host name) and the server count keeps libmemcached's float rounding at
// 160 points (true up to 24 equal-weight servers); see cluster-config.md §4.2.
//
// Thread-safety: build once, then lookups are read-only
// (memcached_generate_hash() on a const memcached_st touches no state), so
// one ring may be shared by any number of threads. Not copyable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vbucket/result.h"

struct memcached_st;

namespace moxi::vbucket {

class KetamaRing {
  // Passkey: the constructor is public for std::make_unique, but only
  // build() can create a Key.
  class Key {
    friend class KetamaRing;
    Key() = default;
  };

 public:
  struct Member {
    std::string host;
    std::uint16_t port = 0;
    std::uint32_t weight = 1;  // relative share of the ring; 0 is treated as 1
  };

  // Builds the ring; member i of `members` is server index i. Fails (with a
  // message naming the member) if the list is empty or libmemcached rejects a
  // host name.
  static Result<std::unique_ptr<const KetamaRing>> build(const std::vector<Member>& members) noexcept;

  explicit KetamaRing(const Key&) noexcept {}
  ~KetamaRing();
  KetamaRing(const KetamaRing&) = delete;
  KetamaRing& operator=(const KetamaRing&) = delete;

  // Index (into the members given to build()) of the server owning `key`.
  int server_for_key(std::string_view key) const noexcept;
  // True when keys are routed by our copy of libmemcached's continuum
  // (libhashkit's MD5 of the key, one binary search), checked against libmemcached when built; false
  // when libmemcached routes every key (a library whose continuum we cannot read).
  bool uses_own_continuum() const noexcept;

 private:
  int server_for_hash(std::uint32_t hash) const noexcept;
  struct MemcachedFree {
    void operator()(memcached_st* memc) const noexcept;
  };
  // Copies libmemcached's continuum into points_ and checks, by asking
  // libmemcached for the server of every boundary hash, that the copy routes
  // exactly as it does. Own: the copy routes; Library: libmemcached routes
  // every key; Broken: memc_ is unusable (its key hash could not be restored).
  enum class Continuum { Own, Library, Broken };
  Continuum take_continuum();

  std::unique_ptr<memcached_st, MemcachedFree> memc_;
  // The ketama continuum, sorted by hash: a key goes to the first point at
  // or after libhashkit_md5(key), wrapping to the first. Empty when the copy
  // could not be verified (then memc_ routes).
  struct Point {
    std::uint32_t value;
    int index;  // our server index
  };
  std::vector<Point> points_;
  // libmemcached server position -> our server index. Today they are equal
  // (we add in order and never enable host sorting); the table keeps that an
  // explicit, checked fact rather than an assumption.
  std::vector<int> position_to_index_;
};

}  // namespace moxi::vbucket
