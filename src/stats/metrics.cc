#include "src/stats/metrics.h"

namespace moxi {

namespace {

constexpr MetricInfo kTable[] = {
#define MOXI_METRIC_INFO(name, type, scope, unit, label, help) \
  {#name, MetricType::type, MetricScope::scope, unit, label, help},
    MOXI_METRICS(MOXI_METRIC_INFO)
#undef MOXI_METRIC_INFO
};
static_assert(std::size(kTable) == kMetricCount);

}  // namespace

std::span<const MetricInfo> metric_table() { return kTable; }

const MetricInfo& metric_info(Metric m) { return kTable[static_cast<size_t>(m)]; }

std::string_view metric_type_name(MetricType t) {
  switch (t) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
  }
  return "untyped";
}

std::string describe_metrics() {
  std::string out;
  for (const MetricInfo& m : kTable) {
    out.append(m.name).append("\t").append(metric_type_name(m.type)).append("\t");
    if (!m.label.empty()) out.append("by ").append(m.label).append(": ");
    out.append(m.help).append("\n");
  }
  return out;
}

void Metrics::reset() {
  for (const MetricInfo& m : kTable)
    if (m.type == MetricType::Counter) values_[static_cast<size_t>(&m - kTable)] = 0;
  commands_.fill(Histogram{});
  for (auto& [address, server] : servers_) {
    server.latency = Histogram{};
    server.requests = server.errors = server.bytes_sent = server.bytes_received = 0;  // downs: derived (metrics_copy)
    server.failures.fill(0);
  }
  for (auto& [name, bucket] : buckets_) bucket = BucketMetrics{};
}

Metrics& Metrics::operator+=(const Metrics& o) {
  for (size_t i = 0; i < kMetricCount; ++i) values_[i] += o.values_[i];
  for (size_t i = 0; i < kOpCount; ++i) commands_[i] += o.commands_[i];
  for (const auto& [address, server] : o.servers_) {
    ServerMetrics& mine = servers_[address];
    mine.latency += server.latency;
    mine.timed = mine.timed || server.timed;
    mine.in_backoff += server.in_backoff;
    mine.downs += server.downs;
    mine.requests += server.requests;
    mine.errors += server.errors;
    mine.bytes_sent += server.bytes_sent;
    mine.bytes_received += server.bytes_received;
    for (size_t k = 0; k < mine.failures.size(); ++k) mine.failures[k] += server.failures[k];
    // The worst state wins; of equal states, the one held longest.
    if (server.health > mine.health || (server.health == mine.health && server.health_seconds > mine.health_seconds)) {
      mine.health = server.health;
      mine.health_seconds = server.health_seconds;
    }
  }
  for (const auto& [name, bucket] : o.buckets_) {
    BucketMetrics& mine = buckets_[name];
    mine.requests += bucket.requests;
    mine.errors += bucket.errors;
    mine.hits += bucket.hits;
    mine.misses += bucket.misses;
  }
  return *this;
}

}  // namespace moxi
