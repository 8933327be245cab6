// RequestRouter: one worker's requests, from the decoded request to the
// reply handed back to its client connection. It answers what the proxy
// answers itself, admits the rest under -Z downstream_max
// (routing/admission.h), places keys on servers (routing/key_router.h) and
// sends one op per server to the worker's server groups, re-routes what the
// backends send back (NOT_MY_VBUCKET, a read for a replica, a temporary
// failure), and finishes the exchange: its counters, its bucket's slot, then
// the client connection that asked.
//
// The Worker owns one and is its RouterHost: the router reaches the worker
// only through that interface (the snapshot served, the server groups, the
// clock, the answers only the worker has, the config offers, the delivery
// of finished exchanges), and the worker hands it every request (dispatch)
// and every op a backend answered (on_op_done).
//
// Thread contract: everything runs on the owning worker's thread. The router
// owns its per-bucket states, its exchange and op pools and its timers; the
// host outlives it.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "src/backend/pending_op.h"
#include "src/core/config_offer.h"
#include "src/core/exchange.h"
#include "src/core/settings.h"
#include "src/routing/admission.h"
#include "src/routing/key_router.h"
#include "src/routing/snapshot.h"
#include "src/stats/metrics.h"
#include "vbucket/vbucket_view.h"

namespace moxi {

namespace backend {
class ServerGroup;
}  // namespace backend

// What a RequestRouter needs of the worker that owns it.
class RouterHost {
 public:
  virtual ~RouterHost() = default;
  // The worker's millisecond clock (one reading per loop turn).
  virtual uint64_t now_ms() const = 0;
  // The snapshot the worker serves now.
  virtual const Snapshot& snapshot() const = 0;
  // The worker's group of connections to `server` in `protocol` as `auth`.
  virtual backend::ServerGroup& server_group(const BackendServer& server, protocol::Protocol protocol,
                                    const BackendAuth& auth) = 0;
  // What the worker answers itself: "stats proxy" (summed over its peers)
  // and SASL (the client connection's login). It calls
  // RequestRouter::finish once the answer is in.
  virtual void answer_by_worker(Exchange* exchange) = 0;
  // A finished exchange of a client: to its client connection, which gives
  // it back to exchanges() once written; recycled when the client is gone.
  virtual void deliver(Exchange* exchange) = 0;
  // A config a data node sent, newer than the one its bucket is served by.
  virtual void offer_config(ConfigOffer offer) = 0;
};

class RequestRouter {
 public:
  // Timers go on `base`; `settings` and `metrics` are the worker's and
  // outlive the router.
  RequestRouter(RouterHost& host, event_base* base, const ProxySettings& settings, Metrics& metrics);
  ~RequestRouter();
  RequestRouter(const RequestRouter&) = delete;
  RequestRouter& operator=(const RequestRouter&) = delete;

  // Routes a freshly decoded request (called by ClientConnection). With a
  // null bucket, `why` says what the client is told.
  void dispatch(Exchange* exchange, const std::shared_ptr<const Bucket>& bucket, NoBucket why = NoBucket::AwaitingMap);
  // A backend answered (or failed) `op`; finishes its exchange when it was the last.
  void on_op_done(backend::PendingOp* op);
  // Completes `exchange`: frees its bucket's slot (admitting the next
  // waiter), counts it and hands it to its client (or recycles it).
  void finish(Exchange* exchange);
  // A health probe of `protocol`: an exchange of nobody's, recycled by finish().
  backend::PendingOp* new_probe(protocol::Protocol protocol);
  // A server left its ketama ring or came back (down_policy=eject): the
  // ketama buckets rebuild their live rings before their next request.
  void on_ejection_changed() { ++eject_epoch_; }
  // The host serves a new snapshot: the states of buckets that left it go
  // once their last request finished.
  void on_snapshot();
  Pool<Exchange>& exchanges() { return exchanges_; }

