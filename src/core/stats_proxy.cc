// "stats proxy [sub]" inside a worker. Sums come from every worker through
// the notify queues (src/stats/gather.h); the exchange counts as outstanding
// meanwhile, so the client's later pipelined requests keep their order.
#include <algorithm>
#include <string_view>

#include "src/core/worker.h"
#include "src/stats/gather.h"
#include "src/stats/render.h"
#include "src/backend/server_group.h"

namespace moxi {

Metrics Worker::metrics_copy() {
  Metrics copy = metrics_;
  copy.set(Metric::buffer_bytes, static_cast<uint64_t>(std::max<int64_t>(buffers_.buffered(), 0)));
  copy.set(Metric::buffer_reserved_bytes, static_cast<uint64_t>(std::max<int64_t>(buffers_.reserved(), 0)));
  copy.set(Metric::io_uring_workers, loop_.engine() == net::Engine::Uring ? 1 : 0);
  const uint64_t now = now_ms();
  for (const auto& [key, group] : groups_) {
    ServerMetrics& s = copy.server(std::get<0>(key));
    if (group->down()) s.in_backoff = 1;
    const backend::ServerHealth& h = group->health();
    const auto severity = static_cast<uint64_t>(h.state());  // backend_health: 0 healthy .. 3 down
    const uint64_t seconds = now > h.since_ms() ? (now - h.since_ms()) / 1000 : 0;
    s.downs += h.downs();
    if (severity > s.health || (severity == s.health && seconds > s.health_seconds)) {
      s.health = severity;
      s.health_seconds = seconds;
    }
  }
  return copy;
}

ProcessFigures Worker::process_figures() const {
  ProcessFigures f;
  f.started_us = settings_.started_us;
  f.workers = peers_.size();
  f.buffer_peak = static_cast<uint64_t>(std::max<int64_t>(budget_.buffers.peak.load(std::memory_order_relaxed), 0));
  f.buffer_max = budget_.buffers.max;
  f.reload_failures = budget_.reload_failures.load(std::memory_order_relaxed);
  f.stale_configs = budget_.stale_configs.load(std::memory_order_relaxed);
  return f;
}

void Worker::answer_stats_proxy(Exchange* ex) {
  protocol::Request& req = ex->request;
  const std::string_view args = req.stats_args;
  const std::string_view sub = args == "proxy" ? std::string_view("all") : args.substr(6);
  if (sub == "all" || sub == "timings") {
    ex->outstanding = 1;
    const bool timings = sub == "timings";
    std::shared_ptr<const Snapshot> snapshot = snapshot_;  // the map this request was decoded under
    gather_metrics(
        peer_metrics_, [this](std::function<void()> task) { post(std::move(task)); },
        [this, ex, snapshot, timings](Metrics& total) {
          fill_process_metrics(total, *snapshot, process_figures());
          ex->request.stats = timings ? timing_lines(total) : stats_proxy_lines(total, *snapshot);
          ex->outstanding = 0;
          router_->finish(ex);
        });
    return;
  }
  if (sub == "config") {
    req.stats = config_lines(*snapshot_);
  } else if (sub == "behaviors") {
    for (const auto& [name, value] : settings_.behavior_stats) req.stats.emplace_back("behavior:" + name, value);
  } else if (sub == "reset") {
    moxi::reset_metrics(peer_metrics_);  // the free function (this worker's own is a member)  // the codec answers OK
  }
  // Anything else: just END, as the original.
  router_->finish(ex);
}

}  // namespace moxi
