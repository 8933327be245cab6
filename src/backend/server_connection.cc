#include "src/backend/server_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "src/util/log.h"
#include "src/backend/backend_host.h"
#include "src/util/request_timer.h"
#include "src/backend/server_group.h"
#include "src/util/timer.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

namespace moxi::backend {

using protocol::Status;

ServerConnection::ServerConnection(BackendHost& host, ServerGroup& group)
    : net::StreamConnection(host.loop(), -1),
      host_(host),
      settings_(host.backend_settings()),
      metrics_(host.metrics()),
      group_(group),
      codec_(make_codec()) {
  timer_ev_ = evtimer_new(host.loop().base(), &ServerConnection::timer_cb, this);
  sent_counter_ = &group.stats().bytes_sent;
}

std::unique_ptr<protocol::BackendCodec> ServerConnection::make_codec() const {
  switch (group_.protocol()) {
    case protocol::Protocol::Binary: return protocol::make_binary_backend_codec(value_limit());
    case protocol::Protocol::Meta: return protocol::make_meta_backend_codec(value_limit());
    case protocol::Protocol::Ascii: break;
  }
  return protocol::make_ascii_backend_codec(value_limit());
}

uint32_t ServerConnection::value_limit() const { return item_size_for(settings_, true); }

ServerConnection::~ServerConnection() {
  group_.address().forget(this);
  if (connect_ev_) event_free(connect_ev_);
  event_free(timer_ev_);
}

void ServerConnection::submit(PendingOp* op) {
  if (state_ == State::Closed) start_connect();
  if (state_ == State::Closed) {
    // The connect failed at once; start_connect already failed what was queued.
    waiting_.push_back(op);
    fail_all(Status::InternalError, group_.error_text("write to downstream"));
    return;
  }
  const bool was_idle = waiting_.empty();
  op->bytes_before = bytes_received_;
  // Until the connection is ready (connected, and authenticated where it
  // must be), requests wait in before_ready_: the handshake goes first.
  codec_->encode(op->op, state_ == State::Connected ? out_ : before_ready_);
  waiting_.push_back(op);
  if (state_ == State::Connected) mark_dirty();
  if (was_idle && settings_.downstream_timeout_ms > 0 && state_ == State::Connected)
    arm_timer(request_timer_step(op->sent_at_ms, settings_.downstream_timeout_ms, host_.now_ms()).wait_ms);
}

void ServerConnection::start_connect() {
  metrics_.inc(Metric::backend_connects_total);
  bytes_received_ = 0;
  in_.clear();
  out_.clear();
  before_ready_.clear();
  codec_ = make_codec();
  std::string error;
  switch (group_.address().lookup(this, host_.now_ms(), error)) {
    case BackendAddress::Lookup::Ready:
      connect_now();
      return;
    case BackendAddress::Lookup::Failed:
      resolve_failed(error);  // stays Closed: the caller fails what is queued
      return;
    case BackendAddress::Lookup::Pending:
      // Requests queue in before_ready_ as during a connect; the wait for
      // the name counts against connect_timeout like a connect does.
      state_ = State::Resolving;
      if (settings_.connect_timeout_ms > 0) arm_timer(settings_.connect_timeout_ms);
      return;
  }
}

void ServerConnection::on_address(const std::string& error) {
  if (state_ != State::Resolving) return;
  evtimer_del(timer_ev_);
  state_ = State::Closed;
  if (error.empty()) connect_now();
  else resolve_failed(error);
  if (state_ == State::Closed) fail_all(Status::InternalError, group_.error_text("write to downstream"));
}

void ServerConnection::resolve_failed(const std::string& why) {
  metrics_.inc(Metric::backend_resolve_failures_total);
  metrics_.inc(Metric::backend_connect_errors_total);
  // A connect failure of this server alone: the name may come back, and the
  // next connect (a request's, or the probe's when it is down) asks again.
  group_.on_failure(why, ServerHealth::Failure::Connect);
}

void ServerConnection::connect_now() {
  const BackendAddress& address = group_.address();
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    metrics_.inc(Metric::backend_connect_errors_total);
    group_.on_failure(std::string("cannot create a socket: ") + std::strerror(errno), ServerHealth::Failure::Connect);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // As the original: an idle pooled connection to a host that vanished
  // (power loss, a dropped NAT entry) is found dead by the kernel rather
  // than by the first request that waits downstream_timeout on it.
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  int rc = ::connect(fd, address.address(), address.address_len());
  if (rc < 0 && errno != EINPROGRESS) {
    const int err = errno;
    ::close(fd);
    metrics_.inc(Metric::backend_connect_errors_total);
    group_.on_failure(std::string("connect failed: ") + std::strerror(err), ServerHealth::Failure::Connect);
    return;
  }
  attach(fd);
  state_ = State::Connecting;
  connect_started_ms_ = host_.now_ms();
  if (connect_ev_) event_free(connect_ev_);
  connect_ev_ = event_new(host_.loop().base(), fd, EV_WRITE, &ServerConnection::connect_cb, this);
  event_add(connect_ev_, nullptr);
  if (settings_.connect_timeout_ms > 0) arm_timer(settings_.connect_timeout_ms);
}

void ServerConnection::connect_cb(evutil_socket_t fd, short, void* arg) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  static_cast<ServerConnection*>(arg)->on_connect_result(err);
}

