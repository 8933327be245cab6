// ServerGroup: a thread's connections to one backend server (keyed by
// address, protocol and credentials, not by snapshot, so a config swap
// keeps them), with the server's health (server_health.h): while the server
// is down, requests fail at once with "SERVER_ERROR proxy downstream down
// HOST:PORT" instead of waiting on it, and a probe (binary NOOP, ascii
// version, on a connection that logs in like any other) is sent every
// probe interval until it answers.
//
// Thread contract: owned by one BackendHost (a worker), used only on its thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <event2/event.h>

#include "src/backend/pending_op.h"
#include "src/routing/snapshot.h"
#include "src/backend/resolver.h"
#include "src/backend/server_health.h"

namespace moxi {

class Metrics;
struct ServerMetrics;  // src/stats/metrics.h: counted in the host's Metrics
struct Histogram;

}  // namespace moxi

namespace moxi::backend {

class ServerConnection;
class BackendHost;
struct BackendSettings;

class ServerGroup {
 public:
  // Connections authenticate with `auth` (none when its user is empty).
  ServerGroup(BackendHost& host, BackendServer server, protocol::Protocol protocol, BackendAuth auth);
  ~ServerGroup();

  // Sends `op` on its client's connection to this server, opening it when
  // needed; fails it at once while the server is down.
  void submit(PendingOp* op);
  // Sends a request of the proxy's own (PendingOp::internal: a probe, a
  // config fetch) on the connection probes use; not counted as the server's
  // request. Unlike submit(), it is sent while the server is down too (a
  // probe must be): a caller that wants no answer from a down server checks
  // down() first.
  void submit_internal(PendingOp* op);

  const BackendServer& server() const { return server_; }
  // Where its connections connect: an IP literal, or a name resolved by the
  // host (resolver.h).
  BackendAddress& address() { return address_; }
  protocol::Protocol protocol() const { return protocol_; }
  const BackendAuth& auth() const { return auth_; }

  // Health signals, from the connections. A reply (or a login's answer)
  // shows the server process alive; a connect alone does not (a stopped
  // process's kernel still accepts).
  void on_replies() {
    if (health_.state() != Health::Healthy) on_reply_while_unhealthy();
  }
  // `why` is logged (a warning, rate-limited by text): "connect failed: Connection refused".
  void on_failure(std::string_view why, ServerHealth::Failure kind);
  // What another worker found about the same server (BackendHost::on_server_health):
  // it went down there (this group follows, without waiting a timeout of
  // its own), or answers again there (this group probes at once).
  void on_peer_down();
  void on_peer_recovery();
  bool down() const { return health_.refuses(); }
  // This server's counters in the host's Metrics (requests, errors, bytes).
  ServerMetrics& stats() { return *stats_; }
  // Fails `op` with a proxy error, counted against this server.
  void fail(PendingOp& op, protocol::Status status, std::string_view message);
  // down_policy=eject: out of its ketama ring, from going down until it is
  // healthy again (it must answer connect_max_errors probes in a row).
  bool ejected() const { return ejected_; }
  // A pool that ejects uses this server (set by the host; it stays set).
  void set_ejectable() {
    ejectable_ = true;
    note_ejection();
  }
  const ServerHealth& health() const { return health_; }
  // "proxy downstream auth failure HOST:PORT": a refused login, and the
  // requests failed fast while the server is down after it.
  std::string auth_error_text() const { return "proxy downstream auth failure " + server_.address; }
  // "proxy write to downstream 127.0.0.1:11211" and friends name the server.
  std::string error_text(const char* what) const { return std::string("proxy ") + what + " " + server_.address; }

  // The server left the config (or came back): a retiring group closes each
  // connection as soon as it has nothing outstanding.
  void set_retiring(bool retiring);
  bool retiring() const { return retiring_; }

 private:
  // A client's requests to one server always use the same connection
  // (client id modulo the slot count), so they are answered in the order
  // they were sent; clients spread over downstream_conn_max connections.
  ServerConnection* connection_for(uint64_t client_id);
  void on_reply_while_unhealthy();
  // Keeps ejected_ in step with the health; tells the host when it changed.
  void note_ejection();
  void arm_probe();
  void arm_probe_in(uint64_t delay_ms);
  void send_probe();
  static void probe_cb(evutil_socket_t, short, void* arg);

  BackendHost& host_;
  const BackendSettings& settings_;  // the host's, looked up once (the host outlives this)
  Metrics& metrics_;
  BackendServer server_;
  protocol::Protocol protocol_;
  BackendAuth auth_;
  BackendAddress address_;  // before connections_: they stop waiting on it when they go
  std::vector<std::unique_ptr<ServerConnection>> connections_;  // slots, created on first use
  ServerHealth health_;
  event* probe_timer_ = nullptr;
  bool last_failure_auth_ = false;  // the last failure was a refused login
  bool retiring_ = false;
  bool ejectable_ = false;
  bool ejected_ = false;
  ServerMetrics* stats_;  // this server's entry in the host's Metrics (stable: entries are never erased)
  Histogram* latency_;  // -Z time_stats: this server's entry in the host's Metrics; else null
};

}  // namespace moxi::backend
