// The immutable routing snapshot: which bucket each listening port serves,
// the bucket's cluster map and its backend servers. Built completely on the
// main thread, then shared read-only with every worker through
// std::shared_ptr<const Snapshot>; a new config means a new snapshot.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "src/protocol/request.h"
#include "src/util/clock.h"
#include "vbucket/config.h"

namespace moxi {

struct BackendServer {
  std::string address;  // "host:port", as the config names it (the pool key)
  std::string host;     // for error messages ("SERVER_ERROR proxy downstream closed <host>")
  uint16_t port = 0;
  sockaddr_storage sockaddr{};
  socklen_t sockaddr_len = 0;  // 0 when the name did not resolve: connects fail with a clear error
};

struct Bucket {
  std::string name;
  std::shared_ptr<const vbucket::Config> config;
  protocol::Protocol downstream_protocol = protocol::Protocol::Binary;
  std::vector<BackendServer> servers;  // same order as config->servers()
  bool vbucket_routing() const;
};

struct PortBinding {
  int port = 0;  // 0: let the OS choose (tests)
  std::shared_ptr<const Bucket> bucket;
};

struct Snapshot {
  uint64_t generation = 0;
  std::string source;  // where the map came from: a URL (no password) or "" for static configs
  uint64_t loaded_at_us = monotonic_us();  // when it was built (stats: config age); reset by copies
  std::vector<PortBinding> ports;
};

// Resolves a config's server with getaddrinfo. Runs off the workers (it may
// block on DNS); a name that does not resolve gives sockaddr_len 0.
BackendServer resolve_backend(const vbucket::Server& server);

// Builds a Bucket from a parsed config: resolves every server.
std::shared_ptr<const Bucket> make_bucket(std::string name, std::shared_ptr<const vbucket::Config> config,
                                          protocol::Protocol downstream_protocol);

}  // namespace moxi
