#include "src/upstream/server_group.h"

#include <algorithm>
#include <cstddef>

#include "src/util/log.h"
#include "src/core/worker.h"
#include "src/upstream/server_connection.h"

namespace moxi {

namespace {
// Connections per worker per server when downstream_conn_max is 0 ("no limit").
constexpr size_t kUnlimitedSlots = 16;
}  // namespace

ServerGroup::ServerGroup(Worker& worker, BackendServer server, protocol::Protocol protocol, BackendAuth auth)
    : worker_(worker),
      server_(std::move(server)),
      protocol_(protocol),
      auth_(std::move(auth)),
      latency_(worker_.settings().time_stats ? &worker_.metrics().server(server_.address).latency : nullptr) {}

ServerGroup::~ServerGroup() = default;

bool ServerGroup::in_backoff() const { return retry_at_ms_ != 0 && worker_.now_ms() < retry_at_ms_; }

void ServerGroup::on_connected() {
  if (consecutive_failures_ > 0) log::info("backend " + server_.address + ": connected again");
  consecutive_failures_ = 0;
  retry_at_ms_ = 0;
  last_failure_auth_ = false;
}

void ServerGroup::on_auth_failure(std::string_view why) {
  on_failure(why);
  last_failure_auth_ = true;
}

void ServerGroup::on_failure(std::string_view why) {
  log::warning("backend " + server_.address + ": " + std::string(why));
  last_failure_auth_ = false;
  // The first connect_max_errors failures in a row retry at once (a refused
  // connect costs nothing on a LAN); after that, requests fail fast for a
  // delay that doubles from backoff_min up to connect_retry_interval, and
  // the first request after it tries again.
  const ProxySettings& s = worker_.settings();
  ++consecutive_failures_;
  if (s.connect_max_errors == 0 || consecutive_failures_ <= s.connect_max_errors) return;
  uint32_t shift = std::min<uint32_t>(consecutive_failures_ - s.connect_max_errors - 1, 20);
  uint64_t delay = std::min<uint64_t>(s.backoff_min_ms << shift, s.connect_retry_interval_ms);
  retry_at_ms_ = worker_.now_ms() + delay;
}

ServerConnection* ServerGroup::connection_for(uint64_t client_id) {
  if (connections_.empty()) {
    const uint32_t max = worker_.settings().downstream_conn_max;
    connections_.resize(max == 0 ? kUnlimitedSlots : max);
  }
  auto& slot = connections_[client_id % connections_.size()];
  if (!slot) slot = std::make_unique<ServerConnection>(worker_, *this);
  return slot.get();
}

void ServerGroup::submit(PendingOp* op) {
  // Requests still routed here (by a map in flight, or a new map that has the
  // server again) keep it usable.
  if (server_.sockaddr_len == 0 || in_backoff()) {
    // Fail fast: the server is known down (or its name did not resolve),
    // or refuses moxi's login.
    fail_op(*op, protocol::Status::InternalError,
            last_failure_auth_ ? auth_error_text() : error_text("write to downstream"));
    worker_.on_op_done(op);
    return;
  }
  if (latency_) {
    // Timed from here (resends included) to Worker::on_op_done.
    op->latency = latency_;
    op->sent_us = monotonic_us();
  }
  connection_for(op->exchange->client_id)->submit(op);
}

void ServerGroup::set_retiring(bool retiring) {
  retiring_ = retiring;
  if (!retiring_) return;
  for (auto& conn : connections_)
    if (conn && conn->outstanding() == 0) conn->close_idle();
}

}  // namespace moxi
