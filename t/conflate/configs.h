// Config documents for the conflate tests: small, valid, and told apart by a
// "rev" number, as ns_server's terse configs are.
#pragma once

#include <string>
#include <vector>

#ifndef MOXI_SRCDIR
#error "MOXI_SRCDIR must name the source tree"
#endif

namespace moxi::conflate::test {

// One vBucket bucket (shape B, compact like ns_server's output) with two
// vBuckets on one server.
inline std::string bucket_json(const std::string& name, int rev, const std::string& server = "127.0.0.1:11210") {
  return "{\"rev\":" + std::to_string(rev) + ",\"name\":\"" + name +
         "\",\"nodeLocator\":\"vbucket\",\"vBucketServerMap\":{\"hashAlgorithm\":\"CRC\",\"numReplicas\":0,"
         "\"serverList\":[\"" + server + "\"],\"vBucketMap\":[[0],[0]]}}";
}

// The same without a name: the bucket is called "default".
inline std::string unnamed_json(int rev) {
  return "{\"rev\":" + std::to_string(rev) +
         ",\"hashAlgorithm\":\"CRC\",\"numReplicas\":0,\"serverList\":[\"127.0.0.1:11210\"],\"vBucketMap\":[[0]]}";
}

// moxi's multi-bucket document.
inline std::string buckets_json(const std::vector<std::string>& names, int rev) {
  std::string out = "{\"buckets\":[";
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + bucket_json(names[i], rev);
  return out + "]}";
}

// A 2.5 terse config from a single-node cluster: "$HOST" in serverList and nodes.
inline std::string terse_25_path() { return std::string(MOXI_SRCDIR) + "/t/fixtures/libcouchbase-confdata/terse_25.json"; }
// A terse config with nodesExt and alternateAddresses (t/fixtures/README.md).
inline std::string alternate_addresses_path() {
  return std::string(MOXI_SRCDIR) + "/t/fixtures/terse/alternate_addresses.json";
}

}  // namespace moxi::conflate::test
