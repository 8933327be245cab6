#include "vbucket/ketama.h"

#include <libhashkit-1.0/hashkit.h>
#include <libmemcached-1.0/memcached.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

namespace moxi::vbucket {

void KetamaRing::MemcachedFree::operator()(memcached_st* memc) const noexcept { memcached_free(memc); }

KetamaRing::~KetamaRing() = default;

Result<std::unique_ptr<const KetamaRing>> KetamaRing::build(const std::vector<Member>& members) noexcept {
  using R = Result<std::unique_ptr<const KetamaRing>>;
  try {
    if (members.empty()) return R::failure("a ketama ring needs at least one server");
    // libmemcached's continuum holds a fixed number of points: past this
    // many servers it aborts (an assertion in update_continuum), so say so.
    constexpr size_t kMaxServers = (MEMCACHED_CONTINUUM_SIZE) / MEMCACHED_POINTS_PER_SERVER;
    if (members.size() > kMaxServers)
      return R::failure("a ketama ring takes at most " + std::to_string(kMaxServers) + " servers (libmemcached's limit), got " +
                        std::to_string(members.size()));
    auto ring = std::make_unique<KetamaRing>(Key());
    ring->memc_.reset(memcached_create(nullptr));
    if (!ring->memc_) return R::failure("libmemcached: memcached_create failed (out of memory)");
    memcached_st* memc = ring->memc_.get();

    // Set the distribution first so every server added below lands in a
    // weighted-ketama continuum (MD5 key hash, 4 points per MD5).
    memcached_return_t rc = memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
    if (rc != MEMCACHED_SUCCESS)
      return R::failure(std::string("libmemcached: cannot enable KETAMA_WEIGHTED: ") + memcached_strerror(memc, rc));

    for (size_t i = 0; i < members.size(); ++i) {
      const Member& m = members[i];
      if (m.host.empty() || m.host.find('\0') != std::string::npos)
        return R::failure("server " + std::to_string(i) + ": empty or invalid host name");
      rc = memcached_server_add_with_weight(memc, m.host.c_str(), m.port, m.weight == 0 ? 1 : m.weight);
      if (rc != MEMCACHED_SUCCESS)
        return R::failure("server " + std::to_string(i) + " (\"" + m.host + ":" + std::to_string(m.port) +
                          "\"): libmemcached rejected it: " + memcached_strerror(memc, rc));
    }

    // Map libmemcached's positions back to our indexes by (host, port).
    const uint32_t count = memcached_server_count(memc);
    if (count != members.size()) return R::failure("libmemcached holds an unexpected number of servers");
    ring->position_to_index_.assign(count, -1);
    std::vector<bool> taken(members.size(), false);
    for (uint32_t pos = 0; pos < count; ++pos) {
      const memcached_instance_st* inst = memcached_server_instance_by_position(memc, pos);
      if (inst == nullptr) return R::failure("libmemcached lost a server");
      const char* name = memcached_server_name(inst);
      const in_port_t port = memcached_server_port(inst);
      for (size_t i = 0; i < members.size(); ++i) {
        if (!taken[i] && members[i].port == port && name != nullptr && members[i].host == name) {
          taken[i] = true;
          ring->position_to_index_[pos] = static_cast<int>(i);
          break;
        }
      }
      if (ring->position_to_index_[pos] < 0)
        return R::failure(std::string("libmemcached server \"") + (name ? name : "") +
                          "\" matches no configured server");
    }
    if (ring->take_continuum() == Continuum::Broken)
      return R::failure("libmemcached: cannot restore the MD5 key hash after checking the continuum");
    return R::success(std::move(ring));
  } catch (const std::bad_alloc&) {
    return R::failure("out of memory while building the ketama ring");
  } catch (...) {
    return R::failure("unexpected error while building the ketama ring");
  }
}

namespace {

// libmemcached's continuum entry (its private libmemcached/continuum.hpp).
// Only read through take_continuum(), which checks the copy against
// libmemcached's own answers before using it.
struct LibmemcachedPoint {
  uint32_t index;
  uint32_t value;
};

// The ketama key hash: the first word of the key's MD5 digest, from
// libhashkit itself (what libmemcached computes, without its dispatch).
uint32_t key_hash(std::string_view key) { return libhashkit_md5(key.data(), key.size()); }

// A key hash that returns the 4 bytes of the key itself: lets us ask
// libmemcached which server a given hash value maps to.
uint32_t probe_hash(const char* key, size_t length, void*) {
  uint32_t v = 0;
  if (length == sizeof v) std::memcpy(&v, key, sizeof v);
  return v;
}

}  // namespace

KetamaRing::Continuum KetamaRing::take_continuum() {
  const memcached_st* memc = memc_.get();
  const uint32_t n = memc->ketama.continuum_points_counter;
  if (memc->ketama.continuum == nullptr || n == 0 || n > memc->ketama.continuum_count * 1000u) return Continuum::Library;
  const auto* raw = reinterpret_cast<const LibmemcachedPoint*>(memc->ketama.continuum);
  std::vector<Point> points;
  points.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (raw[i].index >= position_to_index_.size() || (i > 0 && raw[i].value < raw[i - 1].value)) return Continuum::Library;
    points.push_back(Point{raw[i].value, position_to_index_[raw[i].index]});
  }
  // Ask libmemcached itself (not a clone: memcached_clone may reorder the
  // servers) with a key hash that returns the probe value, then put its MD5
  // key hash back.
  memcached_st* live = memc_.get();
  hashkit_st* saved = hashkit_clone(nullptr, memcached_get_hashkit(live));
  if (saved == nullptr) return Continuum::Library;
  hashkit_st probe;
  const bool created = hashkit_create(&probe) != nullptr;
  bool same = created && hashkit_set_custom_function(&probe, &probe_hash, nullptr) == HASHKIT_SUCCESS &&
         memcached_set_hashkit(live, &probe) == MEMCACHED_SUCCESS;
  auto theirs = [&](uint32_t value) {
    char key[sizeof value];
    std::memcpy(key, &value, sizeof value);
    const uint32_t pos = memcached_generate_hash(live, key, sizeof key);
    return pos < position_to_index_.size() ? position_to_index_[pos] : -1;
  };
  points_.swap(points);
  // Both functions are constant between consecutive points: comparing at
  // each point, just after it, and at 0 compares them everywhere.
  same = same && server_for_hash(0) == theirs(0);
  for (uint32_t i = 0; same && i < n; ++i) {
    const uint32_t v = points_[i].value;
    same = server_for_hash(v) == theirs(v) && (v == UINT32_MAX || server_for_hash(v + 1) == theirs(v + 1));
  }
  if (created) hashkit_free(&probe);
  const bool restored = memcached_set_hashkit(live, saved) == MEMCACHED_SUCCESS;
  hashkit_free(saved);
  // And with the key hash back: a sample of real keys routes the same both ways.
  for (int i = 0; same && restored && i < 64; ++i) {
    const std::string key = "ketama-check-" + std::to_string(i);
    const uint32_t pos = memcached_generate_hash(live, key.data(), key.size());
    same = pos < position_to_index_.size() && position_to_index_[pos] == server_for_hash(key_hash(key));
  }
  if (!restored) {
    points_.clear();
    return Continuum::Broken;  // libmemcached would route with the probe hash
  }
  if (!same) points_.clear();
  return same ? Continuum::Own : Continuum::Library;
}

int KetamaRing::server_for_hash(uint32_t hash) const noexcept {
  // The first point at or after the hash (libmemcached's dispatch), else the first.
  auto it = std::lower_bound(points_.begin(), points_.end(), hash,
                             [](const Point& p, uint32_t h) { return p.value < h; });
  return it == points_.end() ? points_.front().index : it->index;
}

bool KetamaRing::uses_own_continuum() const noexcept { return !points_.empty(); }

int KetamaRing::server_for_key(std::string_view key) const noexcept {
  if (!points_.empty()) return server_for_hash(key_hash(key));
  // memcached_generate_hash takes a const memcached_st and only reads the
  // continuum, which is what makes a shared ring safe across threads.
  const uint32_t pos = memcached_generate_hash(memc_.get(), key.empty() ? "" : key.data(), key.size());
  return pos < position_to_index_.size() ? position_to_index_[pos] : -1;
}

}  // namespace moxi::vbucket
