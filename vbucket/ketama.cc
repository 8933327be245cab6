#include "vbucket/ketama.h"

#include <libmemcached-1.0/memcached.h>

#include <cstring>
#include <new>

namespace moxi::vbucket {

void KetamaRing::MemcachedFree::operator()(memcached_st* memc) const noexcept { memcached_free(memc); }

KetamaRing::~KetamaRing() = default;

Result<std::unique_ptr<const KetamaRing>> KetamaRing::build(const std::vector<Member>& members) noexcept {
  using R = Result<std::unique_ptr<const KetamaRing>>;
  try {
    if (members.empty()) return R::failure("a ketama ring needs at least one server");
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
    return R::success(std::move(ring));
  } catch (const std::bad_alloc&) {
    return R::failure("out of memory while building the ketama ring");
  } catch (...) {
    return R::failure("unexpected error while building the ketama ring");
  }
}

int KetamaRing::server_for_key(std::string_view key) const noexcept {
  // memcached_generate_hash takes a const memcached_st and only reads the
  // continuum, which is what makes a shared ring safe across threads.
  const uint32_t pos = memcached_generate_hash(memc_.get(), key.empty() ? "" : key.data(), key.size());
  return pos < position_to_index_.size() ? position_to_index_[pos] : -1;
}

}  // namespace moxi::vbucket
