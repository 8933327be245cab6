// BackendHost: what a thread's backend connections (ServerGroup,
// ServerConnection) need from the thread that owns them, and how they hand
// requests back. The backend layer knows nothing else of its owner: core's
// Worker implements it, and the backend tests a recording fake
// (t/core/backend_pool_test.cc), so a pool runs against a real server with
// no proxy around it.
//
// Thread contract: every call is made on the owner's thread, and the host
// outlives its groups and their connections.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "src/net/loop.h"
#include "src/protocol/request.h"
#include "src/stats/metrics.h"
#include "src/backend/backend_settings.h"
#include "src/backend/pending_op.h"
#include "src/util/tls.h"

namespace moxi::backend {

class Resolver;

class BackendHost {
 public:
  virtual ~BackendHost() = default;

  virtual net::Loop& loop() = 0;
  virtual const BackendSettings& backend_settings() const = 0;
  // The owner's millisecond clock (one reading per loop turn).
  virtual uint64_t now_ms() const = 0;
  virtual Resolver& resolver() = 0;
  // Where the backend counters go (backend_*_total, each server's entry).
  virtual Metrics& metrics() = 0;
  // The client context for -Z downstream_tls (null: TLS is not spoken).
  virtual std::shared_ptr<const tls::Context> backend_tls() const = 0;
  // Names the owner in logs ("worker 2").
  virtual std::string name() const = 0;

  // `op` is answered (its results filled) or failed: the host has it back.
  // Called once per submitted op, possibly from within submit().
  virtual void on_op_done(PendingOp* op) = 0;
  // A health probe of `protocol` (binary NOOP, ascii version): an op of the
  // host's own, answered through on_op_done like any other.
  virtual PendingOp* new_probe(protocol::Protocol protocol) = 0;
  // A group took the server at `address` down, or found it answering again.
  virtual void on_server_health(const std::string& address, bool down) = 0;
  // A group left its ketama ring or came back (down_policy=eject).
  virtual void on_ejection_changed() = 0;
};

}  // namespace moxi::backend
