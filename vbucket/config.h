// Config: one bucket's cluster map, immutable once built.
//
// A Config says which servers hold a bucket and how keys map to them:
//   * Distribution::vbucket (Couchbase/Membase buckets): key -> vBucket by
//     vbucket_hash(key) & (num_vbuckets - 1), then vBucket -> [master,
//     replica1..replicaR] by the vBucketMap; optionally a vBucketMapForward
//     (the layout after a running rebalance).
//   * Distribution::ketama (memcached buckets and plain server lists): key ->
//     server by libmemcached's weighted ketama ring (see ketama.h).
//
// Configs come from the parsers (config_parse.h, buckets_parse.h,
// static_config_parse.h, server_list_parse.h) or from Config::build(). They
// are shared as ConfigPtr = std::shared_ptr<const Config>.
//
// Thread-safety: a Config never changes after build(), so every member may be
// called from any number of threads at once. What a proxy learns at run time
// (NOT_MY_VBUCKET) goes into a per-worker VBucketView (vbucket_view.h), never
// into the shared Config.
//
// Errors: nothing here throws. Lookups with an out-of-range argument return
// -1 ("no server") instead of failing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vbucket/result.h"

namespace moxi::vbucket {

class KetamaRing;

enum class Distribution { vbucket, ketama };

// "vbucket" or "ketama" (the nodeLocator spelling).
std::string_view to_string(Distribution distribution) noexcept;

// Which of a node's addresses a terse config is read with (parse_options.h):
// the default ones, or alternateAddresses.external.
enum class Network { Default, External };
std::string_view to_string(Network network) noexcept;         // "default" or "external"
std::optional<Network> network_from_string(std::string_view name) noexcept;

// Limits, as libvbucket documents them.
inline constexpr int kMaxReplicas = 4;
inline constexpr int kMaxVBuckets = 65536;

// One data server of a bucket.
struct Server {
  std::string authority;  // "host:port" exactly as the config names it, after $HOST substitution
  std::string host;       // authority without the port ("[v6]" literals keep their brackets)
  std::uint16_t port = 0;
  std::uint32_t weight = 1;                    // ketama share; only server lists set it
  std::optional<std::string> rest_api_server;  // node "hostname" (REST host:port), if a node matched
  std::optional<std::string> couch_api_base;   // node "couchApiBase" (vbucket buckets only)
  bool config_node = false;                    // node had "thisNode": true (vbucket buckets only)
  // From the server's nodesExt entry (matched by host and kv port), for the
  // network the config was read with: its TLS data port (services.kvSSL),
  // and whether the address is that network's alternate address.
  std::optional<std::uint16_t> tls_port;
  bool alternate_address = false;

  bool operator==(const Server&) const = default;
};

class Config;
using ConfigPtr = std::shared_ptr<const Config>;

// Everything a Config holds, as plain data. Parsers fill one in; build()
// checks it and freezes it.
// A config's place in the cluster's history: Couchbase's "revEpoch" (-1
// when absent, before 7.0) and "rev". Ordered lexicographically: after a
// quorum failover the epoch rises and the rev may start lower.
struct Revision {
  std::int64_t epoch = -1;
  std::int64_t rev = 0;
  auto operator<=>(const Revision&) const = default;
};

// How a config that arrives stands to the one in force, by revision.
// Unordered when either has none: it is applied, as configs always were.
enum class RevisionOrder { Newer, Same, Older, Unordered };
RevisionOrder order_of(const std::optional<Revision>& arriving, const std::optional<Revision>& in_force) noexcept;
std::string to_string(const Revision& r);  // "rev 12" or "epoch 2 rev 12"

struct ConfigSpec {
  Distribution distribution = Distribution::vbucket;
  std::vector<Server> servers;
  int num_replicas = 0;                               // vbucket only
  std::vector<std::vector<int>> vbucket_map;          // vbucket only: rows of num_replicas + 1 server indexes
  std::vector<std::vector<int>> vbucket_map_forward;  // vbucket only: empty, or one row per vBucket
  std::optional<std::string> user;                    // SASL user; absent for the "default" bucket
  std::optional<std::string> password;                // SASL password; "" is kept distinct from absent
  std::optional<Revision> revision;                   // "rev" (and "revEpoch"); absent when the document has no rev
  std::optional<Network> network;                     // the network the addresses are of; only with nodesExt
  // The text this config was parsed from; buckets of one file share it.
  // May be null (hand-made specs).
  std::shared_ptr<const std::string> document;
};

class Config {
  class Key {
    friend class Config;
    Key() = default;
  };

