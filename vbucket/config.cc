#include "vbucket/config.h"

#include <bit>
#include <new>

#include "vbucket/ketama.h"
#include "vbucket/key_hash.h"

namespace moxi::vbucket {

std::string_view to_string(Distribution distribution) noexcept {
  return distribution == Distribution::ketama ? "ketama" : "vbucket";
}

std::string_view to_string(Network network) noexcept {
  return network == Network::External ? "external" : "default";
}

std::optional<Network> network_from_string(std::string_view name) noexcept {
  if (name == "default") return Network::Default;
  if (name == "external") return Network::External;
  return std::nullopt;
}

Config::Config(const Key&) noexcept {}
Config::~Config() = default;

namespace {

// Checks one map (vBucketMap or vBucketMapForward) and flattens it.
std::string flatten_map(const std::vector<std::vector<int>>& rows, const char* name, int width, int num_servers,
                        std::vector<int>& out) {
  out.clear();
  out.reserve(rows.size() * static_cast<size_t>(width));
  for (size_t vb = 0; vb < rows.size(); ++vb) {
    if (rows[vb].size() != static_cast<size_t>(width))
      return std::string(name) + "[" + std::to_string(vb) + "]: row has " + std::to_string(rows[vb].size()) +
             " entries, expected numReplicas + 1 = " + std::to_string(width);
    for (int id : rows[vb]) {
      if (id < -1 || id >= num_servers)
        return std::string(name) + "[" + std::to_string(vb) + "]: Server ID must be >= -1 and < num_servers (got " +
               std::to_string(id) + ", num_servers " + std::to_string(num_servers) + ")";
      out.push_back(id);
    }
  }
  return {};
}

}  // namespace

Result<ConfigPtr> Config::build(ConfigSpec spec) noexcept {
  using R = Result<ConfigPtr>;
  try {
    auto config = std::make_shared<Config>(Key());
    if (spec.servers.empty()) return R::failure("a config needs at least one server");
    for (size_t i = 0; i < spec.servers.size(); ++i) {
      if (spec.servers[i].port == 0 || spec.servers[i].host.empty())
        return R::failure("server " + std::to_string(i) + " (\"" + spec.servers[i].authority +
                          "\"): needs a host and a port > 0");
    }
    const int num_servers = static_cast<int>(spec.servers.size());

    if (spec.distribution == Distribution::ketama) {
      if (!spec.vbucket_map.empty() || !spec.vbucket_map_forward.empty() || spec.num_replicas != 0)
        return R::failure("a ketama config has no vBucket map and no replicas");
      std::vector<KetamaRing::Member> members;
      members.reserve(spec.servers.size());
      for (const Server& s : spec.servers) members.push_back({s.host, s.port, s.weight});
      auto ring = KetamaRing::build(members);
      if (!ring) return R::failure(ring.error());
      config->ring_ = std::move(ring).value();
    } else {
      if (spec.num_replicas < 0 || spec.num_replicas > kMaxReplicas)
        return R::failure("Expected number <= " + std::to_string(kMaxReplicas) + " for numReplicas (got " +
                          std::to_string(spec.num_replicas) + ")");
      const size_t n = spec.vbucket_map.size();
      if (n == 0 || n > static_cast<size_t>(kMaxVBuckets) || !std::has_single_bit(n))
        return R::failure("Number of vBuckets must be a power of two > 0 and <= 65536 (got " + std::to_string(n) + ")");
      const int width = spec.num_replicas + 1;
      if (std::string e = flatten_map(spec.vbucket_map, "vBucketMap", width, num_servers, config->map_); !e.empty())
        return R::failure(e);
      if (!spec.vbucket_map_forward.empty()) {
        if (spec.vbucket_map_forward.size() != n)
          return R::failure("vBucketMapForward: has " + std::to_string(spec.vbucket_map_forward.size()) +
                            " rows, expected one per vBucket (" + std::to_string(n) + ")");
        if (std::string e =
                flatten_map(spec.vbucket_map_forward, "vBucketMapForward", width, num_servers, config->forward_);
            !e.empty())
          return R::failure(e);
      }
      config->num_vbuckets_ = static_cast<int>(n);
      config->mask_ = static_cast<int>(n - 1);
      config->num_replicas_ = spec.num_replicas;
    }

    config->distribution_ = spec.distribution;
    config->servers_ = std::move(spec.servers);
    config->user_ = std::move(spec.user);
    config->password_ = std::move(spec.password);
    config->revision_ = spec.revision;
    config->network_ = spec.network;
    config->document_ = spec.document ? std::move(spec.document) : std::make_shared<const std::string>();
    return R::success(std::move(config));
  } catch (const std::bad_alloc&) {
    return R::failure("out of memory while building the config");
  } catch (...) {
    return R::failure("unexpected error while building the config");
  }
}

const std::string& Config::server(int index) const noexcept {
  static const std::string kNone;
  return index >= 0 && index < num_servers() ? servers_[static_cast<size_t>(index)].authority : kNone;
}

int Config::vbucket_for_key(std::string_view key) const noexcept {
  if (distribution_ != Distribution::vbucket) return -1;
  return static_cast<int>(vbucket_hash(key)) & mask_;
}

int Config::server_for_key(std::string_view key) const noexcept {
  if (distribution_ == Distribution::ketama) return ring_->server_for_key(key);
  return master(vbucket_for_key(key));
}

std::span<const int> Config::row_of(const std::vector<int>& table, int width, int vbucket) noexcept {
  if (table.empty() || vbucket < 0 || (static_cast<size_t>(vbucket) + 1) * static_cast<size_t>(width) > table.size())
    return {};
  return std::span<const int>(table).subspan(static_cast<size_t>(vbucket) * width, static_cast<size_t>(width));
}

std::span<const int> Config::row(int vbucket) const noexcept { return row_of(map_, num_replicas_ + 1, vbucket); }

std::span<const int> Config::forward_row(int vbucket) const noexcept {
  return row_of(forward_, num_replicas_ + 1, vbucket);
}

int Config::master(int vbucket) const noexcept {
  auto r = row(vbucket);
  return r.empty() ? -1 : r[0];
}

int Config::replica(int vbucket, int i) const noexcept {
  auto r = row(vbucket);
  return i >= 0 && static_cast<size_t>(i) + 1 < r.size() ? r[static_cast<size_t>(i) + 1] : -1;
}

int Config::forward_master(int vbucket) const noexcept {
  auto r = forward_row(vbucket);
  return r.empty() ? -1 : r[0];
}

int Config::forward_replica(int vbucket, int i) const noexcept {
  auto r = forward_row(vbucket);
  return i >= 0 && static_cast<size_t>(i) + 1 < r.size() ? r[static_cast<size_t>(i) + 1] : -1;
}

RevisionOrder order_of(const std::optional<Revision>& arriving, const std::optional<Revision>& in_force) noexcept {
  if (!arriving || !in_force) return RevisionOrder::Unordered;
  if (*arriving > *in_force) return RevisionOrder::Newer;
  return *arriving == *in_force ? RevisionOrder::Same : RevisionOrder::Older;
}

std::string to_string(const Revision& r) {
  return (r.epoch >= 0 ? "epoch " + std::to_string(r.epoch) + " " : std::string()) + "rev " + std::to_string(r.rev);
}

}  // namespace moxi::vbucket
