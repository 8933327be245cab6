#include "src/routing/snapshot.h"

#include <netdb.h>

#include <cstring>

namespace moxi {

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
                                          protocol::Protocol downstream_protocol) {
  auto bucket = std::make_shared<Bucket>();
  bucket->name = std::move(name);
  bucket->downstream_protocol = downstream_protocol;
  for (const auto& server : config->servers()) bucket->servers.push_back(resolve_backend(server));
  bucket->config = std::move(config);
  return bucket;
}

}  // namespace moxi
