// Where a bucket sends keys, as pure code: no connections, no clock, no
// worker. A worker's request router (core/request_router.h) asks it and
// does the sending.
//
//   - KeyRouter: the key's server right now. vBucket buckets: CRC32 ->
//     vBucket -> the master in the worker's VBucketView (with what
//     NOT_MY_VBUCKET replies taught it); ketama buckets: the config's ring,
//     or under -Z down_policy=eject the ring of the servers not ejected.
//   - LiveRing: that ring, exactly what libmemcached computes for the
//     remaining servers.
//   - plan_keys: each key of a request to its server, for the caller to
//     batch into one op per server.
//   - next_replica / nmv_next_server: where a failed read or a refused key
//     goes next.
//
// Thread contract: pure functions and values; a KeyRouter borrows what it
// routes by and is used on the thread that owns those.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/protocol/request.h"
#include "vbucket/config.h"
#include "vbucket/ketama.h"
#include "vbucket/vbucket_view.h"

namespace moxi::routing {

// The ring of a ketama bucket's servers that are not ejected. Empty (no
// ring) when none is ejected or all are: the config's own ring routes then
// (requests to an ejected server fail at once, naming it).
struct LiveRing {
  std::unique_ptr<const vbucket::KetamaRing> ring;
  std::vector<int> servers;  // ring member i is bucket server servers[i]
  std::string error;         // the ring could not be built (logged by the caller)
};
LiveRing build_live_ring(const vbucket::Config& config, const std::vector<bool>& ejected);

class KeyRouter {
 public:
  // vBucket bucket: `view` routes (not null). Ketama: `live` when it has a
  // ring, else the config's ring.
  KeyRouter(const vbucket::Config& config, const vbucket::VBucketView* view, const LiveRing* live = nullptr)
      : config_(config), view_(view), live_(live && live->ring ? live : nullptr) {}

  bool vbucket_routing() const { return view_ != nullptr; }
  // The server index for `key` (-1: none); `vbucket` gets its vBucket
  // (vBucket buckets; untouched for ketama).
  int server_for(std::string_view key, uint16_t* vbucket) const;

 private:
  const vbucket::Config& config_;
  const vbucket::VBucketView* view_;
  const LiveRing* live_;
};

// A request's keys, each to its server: add(server, key index) for every
// key with one, in request order (duplicates kept), unrouted(key index) for
// a key with none (a vBucket without a master, or an index beyond
// `servers`, the bucket's server count). vBucket buckets also get every
// key's vBucket in request.vbuckets. The caller batches per server (one op
// each); a template, so that batching costs no allocation per request.
template <class Add, class Unrouted>
void plan_keys(const KeyRouter& router, size_t servers, protocol::Request& request, Add&& add, Unrouted&& unrouted) {
  const size_t nkeys = request.key_count();
  if (router.vbucket_routing()) request.vbuckets.assign(nkeys, 0);
  for (size_t k = 0; k < nkeys; ++k) {
    uint16_t vb = 0;
    const int server = router.server_for(request.key(k), &vb);
    if (router.vbucket_routing()) request.vbuckets[k] = vb;
    if (server < 0 || static_cast<size_t>(server) >= servers) {
      unrouted(static_cast<uint32_t>(k));
    } else {
      add(server, static_cast<uint32_t>(k));
    }
  }
}

// The replica of vBucket `vb` after `after` (the active server, or, with
// `after_is_replica`, the replica just tried) in map order that is not
// down and not `after`; -1 when there is none.
int next_replica(const vbucket::Config& config, int vb, int after, bool after_is_replica,
                 const std::function<bool(int server)>& down);

// Where a key refused with NOT_MY_VBUCKET by `refused_by` goes next:
// `node_master` (the owner a newer config from a data node names, or -1),
// else the view's master, and when that is the server that refused, the
// view's next guess (VBucketView::found_incorrect_master). -1: nowhere (the
// key keeps NOT_MY_VBUCKET).
int nmv_next_server(vbucket::VBucketView& view, int node_master, int refused_by, int vb, size_t servers);

}  // namespace moxi::routing