void ServerConnection::on_connect_result(int err) {
  if (err != 0) {
    metrics_.inc(Metric::backend_connect_errors_total);
    group_.on_failure(std::string("connect failed: ") + std::strerror(err), ServerHealth::Failure::Connect);
    fail_all(Status::InternalError, group_.error_text("write to downstream"));
    return;
  }
  if (log::enabled(log::Level::Debug))
    log::debug("backend " + group_.server().address + ": connected (" + host_.name() + ")");
  set_reading(true);
  if (group_.auth().tls) {
    // The handshake first (bounded by its own timer); requests wait in
    // before_ready_ meanwhile, and the login follows it.
    evtimer_del(timer_ev_);
    start_tls(std::make_unique<tls::Session>(host_.backend_tls(), fd(), group_.server().host),
              settings_.tls_handshake_timeout_ms);
    mark_dirty();  // the flush at the end of this turn sends the ClientHello
    return;
  }
  after_connect();
}

void ServerConnection::after_connect() {
  if (needs_auth()) {
    begin_auth();
    return;
  }
  become_ready();  // connected, but not yet answered: no health signal (server_group.h)
}

void ServerConnection::on_tls_established() {
  metrics_.inc(Metric::backend_tls_handshakes_total);
  if (log::enabled(log::Level::Debug))
    log::debug("backend " + group_.server().address + ": " + std::string(tls_session()->version()) + " established");
  after_connect();
}

void ServerConnection::become_ready() {
  state_ = State::Connected;
  extended_errors_ = login_ && login_->extended_errors();
  login_.reset();
  codec_->set_extended_errors(extended_errors_);
  bytes_received_ = 0;
  out_.append_chain(before_ready_);
  if (!waiting_.empty()) {
    mark_dirty();
    if (settings_.downstream_timeout_ms > 0)
      arm_timer(request_timer_step(waiting_.front()->sent_at_ms, settings_.downstream_timeout_ms,
                                   host_.now_ms())
                    .wait_ms);
  } else {
    evtimer_del(timer_ev_);
  }
}

bool ServerConnection::needs_auth() const {
  return group_.protocol() == protocol::Protocol::Binary && !group_.auth().user.empty();
}

void ServerConnection::begin_auth() {
  state_ = State::Authenticating;
  const BackendAuth& auth = group_.auth();
  login_ = std::make_unique<BackendLogin>(BackendLogin::Params{
      auth.user, auth.password, auth.select_bucket, std::string("moxi/") + PACKAGE_VERSION,
      auth.user == settings_.backend_user ? "check -Z usr and pwd" : "check the bucket's saslPassword"});
  std::string frames;
  login_->start(frames);
  send_login_frames(frames);
}

void ServerConnection::send_login_frames(const std::string& frames) {
  if (frames.empty()) return;
  out_.append(frames);
  mark_dirty();
  if (settings_.auth_timeout_ms > 0) arm_timer(settings_.auth_timeout_ms);
}

void ServerConnection::logged_in() {
  if (log::enabled(log::Level::Debug))
    log::debug("backend " + group_.server().address + ": authenticated as " + group_.auth().user + " (" +
               login_->mechanism() + (login_->extended_errors() ? ", extended errors" : "") + ")");
  group_.on_replies();  // the server answered the login
  become_ready();
}

