#include "src/upstream/server_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "src/util/log.h"
#include "src/core/worker.h"
#include "src/upstream/request_timer.h"
#include "src/upstream/server_group.h"

namespace moxi {

using protocol::Status;

ServerConnection::ServerConnection(Worker& worker, ServerGroup& group)
    : StreamConnection(worker, -1),
      group_(group),
      codec_(group.protocol() == protocol::Protocol::Binary ? protocol::make_binary_backend_codec(value_limit())
                                                            : protocol::make_ascii_backend_codec(value_limit())) {
  timer_ev_ = evtimer_new(worker.base(), &ServerConnection::timer_cb, this);
}

uint32_t ServerConnection::value_limit() const { return item_size_for(worker_.settings(), true); }

ServerConnection::~ServerConnection() {
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
  codec_->encode(op->op, out_.get());
  waiting_.push_back(op);
  if (state_ == State::Connected) mark_dirty();
  if (was_idle && worker_.settings().downstream_timeout_ms > 0 && state_ == State::Connected)
    arm_timer(request_timer_step(op->sent_at_ms, worker_.settings().downstream_timeout_ms, worker_.now_ms()).wait_ms);
}

void ServerConnection::start_connect() {
  const BackendServer& server = group_.server();
  int fd = ::socket(server.sockaddr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    worker_.metrics().inc(Metric::backend_connect_errors_total);
    group_.on_failure(std::string("cannot create a socket: ") + std::strerror(errno));
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // As the original: an idle pooled connection to a host that vanished
  // (power loss, a dropped NAT entry) is found dead by the kernel rather
  // than by the first request that waits downstream_timeout on it.
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  worker_.metrics().inc(Metric::backend_connects_total);
  bytes_received_ = 0;
  in_.clear();
  out_.clear();
  codec_ = group_.protocol() == protocol::Protocol::Binary ? protocol::make_binary_backend_codec(value_limit())
                                                          : protocol::make_ascii_backend_codec(value_limit());
  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&server.sockaddr), server.sockaddr_len);
  if (rc < 0 && errno != EINPROGRESS) {
    const int err = errno;
    ::close(fd);
    worker_.metrics().inc(Metric::backend_connect_errors_total);
    group_.on_failure(std::string("connect failed: ") + std::strerror(err));
    return;
  }
  attach(fd);
  state_ = State::Connecting;
  connect_started_ms_ = worker_.now_ms();
  if (connect_ev_) event_free(connect_ev_);
  connect_ev_ = event_new(worker_.base(), fd, EV_WRITE, &ServerConnection::connect_cb, this);
  event_add(connect_ev_, nullptr);
  if (worker_.settings().connect_timeout_ms > 0) arm_timer(worker_.settings().connect_timeout_ms);
}

void ServerConnection::connect_cb(evutil_socket_t fd, short, void* arg) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  static_cast<ServerConnection*>(arg)->on_connect_result(err);
}

void ServerConnection::on_connect_result(int err) {
  if (err != 0) {
    worker_.metrics().inc(Metric::backend_connect_errors_total);
    group_.on_failure(std::string("connect failed: ") + std::strerror(err));
    fail_all(Status::InternalError, group_.error_text("write to downstream"));
    return;
  }
  state_ = State::Connected;
  if (log::enabled(log::Level::Debug))
    log::debug("backend " + group_.server().address + ": connected (worker " + std::to_string(worker_.id()) + ")");
  group_.on_connected();
  set_reading(true);
  if (!waiting_.empty()) {
    mark_dirty();
    if (worker_.settings().downstream_timeout_ms > 0) arm_timer(worker_.settings().downstream_timeout_ms);
  } else {
    evtimer_del(timer_ev_);
  }
}

void ServerConnection::arm_timer(uint64_t delay_ms) {
  timeval tv{static_cast<time_t>(delay_ms / 1000), static_cast<suseconds_t>((delay_ms % 1000) * 1000)};
  evtimer_add(timer_ev_, &tv);
}

void ServerConnection::timer_cb(evutil_socket_t, short, void* arg) { static_cast<ServerConnection*>(arg)->on_timer(); }

void ServerConnection::on_timer() {
  const uint64_t now = worker_.now_ms();
  if (state_ == State::Connecting) {
    worker_.metrics().inc(Metric::backend_connect_errors_total);
    group_.on_failure("connect timed out (connect_timeout " + std::to_string(worker_.settings().connect_timeout_ms) +
                      " ms)");
    fail_all(Status::Busy, group_.error_text("downstream timeout"));
    return;
  }
  if (state_ != State::Connected || waiting_.empty()) return;
  const uint64_t timeout = worker_.settings().downstream_timeout_ms;
  const RequestTimerStep step = request_timer_step(waiting_.front()->sent_at_ms, timeout, now);
  if (!step.expired) {
    arm_timer(step.wait_ms);
    return;
  }
  // The oldest request waited too long. Replies still to come would be out
  // of step with the queue, so the connection goes with it.
  worker_.metrics().inc(Metric::backend_timeouts_total);
  group_.on_failure("no reply within downstream_timeout (" + std::to_string(timeout) + " ms)");
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
  while (!waiting_.empty()) {
    PendingOp* op = waiting_.front();
    protocol::BackendDecode r = codec_->decode(op->op, in_.get());
    if (r == protocol::BackendDecode::NeedMore) break;
    if (r == protocol::BackendDecode::Desync) {
      worker_.metrics().inc(Metric::backend_desyncs_total);
      fail_all(Status::InternalError, group_.error_text("downstream protocol error"));
      return;
    }
    waiting_.pop_front();
    // The reply left in_ for its request: say so before the client's
    // account counts it in its output.
    account();
    worker_.on_op_done(op);
  }
  if (waiting_.empty() && in_.size() > 0) {
    // Bytes nobody asked for: the stream can no longer be trusted.
    worker_.metrics().inc(Metric::backend_desyncs_total);
    fail_all(Status::InternalError, group_.error_text("downstream protocol error"));
    return;
  }
  if (waiting_.empty() && group_.retiring()) {
    // The server left the map: this connection was only finishing its queue.
    close_idle();
    return;
  }
  if (!waiting_.empty() && worker_.settings().downstream_timeout_ms > 0) {
    // Progress was made: the timer now guards the new oldest request.
    arm_timer(request_timer_step(waiting_.front()->sent_at_ms, worker_.settings().downstream_timeout_ms, worker_.now_ms())
                  .wait_ms);
  }
}

void ServerConnection::on_io_error(int) { connection_lost("downstream closed"); }

void ServerConnection::drop_socket() {
  close_socket();
  state_ = State::Closed;
  evtimer_del(timer_ev_);
  in_.clear();
  out_.clear();
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
  worker_.metrics().inc(Metric::backend_closed_total);
  log::warning("backend " + group_.server().address + ": " + why + " with requests outstanding");
  // A reused connection that died before answering anything (the server
  // restarted while it sat idle): resend once on a fresh connection.
  const bool retry = bytes_received_ == 0 && state_ == State::Connected;
  std::deque<PendingOp*> ops;
  ops.swap(waiting_);
  drop_socket();
  for (PendingOp* op : ops) {
    if (retry && op->attempts < worker_.settings().downstream_retry) {
      ++op->attempts;
      worker_.metrics().inc(Metric::backend_retries_total);
      group_.submit(op);
      continue;
    }
    fail_op(*op, Status::InternalError, group_.error_text(why));
    worker_.on_op_done(op);
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
    fail_op(*op, status, message);
    worker_.on_op_done(op);
  }
}

}  // namespace moxi
