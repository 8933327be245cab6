// RequestRouter (request_router.h): local answers, admission (downstream_max
// and its wait queue), keyed requests (one op per server, multigets grouped
// per server), broadcasts, NOT_MY_VBUCKET re-routing (with GET_CLUSTER_CONFIG
// when a refusal carries no config), and completion.
#include "src/core/request_router.h"

#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>

#include "src/backend/server_group.h"
#include "src/protocol/stats_merge.h"
#include "src/routing/key_router.h"
#include "src/util/log.h"
#include "src/util/request_timer.h"
#include "src/util/timer.h"
#include "vbucket/config_loader.h"

namespace moxi {

using protocol::Op;
using protocol::Status;

RequestRouter::RequestRouter(RouterHost& host, event_base* base, const ProxySettings& settings, Metrics& metrics)
    : host_(host), settings_(settings), metrics_(metrics) {
  wait_timer_ = evtimer_new(base, &RequestRouter::wait_timer_cb, this);
  tmpfail_timer_ = evtimer_new(base, &RequestRouter::tmpfail_timer_cb, this);
  if (!wait_timer_ || !tmpfail_timer_) throw std::runtime_error("evtimer_new failed");
}

RequestRouter::~RequestRouter() {
  event_free(wait_timer_);
  event_free(tmpfail_timer_);
}

void RequestRouter::on_snapshot() {
  std::vector<const Bucket*> stale;
  for (const auto& [bucket, state] : buckets_)
    if (!in_snapshot(bucket)) stale.push_back(bucket);
  for (const Bucket* bucket : stale) drop_if_retired(bucket);
}

RequestRouter::BucketState& RequestRouter::state_for(const std::shared_ptr<const Bucket>& bucket) {
  if (BucketState* known = find_state(bucket.get())) return *known;
  BucketState state;
  state.bucket = bucket;
  state.admission = routing::Admission<Exchange*>(settings_.downstream_max);
  state.stats = &metrics_.bucket(bucket->name);
  if (bucket->vbucket_routing()) state.view = std::make_unique<vbucket::VBucketView>(bucket->config);
  state.groups.reserve(bucket->servers.size());
  for (const auto& server : bucket->servers)
    state.groups.push_back(&host_.server_group(server, bucket->downstream_protocol, bucket->backend_auth));
  // -Z down_policy, by the port the bucket is served on.
  if (!bucket->vbucket_routing()) {
    for (const auto& binding : host_.snapshot().ports)
      for (const auto& b : binding.buckets)
        if (b == bucket && settings_.down_policy.ejects(binding.port)) state.eject = true;
    if (state.eject)
      for (backend::ServerGroup* group : state.groups) group->set_ejectable();
  }
  return buckets_.emplace(bucket.get(), std::move(state)).first->second;
}

bool RequestRouter::in_snapshot(const Bucket* bucket) const {
  for (const auto& binding : host_.snapshot().ports)
    for (const auto& b : binding.buckets)
      if (b.get() == bucket) return true;
  return false;
}

void RequestRouter::drop_if_retired(const Bucket* bucket) {
  BucketState* state = find_state(bucket);
  if (!state || !state->admission.idle() || in_snapshot(bucket)) return;
  if (last_bucket_ == bucket) {
    last_bucket_ = nullptr;
    last_state_ = nullptr;
  }
  buckets_.erase(bucket);
}

void RequestRouter::dispatch(Exchange* ex, const std::shared_ptr<const Bucket>& bucket, NoBucket why) {
  protocol::Request& req = ex->request;
  req.prepare_results();
  if (req.op == Op::Invalid) {
    // A SET refused as too large carries its key: memcached unlinks the
    // old item then, so the refusal goes to the key's server as a delete.
    if ((req.limit == protocol::Limit::ValueSize || req.limit == protocol::Limit::Memory) && req.key_count() == 1 &&
        bucket) {
      req.op = Op::Delete;
      req.cas = 0;
      req.unlink_after_refusal = true;
    } else {
      answer_locally(ex);
      return;
    }
  } else if (protocol::answered_by_proxy(req)) {
    answer_locally(ex);
    return;
  }
  if (!bucket) {
    if (why == NoBucket::Unauthorized) {
      // The original's null bucket: nothing of any bucket is reached.
      metrics_.inc(Metric::null_bucket_requests_total);
      for (auto& r : req.results) r.server_error(Status::AuthError, "unauthorized, null bucket");
    } else {
      for (auto& r : req.results) r.server_error(Status::TemporaryFailure, "proxy no cluster map loaded yet");
    }
    finish(ex);
    return;
  }
  if (req.op == Op::Passthrough && !bucket->vbucket_routing()) {
    // Opcodes of Couchbase data nodes go to vBucket buckets only: memcached
    // drops the connection on an unknown keyed opcode, which would fail
    // every request sharing it. A client is told what memcached documents.
    req.op = Op::Invalid;
    req.error_status = Status::UnknownCommand;  // binary clients
    req.error_class = protocol::ErrorClass::Error;  // ascii getl/unl: memcached's ERROR
    req.keys.clear();
    answer_locally(ex);
    return;
  }
  if (const std::string_view needs = protocol::meta_needs_meta_backend(req.meta, bucket->downstream_protocol);
      !needs.empty()) {
    // A meta flag the bucket's backend protocol cannot express: refused by
    // name rather than silently answered without its semantics.
    std::string text = needs.size() == 1 ? "meta flag '" + std::string(needs) + "'" : "meta command " + std::string(needs);
    req.make_invalid(protocol::ErrorClass::ClientError, text + " needs a meta backend");
    req.prepare_results();
    answer_locally(ex);
    return;
  }
  BucketState& state = state_for(bucket);
  if (!state.admission.try_admit()) {
    // Over downstream_max: it waits for a slot. It counts as outstanding so
    // nobody recycles it while it waits.
    state.admission.queue(ex, host_.now_ms());
    ex->outstanding = 1;
    if (settings_.wait_queue_timeout_ms > 0 && !evtimer_pending(wait_timer_, nullptr))
      arm_timer_ms(wait_timer_, settings_.wait_queue_timeout_ms);
    return;
  }
  route(ex, *bucket, state);
}

void RequestRouter::route(Exchange* ex, const Bucket& bucket, BucketState& state) {
  ex->admitted_to = &bucket;
  if (ex->request.op == Op::Flush || ex->request.op == Op::Stats) {
    dispatch_broadcast(ex, state);
  } else {
    dispatch_keys(ex, bucket, state);
  }
}

void RequestRouter::wait_timer_cb(evutil_socket_t, short, void* arg) { static_cast<RequestRouter*>(arg)->expire_waiters(); }

void RequestRouter::expire_waiters() {
  const uint64_t now = host_.now_ms();
  const uint64_t timeout = settings_.wait_queue_timeout_ms;
  std::vector<Exchange*> expired;
  std::optional<uint64_t> next;  // queue time of the oldest waiter left
  for (auto& [bucket, state] : buckets_) {
    const auto oldest = state.admission.expire(now, timeout, [&](Exchange* ex) { expired.push_back(ex); });
    if (oldest && (!next || *oldest < *next)) next = oldest;
  }
  // Finished outside the loop: finishing may drop a retired bucket's state.
  for (Exchange* ex : expired) {
    metrics_.inc(Metric::wait_queue_timeouts_total);
    for (auto& r : ex->request.results) r.server_error(Status::Busy, "proxy wait queue timeout");
    ex->outstanding = 0;
    finish(ex);
  }
  // The oldest waiter left is not due (the loop took those that were).
  if (next) arm_timer_ms(wait_timer_, request_timer_step(*next, timeout, now).wait_ms);
}

void RequestRouter::answer_locally(Exchange* ex) {
  protocol::Request& req = ex->request;
  if (req.op == Op::Version) req.results[0].message = settings_.version;
  if (req.op == Op::Sasl || req.op == Op::Stats) {
    host_.answer_by_worker(ex);
    return;
  }
  finish(ex);
}

void RequestRouter::dispatch_keys(Exchange* ex, const Bucket& bucket, BucketState& state) {
  protocol::Request& req = ex->request;
  const auto& groups = state.groups;
  const routing::KeyRouter router = router_for(bucket, state);
  if (req.key_count() == 1) {
    // The common case, without the per-server scratch list.
    routing::plan_keys(
        router, groups.size(), req,
        [&](int server, uint32_t key) {
          backend::PendingOp* op = new_op(ex);
          op->server_index = server;
          op->op.key_indexes.push_back(key);
          ex->outstanding = 1;
          op->sent_at_ms = host_.now_ms();
          groups[static_cast<size_t>(server)]->submit(op);
        },
        [&](uint32_t key) {
          req.results[key].server_error(Status::InternalError, "proxy no server for key");
          finish(ex);
        });
    return;
  }
  metrics_.inc(Metric::multiget_keys_total, req.key_count());
  scratch_ops_.assign(groups.size(), nullptr);
  uint32_t nops = 0;
  routing::plan_keys(
      router, groups.size(), req,
      [&](int server, uint32_t key) {
        backend::PendingOp*& op = scratch_ops_[static_cast<size_t>(server)];
        if (!op) {
          op = new_op(ex);
          op->server_index = server;
          ++nops;
        }
        op->op.key_indexes.push_back(key);
      },
      [&](uint32_t key) { req.results[key].server_error(Status::InternalError, "proxy no server for key"); });
  // Count every op before sending any: a send that fails at once completes
  // its op synchronously, and the exchange must not finish early.
  ex->outstanding = nops;
  if (nops == 0) {
    finish(ex);
    return;
  }
  // A synchronous failure can finish this exchange and admit a waiter, which
  // routes through here again: submit from a list of our own.
  std::vector<backend::PendingOp*> ops;
  ops.swap(scratch_ops_);
  for (size_t s = 0; s < ops.size(); ++s) {
    if (backend::PendingOp* op = ops[s]) {
      op->sent_at_ms = host_.now_ms();
      groups[s]->submit(op);
    }
  }
  if (scratch_ops_.capacity() < ops.capacity()) scratch_ops_.swap(ops);  // keep the capacity
}

routing::KeyRouter RequestRouter::router_for(const Bucket& bucket, BucketState& state) {
  if (state.eject && state.eject_epoch != eject_epoch_) {
    // A server left or rejoined the ring since: the ring of the others,
    // exactly what libmemcached computes for them.
    state.eject_epoch = eject_epoch_;
    std::vector<bool> ejected;
    for (const backend::ServerGroup* group : state.groups) ejected.push_back(group->ejected());
    state.live = routing::build_live_ring(*bucket.config, ejected);
    if (!state.live.error.empty())
      log::error("bucket " + bucket.name + ": ring without the ejected servers: " + state.live.error);
  }
  return routing::KeyRouter(*bucket.config, state.view.get(), &state.live);
}

void RequestRouter::dispatch_broadcast(Exchange* ex, BucketState& state) {
  const auto& groups = state.groups;
  ex->outstanding = static_cast<uint32_t>(groups.size());
  if (groups.empty()) {
    finish(ex);
    return;
  }
  // Each server answers into its own slot; finish() combines them in server order.
  ex->broadcast_servers = static_cast<uint32_t>(groups.size());
  ex->request.results.resize(groups.size());
  for (size_t s = 0; s < groups.size(); ++s) {
    backend::PendingOp* op = new_op(ex);
    op->op.slot = static_cast<uint32_t>(s);
    op->server_index = static_cast<int>(s);
    op->sent_at_ms = host_.now_ms();
    groups[s]->submit(op);
  }
}

bool RequestRouter::retry_not_my_vbucket(backend::PendingOp* op) {
  Exchange* ex = op->exchange;
  protocol::Request& req = ex->request;
  // A replica that does not hold the vBucket says nothing of its active
  // server: read_from_replica takes those keys.
  if (op->op.replica) return false;
  bool any = false;
  for (uint32_t k : op->op.key_indexes)
    if (req.results[k].status == Status::NotMyVbucket) any = true;
  if (!any) return false;  // the usual case: decided before any lookup
  const auto* bucket = static_cast<const Bucket*>(ex->admitted_to);
  BucketState* found = bucket ? find_state(bucket) : nullptr;
  if (!found || !found->view) return false;
  BucketState& state = *found;
  const uint32_t bound = settings_.nmv_max_retries != 0 ? settings_.nmv_max_retries
                                                         : 2 * static_cast<uint32_t>(bucket->servers.size());
  if (ex->nmv_retries >= bound) return false;
  ++ex->nmv_retries;
  // Learn the move once per vBucket, then send each refused key where the
  // view now points; keys answered normally keep their results.
  scratch_ops_.assign(state.groups.size(), nullptr);
  std::vector<backend::PendingOp*> fresh;
  bool without_config = false;
  for (uint32_t k : op->op.key_indexes) {
    if (req.results[k].status != Status::NotMyVbucket) continue;
    metrics_.inc(Metric::not_my_vbucket_total);
    const int vb = req.vbuckets[k];
    // A data node's refusal carries its config (a newer one names the
    // owner), or nothing (a node that dedupes its maps): then the last
    // config a node sent routes, and this node is asked for its own.
    const std::string& body = req.results[k].message;
    if (body.starts_with('{')) {
      learn_config(state, op->server_index, body, "NOT_MY_VBUCKET");
    } else {
      without_config = true;
    }
    const int next = routing::nmv_next_server(*state.view, master_from_node_config(state, op->server_index, vb),
                                              op->server_index, vb, state.groups.size());
    if (next < 0) continue;  // stays NOT_MY_VBUCKET
    add_resend(ex, k, next, false, fresh);
  }
  // Asked before the re-sends go, which do not wait for its answer (a
  // fetch that fails at once only marks its server in the state).
  if (without_config) fetch_cluster_config(state, op->server_index);
  return send_resends(ex, state, fresh);
}

void RequestRouter::add_resend(Exchange* ex, uint32_t key, int server, bool replica, std::vector<backend::PendingOp*>& fresh) {
  backend::PendingOp*& retry = scratch_ops_[static_cast<size_t>(server)];
  if (!retry) {
    retry = new_op(ex);
    retry->op.replica = replica;
    retry->server_index = server;
    retry->sent_at_ms = host_.now_ms();
    fresh.push_back(retry);
  }
  retry->op.key_indexes.push_back(key);
}

bool RequestRouter::send_resends(Exchange* ex, BucketState& state, const std::vector<backend::PendingOp*>& fresh) {
  if (fresh.empty()) return false;
  // Counted before any is sent: one that fails at once completes at once.
  ex->outstanding += static_cast<uint32_t>(fresh.size());
  for (backend::PendingOp* retry : fresh) state.groups[static_cast<size_t>(retry->server_index)]->submit(retry);
  return true;
}

bool RequestRouter::read_from_replica(backend::PendingOp* op) {
  Exchange* ex = op->exchange;
  protocol::Request& req = ex->request;
  if (!settings_.replica_reads || req.op != Op::Get) return false;
  // Failed at the proxy (down, timeout, closed), or not held by a replica.
  auto for_a_replica = [&](const protocol::Result& r) {
    return r.error_class == protocol::ErrorClass::ServerError || (op->op.replica && r.status == Status::NotMyVbucket);
  };
  const auto* bucket = static_cast<const Bucket*>(ex->admitted_to);
  BucketState* state = bucket ? find_state(bucket) : nullptr;
  if (!state || !state->view) return false;
  scratch_ops_.assign(state->groups.size(), nullptr);
  std::vector<backend::PendingOp*> fresh;
  for (uint32_t k : op->op.key_indexes) {
    if (!for_a_replica(req.results[k])) continue;
    const int next = routing::next_replica(*bucket->config, req.vbuckets[k], op->server_index, op->op.replica,
                                           [&](int s) { return static_cast<size_t>(s) >= state->groups.size() ||
                                                               state->groups[static_cast<size_t>(s)]->down(); });
    if (next < 0) continue;  // keeps the failure
    metrics_.inc(Metric::replica_reads_total);
    add_resend(ex, k, next, true, fresh);
  }
  return send_resends(ex, *state, fresh);
}

bool RequestRouter::learn_config(BucketState& state, int from, const std::string& body, std::string_view how) {
  // Once per body: a rebalance makes every refusal carry the same one.
  if (state.node_config_body == body) return state.node_config_parsed;
  const Bucket& bucket = *state.bucket;
  const BackendServer& sender = bucket.servers[static_cast<size_t>(from)];
  state.node_config_body = body;
  state.node_config_parsed = false;
  state.node_config.reset();
  vbucket::LoadOptions options;
  options.parse.origin_host = sender.host;
  options.parse.network = settings_.config_network;
  auto parsed = vbucket::load_config(body, options);
  if (!parsed) {
    log::warning(std::string(how) + " from " + sender.address + " for bucket " + bucket.name +
                 " carries a config that does not parse: " + parsed.error());
    return false;
  }
  state.node_config_parsed = true;
  const auto order = vbucket::order_of(parsed.value()->revision(), bucket.config->revision());
  if (order != vbucket::RevisionOrder::Newer || parsed.value()->distribution() != vbucket::Distribution::vbucket)
    return true;
  // To the follower of the port that serves this very bucket (another
  // port may serve another cluster's bucket of the same name).
  const Snapshot& snapshot = host_.snapshot();
  for (size_t p = 0; p < snapshot.ports.size(); ++p)
    for (const auto& served : snapshot.ports[p].buckets)
      if (served.get() == &bucket)
        host_.offer_config({p, bucket.name, body, sender.host, std::string(how) + " from " + sender.address});
  // Routing by it needs the same vBuckets; another count waits for the swap.
  if (parsed.value()->num_vbuckets() == bucket.config->num_vbuckets()) state.node_config = std::move(parsed).value();
  return true;
}

int RequestRouter::master_from_node_config(BucketState& state, int refused_by, int vb) {
  if (!state.node_config) return -1;
  const Bucket& bucket = *state.bucket;
  const int master = state.node_config->master(vb);
  if (master < 0) return -1;
  const std::string& owner = state.node_config->servers()[static_cast<size_t>(master)].authority;
  for (size_t s = 0; s < bucket.servers.size(); ++s) {
    if (bucket.servers[s].address != owner || static_cast<int>(s) == refused_by) continue;
    state.view->learn_master(vb, static_cast<int>(s));
    return static_cast<int>(s);
  }
  return -1;  // a server the bucket does not have yet: the swap brings it
}

void RequestRouter::fetch_cluster_config(BucketState& state, int server) {
  const auto index = static_cast<size_t>(server);
  backend::ServerGroup& group = *state.groups[index];
  if (state.config_fetch != 0 || group.protocol() != protocol::Protocol::Binary || group.down()) return;
  if (index < state.no_config_from.size() && state.no_config_from[index]) return;
  metrics_.inc(Metric::cluster_config_fetches_total);
  // A request of nobody's, like a health probe; finish() hands its answer
  // to on_config_fetched, then recycles it.
  Exchange* ex = exchanges_.get();
  ex->config_fetch = true;
  ex->fetch_for = state.bucket.get();
  ex->fetch_id = ++config_fetches_;
  ex->request.protocol = protocol::Protocol::Binary;
  ex->request.op = Op::ClusterConfig;
  ex->request.prepare_results();
  ex->outstanding = 1;
  backend::PendingOp* op = new_op(ex);
  op->server_index = server;
  op->sent_at_ms = host_.now_ms();
  // Noted before it is sent: a send that fails at once finishes it at once.
  state.config_fetch = ex->fetch_id;
  state.config_fetch_server = server;
  group.submit_internal(op);
}

void RequestRouter::on_config_fetched(const Exchange& ex) {
  BucketState* state = find_state(static_cast<const Bucket*>(ex.fetch_for));
  // Gone with its map (drop_if_retired), or another state at that address.
  if (!state || state->config_fetch != ex.fetch_id) return;
  const int server = state->config_fetch_server;
  state->config_fetch = 0;
  state->config_fetch_server = -1;
  const protocol::Result& r = ex.request.results[0];
  if (r.status == Status::Success && r.error_class == protocol::ErrorClass::None && !r.message.empty() &&
      learn_config(*state, server, r.message, "GET_CLUSTER_CONFIG"))
    return;
  // UNKNOWN_COMMAND (memcached), NOT_SUPPORTED, KEY_ENOENT (no config yet),
  // EACCESS, no answer, or no config in it: later refusals of this map
  // are re-routed by the view alone rather than asking again and again.
  state->no_config_from.resize(state->groups.size());
  state->no_config_from[static_cast<size_t>(server)] = true;
  if (log::enabled(log::Level::Debug)) {
    char status[8];
    std::snprintf(status, sizeof status, "0x%02x", static_cast<unsigned>(r.status));
    log::debug("backend " + state->bucket->servers[static_cast<size_t>(server)].address + ": no config for bucket " +
               state->bucket->name + " from GET_CLUSTER_CONFIG (status " + status +
               (r.message.empty() ? "" : ", " + r.message) + "); not asked again until the next map");
  }
}

bool RequestRouter::retry_temporary_failure(backend::PendingOp* op) {
  Exchange* ex = op->exchange;
  protocol::Request& req = ex->request;
  if (ex->tmpfail_retries >= kTemporaryFailureRetries) return false;
  const auto* bucket = static_cast<const Bucket*>(ex->admitted_to);
  if (!bucket || !bucket->vbucket_routing()) return false;
  backend::PendingOp* retry = new_op(ex);
  retry->op.replica = op->op.replica;
  retry->server_index = op->server_index;
  for (uint32_t k : op->op.key_indexes) {
    const protocol::Result& r = req.results[k];
    // The server's own answer; the proxy's errors are not retried here.
    if (r.status == Status::TemporaryFailure && r.error_class == protocol::ErrorClass::None)
      retry->op.key_indexes.push_back(k);
  }
  if (retry->op.key_indexes.empty()) {
    ops_.put(retry);
    return false;
  }
  metrics_.inc(Metric::temporary_failure_retries_total, retry->op.key_indexes.size());
  const uint64_t due = host_.now_ms() + (kTemporaryFailureFirstDelayMs << ex->tmpfail_retries);
  ++ex->tmpfail_retries;
  ++ex->outstanding;
  tmpfail_due_.emplace(due, retry);
  if (tmpfail_due_.begin()->second == retry) arm_timer_ms(tmpfail_timer_, due - host_.now_ms());
  return true;
}

void RequestRouter::tmpfail_timer_cb(evutil_socket_t, short, void* arg) { static_cast<RequestRouter*>(arg)->send_due_retries(); }

void RequestRouter::send_due_retries() {
  const uint64_t now = host_.now_ms();
  std::vector<backend::PendingOp*> due;
  while (!tmpfail_due_.empty() && tmpfail_due_.begin()->first <= now) {
    due.push_back(tmpfail_due_.begin()->second);
    tmpfail_due_.erase(tmpfail_due_.begin());
  }
  if (!tmpfail_due_.empty()) arm_timer_ms(tmpfail_timer_, tmpfail_due_.begin()->first - now);
  for (backend::PendingOp* retry : due) {
    // The exchange holds its bucket's slot, so the state is there.
    BucketState& state = *find_state(static_cast<const Bucket*>(retry->exchange->admitted_to));
    retry->sent_at_ms = now;
    state.groups[static_cast<size_t>(retry->server_index)]->submit(retry);
  }
}

backend::PendingOp* RequestRouter::new_op(Exchange* ex) {
  backend::PendingOp* op = ops_.get();
  op->exchange = ex;
  op->client_id = ex->client_id;
  op->op.request = &ex->request;
  return op;
}

backend::PendingOp* RequestRouter::new_probe(protocol::Protocol protocol) {
  // A request of nobody's: finish() recycles it (Exchange::internal).
  Exchange* ex = exchanges_.get();
  ex->probe = true;
  ex->request.protocol = protocol;
  ex->request.op = protocol == protocol::Protocol::Binary ? Op::Noop : Op::Version;
  ex->request.prepare_results();
  ex->outstanding = 1;
  return new_op(ex);
}

void RequestRouter::on_op_done(backend::PendingOp* op) {
  Exchange* ex = op->exchange;
  protocol::Request& req = ex->request;
  // Both may re-send keys of one op: failed ones to a replica, refused
  // ones to the vBucket's new server (a replica op's refusals are
  // read_from_replica's alone).
  bool resent = false;
  if (!op->op.key_indexes.empty()) {
    // One look at the results first: the usual op needs none of these.
    bool failed = false, refused = false, busy = false;
    for (uint32_t k : op->op.key_indexes) {
      const protocol::Result& r = req.results[k];
      failed = failed || r.error_class == protocol::ErrorClass::ServerError;
      refused = refused || r.status == Status::NotMyVbucket;
      busy = busy || r.status == Status::TemporaryFailure;
    }
    if (failed || refused) resent = read_from_replica(op);
    if (refused) resent = retry_not_my_vbucket(op) || resent;
    if (busy) resent = retry_temporary_failure(op) || resent;
  }
  if (!op->op.key_indexes.empty() && !resent) {
    for (uint32_t k : op->op.key_indexes) {
      protocol::Result& r = req.results[k];
      if (r.status == Status::NotMyVbucket && (req.op == Op::Get || req.op == Op::Gat)) {
        // Out of re-routes: a read is a miss, as if the key were not there.
        r.reset();
        r.status = Status::KeyNotFound;
      }
      if (req.key_count() > 1 && r.error_class == protocol::ErrorClass::ServerError)
        metrics_.inc(Metric::multiget_key_misses_on_error_total);
    }
  }
  if (op->latency) op->latency->record(monotonic_us() - op->sent_us);
  ops_.put(op);
  if (--ex->outstanding == 0) finish(ex);
}

void RequestRouter::finish(Exchange* ex) {
  if (ex->request.unlink_after_refusal) ex->request.op = Op::Invalid;  // answer the refusal, not the delete
  if (ex->broadcast_servers > 0) {
    const size_t failures = protocol::combine_broadcast(ex->request, ex->broadcast_servers);
    if (failures > 0) metrics_.inc(Metric::broadcast_server_failures_total, failures);
    ex->broadcast_servers = 0;
  }
  if (ex->started_us != 0) metrics_.command(ex->request.op).record(monotonic_us() - ex->started_us);
  BucketMetrics* bucket_stats = nullptr;
  if (ex->admitted_to) {
    // Its slot frees: admit the oldest waiter of that bucket.
    const auto* bucket = static_cast<const Bucket*>(ex->admitted_to);
    ex->admitted_to = nullptr;
    BucketState& state = *find_state(bucket);  // held by this exchange: it exists
    bucket_stats = state.stats;  // outlives the state (drop_if_retired below)
    state.admission.release();
    // A waiter admitted here may fail at once and come back through finish():
    // the outer call keeps admitting, so the stack stays flat.
    if (!state.admitting) {
      state.admitting = true;
      while (const std::optional<Exchange*> next = state.admission.next_admitted()) route(*next, *bucket, state);
      state.admitting = false;
      if (state.admission.idle()) drop_if_retired(bucket);
    }
  }
  if (ex->config_fetch) on_config_fetched(*ex);
  if (ex->internal()) {
    exchanges_.put(ex);
    return;
  }
  // One pass over the results: the error count, and a get's hits and misses.
  const bool read = ex->request.op == Op::Get || ex->request.op == Op::Gat;
  bool failed = false;
  uint64_t hits = 0, misses = 0;
  for (const auto& r : ex->request.results) {
    failed = failed || r.error_class == protocol::ErrorClass::ServerError;
    hits += read && r.hit;
    misses += read && !r.hit && r.status == Status::KeyNotFound;
  }
  if (failed) metrics_.inc(Metric::request_errors_total);
  if (bucket_stats) {
    ++bucket_stats->requests;
    bucket_stats->errors += failed;
    bucket_stats->hits += hits;
    bucket_stats->misses += misses;
  }
  host_.deliver(ex);
}

}  // namespace moxi
