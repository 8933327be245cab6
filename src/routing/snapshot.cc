#include "src/routing/snapshot.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace moxi {

SnapshotBuilder::SnapshotBuilder() : next_(std::make_shared<Snapshot>()), generation_(0), first_(true) {}

SnapshotBuilder::SnapshotBuilder(const Snapshot& current)
    : next_(std::make_shared<Snapshot>(current)), generation_(current.generation + 1), first_(false) {}

std::shared_ptr<const Snapshot> SnapshotBuilder::build() {
  if (first_) {
    bool any_map = false;
    for (const auto& binding : next_->ports) any_map = any_map || binding.has_map();
    next_->generation = any_map ? 1 : 0;
  } else {
    next_->generation = generation_;
  }
  next_->loaded_at_us = monotonic_us();
  return std::move(next_);
}

bool Bucket::vbucket_routing() const { return config->distribution() == vbucket::Distribution::vbucket; }

BackendServer backend_server(const vbucket::Server& config_server, bool tls) {
  BackendServer server;
  server.address = config_server.authority;
  server.host = config_server.host;
  server.port = tls && config_server.tls_port ? *config_server.tls_port : config_server.port;
  const std::string& host = config_server.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    sockaddr_in6 sin6{};
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &sin6.sin6_addr) == 1) {
      sin6.sin6_family = AF_INET6;
      sin6.sin6_port = htons(server.port);
      std::memcpy(&server.sockaddr, &sin6, sizeof sin6);
      server.sockaddr_len = sizeof sin6;
    }
    return server;
  }
  sockaddr_in sin{};
  if (inet_pton(AF_INET, host.c_str(), &sin.sin_addr) == 1) {
    sin.sin_family = AF_INET;
    sin.sin_port = htons(server.port);
    std::memcpy(&server.sockaddr, &sin, sizeof sin);
    server.sockaddr_len = sizeof sin;
  }
  return server;
}

std::shared_ptr<const Bucket> make_bucket(std::string name, std::shared_ptr<const vbucket::Config> config,
                                          protocol::Protocol downstream_protocol, BackendAuth backend_auth,
                                          std::optional<std::string> client_password) {
  auto bucket = std::make_shared<Bucket>();
  bucket->name = std::move(name);
  bucket->downstream_protocol = downstream_protocol;
  bucket->backend_auth = std::move(backend_auth);
  bucket->client_password = client_password ? std::move(*client_password) : config->password().value_or("");
  for (const auto& server : config->servers()) bucket->servers.push_back(backend_server(server, bucket->backend_auth.tls));
  bucket->config = std::move(config);
  return bucket;
}

}  // namespace moxi