bool ServerConnection::read_auth_replies() {
  namespace binary = protocol::binary;
  while (state_ == State::Authenticating && in_.size() >= binary::kHeaderSize) {
    uint8_t raw[binary::kHeaderSize];
    in_.copy_out(raw, sizeof raw);
    const binary::Header h = binary::decode_header(raw);
    if (h.magic != binary::kResponseMagic || h.body_length > (1u << 20)) {
      auth_failed("the server's reply to " + std::string(login_->step_name()) + " is not a binary memcached response");
      return false;
    }
    if (in_.size() < binary::kHeaderSize + h.body_length) return true;
    in_.drain(binary::kHeaderSize);
    std::string body(h.body_length, '\0');
    in_.remove(body.data(), body.size());
    const size_t skip = std::min<size_t>(body.size(), size_t{h.extras_length} + h.key_length);
    std::string frames;
    switch (login_->on_reply(h.vbucket_or_status, std::string_view(body).substr(skip), frames)) {
      case BackendLogin::Progress::Continue:
        send_login_frames(frames);
        break;
      case BackendLogin::Progress::Failed:
        auth_failed(login_->error());
        return false;
      case BackendLogin::Progress::Done:
        logged_in();
        break;
    }
  }
  account();
  return true;
}

void ServerConnection::auth_failed(const std::string& why) {
  metrics_.inc(Metric::backend_auth_failures_total);
  group_.on_failure("SASL authentication failed: " + why, ServerHealth::Failure::Auth);
  fail_all(Status::InternalError, group_.auth_error_text());
}

void ServerConnection::arm_timer(uint64_t delay_ms) {
  arm_timer_ms(timer_ev_, delay_ms);
}

void ServerConnection::timer_cb(evutil_socket_t, short, void* arg) { static_cast<ServerConnection*>(arg)->on_timer(); }

void ServerConnection::on_timer() {
  const uint64_t now = host_.now_ms();
  if (state_ == State::Resolving) {
    // A slow resolver is not a stalled server: a plain connect failure.
    metrics_.inc(Metric::backend_resolve_failures_total);
    metrics_.inc(Metric::backend_connect_errors_total);
    group_.on_failure("resolve failed: " + group_.address().name() + ": no answer within connect_timeout (" +
                          std::to_string(settings_.connect_timeout_ms) + " ms)",
                      ServerHealth::Failure::Connect);
    fail_all(Status::Busy, group_.error_text("downstream timeout"));
    return;
  }
  if (state_ == State::Connecting) {
    metrics_.inc(Metric::backend_connect_errors_total);
    group_.on_failure("connect timed out (connect_timeout " + std::to_string(settings_.connect_timeout_ms) +
                          " ms)",
                      ServerHealth::Failure::Timeout);
    fail_all(Status::Busy, group_.error_text("downstream timeout"));
    return;
  }
  if (state_ == State::Authenticating) {
    auth_failed("no reply within auth_timeout (" + std::to_string(settings_.auth_timeout_ms) + " ms)");
    return;
  }
  if (state_ != State::Connected || waiting_.empty()) return;
  const uint64_t timeout = settings_.downstream_timeout_ms;
  RequestTimerStep step = request_timer_step(waiting_.front()->sent_at_ms, timeout, now);
  if (!step.expired) {
    arm_timer(step.wait_ms);
    return;
  }
  // A busy worker may reach this timer before the bytes that answer the
  // request: read what waits in the kernel first.
  on_readable();
  if (state_ != State::Connected || waiting_.empty()) return;
  step = request_timer_step(waiting_.front()->sent_at_ms, timeout, now);
  if (!step.expired) {
    arm_timer(step.wait_ms);
    return;
  }
  // The oldest request waited too long. Replies still to come would be out
  // of step with the queue, so the connection goes with it.
  metrics_.inc(Metric::backend_timeouts_total);
  // Silent since the request was queued: stalled, and down at once. Still
  // sending (the replies before it): it queues behind big replies, a
  // failure like any other (a busy server is not ejected for it).
  const bool sending = bytes_received_ != waiting_.front()->bytes_before;
  group_.on_failure("no reply within downstream_timeout (" + std::to_string(timeout) + " ms)" +
                        (sending ? ", though the server is sending: requests queue behind big replies" : ""),
                    sending ? ServerHealth::Failure::Slow : ServerHealth::Failure::Timeout);
  fail_all(Status::Busy, group_.error_text("downstream timeout"));
}

