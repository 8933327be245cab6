// An Exchange is one client request in flight inside a worker: the decoded
// Request plus the bookkeeping needed to answer it in order. A PendingOp is
// the part of an exchange sent to one backend connection (backend/pending_op.h).
//
// Thread contract: both live and die on the worker thread that decoded the
// request. They are recycled through per-worker free lists (Pool), so steady
// traffic allocates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "src/protocol/backend_codec.h"
#include "src/protocol/request.h"
#include "src/backend/pending_op.h"

namespace moxi {

// Why a request has no bucket to go to (RequestRouter::dispatch).
enum class NoBucket : uint8_t {
  AwaitingMap,   // its port follows a URL whose first map has not arrived
  Unauthorized,  // the null bucket: its connection has no bucket
};

class ClientConnection;

struct Exchange {
  protocol::Request request;
  ClientConnection* client = nullptr;  // null once the client went away: the answer is dropped
  uint64_t client_id = 0;              // the client's worker-local id: picks its backend connections
  uint32_t outstanding = 0;            // PendingOps not answered yet
  uint32_t nmv_retries = 0;            // NOT_MY_VBUCKET re-routes used
  uint32_t tmpfail_retries = 0;        // temporary-failure retries used
  uint32_t broadcast_servers = 0;      // a broadcast (flush_all, stats): the servers it went to
  size_t held_bytes = 0;               // complete, waiting behind an earlier reply: its result bytes
  const void* admitted_to = nullptr;   // the bucket whose downstream_max slot it holds
  uint64_t started_us = 0;             // monotonic_us() when decoded: request_duration_seconds
  bool probe = false;                  // a health probe (server_group.h): no client, not a request
  // A GET_CLUSTER_CONFIG of the worker's own (RequestRouter::fetch_cluster_config):
  // no client, not a request. It names the bucket whose state sent it and
  // that state's fetch number, never the state itself: the state may be
  // gone when the reply comes (or be another one, made at the same address).
  bool config_fetch = false;
  const void* fetch_for = nullptr;  // the Bucket, as a key only (never dereferenced)
  uint64_t fetch_id = 0;
  void reset() {
    request.reset();
    client = nullptr;
    client_id = 0;
    outstanding = 0;
    nmv_retries = 0;
    tmpfail_retries = 0;
    broadcast_servers = 0;
    held_bytes = 0;
    admitted_to = nullptr;
    started_us = 0;
    probe = false;
    config_fetch = false;
    fetch_for = nullptr;
    fetch_id = 0;
  }
  bool complete() const { return outstanding == 0; }
  // The proxy's own request (a probe, a config fetch): not counted as the
  // server's requests or errors, recycled by the worker when answered.
  bool internal() const { return probe || config_fetch; }
};

// A free list of T (with a reset() method). Objects handed out stay owned by
// the pool's storage; callers give them back with put().
template <typename T>
class Pool {
 public:
  T* get() {
    if (free_.empty()) {
      all_.push_back(std::make_unique<T>());
      return all_.back().get();
    }
    T* t = free_.back();
    free_.pop_back();
    return t;
  }
  void put(T* t) {
    t->reset();
    free_.push_back(t);
  }
  size_t allocated() const { return all_.size(); }
  size_t in_use() const { return all_.size() - free_.size(); }

 private:
  std::vector<std::unique_ptr<T>> all_;
  std::vector<T*> free_;
};

}  // namespace moxi
