// ServerGroup: a worker's connections to one backend server (keyed by
// address and protocol, not by snapshot, so a config swap keeps them), with
// the server's health: consecutive failures and a reconnect backoff during
// which requests fail fast instead of waiting on a dead server.
//
// Thread contract: owned by one worker, used only on its thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "src/core/exchange.h"
#include "src/routing/snapshot.h"

namespace moxi {

class ServerConnection;
class Worker;

class ServerGroup {
 public:
  // Connections authenticate with `auth` (none when its user is empty).
  ServerGroup(Worker& worker, BackendServer server, protocol::Protocol protocol, BackendAuth auth);
  ~ServerGroup();

  // Sends `op` on its client's connection to this server, opening it when
  // needed; fails it at once while the server is in backoff.
  void submit(PendingOp* op);

  const BackendServer& server() const { return server_; }
  protocol::Protocol protocol() const { return protocol_; }
  const BackendAuth& auth() const { return auth_; }
  Worker& worker() { return worker_; }

  // Health bookkeeping, called by the connections.
  void on_connected();
  // `why` is logged (a warning, rate-limited by text): "connect failed: Connection refused".
  void on_failure(std::string_view why);
  // A refused login: on_failure, and the requests failed fast in the
  // back-off after it get auth_error_text() too, not "write to downstream".
  void on_auth_failure(std::string_view why);
  // "proxy downstream auth failure HOST:PORT".
  std::string auth_error_text() const { return "proxy downstream auth failure " + server_.address; }
  bool in_backoff() const;
  // "proxy write to downstream 127.0.0.1" and friends name the host.
  std::string error_text(const char* what) const { return std::string("proxy ") + what + " " + server_.host; }

  // The server left the config (or came back): a retiring group closes each
  // connection as soon as it has nothing outstanding.
  void set_retiring(bool retiring);
  bool retiring() const { return retiring_; }

 private:
  // A client's requests to one server always use the same connection
  // (client id modulo the slot count), so they are answered in the order
  // they were sent; clients spread over downstream_conn_max connections.
  ServerConnection* connection_for(uint64_t client_id);

  Worker& worker_;
  BackendServer server_;
  protocol::Protocol protocol_;
  BackendAuth auth_;
  std::vector<std::unique_ptr<ServerConnection>> connections_;  // slots, created on first use
  uint32_t consecutive_failures_ = 0;
  bool last_failure_auth_ = false;  // the last failure was a refused login
  uint64_t retry_at_ms_ = 0;
  bool retiring_ = false;
  Histogram* latency_;  // -Z time_stats: this server's entry in the worker's Metrics; else null
};

}  // namespace moxi
