// A PendingOp is the part of a client's request (its Exchange, which the
// core owns) sent to one backend connection: the backend op, and what the
// backend layer keeps about it while it is in flight.
//
// Thread contract: lives and dies on the thread that made it (its
// BackendHost's), recycled through the host's free list (a worker's:
// core/exchange.h Pool).
#pragma once

#include <cstdint>
#include <string_view>

#include "src/protocol/backend_codec.h"
#include "src/protocol/request.h"

namespace moxi {

struct Exchange;   // the client request it belongs to (core/exchange.h)
struct Histogram;  // stats/metrics.h

}  // namespace moxi

namespace moxi::backend {

struct PendingOp {
  protocol::BackendOp op;
  Exchange* exchange = nullptr;  // the host's: the backend layer never looks into it
  uint64_t client_id = 0;        // picks the client's connection to a server (ServerGroup), so its
                                 // requests are answered in the order it sent them
  bool internal = false;  // the proxy's own (ServerGroup::submit_internal): not the server's request
  uint64_t sent_at_ms = 0;  // worker clock when queued; drives downstream_timeout
  uint64_t bytes_before = 0;  // its connection's bytes received when it was queued (a stall sent none since)
  uint32_t attempts = 0;    // resends after a connection closed before any reply byte
  int server_index = -1;    // index in the exchange's bucket server list
  Histogram* latency = nullptr;  // -Z time_stats: its server's histogram (worker-owned), else null
  uint64_t sent_us = 0;          // monotonic_us() at submit, when `latency` is set
  void reset() {
    op.reset();
    exchange = nullptr;
    client_id = 0;
    internal = false;
    sent_at_ms = 0;
    bytes_before = 0;
    latency = nullptr;
    sent_us = 0;
    attempts = 0;
    server_index = -1;
  }
};

// Marks every key of `op` (or the keyless result) failed with a proxy error.
inline void fail_op(PendingOp& op, protocol::Status status, std::string_view message) {
  protocol::Request& req = *op.op.request;
  if (op.op.key_indexes.empty()) {
    if (req.results.size() <= op.op.slot) req.results.resize(op.op.slot + 1);
    req.results[op.op.slot].server_error(status, message);
    return;
  }
  for (uint32_t k : op.op.key_indexes) req.results[k].server_error(status, message);
}

}  // namespace moxi::backend
