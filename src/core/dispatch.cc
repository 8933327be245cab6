// Request routing inside a worker: local answers, keyed requests (one op per
// server, multigets grouped per server), broadcasts, and completion.
#include <string>

#include "src/core/client_connection.h"
#include "src/core/worker.h"
#include "src/upstream/server_group.h"

namespace moxi {

using protocol::Op;
using protocol::Status;

const std::vector<ServerGroup*>& Worker::groups_for(const Bucket& bucket) {
  auto it = bucket_groups_.find(&bucket);
  if (it != bucket_groups_.end()) return it->second;
  std::vector<ServerGroup*> groups;
  groups.reserve(bucket.servers.size());
  for (const auto& server : bucket.servers) groups.push_back(&server_group(server, bucket.downstream_protocol));
  return bucket_groups_.emplace(&bucket, std::move(groups)).first->second;
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
    case Op::Flush:
    case Op::Stats:
      dispatch_broadcast(ex, bucket);
      return;
    default:
      dispatch_keys(ex, bucket);
      return;
  }
}

void Worker::answer_locally(Exchange* ex) {
  protocol::Request& req = ex->request;
  if (req.op == Op::Version) req.results[0].message = settings_.version;
  finish(ex);
}

void Worker::dispatch_keys(Exchange* ex, const Bucket& bucket) {
  protocol::Request& req = ex->request;
  const auto& groups = groups_for(bucket);
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

void Worker::dispatch_broadcast(Exchange* ex, const Bucket& bucket) {
  const auto& groups = groups_for(bucket);
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
