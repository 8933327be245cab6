// VBucketView: one worker's view of a shared Config, plus what the worker has
// learned from NOT_MY_VBUCKET replies since the config arrived.
//
// The Config itself is immutable and shared by every thread; libvbucket's
// vbucket_found_incorrect_master() mutated the map in place, which would be a
// data race here. So each worker keeps a VBucketView: until the first
// correction it reads the Config's rows directly; the first correction copies
// the map (copy-on-write, once) and later corrections edit that copy. A new
// Config means a new VBucketView: learned moves are dropped, since the new
// map is newer information.
//
// found_incorrect_master() follows libvbucket (cluster-config.md §3.2,
// nmv.tsv), except where libvbucket would loop:
//   * with a forward map, the first report for a vBucket replaces its row by
//     the forward row and returns the forward master, whatever `wrong_server`
//     says (as libvbucket: the forward map is the layout being moved to);
//   * otherwise, if `wrong_server` is the current master, the master moves
//     round-robin to (master + 1) % num_servers, which is returned;
//   * otherwise the caller had stale information: the current master is
//     returned and nothing changes.
// Differences: libvbucket re-applies the forward row on every report, so a
// forward master that also answers NOT_MY_VBUCKET is retried until the retry
// budget runs out. We use the forward row once per vBucket (and not at all if
// its master is the server that just refused), then go round-robin. Ketama
// configs have no vBuckets: found_incorrect_master() returns -1.
//
// Thread-safety: NOT thread-safe; one VBucketView per worker thread (it
// holds a shared_ptr, so the Config outlives every view of it).
// Errors: noexcept; out-of-range arguments give -1 and change nothing.
#pragma once

#include <string_view>
#include <vector>

#include "vbucket/config.h"

namespace moxi::vbucket {

class VBucketView {
 public:
  // Precondition: config is not null.
  explicit VBucketView(ConfigPtr config) noexcept;

  const Config& config() const noexcept { return *config_; }
  const ConfigPtr& config_ptr() const noexcept { return config_; }

  // As Config::master/replica/server_for_key, with learned moves applied.
  int master(int vbucket) const noexcept;
  int replica(int vbucket, int i) const noexcept;
  int server_for_key(std::string_view key) const noexcept;

  // A server answered NOT_MY_VBUCKET for `vbucket`; returns the server to
  // try next (see above), or -1.
  int found_incorrect_master(int vbucket, int wrong_server) noexcept;

  // A newer config (one a NOT_MY_VBUCKET reply carried) names `server` as
  // the vBucket's master: later lookups go there until a new Config. False
  // for an argument out of range (nothing changes).
  bool learn_master(int vbucket, int server) noexcept;

  // True once any correction has been applied.
  bool has_overrides() const noexcept { return !rows_.empty(); }

 private:
  std::span<const int> row(int vbucket) const noexcept;

  // Copies the map on the first correction; false if out of memory.
  bool make_writable() noexcept;

  ConfigPtr config_;
  std::vector<int> rows_;              // empty, or a full copy of the map (row-major)
  std::vector<bool> forward_applied_;  // per vBucket, sized with rows_
};

}  // namespace moxi::vbucket