void ServerConnection::on_readable() {
  int n = read_some();
  if (n == -2) return;
  if (n <= 0) {
    on_io_error(n == 0 ? 0 : errno);
    return;
  }
  bytes_received_ += static_cast<uint64_t>(n);
  group_.stats().bytes_received += static_cast<uint64_t>(n);
  if (state_ == State::Authenticating) {
    if (!read_auth_replies()) return;  // the connection failed: in_ is gone
    if (state_ != State::Connected) {
      release_read_slab();  // a reply half read
      return;
    }
  }
  bool answered = false;
  while (!waiting_.empty()) {
    PendingOp* op = waiting_.front();
    protocol::BackendDecode r = codec_->decode(op->op, in_);
    if (r == protocol::BackendDecode::NeedMore) break;
    if (r == protocol::BackendDecode::Desync) {
      metrics_.inc(Metric::backend_desyncs_total);
      group_.on_failure("a reply that is not the protocol's: connection reset", ServerHealth::Failure::Garbage);
      fail_all(Status::InternalError, group_.error_text("downstream protocol error"));
      return;
    }
    waiting_.pop_front();
    host_.on_op_done(op);
    answered = true;
  }
  if (answered) group_.on_replies();
  release_read_slab();
  // The replies left in_; their clients count them when they flush, at the
  // end of this loop turn, so nothing is counted twice.
  account();
  if (waiting_.empty() && in_.size() > 0) {
    // Bytes nobody asked for: the stream can no longer be trusted.
    metrics_.inc(Metric::backend_desyncs_total);
    group_.on_failure("bytes nobody asked for: connection reset", ServerHealth::Failure::Garbage);
    fail_all(Status::InternalError, group_.error_text("downstream protocol error"));
    return;
  }
  if (waiting_.empty() && group_.retiring()) {
    // The server left the map: this connection was only finishing its queue.
    close_idle();
    return;
  }
  if (!waiting_.empty() && settings_.downstream_timeout_ms > 0) {
    // Progress was made: the timer now guards the new oldest request.
    arm_timer(request_timer_step(waiting_.front()->sent_at_ms, settings_.downstream_timeout_ms, host_.now_ms())
                  .wait_ms);
  }
}

void ServerConnection::on_io_error(int) {
  if (const tls::Session* session = tls_session(); session && session->handshaking()) {
    // A wrong certificate, name or protocol fails this server alone, as a
    // refused connect does: logged with the reason, counted, backed off.
    metrics_.inc(Metric::backend_tls_failures_total);
    metrics_.inc(Metric::backend_connect_errors_total);
    group_.on_failure(session->error().empty() ? std::string("TLS handshake failed") : session->error(),
                      ServerHealth::Failure::Connect);
    fail_all(Status::InternalError, group_.error_text("write to downstream"));
    return;
  }
  if (state_ == State::Authenticating) {
    // Couchbase answers a refused SELECT_BUCKET (EACCESS) by closing the
    // connection when, as here, XERROR was not negotiated.
    if (login_->step() == BackendLogin::Step::SelectBucket) {
      auth_failed("the server closed the connection at SELECT_BUCKET of \"" + group_.auth().select_bucket +
                  "\": may user \"" + group_.auth().user + "\" use that bucket?");
      return;
    }
    auth_failed("the server closed the connection during authentication");
    return;
  }
  connection_lost("downstream closed");
}

void ServerConnection::drop_socket() {
  if (state_ == State::Resolving) group_.address().forget(this);
  close_socket();
  state_ = State::Closed;
  evtimer_del(timer_ev_);
  in_.clear();
  out_.clear();
  before_ready_.clear();
  login_.reset();
  account();
}

void ServerConnection::close_idle() {
  if (!waiting_.empty() || state_ == State::Closed) return;
  drop_socket();
}

void ServerConnection::connection_lost(const char* why) {
  if (waiting_.empty()) {
    // An idle connection closed by the server: forget it quietly.
    drop_socket();
    return;
  }
  metrics_.inc(Metric::backend_closed_total);
  group_.on_failure(std::string(why) + " with requests outstanding", ServerHealth::Failure::Closed);
  // A reused connection that died before answering anything (the server
  // restarted while it sat idle): resend once on a fresh connection.
  const bool retry = bytes_received_ == 0 && state_ == State::Connected;
  std::deque<PendingOp*> ops;
  ops.swap(waiting_);
  drop_socket();
  for (PendingOp* op : ops) {
    if (retry && op->attempts < settings_.downstream_retry) {
      ++op->attempts;
      metrics_.inc(Metric::backend_retries_total);
      group_.submit(op);
      continue;
    }
    group_.fail(*op, Status::InternalError, group_.error_text(why));
    host_.on_op_done(op);
  }
}

void ServerConnection::fail_all(Status status, const std::string& message) {
  std::deque<PendingOp*> ops;
  ops.swap(waiting_);
  drop_socket();
  if (connect_ev_) {
    event_free(connect_ev_);
    connect_ev_ = nullptr;
  }
  for (PendingOp* op : ops) {
    group_.fail(*op, status, message);
    host_.on_op_done(op);
  }
}

}  // namespace moxi::backend
