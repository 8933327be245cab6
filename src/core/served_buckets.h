// The one place where a config document's buckets become the snapshot's:
// servers resolved, the downstream protocol chosen, the backend
// credentials and the start bucket by the rules of
// src/routing/bucket_access.h. Used by every source of maps (static
// config, SIGHUP reload, URL follower, --check-config).
//
// Thread: resolves names with getaddrinfo (may block on DNS): never on a worker.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "src/config/options.h"
#include "src/routing/bucket_access.h"
#include "src/routing/snapshot.h"
#include "vbucket/buckets_parse.h"

namespace moxi {

struct BucketRules {
  DownstreamProtocol downstream_protocol = DownstreamProtocol::Unset;
  AccessSettings access;
  vbucket::Network network = vbucket::Network::Default;  // -Z network: which addresses static terse configs name
  TlsPorts tls_ports;  // -Z downstream_tls
  // This port's buckets reach their servers with TLS (at their TLS ports
  // where the config names them): tls_ports for one port (for_port).
  bool tls = false;
  BucketRules for_port(int port) const {
    BucketRules rules = *this;
    rules.tls = tls_ports.includes(port);
    return rules;
  }
  bool operator==(const BucketRules&) const = default;
};
BucketRules bucket_rules(const Behaviors& behaviors);

struct ServedBuckets {
  std::vector<std::shared_ptr<const Bucket>> buckets;  // in document order
  std::shared_ptr<const Bucket> start;                 // where new connections start; null = the null bucket
};

// `document` must not be empty; `gateway`: it is of the {"buckets":[...]}
// form (bucket_access.h). A bucket that `previous` (the port's
// binding so far, if any) serves with the same name and text is kept as it
// is: workers keep what they learnt of it (NOT_MY_VBUCKET lessons).
ServedBuckets serve_buckets(const std::vector<vbucket::NamedConfig>& document, bool gateway, MapSource source,
                            const BucketRules& rules,
                            const PortBinding* previous = nullptr);

}  // namespace moxi
