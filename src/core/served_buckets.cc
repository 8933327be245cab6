#include "src/core/served_buckets.h"

namespace moxi {

BucketRules bucket_rules(const Behaviors& b) {
  BucketRules rules;
  rules.downstream_protocol = b.downstream_protocol;
  rules.access.backend_user = b.usr;
  rules.access.backend_password = b.pwd;
  rules.access.backend_bucket = b.bucket;
  rules.access.default_bucket_name = b.default_bucket_name;
  rules.access.client_passwords = b.client_passwords;
  rules.network = config_network(b);
  rules.tls_ports = downstream_tls_ports(b);
  return rules;
}

ServedBuckets serve_buckets(const std::vector<vbucket::NamedConfig>& document, bool gateway, MapSource source,
                            const BucketRules& rules,
                            const PortBinding* previous) {
  ServedBuckets served;
  for (const vbucket::NamedConfig& b : document) {
    BackendAuth auth = backend_auth_for(b.name, *b.config, gateway, source, rules.access);
    auth.tls = rules.tls;
    std::string client_password = client_password_for(b.name, *b.config, rules.access);
    if (const std::shared_ptr<const Bucket>* old = previous ? previous->find(b.name) : nullptr;
        old && (*old)->config->same_document(b.config->document()) && (*old)->backend_auth == auth &&
        (*old)->client_password == client_password) {
      served.buckets.push_back(*old);
      continue;
    }
    const bool vbucket = b.config->distribution() == vbucket::Distribution::vbucket;
    const DownstreamProtocol effective = effective_downstream_protocol(rules.downstream_protocol, vbucket);
    const protocol::Protocol downstream = effective == DownstreamProtocol::Binary ? protocol::Protocol::Binary
                                          : effective == DownstreamProtocol::Meta ? protocol::Protocol::Meta
                                                                                  : protocol::Protocol::Ascii;
    served.buckets.push_back(make_bucket(b.name, b.config, downstream, auth, std::move(client_password)));
  }
  served.start = start_bucket(served.buckets, gateway, rules.access);
  return served;
}

}  // namespace moxi
