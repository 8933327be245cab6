#include "src/backend/server_group.h"

#include <algorithm>
#include <cstddef>

#include "src/util/log.h"
#include "src/backend/backend_host.h"
#include "src/backend/server_connection.h"
#include "src/util/timer.h"

namespace moxi::backend {

namespace {
// Connections per worker per server when downstream_conn_max is 0 ("no limit").
constexpr size_t kUnlimitedSlots = 16;
}  // namespace

namespace {

HealthPolicy policy_of(const BackendSettings& s) {
  HealthPolicy p;
  p.max_errors = s.connect_max_errors;
  p.probe_interval_ms = s.probe_interval_ms;
  p.retry_max_ms = s.connect_retry_interval_ms;
  return p;
}

}  // namespace

ServerGroup::ServerGroup(BackendHost& host, BackendServer server, protocol::Protocol protocol, BackendAuth auth)
    : host_(host),
      settings_(host.backend_settings()),
      metrics_(host.metrics()),
      server_(std::move(server)),
      protocol_(protocol),
      auth_(std::move(auth)),
      address_(server_, host_.resolver(), settings_.dns_ttl_ms),
      health_(policy_of(settings_), host_.now_ms()),
      stats_(&metrics_.server(server_.address)),
      latency_(nullptr) {
  if (settings_.time_stats) {
    stats_->timed = true;
    latency_ = &stats_->latency;
  }
}

void ServerGroup::fail(PendingOp& op, protocol::Status status, std::string_view message) {
  if (!op.internal) ++stats_->errors;
  fail_op(op, status, message);
}

ServerGroup::~ServerGroup() {
  if (probe_timer_) event_free(probe_timer_);
}

void ServerGroup::on_reply_while_unhealthy() {
  const Health before = health_.state();
  if (health_.on_reply(host_.now_ms())) {
    if (!health_.refuses()) last_failure_auth_ = false;
    if (before == Health::Probing || before == Health::Down) {
      metrics_.inc(Metric::backend_recoveries_total);
      host_.on_server_health(server_.address, /*down=*/false);
      log::info("backend " + server_.address + ": answers again; " + std::string(health_name(health_.state())) +
                " until it has answered " +
                std::to_string(std::max<uint32_t>(settings_.connect_max_errors, 1)) + " times");
    } else if (health_.state() == Health::Healthy && log::enabled(log::Level::Debug)) {
      log::debug("backend " + server_.address + ": healthy");
    }
    note_ejection();
  }
  // Ejected on probation: no client request reaches it, so probes count its
  // answers, one per probe interval, until it is healthy.
  if (ejected_ && health_.on_probation()) arm_probe_in(settings_.probe_interval_ms);
}

void ServerGroup::note_ejection() {
  const bool ejected = ejectable_ && (health_.refuses() || health_.on_probation());
  if (ejected == ejected_) return;
  ejected_ = ejected;
  if (ejected_) {
    metrics_.inc(Metric::backend_ejections_total);
    log::warning("backend " + server_.address + ": ejected; its keys go to the other servers until it is healthy");
  } else {
    log::info("backend " + server_.address + ": healthy again, back in its ring");
  }
  host_.on_ejection_changed();
}

void ServerGroup::on_failure(std::string_view why, ServerHealth::Failure kind) {
  static_assert(static_cast<size_t>(ServerHealth::Failure::Slow) + 1 == kBackendFailureKinds.size());
  ++stats_->failures[static_cast<size_t>(kind)];
  log::warning("backend " + server_.address + ": " + std::string(why));
  last_failure_auth_ = kind == ServerHealth::Failure::Auth;
  address_.on_server_failure();  // the next connection asks where the name points now
  const Health before = health_.state();
  if (!health_.on_failure(kind, host_.now_ms()) || health_.state() != Health::Down) return;
  if (before != Health::Probing) {
    metrics_.inc(Metric::backend_down_total);
    log::warning("backend " + server_.address + ": down; its requests fail at once, probed every " +
                 std::to_string(health_.probe_delay_ms()) + " ms");
    host_.on_server_health(server_.address, /*down=*/true);
  }
  note_ejection();
  arm_probe();
}

void ServerGroup::on_peer_down() {
  if (retiring_ || !health_.on_peer_down(host_.now_ms())) return;
  last_failure_auth_ = false;
  note_ejection();
  arm_probe();
}

void ServerGroup::on_peer_recovery() {
  if (retiring_ || !health_.on_peer_recovery(host_.now_ms())) return;
  arm_probe();
}

void ServerGroup::arm_probe() {
  const uint64_t now = host_.now_ms();
  arm_probe_in(health_.probe_at_ms() > now ? health_.probe_at_ms() - now : 0);
}

void ServerGroup::arm_probe_in(uint64_t delay_ms) {
  if (!probe_timer_) probe_timer_ = evtimer_new(host_.loop().base(), &ServerGroup::probe_cb, this);
  arm_timer_ms(probe_timer_, delay_ms);
}

void ServerGroup::probe_cb(evutil_socket_t, short, void* arg) { static_cast<ServerGroup*>(arg)->send_probe(); }

void ServerGroup::send_probe() {
  if (retiring_) return;
  const bool probation_probe = ejected_ && health_.state() == Health::Suspect;  // see on_reply_while_unhealthy
  if (!probation_probe && !health_.start_probe(host_.now_ms())) {
    if (health_.state() == Health::Down) arm_probe();  // woke early
    return;
  }
  metrics_.inc(Metric::backend_probes_total);
  // A request of nobody's: its answer only feeds the health (on_replies /
  // on_failure, from the connection), then the host recycles it.
  PendingOp* op = host_.new_probe(protocol_);
  op->sent_at_ms = host_.now_ms();
  submit_internal(op);
}

void ServerGroup::submit_internal(PendingOp* op) {
  op->internal = true;
  connection_for(0)->submit(op);
}

ServerConnection* ServerGroup::connection_for(uint64_t client_id) {
  if (connections_.empty()) {
    const uint32_t max = settings_.downstream_conn_max;
    connections_.resize(max == 0 ? kUnlimitedSlots : max);
  }
  auto& slot = connections_[client_id % connections_.size()];
  if (!slot) slot = std::make_unique<ServerConnection>(host_, *this);
  return slot.get();
}

void ServerGroup::submit(PendingOp* op) {
  if (op->attempts == 0) ++stats_->requests;  // a resend is the same request
  if (health_.refuses()) {
    // Fail fast: the server is known down (or refuses moxi's login); the
    // probe finds it again.
    fail(*op, protocol::Status::InternalError,
            last_failure_auth_ ? auth_error_text() : error_text("downstream down"));
    host_.on_op_done(op);
    return;
  }
  if (latency_) {
    // Timed from here (resends included) to BackendHost::on_op_done.
    op->latency = latency_;
    op->sent_us = monotonic_us();
  }
  connection_for(op->client_id)->submit(op);
}

void ServerGroup::set_retiring(bool retiring) {
  retiring_ = retiring;
  if (!retiring_) return;
  for (auto& conn : connections_)
    if (conn && conn->outstanding() == 0) conn->close_idle();
}

}  // namespace moxi::backend
