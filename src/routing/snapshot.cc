#include "src/routing/snapshot.h"

#include <netdb.h>

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

BackendServer resolve_backend(const vbucket::Server& config_server) {
  BackendServer server;
  server.address = config_server.authority;
  server.host = config_server.host;
  server.port = config_server.port;
  std::string host = config_server.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(server.port).c_str(), &hints, &res) == 0 && res) {
    std::memcpy(&server.sockaddr, res->ai_addr, res->ai_addrlen);
    server.sockaddr_len = res->ai_addrlen;
    freeaddrinfo(res);
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
  for (const auto& server : config->servers()) bucket->servers.push_back(resolve_backend(server));
  bucket->config = std::move(config);
  return bucket;
}

}  // namespace moxi
