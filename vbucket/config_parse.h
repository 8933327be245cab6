// Parsing one bucket's cluster map from JSON: the bare vBucketServerMap, the
// REST bucket envelope (with nodes[]), memcached buckets (nodeLocator
// "ketama") and 2.5+ terse configs with $HOST placeholders
// (cluster-config.md §1.2-1.4).
//
// Compatibility with libvbucket (vbucket_config_parse2):
//   * Same results for every file of t/fixtures/parse.tsv, and the same
//     message texts ("Number of vBuckets must be a power of two > 0 and <=
//     65536", "Expected number <= 4 for numReplicas", ...), to which we add
//     the field path and the offending value:
//       "vBucketServerMap.vBucketMap[3][1]: Server ID must be >= -1 and <
//        num_servers (vBucket 3 names server 7; num_servers is 3)".
//   * A {"buckets":[...]} document fails here with libvbucket's
//     "Expected number <= 4 for numReplicas" (plus a hint); read it with
//     parse_buckets() (buckets_parse.h).
//   * Key lookup is case-insensitive (exact match preferred), as with cJSON.
// Deliberate differences (stricter, so a proxy never routes by a broken map):
//   * unknown nodeLocator is an error (libvbucket: empty config, rc 0);
//   * an empty vBucketMap is reported with the power-of-two message plus
//     "no vBuckets available; service maybe still initializing";
//   * more than 65536 vBuckets is an error (libvbucket states but never
//     checks the bound); note only vBuckets 0..32767 are reachable by key
//     because the hash keeps 15 bits (key_hash.h);
//   * numbers must be integral (1.0 is fine, 1.5 is not; libvbucket truncates);
//   * serverList entries must be "host:port" with a port 1..65535;
//   * wrong types of optional fields (name, saslPassword, nodes[].couchApiBase,
//     nodes[].thisNode, a non-object vBucketServerMap) are errors, not ignored;
//   * no 100-byte truncation of node names; IPv6 "[addr]:port" hostnames and
//     IPv6 origin hosts work (the origin is bracketed when substituted);
//   * $HOST with no origin host given is an error (libvbucket: "localhost");
//   * nodesExt (3.0+ terse configs) gives each server its TLS port and, with
//     Network::External, its alternate address (parse_options.h);
//   * memcached buckets: a vBucketServerMap.serverList, when present, is
//     preferred to nodes[] (moxi's rule), and keys are placed by
//     libmemcached's weighted ketama (moxi's rule) rather than libvbucket's
//     own continuum; the two agree except for servers on port 11211 and for
//     more than 24 servers (ketama.h). Node "status" is ignored, as in
//     libvbucket (moxi skipped unhealthy nodes; health is the proxy's job).
//
// Thread-safety: no shared state; call from any thread.
// Errors: never throws; a failed Result carries a non-empty message.
#pragma once

#include <string>
#include <string_view>

#include "vbucket/config.h"
#include "vbucket/parse_options.h"
#include "vbucket/result.h"

namespace moxi::vbucket {

// One bucket. options.origin_host replaces "$HOST" (the first one in each
// string): pass the host the config was fetched from ("localhost" gives what
// vbucket_config_parse() gives); without one, a config naming $HOST is an
// error. See parse_options.h, and document_parse.h for documents of any shape.
Result<ConfigPtr> parse_config(std::string_view json, const ParseOptions& options = {}) noexcept;

// The same, reading a file; errors start with "<path>: ".
Result<ConfigPtr> parse_config_file(const std::string& path, const ParseOptions& options = {}) noexcept;

}  // namespace moxi::vbucket
