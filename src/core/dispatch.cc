// Request routing inside a worker: local answers, keyed requests (one op per
// server, multigets grouped per server), broadcasts, and completion.
#include <string>

#include "src/core/client_connection.h"
#include "src/core/worker.h"
#include "src/upstream/server_group.h"

namespace moxi {

using protocol::Op;
using protocol::Status;

Worker::BucketState& Worker::state_for(const Bucket& bucket) {
  auto it = buckets_.find(&bucket);
  if (it != buckets_.end()) return it->second;
  BucketState state;
  state.groups.reserve(bucket.servers.size());
  for (const auto& server : bucket.servers) state.groups.push_back(&server_group(server, bucket.downstream_protocol));
  return buckets_.emplace(&bucket, std::move(state)).first->second;
}

void Worker::dispatch(Exchange* ex, const Bucket& bucket) {
  protocol::Request& req = ex->request;
  req.prepare_results();
  switch (req.op) {
    case Op::Invalid:
    case Op::Version:
    case Op::Verbosity:
    case Op::Noop:
    case Op::Quit:
      answer_locally(ex);
      return;
    default:
      break;
  }
  BucketState& state = state_for(bucket);
  const uint32_t max = settings_.downstream_max;
  if (max != 0 && (state.active >= max || !state.waiting.empty())) {
    // Over downstream_max: wait for a slot (first come, first served). It
    // counts as outstanding so nobody recycles it while it waits.
    ex->outstanding = 1;
    state.waiting.emplace_back(ex, now_ms());
    if (settings_.wait_queue_timeout_ms > 0 && !evtimer_pending(wait_timer_, nullptr)) {
      timeval tv{static_cast<time_t>(settings_.wait_queue_timeout_ms / 1000),
                 static_cast<suseconds_t>((settings_.wait_queue_timeout_ms % 1000) * 1000)};
      evtimer_add(wait_timer_, &tv);
    }
    return;
  }
  route(ex, bucket, state);
}

void Worker::route(Exchange* ex, const Bucket& bucket, BucketState& state) {
  ++state.active;
  ex->admitted_to = &bucket;
  if (ex->request.op == Op::Flush || ex->request.op == Op::Stats) {
    dispatch_broadcast(ex, state);
  } else {
    dispatch_keys(ex, bucket, state);
  }
}

void Worker::wait_timer_cb(evutil_socket_t, short, void* arg) { static_cast<Worker*>(arg)->expire_waiters(); }

void Worker::expire_waiters() {
  const uint64_t now = now_ms();
  const uint64_t timeout = settings_.wait_queue_timeout_ms;
  uint64_t next = 0;  // queue time of the oldest waiter left, 0 = none
  for (auto& [bucket, state] : buckets_) {
    while (!state.waiting.empty() && state.waiting.front().second + timeout <= now) {
      Exchange* ex = state.waiting.front().first;
      state.waiting.pop_front();
      ++counters_.wait_queue_timeouts;
      for (auto& r : ex->request.results) r.server_error(Status::Busy, "proxy wait queue timeout");
      ex->outstanding = 0;
      finish(ex);
    }
    if (!state.waiting.empty() && (next == 0 || state.waiting.front().second < next)) next = state.waiting.front().second;
  }
  if (next != 0) {
    uint64_t delay = next + timeout > now ? next + timeout - now : 1;
    timeval tv{static_cast<time_t>(delay / 1000), static_cast<suseconds_t>((delay % 1000) * 1000)};
    evtimer_add(wait_timer_, &tv);
  }
}

void Worker::answer_locally(Exchange* ex) {
  protocol::Request& req = ex->request;
  if (req.op == Op::Version) req.results[0].message = settings_.version;
  finish(ex);
}

void Worker::dispatch_keys(Exchange* ex, const Bucket& bucket, BucketState& state) {
  protocol::Request& req = ex->request;
  const auto& groups = state.groups;
  const vbucket::Config& config = *bucket.config;
  const bool by_vbucket = bucket.vbucket_routing();
  const size_t nkeys = req.key_count();
  if (by_vbucket) req.vbuckets.resize(nkeys);
  if (nkeys > 1) counters_.multiget_keys += nkeys;

  scratch_ops_.assign(groups.size(), nullptr);
  uint32_t nops = 0;
  for (size_t k = 0; k < nkeys; ++k) {
    std::string_view key = req.key(k);
    int server;
    if (by_vbucket) {
      int vb = config.vbucket_for_key(key);
      req.vbuckets[k] = static_cast<uint16_t>(vb);
      server = config.master(vb);
    } else {
      server = config.server_for_key(key);
    }
    if (server < 0 || static_cast<size_t>(server) >= groups.size()) {
      req.results[k].server_error(Status::InternalError, "proxy no server for key");
      continue;
    }
    PendingOp*& op = scratch_ops_[server];
    if (!op) {
      op = ops_.get();
      op->exchange = ex;
      op->op.request = &req;
      op->server_index = server;
      ++nops;
    }
    op->op.key_indexes.push_back(static_cast<uint32_t>(k));
  }
  // Count every op before sending any: a send that fails at once completes
  // its op synchronously, and the exchange must not finish early.
  ex->outstanding = nops;
  if (nops == 0) {
    finish(ex);
    return;
  }
  for (size_t s = 0; s < scratch_ops_.size(); ++s) {
    if (PendingOp* op = scratch_ops_[s]) {
      op->sent_at_ms = now_ms();
      groups[s]->submit(op);
    }
  }
}

void Worker::dispatch_broadcast(Exchange* ex, BucketState& state) {
  const auto& groups = state.groups;
  ex->outstanding = static_cast<uint32_t>(groups.size());
  if (groups.empty()) {
    finish(ex);
    return;
  }
  for (size_t s = 0; s < groups.size(); ++s) {
    PendingOp* op = ops_.get();
    op->exchange = ex;
    op->op.request = &ex->request;
    op->server_index = static_cast<int>(s);
    op->sent_at_ms = now_ms();
    groups[s]->submit(op);
  }
}

void Worker::on_op_done(PendingOp* op) {
  Exchange* ex = op->exchange;
  protocol::Request& req = ex->request;
  if (req.key_count() > 1) {
    for (uint32_t k : op->op.key_indexes)
      if (req.results[k].error_class == protocol::ErrorClass::ServerError) ++counters_.multiget_key_misses_on_error;
  }
  ops_.put(op);
  if (--ex->outstanding == 0) finish(ex);
}

void Worker::finish(Exchange* ex) {
  if (ex->admitted_to) {
    // Its slot frees: admit the oldest waiter of that bucket.
    const auto* bucket = static_cast<const Bucket*>(ex->admitted_to);
    ex->admitted_to = nullptr;
    BucketState& state = buckets_.at(bucket);
    --state.active;
    // A waiter admitted here may fail at once and come back through finish():
    // the outer call keeps admitting, so the stack stays flat.
    if (!state.admitting) {
      state.admitting = true;
      while (!state.waiting.empty() && state.active < settings_.downstream_max) {
        Exchange* next = state.waiting.front().first;
        state.waiting.pop_front();
        route(next, *bucket, state);
      }
      state.admitting = false;
    }
  }
  for (const auto& r : ex->request.results)
    if (r.error_class == protocol::ErrorClass::ServerError) {
      ++counters_.request_errors;
      break;
    }
  if (ex->client) {
    ex->client->on_exchange_complete();
  } else {
    exchanges_.put(ex);
  }
}

}  // namespace moxi