 private:
  // What the router keeps per bucket: its server groups by server index, and
  // the downstream_max admission (requests at the backends, and the queue of
  // those waiting for a slot, each with the time it was queued).
  struct BucketState {
    std::shared_ptr<const Bucket> bucket;  // kept alive while requests use it
    std::unique_ptr<vbucket::VBucketView> view;  // vBucket buckets: NOT_MY_VBUCKET lessons, until the next map
    std::vector<backend::ServerGroup*> groups;
    routing::Admission<Exchange*> admission;  // -Z downstream_max (routing/admission.h)
    bool admitting = false;  // finish() is admitting waiters further up the stack
    // down_policy=eject, ketama: the ring of the servers not ejected
    // (routing/key_router.h); no ring when none is ejected, or all are.
    routing::LiveRing live;
    uint64_t eject_epoch = 0;  // the router's eject_epoch_ `live` was built for
    BucketMetrics* stats = nullptr;  // its entry in the worker's metrics, by name
    bool eject = false;  // -Z down_policy ejects down servers from this ketama bucket's ring
    // vBucket buckets: the last config a data node sent (a NOT_MY_VBUCKET
    // body or a GET_CLUSTER_CONFIG reply: learn_config), whether it parsed,
    // and what it parsed to when it is newer than the bucket's and has its
    // vBucket count (else null).
    std::string node_config_body;
    bool node_config_parsed = false;
    vbucket::ConfigPtr node_config;
    // GET_CLUSTER_CONFIG after NOT_MY_VBUCKET replies without a config
    // (fetch_cluster_config): the fetch in flight (its number, 0 = none) and
    // the server it asked; and, by server index, the servers that answered
    // one without a config (or failed it): not asked again until the next map.
    uint64_t config_fetch = 0;
    int config_fetch_server = -1;
    std::vector<bool> no_config_from;
  };
  BucketState& state_for(const std::shared_ptr<const Bucket>& bucket);
  // The state of `bucket`, or null. Every request looks its bucket up two or
  // three times: the last bucket found is remembered (one port, one bucket is
  // the usual case), so the hash table is consulted only when it changes.
  BucketState* find_state(const Bucket* bucket) {
    if (bucket == last_bucket_) return last_state_;
    auto it = buckets_.find(bucket);
    if (it == buckets_.end()) return nullptr;
    last_bucket_ = bucket;
    last_state_ = &it->second;
    return last_state_;
  }
  // Forgets the state of a bucket that left the snapshot once nothing uses it.
  void drop_if_retired(const Bucket* bucket);
  bool in_snapshot(const Bucket* bucket) const;
  // A backend op of `exchange` (its request; its client's connection affinity).
  backend::PendingOp* new_op(Exchange* exchange);
  // Re-sends the keys of `op` that a server refused with NOT_MY_VBUCKET to
  // the server the last config a data node sent names (learn_config), else
  // to the one the vBucket view names next; false when the bound is spent.
  // A refusal without a config makes the router ask that server for it
  // (fetch_cluster_config); the refused keys do not wait for the answer.
  bool retry_not_my_vbucket(backend::PendingOp* op);
  // A config data node `from` of `state`'s bucket sent: `body`, the body of
  // a NOT_MY_VBUCKET reply or a GET_CLUSTER_CONFIG reply (`how` names which,
  // for the log and the offer), "$HOST" meaning that server's host. Parsed
  // once per body into node_config; a newer one is offered to the host
  // (RouterHost::offer_config). False when the body does not parse.
  bool learn_config(BucketState& state, int from, const std::string& body, std::string_view how);
  // The server the last config learned (node_config) names as vBucket `vb`'s
  // master, learned into the view; -1 when there is none, or it names
  // `refused_by` or no server of the bucket.
  int master_from_node_config(BucketState& state, int refused_by, int vb);
  // After a NOT_MY_VBUCKET without a config from server `server` of
  // `state`'s bucket: asks that server for its config (GET_CLUSTER_CONFIG,
  // as libcouchbase does) on its group's connections, unless a fetch of this
  // state is in flight, the server answered one without a config since this
  // map, it is down, or it is no binary backend.
  void fetch_cluster_config(BucketState& state, int server);
  // A fetch `ex` finished (finish): its config goes where a NOT_MY_VBUCKET
  // body goes (learn_config); nothing when its state is gone.
  void on_config_fetched(const Exchange& ex);
  // vBucket buckets: the keys of `op` a data node answered with a temporary
  // failure (warm-up, memory over the mutation threshold, a takeover) go to
  // the same server again after a back-off of 10 ms, doubling, at most
  // kTemporaryFailureRetries times per request; then the failure stands
  // ("SERVER_ERROR temporary failure"). False when nothing was re-sent.
  bool retry_temporary_failure(backend::PendingOp* op);
  static constexpr uint32_t kTemporaryFailureRetries = 5;
  static constexpr uint64_t kTemporaryFailureFirstDelayMs = 10;
  // -Z replica_reads: re-sends the keys of a vBucket get that its server
  // failed (a proxy error: down, timeout, closed) or, on a replica, did not
  // hold (NOT_MY_VBUCKET) to the next replica in map order that is not
  // down, with GET_REPLICA; false when no key went anywhere.
  bool read_from_replica(backend::PendingOp* op);
  // The re-sends of one exchange's keys, one op per server (scratch_ops_
  // indexes them; `fresh` lists them in creation order): add_resend puts key
  // `key` in the op for `server`, send_resends counts and submits them all
  // (false when there is none).
  void add_resend(Exchange* ex, uint32_t key, int server, bool replica, std::vector<backend::PendingOp*>& fresh);
  bool send_resends(Exchange* ex, BucketState& state, const std::vector<backend::PendingOp*>& fresh);
  // Sends an admitted exchange to its servers.
  void route(Exchange* exchange, const Bucket& bucket, BucketState& state);
  void dispatch_keys(Exchange* exchange, const Bucket& bucket, BucketState& state);
  // How the bucket places keys now (rebuilding its live ring first when a
  // server was ejected or came back since).
  routing::KeyRouter router_for(const Bucket& bucket, BucketState& state);
  void dispatch_broadcast(Exchange* exchange, BucketState& state);
  void answer_locally(Exchange* exchange);
  // Fails waiters older than wait_queue_timeout; re-arms for the next one.
  void expire_waiters();
  static void wait_timer_cb(evutil_socket_t, short, void* arg);
  static void tmpfail_timer_cb(evutil_socket_t, short, void* arg);
  // Sends the temporary-failure retries that are due.
  void send_due_retries();

  RouterHost& host_;
  const ProxySettings& settings_;
  Metrics& metrics_;
  std::unordered_map<const Bucket*, BucketState> buckets_;  // node-based: a state's address is stable
  const Bucket* last_bucket_ = nullptr;  // find_state's memo; cleared when that state is erased
  BucketState* last_state_ = nullptr;
  uint64_t eject_epoch_ = 1;  // bumped by on_ejection_changed
  uint64_t config_fetches_ = 0;  // numbers fetch_cluster_config gives its fetches
  event* wait_timer_ = nullptr;
  // TMPFAIL retries waiting for their back-off, by the time they are due
  // (retry_temporary_failure); tmpfail_timer_ fires for the first.
  std::multimap<uint64_t, backend::PendingOp*> tmpfail_due_;
  event* tmpfail_timer_ = nullptr;
  std::vector<backend::PendingOp*> scratch_ops_;  // dispatch_keys: one slot per server
  Pool<Exchange> exchanges_;
  Pool<backend::PendingOp> ops_;
};

}  // namespace moxi