 public:
  // Checks the invariants every lookup relies on (at least one server, every
  // port > 0; vbucket: replicas 0..4, a power-of-two vBucket count up to
  // 65536, rows of num_replicas + 1 entries in [-1, num_servers), a forward
  // map with the same shape or none; ketama: no map) and builds the ketama
  // ring. The parsers have already reported problems field by field; this is
  // the last line of defence for hand-made specs.
  static Result<ConfigPtr> build(ConfigSpec spec) noexcept;

  explicit Config(const Key&) noexcept;
  ~Config();
  Config(const Config&) = delete;
  Config& operator=(const Config&) = delete;

  Distribution distribution() const noexcept { return distribution_; }
  int num_servers() const noexcept { return static_cast<int>(servers_.size()); }
  int num_replicas() const noexcept { return num_replicas_; }
  int num_vbuckets() const noexcept { return num_vbuckets_; }  // 0 for ketama
  bool has_forward_map() const noexcept { return !forward_.empty(); }

  const std::optional<std::string>& user() const noexcept { return user_; }
  const std::optional<std::string>& password() const noexcept { return password_; }
  const std::optional<Revision>& revision() const noexcept { return revision_; }
  // For a terse config (one with nodesExt): the network it was read with.
  const std::optional<Network>& network() const noexcept { return network_; }

  const std::vector<Server>& servers() const noexcept { return servers_; }
  // The "host:port" of server `index`; "" if out of range.
  const std::string& server(int index) const noexcept;

  // vBucket of `key`: vbucket_hash(key) & (num_vbuckets - 1); -1 for ketama.
  int vbucket_for_key(std::string_view key) const noexcept;
  // Server index (into servers()) that should receive `key`: the master of
  // its vBucket, or the ketama choice. -1 if the vBucket has no master.
  int server_for_key(std::string_view key) const noexcept;

  // Master / replica i (0-based, i < num_replicas) of a vBucket; -1 = none or
  // out of range. (libvbucket bounds replicas by num_servers; we do not.)
  int master(int vbucket) const noexcept;
  int replica(int vbucket, int i) const noexcept;
  // The same from vBucketMapForward; -1 when there is no forward map.
  int forward_master(int vbucket) const noexcept;
  int forward_replica(int vbucket, int i) const noexcept;

  // The whole row [master, replica1, ..., replicaR]; empty if out of range
  // (or, for forward_row, when there is no forward map).
  std::span<const int> row(int vbucket) const noexcept;
  std::span<const int> forward_row(int vbucket) const noexcept;

  // The text this config was parsed from (for a bucket of a multi-bucket
  // document, the whole document; for a static-file section, its CONFIG).
  // A proxy handed the same text again can skip parsing and diffing: an
  // identical document changes nothing. Empty for hand-built configs, which
  // then never match.
  std::string_view document() const noexcept { return *document_; }
  bool same_document(std::string_view text) const noexcept { return !document_->empty() && *document_ == text; }

 private:
  static std::span<const int> row_of(const std::vector<int>& table, int width, int vbucket) noexcept;

  Distribution distribution_ = Distribution::vbucket;
  std::vector<Server> servers_;
  int num_replicas_ = 0;
  int num_vbuckets_ = 0;
  int mask_ = 0;
  std::vector<int> map_;      // num_vbuckets rows of (num_replicas + 1), row-major
  std::vector<int> forward_;  // same shape, or empty
  std::optional<std::string> user_;
  std::optional<std::string> password_;
  std::optional<Revision> revision_;
  std::optional<Network> network_;
  std::shared_ptr<const std::string> document_;
  std::unique_ptr<const KetamaRing> ring_;  // ketama only
};

}  // namespace moxi::vbucket
