#include "src/stats/render.h"

#include <algorithm>

#include <cstdio>

#include "src/build_revision.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

namespace moxi {

namespace {

std::string seconds_text(uint64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu.%06llu", static_cast<unsigned long long>(us / 1000000),
                static_cast<unsigned long long>(us % 1000000));
  return buf;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// Prometheus label values escape backslash, double quote and newline.
std::string label_value(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void histogram_samples(std::string& out, const std::string& name, std::string_view label, std::string_view value,
                       const Histogram& h) {
  const std::string lv = std::string(label) + "=\"" + label_value(value) + "\"";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < Histogram::kFinite; ++i) {
    cumulative += h.buckets[i];
    out += name + "_bucket{" + lv + ",le=\"" + seconds_text(Histogram::upper_us(i)) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  cumulative += h.buckets[Histogram::kFinite];
  out += name + "_bucket{" + lv + ",le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += name + "_sum{" + lv + "} " + seconds_text(h.sum_us) + "\n";
  out += name + "_count{" + lv + "} " + std::to_string(cumulative) + "\n";
}

void timing_rows(StatLines& out, const std::string& name, const Histogram& h) {
  const uint64_t count = h.count();
  if (count == 0) return;
  out.emplace_back(name + ":count", std::to_string(count));
  out.emplace_back(name + ":sum_us", std::to_string(h.sum_us));
  uint64_t cumulative = 0;
  for (size_t i = 0; i < Histogram::kBuckets; ++i) {
    if (h.buckets[i] == 0) continue;
    cumulative += h.buckets[i];
    const uint64_t start = i == 0 ? 0 : Histogram::upper_us(i - 1);
    const std::string width = i < Histogram::kFinite ? std::to_string(Histogram::upper_us(i) - start) : "inf";
    char pct[16];
    std::snprintf(pct, sizeof pct, "%.2f%%", 100.0 * static_cast<double>(cumulative) / static_cast<double>(count));
    out.emplace_back(name, std::to_string(start) + "+" + width + "=" + std::to_string(h.buckets[i]) + " " + pct);
  }
}

}  // namespace

void fill_process_metrics(Metrics& m, const Snapshot& snapshot, const ProcessFigures& figures) {
  const uint64_t now = monotonic_us();
  m.set(Metric::config_generation, snapshot.generation);
  m.set(Metric::config_age_seconds, (now - snapshot.loaded_at_us) / 1000000);
  m.set(Metric::uptime_seconds, (now - figures.started_us) / 1000000);
  m.set(Metric::workers, figures.workers);
  m.set(Metric::buffer_bytes_peak, figures.buffer_peak);
  m.set(Metric::buffer_max_bytes, figures.buffer_max);
  m.set(Metric::config_reload_failures_total, figures.reload_failures);
  m.set(Metric::config_stale_ignored_total, figures.stale_configs);
  m.set(Metric::tls_certificate_expiry_seconds,
        snapshot.client_tls ? static_cast<uint64_t>(std::max<int64_t>(0, snapshot.client_tls->not_after())) : 0);
  for (const PortBinding& binding : snapshot.ports)
    for (const auto& bucket : binding.buckets) {
      const auto& revision = bucket->config->revision();
      m.bucket(bucket->name).revision = revision ? revision->rev : -1;
    }
}

namespace {

// A per-server gauge or counter; `words`: the health state by name (stats
// proxy), else by number (/metrics).
std::string server_value(Metric metric, const ServerMetrics& server, bool words) {
  switch (metric) {
    case Metric::backend_in_backoff: return std::to_string(server.in_backoff);
    case Metric::backend_health: {
      static constexpr const char* kNames[] = {"healthy", "suspect", "probing", "down"};
      return words && server.health < 4 ? kNames[server.health] : std::to_string(server.health);
    }
    case Metric::backend_health_seconds: return std::to_string(server.health_seconds);
    case Metric::backend_server_downs_total: return std::to_string(server.downs);
    case Metric::backend_requests_total: return std::to_string(server.requests);
    case Metric::backend_errors_total: return std::to_string(server.errors);
    case Metric::backend_bytes_sent_total: return std::to_string(server.bytes_sent);
    case Metric::backend_bytes_received_total: return std::to_string(server.bytes_received);
    default: return "0";
  }
}

uint64_t bucket_value(Metric metric, const BucketMetrics& bucket) {
  switch (metric) {
    case Metric::bucket_requests_total: return bucket.requests;
    case Metric::bucket_errors_total: return bucket.errors;
    case Metric::bucket_get_hits_total: return bucket.hits;
    case Metric::bucket_get_misses_total: return bucket.misses;
    default: return 0;
  }
}

std::string bucket_text(Metric metric, const BucketMetrics& bucket) {
  return metric == Metric::config_revision ? std::to_string(bucket.revision)
                                           : std::to_string(bucket_value(metric, bucket));
}

// Gauges and counters labelled by server or bucket (histograms have their
// own renderings).
bool per_server(const MetricInfo& info) { return info.type != MetricType::Histogram && info.label == "server"; }
bool per_bucket(const MetricInfo& info) { return info.type != MetricType::Histogram && info.label == "bucket"; }

}  // namespace

StatLines stats_proxy_lines(const Metrics& m, const Snapshot& snapshot) {
  StatLines out;
  out.emplace_back("config_source", snapshot.source.empty() ? "static" : mask_url(snapshot.source));
  for (const MetricInfo& info : metric_table()) {
    const auto metric = static_cast<Metric>(&info - metric_table().data());
    if (info.type == MetricType::Histogram) continue;  // stats proxy timings
    if (metric == Metric::backend_failures_total) {
      for (const auto& [address, server] : m.servers())
        for (size_t k = 0; k < kBackendFailureKinds.size(); ++k)
          out.emplace_back(std::string(info.name) + ":" + address + ":" + std::string(kBackendFailureKinds[k]),
                           std::to_string(server.failures[k]));
      continue;
    }
    if (per_server(info)) {
      for (const auto& [address, server] : m.servers())
        out.emplace_back(std::string(info.name) + ":" + address, server_value(metric, server, true));
      continue;
    }
    if (per_bucket(info)) {
      for (const auto& [name, bucket] : m.buckets())
        out.emplace_back(std::string(info.name) + ":" + name, bucket_text(metric, bucket));
      continue;
    }
    if (metric == Metric::build_info) {
      out.emplace_back(std::string(info.name), PACKAGE_VERSION " " MOXI_BUILD_REVISION);
      continue;
    }
    out.emplace_back(std::string(info.name), std::to_string(m.get(metric)));
  }
  return out;
}

StatLines timing_lines(const Metrics& m) {
  StatLines out;
  for (size_t op = 0; op < kOpCount; ++op) {
    const auto o = static_cast<protocol::Op>(op);
    timing_rows(out, "request_duration_us:" + std::string(protocol::op_name(o)), m.command(o));
  }
  for (const auto& [address, server] : m.servers())
    if (server.timed) timing_rows(out, "backend_request_duration_us:" + address, server.latency);
  return out;
}

StatLines config_lines(const Snapshot& snapshot) {
  StatLines out;
  // One line per bucket: PORT:NAME:config DOCUMENT (passwords masked).
  auto line = [&out](const PortBinding& binding, const Bucket* bucket) {
    const std::string name = bucket ? bucket->name : std::string();
    const std::string doc = bucket ? mask_passwords(bucket->config->document()) : std::string();
    // One line: a multi-line document would break the STAT framing.
    std::string flat;
    for (char c : doc)
      if (c != '\n' && c != '\r') flat += c;
    out.emplace_back(std::to_string(binding.port) + ":" + name + ":config", flat);
    if (bucket)
      out.emplace_back(std::to_string(binding.port) + ":" + name + ":rev",
                       bucket->config->revision() ? vbucket::to_string(*bucket->config->revision()) : "none");
  };
  for (const PortBinding& binding : snapshot.ports) {
    if (!binding.has_map()) line(binding, nullptr);
    for (const auto& bucket : binding.buckets) line(binding, bucket.get());
  }
  return out;
}

std::string prometheus_text(const Metrics& m) {
  std::string out;
  for (const MetricInfo& info : metric_table()) {
    const auto metric = static_cast<Metric>(&info - metric_table().data());
    const std::string name = "moxi_" + std::string(info.name);
    out += "# HELP " + name + " " + std::string(info.help) + "\n";
    out += "# TYPE " + name + " " + std::string(metric_type_name(info.type)) + "\n";
    if (metric == Metric::request_duration_seconds) {
      for (size_t op = 0; op < kOpCount; ++op) {
        const auto o = static_cast<protocol::Op>(op);
        histogram_samples(out, name, info.label, protocol::op_name(o), m.command(o));
      }
    } else if (metric == Metric::backend_request_duration_seconds) {
      for (const auto& [address, server] : m.servers())
        if (server.timed) histogram_samples(out, name, info.label, address, server.latency);
    } else if (metric == Metric::build_info) {
      out += name + "{version=\"" + label_value(PACKAGE_VERSION) + "\",revision=\"" +
             label_value(MOXI_BUILD_REVISION) + "\"} 1\n";
    } else if (metric == Metric::backend_failures_total) {
      for (const auto& [address, server] : m.servers())
        for (size_t k = 0; k < kBackendFailureKinds.size(); ++k)
          out += name + "{" + std::string(info.label) + "=\"" + label_value(address) + "\",kind=\"" +
                 std::string(kBackendFailureKinds[k]) + "\"} " + std::to_string(server.failures[k]) + "\n";
    } else if (per_server(info)) {
      for (const auto& [address, server] : m.servers())
        out += name + "{" + std::string(info.label) + "=\"" + label_value(address) + "\"} " +
               server_value(metric, server, false) + "\n";
    } else if (per_bucket(info)) {
      for (const auto& [bucket_name, bucket] : m.buckets())
        out += name + "{" + std::string(info.label) + "=\"" + label_value(bucket_name) + "\"} " +
               bucket_text(metric, bucket) + "\n";
    } else {
      out += name + " " + std::to_string(m.get(metric)) + "\n";
    }
  }
  return out;
}

std::string config_json(const Snapshot& snapshot) {
  const uint64_t age = (monotonic_us() - snapshot.loaded_at_us) / 1000000;
  std::string out = "{\"generation\":" + std::to_string(snapshot.generation) +
                    ",\"source\":" + json_string(snapshot.source.empty() ? "static" : mask_url(snapshot.source)) +
                    ",\"age_seconds\":" + std::to_string(age) + ",\"ports\":[";
  bool first_port = true;
  for (const PortBinding& binding : snapshot.ports) {
    if (!first_port) out += ",";
    first_port = false;
    // The bucket new connections start on, as the fields of the port; a
    // gateway's buckets (or a port whose connections start on none) also
    // as a list.
    auto fields = [&out](const Bucket& b) {
      out += "\"routing\":" + json_string(b.vbucket_routing() ? "vbucket" : "ketama") +
             ",\"vbuckets\":" + std::to_string(b.config->num_vbuckets()) + ",\"servers\":[";
      for (size_t i = 0; i < b.servers.size(); ++i) out += (i ? "," : "") + json_string(b.servers[i].address);
      out += "],\"document\":" + json_string(mask_passwords(b.config->document()));
    };
    out += "{\"port\":" + std::to_string(binding.port);
    if (!binding.bucket) {
      out += ",\"bucket\":null";
    } else {
      out += ",\"bucket\":" + json_string(binding.bucket->name) + ",";
      fields(*binding.bucket);
    }
    if (binding.buckets.size() > 1 || (!binding.bucket && binding.has_map())) {
      out += ",\"buckets\":[";
      for (size_t i = 0; i < binding.buckets.size(); ++i) {
        out += std::string(i ? "," : "") + "{\"name\":" + json_string(binding.buckets[i]->name) + ",";
        fields(*binding.buckets[i]);
        out += "}";
      }
      out += "]";
    }
    out += "}";
  }
  return out + "]}";
}

std::string mask_passwords(std::string_view text) {
  static constexpr std::string_view kTag = "assword\"";
  std::string out;
  size_t pos = 0;
  for (;;) {
    size_t hit = text.find(kTag, pos);
    if (hit == std::string_view::npos) break;
    size_t p = hit + kTag.size();
    while (p < text.size() && (text[p] == ' ' || text[p] == '\t' || text[p] == '\n' || text[p] == '\r')) ++p;
    if (p >= text.size() || text[p] != ':') {
      out.append(text.substr(pos, p - pos));
      pos = p;
      continue;
    }
    ++p;
    while (p < text.size() && (text[p] == ' ' || text[p] == '\t' || text[p] == '\n' || text[p] == '\r')) ++p;
    if (p >= text.size() || text[p] != '"') {
      out.append(text.substr(pos, p - pos));
      pos = p;
      continue;
    }
    size_t end = p + 1;
    while (end < text.size() && text[end] != '"') end += text[end] == '\\' ? 2 : 1;
    out.append(text.substr(pos, p + 1 - pos)).append("****");
    pos = std::min(end, text.size());  // the closing quote (if any) is copied next
  }
  out.append(text.substr(pos));
  return out;
}

std::string mask_url(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t slash = url.find('/', start);
  const size_t at = url.rfind('@', slash);
  if (at == std::string_view::npos || at < start) return std::string(url);
  const size_t colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "****" + std::string(url.substr(at));
}

std::string not_ready_reason(const Snapshot& snapshot, const Metrics& m, bool draining, ReadyRule rule) {
  if (draining) return "draining: shutting down, finishing the requests in flight";
  for (const PortBinding& binding : snapshot.ports)
    if (!binding.has_map()) return "port " + std::to_string(binding.port) + ": no cluster map loaded yet";
  if (rule == ReadyRule::Map) return {};
  auto down = [&m](const BackendServer& server) -> std::string {
    auto it = m.servers().find(server.address);
    if (it != m.servers().end() && it->second.in_backoff != 0) return "down";
    return {};
  };
  for (const PortBinding& binding : snapshot.ports)
    for (const auto& bucket : binding.buckets) {
      std::string first_down;
      size_t up = 0;
      for (const BackendServer& server : bucket->servers) {
        const std::string why = down(server);
        if (why.empty()) {
          ++up;
          continue;
        }
        if (rule == ReadyRule::AllUp) return "backend " + server.address + " " + why;
        if (first_down.empty()) first_down = server.address + " " + why;
      }
      if (up == 0 && !bucket->servers.empty())
        return "bucket " + bucket->name + ": every server is down (" + first_down + (bucket->servers.size() > 1 ? ", ..." : "") + ")";
    }
  return {};
}

}  // namespace moxi
