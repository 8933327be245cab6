// Comparing two configs: what a proxy must rebuild when a new map arrives.
//
// compare() follows libvbucket's vbucket_compare() exactly (diff.tsv):
//   servers_added    servers of `to` (in `to` order) whose "host:port" is not
//                    in `from`; servers_removed the other way round
//   sequence_changed the server lists differ in length or at any position,
//                    or user or password differ (absent vs "" counts)
//   n_vb_changes     vBuckets whose master changed (replicas ignored) when the
//                    vBucket counts are equal, else -1; 0 for ketama configs
// A proxy can keep its server connections when !sequence_changed and only
// swap in the new map.
//
// `identical` goes further than libvbucket: true when nothing a proxy uses
// differs (distribution, servers with weights and node data, replicas,
// vBucketMap, vBucketMapForward, user, password), e.g. when a new REST
// document differs only in statistics. Then the new config changes nothing.
// For byte-identical documents, Config::same_document() is cheaper still.
//
// Thread-safety: reads two immutable configs; call from any thread.
// Errors: noexcept; running out of memory terminates (as elsewhere in moxi).
#pragma once

#include <string>
#include <vector>

#include "vbucket/config.h"

namespace moxi::vbucket {

struct ConfigDiff {
  std::vector<std::string> servers_added;
  std::vector<std::string> servers_removed;
  bool sequence_changed = false;
  int n_vb_changes = 0;
  bool identical = false;
};

ConfigDiff compare(const Config& from, const Config& to) noexcept;

// True if the two configs route and authenticate identically (the
// `identical` field of compare(), without building the server lists).
bool equivalent(const Config& a, const Config& b) noexcept;

}  // namespace moxi::vbucket
