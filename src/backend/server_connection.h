// One TCP connection from a thread (its BackendHost) to a backend server,
// pipelined: requests are encoded into the output buffer as they come and
// leave with the loop's end-of-turn flush; replies are matched to requests
// in order.
//
// Bringing it up: resolve the server's name when the cached address will
// not do (resolver.h; within connect_timeout), connect, then (binary
// backends, when -Z usr is set) the login of backend_login.h: SASL, HELLO
// (agent moxi/VERSION) and SELECT_BUCKET, each reply within auth_timeout.
// With XERROR granted, a refused SELECT_BUCKET is an answer rather than a
// closed connection. With -Z downstream_tls the TLS handshake (the
// snapshot's backend context; SNI and the certificate's name check use the
// server's host) comes before the login, within tls_handshake_timeout; a
// failed one fails the server like a refused connect. Requests submitted meanwhile wait, encoded, in
// before_ready_, and follow the handshake on the wire. A refused login
// fails the queued requests with "SERVER_ERROR proxy downstream auth
// failure HOST:PORT", is counted (backend_auth_failures_total) and logged
// with the reason, and puts the server in back-off like a failed connect.
//
// Thread contract: owned by its ServerGroup, used only on its host's thread.
#pragma once

#include <deque>
#include <memory>

#include "src/backend/pending_op.h"
#include "src/net/stream.h"
#include "src/protocol/backend_codec.h"
#include "src/protocol/binary_format.h"
#include "src/routing/snapshot.h"
#include "src/backend/resolver.h"
#include "src/backend/backend_login.h"

namespace moxi {

class Metrics;

}  // namespace moxi

namespace moxi::backend {

class ServerGroup;
class BackendHost;
struct BackendSettings;

class ServerConnection final : public net::StreamConnection, private BackendAddress::Waiter {
 public:
  ServerConnection(BackendHost& host, ServerGroup& group);
  ~ServerConnection() override;

  // Encodes `op` and queues it; starts a connect when not connected.
  void submit(PendingOp* op);
  size_t outstanding() const { return waiting_.size(); }
  bool connected() const { return state_ == State::Connected; }
  bool closed() const { return state_ == State::Closed; }
  // Fails every queued request with `message` and closes the socket.
  void fail_all(protocol::Status status, const std::string& message);
  // Closes the socket; only when nothing is outstanding.
  void close_idle();

 private:
  BackendHost& host_;  // whose loop it runs on (first: other members' initializers use it)
  // The host's, looked up once (read on every request; the host outlives this).
  const BackendSettings& settings_;
  Metrics& metrics_;
  // The largest value a reply may carry (-I, else Couchbase's 20 MiB, the
  // most any bucket takes): a longer one resets the connection.
  uint32_t value_limit() const;
  // The codec for the group's backend protocol (a new one per connect: codecs keep stream state).
  std::unique_ptr<protocol::BackendCodec> make_codec() const;
  enum class State { Closed, Resolving, Connecting, Authenticating, Connected };

  // Resolves when needed, then connect_now; Closed again when either failed at once.
  void start_connect();
  void connect_now();
  void on_address(const std::string& error) override;
  void resolve_failed(const std::string& why);
  void on_connect_result(int err);
  void on_readable() override;
  void on_io_error(int err) override;
  void on_tls_established() override;
  // Connected (and TLS established where it is spoken): the login, or ready.
  void after_connect();
  size_t extra_buffered_bytes() const override { return before_ready_.size(); }
  // Handshake (see the file comment).
  bool needs_auth() const;
  void begin_auth();
  void send_login_frames(const std::string& frames);
  void logged_in();
  // Consumes the handshake replies in in_; false when the connection failed.
  bool read_auth_replies();
  void auth_failed(const std::string& why);
  // Connected: the requests that waited follow on the wire.
  void become_ready();
  void on_timer();
  // Closes the socket and forgets buffered bytes; queued ops are the caller's.
  void drop_socket();
  void arm_timer(uint64_t delay_ms);
  // The socket is gone; retries what may safely be retried, fails the rest.
  void connection_lost(const char* why);

  static void connect_cb(evutil_socket_t fd, short, void* arg);
  static void timer_cb(evutil_socket_t, short, void* arg);

  ServerGroup& group_;
  std::unique_ptr<protocol::BackendCodec> codec_;
  std::deque<PendingOp*> waiting_;  // in send order; the head is answered next
  State state_ = State::Closed;
  event* connect_ev_ = nullptr;
  event* timer_ev_ = nullptr;
  uint64_t connect_started_ms_ = 0;
  uint64_t bytes_received_ = 0;  // since the connection was ready; 0 means a reused socket may have died idle
  ByteChain before_ready_;       // requests encoded before the connection was ready
  std::unique_ptr<BackendLogin> login_;  // during the handshake only
  bool extended_errors_ = false;  // the server granted HELLO XERROR on this connection
};

}  // namespace moxi::backend
