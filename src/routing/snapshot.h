// The immutable routing snapshot: which bucket each listening port serves,
// the bucket's cluster map and its backend servers. Built completely on the
// main thread, then shared read-only with every worker through
// std::shared_ptr<const Snapshot>; a new config means a new snapshot.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/protocol/request.h"
#include "src/util/tls.h"
#include "src/util/clock.h"
#include "vbucket/config.h"

namespace moxi {

struct BackendServer {
  std::string address;  // "host:port", as the config names it (the pool key)
  std::string host;     // as the config names it: an IP literal ("[::1]" for IPv6) or a name
  uint16_t port = 0;
  // An IP literal's address, parsed when the snapshot was built; a name has
  // none (sockaddr_len 0): each worker resolves it (backend/resolver.h).
  sockaddr_storage sockaddr{};
  socklen_t sockaddr_len = 0;
  bool is_name() const { return sockaddr_len == 0; }
};

// How moxi authenticates its connections to a bucket's servers (see
// bucket_access.h for the rules). Never printed: it holds a password.
struct BackendAuth {
  std::string user;           // "" = no SASL
  std::string password;
  std::string select_bucket;  // SELECT_BUCKET after SASL; "" = none
  // The connections speak TLS (-Z downstream_tls for the port the bucket
  // is served on), verified with the snapshot's backend context.
  bool tls = false;
  bool operator==(const BackendAuth&) const = default;
};

struct Bucket {
  std::string name;
  std::shared_ptr<const vbucket::Config> config;
  protocol::Protocol downstream_protocol = protocol::Protocol::Binary;
  std::vector<BackendServer> servers;  // same order as config->servers()
  BackendAuth backend_auth;
  // The password a client gives with SASL PLAIN (user = the bucket's name)
  // to use this bucket: its saslPassword, "" when it has none (open).
  std::string client_password;
  bool vbucket_routing() const;
};

struct PortBinding {
  int port = 0;  // 0: let the OS choose (tests)
  // The bucket a new client connection starts on (bucket_access.h). Null
  // while no map has arrived (`buckets` empty), or when new connections
  // start on no bucket (the null bucket: they must authenticate first).
  std::shared_ptr<const Bucket> bucket;
  // Every bucket the port serves (one, or a gateway's many), `bucket`
  // among them; empty until the port's first map.
  std::vector<std::shared_ptr<const Bucket>> buckets;

  bool has_map() const { return !buckets.empty(); }
  // The bucket named `name`, or null.
  const std::shared_ptr<const Bucket>* find(std::string_view name) const {
    for (const auto& b : buckets)
      if (b->name == name) return &b;
    return nullptr;
  }
};

// Made only by SnapshotBuilder, which numbers and dates it.
struct Snapshot {
  uint64_t generation = 0;  // maps loaded so far: 0 while every port waits for a URL's first map
  std::string source;       // where the map came from: a URL (no password) or "" for static configs
  uint64_t loaded_at_us = 0;  // monotonic_us() when it was built (stats: config age)
  std::vector<PortBinding> ports;
  // TLS (-Z tls_*, downstream_tls*): what new client handshakes on
  // tls_port present, and how new backend connections verify their
  // servers; null when not configured. A SIGHUP may bring new ones.
  std::shared_ptr<const tls::Context> client_tls;
  std::shared_ptr<const tls::Context> backend_tls;
};

// The one place snapshots are made, by every source of maps (static
// config, URL follower, SIGHUP reload): the generation and the load time
// are stamped here, so no source numbers or dates them its own way.
//
// Thread: used by one thread at a time (the main thread, or a test).
class SnapshotBuilder {
 public:
  // The first snapshot of the process, its ports added with add_port.
  SnapshotBuilder();
  // The successor of `current`: the same ports and buckets until changed.
  explicit SnapshotBuilder(const Snapshot& current);

  // A port serving `bucket`, or (null) waiting for its first map.
  void add_port(int port, std::shared_ptr<const Bucket> bucket = nullptr) {
    next_->ports.push_back(PortBinding{port, nullptr, {}});
    set_bucket(next_->ports.size() - 1, std::move(bucket));
  }
  // The port serves this one bucket, new connections start on it.
  void set_bucket(size_t port_index, std::shared_ptr<const Bucket> bucket) {
    PortBinding& port = next_->ports[port_index];
    port.buckets.clear();
    if (bucket) port.buckets.push_back(bucket);
    port.bucket = std::move(bucket);
  }
  // The port serves `buckets`; new connections start on `start` (one of
  // them, or null for the null bucket).
  void set_buckets(size_t port_index, std::vector<std::shared_ptr<const Bucket>> buckets,
                   std::shared_ptr<const Bucket> start) {
    PortBinding& port = next_->ports[port_index];
    port.buckets = std::move(buckets);
    port.bucket = std::move(start);
  }
  void set_source(std::string source) { next_->source = std::move(source); }
  void set_tls(std::shared_ptr<const tls::Context> clients, std::shared_ptr<const tls::Context> backends) {
    next_->client_tls = std::move(clients);
    next_->backend_tls = std::move(backends);
  }
  size_t port_count() const { return next_->ports.size(); }

  // The snapshot, stamped now: a successor is the next generation; the
  // first is generation 1 when it serves any map, else 0 (every port waits
  // for its URL). The builder is empty afterwards.
  std::shared_ptr<const Snapshot> build();

 private:
  std::shared_ptr<Snapshot> next_;
  uint64_t generation_;  // of the successor; ignored for the first
  bool first_;
};

// A config's server. An IP literal (v4, or v6 in brackets) is parsed now;
// a name is left to the workers, so building a snapshot never waits on DNS.
// `tls`: connected to with TLS, at its TLS port when the config names one
// (nodesExt kvSSL); `address` stays the config's authority either way.
BackendServer backend_server(const vbucket::Server& server, bool tls = false);

// Builds a Bucket from a parsed config (backend_server for each). Its client
// password is `client_password`, by default the config's saslPassword (""
// when it has none).
std::shared_ptr<const Bucket> make_bucket(std::string name, std::shared_ptr<const vbucket::Config> config,
                                          protocol::Protocol downstream_protocol, BackendAuth backend_auth = {},
                                          std::optional<std::string> client_password = std::nullopt);

}  // namespace moxi
