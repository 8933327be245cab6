// The metrics table and the per-worker storage it drives.
//
// MOXI_METRICS below is the ONE list of what moxi measures: every counter,
// gauge and histogram with its type, unit and help. From it come the Metric
// enum (indexes into plain uint64_t arrays), `moxi --describe-stats`, the
// `stats proxy` names and the Prometheus /metrics exposition (as "moxi_" +
// name). Names are stable: counters end in "_total", durations in
// "_seconds" (t/stats checks both rules).
//
// Thread contract: each worker owns one Metrics and is the only thread that
// touches it (no atomics, no locks: an increment is an add to an array slot).
// Readers get a copy made on the owning worker's thread (src/stats/collect.h)
// and merge the copies on their own thread.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "src/protocol/request.h"
#include "src/util/clock.h"

namespace moxi {

enum class MetricType : uint8_t { Counter, Gauge, Histogram };

// Scope says who fills a value: Worker = each worker counts its own and the
// reader sums them; Process = the reader fills it from the main thread's
// state (config, uptime) when it renders.
enum class MetricScope : uint8_t { Worker, Process };

// X(name, type, scope, unit, label, help). `label` names the label of a
// labelled metric ("command", "server") or is "".
#define MOXI_METRICS(X)                                                                                               \
  X(client_connections_total, Counter, Worker, "connections", "", "client connections accepted")                     \
  X(client_connections_current, Gauge, Worker, "connections", "", "client connections open now")                     \
  X(client_connections_rejected_total, Counter, Worker, "connections", "",                                            \
    "client connections refused because -c connections were open (limit: max connections)")                          \
  X(client_accept_paused_total, Counter, Worker, "events", "",                                                       \
    "times a worker stopped accepting on a failed accept (EMFILE/ENFILE: no descriptor left); resumes in <= 50 ms")  \
  X(requests_total, Counter, Worker, "requests", "", "client requests decoded (a multiget counts once)")              \
  X(request_errors_total, Counter, Worker, "requests", "", "requests answered with a proxy SERVER_ERROR")             \
  X(multiget_keys_total, Counter, Worker, "keys", "", "keys of multi-key gets")                                       \
  X(multiget_key_misses_on_error_total, Counter, Worker, "keys", "",                                                  \
    "multiget keys answered as errors because their server failed")                                                   \
  X(broadcast_server_failures_total, Counter, Worker, "servers", "",                                                 \
    "servers that failed a flush_all or stats broadcast (left out of merged stats)")                                   \
  X(backend_connects_total, Counter, Worker, "connections", "", "backend connects started (attempts)")                 \
  X(backend_connect_errors_total, Counter, Worker, "connections", "", "backend connects that failed or timed out")   \
  X(backend_closed_total, Counter, Worker, "connections", "", "backend connections lost with requests outstanding")  \
  X(backend_timeouts_total, Counter, Worker, "requests", "", "backend requests past downstream_timeout")              \
  X(backend_retries_total, Counter, Worker, "requests", "", "requests resent after a backend connection closed")     \
  X(backend_desyncs_total, Counter, Worker, "connections", "", "backend connections closed on an unparsable reply")  \
  X(backend_auth_failures_total, Counter, Worker, "connections", "",                                                 \
    "backend connections whose SASL login or bucket select failed (wrong credentials, no SASL, no such bucket)")      \
  X(backend_resolve_failures_total, Counter, Worker, "connections", "",                                              \
    "backend connects that failed because the server's name did not resolve (or not within connect_timeout)")        \
  X(client_auth_total, Counter, Worker, "requests", "",                                                              \
    "client SASL authentications that chose a bucket")                                                                \
  X(client_auth_failures_total, Counter, Worker, "requests", "",                                                     \
    "client SASL authentications refused (no such bucket, wrong password, mechanism not PLAIN)")                      \
  X(null_bucket_requests_total, Counter, Worker, "requests", "",                                                     \
    "requests refused because their connection has no bucket (not authenticated, or its bucket left the map)")        \
  X(backend_down_total, Counter, Worker, "events", "",                                                               \
    "times a worker took a backend server down (connect_max_errors failures in a row, or a timeout)")                  \
  X(backend_probes_total, Counter, Worker, "requests", "", "probes sent to down backend servers")                      \
  X(backend_recoveries_total, Counter, Worker, "events", "", "times a down backend server answered a probe or a request") \
  X(backend_ejections_total, Counter, Worker, "events", "",                                                          \
    "times a worker took a down server out of its ketama ring (down_policy=eject); it returns once healthy")           \
  X(not_my_vbucket_total, Counter, Worker, "keys", "", "keys re-routed after NOT_MY_VBUCKET")                         \
  X(cluster_config_fetches_total, Counter, Worker, "requests", "",                                                   \
    "GET_CLUSTER_CONFIG requests sent to a data node whose NOT_MY_VBUCKET carried no config")                         \
  X(temporary_failure_retries_total, Counter, Worker, "keys", "",                                                    \
    "keys sent again after a data node answered a temporary failure (10 ms back-off, doubling, 5 times at most)")      \
  X(replica_reads_total, Counter, Worker, "keys", "",                                                                \
    "keys of gets sent to a replica (replica_reads=1) because their active server was down or failed")               \
  X(tls_handshakes_total, Counter, Worker, "connections", "", "client TLS handshakes completed (tls_port)")          \
  X(tls_handshake_failures_total, Counter, Worker, "connections", "",                                               \
    "client TLS handshakes that failed: a protocol or version error, or the client closed during it")                 \
  X(tls_plaintext_total, Counter, Worker, "connections", "",                                                         \
    "client connections closed on a TLS port because they sent plain text (not TLS)")                                \
  X(tls_certificate_failures_total, Counter, Worker, "connections", "",                                               \
    "client TLS handshakes refused for the client's certificate (missing or not verified: tls_client_ca)")          \
  X(tls_handshake_timeouts_total, Counter, Worker, "connections", "",                                                \
    "client TLS handshakes not finished within tls_handshake_timeout")                                                \
  X(tls_connections_current, Gauge, Worker, "connections", "", "client connections on TLS now (handshaking included)") \
  X(backend_tls_handshakes_total, Counter, Worker, "connections", "", "TLS handshakes with backends completed")        \
  X(backend_tls_failures_total, Counter, Worker, "connections", "",                                                  \
    "TLS handshakes with backends that failed (certificate not verified, wrong host, protocol, timeout)")            \
  X(wait_queue_timeouts_total, Counter, Worker, "requests", "",                                                       \
    "requests failed after waiting wait_queue_timeout for a downstream_max slot")                                     \
  X(limit_key_length_total, Counter, Worker, "requests", "", "requests refused: a key longer than 250 bytes")         \
  X(limit_value_size_total, Counter, Worker, "requests", "", "requests refused: a value larger than 1 MiB")           \
  X(limit_line_length_total, Counter, Worker, "requests", "",                                                         \
    "ascii command lines refused as too long (2048 bytes; get lines have no limit)")                                        \
  X(limit_client_inflight_total, Counter, Worker, "events", "",                                                       \
    "times a client was paused with max_client_inflight requests in flight")                                          \
  X(limit_client_output_total, Counter, Worker, "events", "",                                                         \
    "times a client was paused with max_client_output reply bytes unsent")                                            \
  X(limit_buffer_total, Counter, Worker, "events", "",                                                               \
    "times a client was paused because all buffers together reached buffer_max")                                      \
  X(buffer_refusals_total, Counter, Worker, "requests", "",                                                           \
    "requests answered out of memory after waiting buffer_wait for buffer room")                                      \
  X(buffer_bytes, Gauge, Worker, "bytes", "", "bytes buffered in moxi now: client and backend input and output")      \
  X(buffer_reserved_bytes, Gauge, Worker, "bytes", "",                                                                \
    "bytes the total budget reserves now for replies still expected (requests in flight x mean reply size)")          \
  X(buffer_bytes_peak, Gauge, Process, "bytes", "",                                                                   \
    "the most bytes buffered and reserved at once since start (what buffer_max bounds)")                              \
  X(buffer_max_bytes, Gauge, Process, "bytes", "", "the total buffer budget (buffer_max; 0 = none)")                 \
  X(backend_in_backoff, Gauge, Worker, "workers", "server",                                                           \
    "workers that have this backend server down (its requests fail at once; it is probed)")                           \
  X(backend_health, Gauge, Worker, "state", "server",                                                                 \
    "the worst state a worker has this backend server in: 0 healthy, 1 suspect, 2 probing, 3 down")                   \
  X(backend_health_seconds, Gauge, Worker, "seconds", "server",                                                       \
    "how long this backend server has been in that state (on the worker that has it worst)")                          \
  X(backend_server_downs_total, Counter, Worker, "events", "server",                                                  \
    "times a worker took this backend server down")                                                                   \
  X(backend_requests_total, Counter, Worker, "requests", "server",                                                   \
    "requests for this backend server (a multiget's keys for it count once), failed fast ones included")             \
  X(backend_errors_total, Counter, Worker, "requests", "server",                                                     \
    "of those, the ones answered with a proxy SERVER_ERROR (down, refused, closed, timed out, garbage)")             \
  X(backend_failures_total, Counter, Worker, "events", "server",                                                     \
    "what this backend server's connections met, by kind: connect, closed, garbage, auth, timeout, slow (label kind)") \
  X(backend_bytes_sent_total, Counter, Worker, "bytes", "server", "bytes written to this backend server")             \
  X(backend_bytes_received_total, Counter, Worker, "bytes", "server", "bytes read from this backend server")          \
  X(bucket_requests_total, Counter, Worker, "requests", "bucket",                                                    \
    "client requests routed to this bucket (a multiget counts once)")                                                 \
  X(bucket_errors_total, Counter, Worker, "requests", "bucket",                                                      \
    "of those, the ones answered with a proxy SERVER_ERROR")                                                          \
  X(bucket_get_hits_total, Counter, Worker, "keys", "bucket", "keys of get and gat requests found")                   \
  X(bucket_get_misses_total, Counter, Worker, "keys", "bucket", "keys of get and gat requests not found")            \
  X(request_duration_seconds, Histogram, Worker, "seconds", "command",                                                \
    "client request latency, decode to reply, by command")                                                            \
  X(backend_request_duration_seconds, Histogram, Worker, "seconds", "server",                                         \
    "backend request latency, send to reply, by server (-Z time_stats=1)")                                            \
  X(config_generation, Gauge, Process, "generation", "", "generation of the cluster map served (0 = none yet)")       \
  X(config_age_seconds, Gauge, Process, "seconds", "", "seconds since the map served was loaded")                    \
  X(config_revision, Gauge, Process, "revision", "bucket",                                                           \
    "the rev of the config served for this bucket (Couchbase's rev; -1 when its document has none)")                 \
  X(config_stale_ignored_total, Counter, Process, "configs", "",                                                     \
    "bucket configs ignored because the one served has a newer (revEpoch, rev), or the same")                          \
  X(config_reload_failures_total, Counter, Process, "reloads", "",                                                    \
    "SIGHUP reloads that failed (a file unreadable, invalid or naming other ports); the map in force stayed")        \
  X(tls_certificate_expiry_seconds, Gauge, Process, "seconds", "",                                                   \
    "unix time when the certificate tls_port presents expires (0 = no TLS port)")                                    \
  X(uptime_seconds, Gauge, Process, "seconds", "", "seconds since moxi started")                                      \
  X(build_info, Gauge, Process, "info", "", "always 1: its labels are the version and the git revision of this moxi") \
  X(workers, Gauge, Process, "threads", "", "worker threads (-t)")                                                    \
  X(io_uring_workers, Gauge, Worker, "workers", "", "workers whose loop runs on io_uring (-Z io_engine=uring)")

enum class Metric : uint16_t {
#define MOXI_METRIC_ENUM(name, type, scope, unit, label, help) name,
  MOXI_METRICS(MOXI_METRIC_ENUM)
#undef MOXI_METRIC_ENUM
};

inline constexpr size_t kMetricCount = 0
#define MOXI_METRIC_COUNT(...) +1
    MOXI_METRICS(MOXI_METRIC_COUNT)
#undef MOXI_METRIC_COUNT
    ;

struct MetricInfo {
  std::string_view name;
  MetricType type;
  MetricScope scope;
  std::string_view unit;
  std::string_view label;  // "" when unlabelled
  std::string_view help;
};

// The table, in MOXI_METRICS order (index = static_cast<size_t>(Metric)).
std::span<const MetricInfo> metric_table();
const MetricInfo& metric_info(Metric m);
std::string_view metric_type_name(MetricType t);  // "counter", "gauge", "histogram"
// `moxi --describe-stats`: one line per metric, "name<TAB>type<TAB>help".
std::string describe_metrics();

inline constexpr size_t kOpCount = static_cast<size_t>(protocol::Op::Invalid) + 1;

// A latency histogram with fixed log-scale (power of two) buckets: bucket i
// counts durations <= 2^(i+3) microseconds (8 us ... 8.39 s); the last
// bucket is +Inf. Recording is a bit-width and two adds.
struct Histogram {
  static constexpr size_t kFinite = 21;
  static constexpr size_t kBuckets = kFinite + 1;
  std::array<uint64_t, kBuckets> buckets{};
  uint64_t sum_us = 0;

  static size_t bucket_for(uint64_t us) {
    if (us <= 8) return 0;
    size_t i = static_cast<size_t>(64 - __builtin_clzll(us - 1)) - 3;  // ceil(log2(us)) - 3
    return i < kFinite ? i : kFinite;
  }
  // Upper bound of finite bucket i, in microseconds.
  static constexpr uint64_t upper_us(size_t i) { return uint64_t{8} << i; }
  void record(uint64_t us) {
    ++buckets[bucket_for(us)];
    sum_us += us;
  }
  uint64_t count() const {
    uint64_t n = 0;
    for (uint64_t b : buckets) n += b;
    return n;
  }
  Histogram& operator+=(const Histogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) buckets[i] += o.buckets[i];
    sum_us += o.sum_us;
    return *this;
  }
};

// The kinds of backend_failures_total, in the order of ServerHealth::Failure
// (src/backend/server_health.h checks it).
inline constexpr std::array<std::string_view, 6> kBackendFailureKinds = {"connect", "closed", "garbage",
                                                                         "auth",    "timeout", "slow"};

// What a worker knows about one backend server, by address.
struct ServerMetrics {
  Histogram latency;        // backend_request_duration_seconds (only when `timed`)
  bool timed = false;       // -Z time_stats keeps `latency` for this server
  uint64_t in_backoff = 0;  // backend_in_backoff; filled when a copy is taken
  uint64_t health = 0;          // backend_health (0 healthy .. 3 down), the worst; filled when a copy is taken
  uint64_t health_seconds = 0;  // backend_health_seconds, of that worst state
  uint64_t downs = 0;           // backend_server_downs_total, summed
  uint64_t requests = 0;        // backend_requests_total
  uint64_t errors = 0;          // backend_errors_total
  uint64_t bytes_sent = 0;      // backend_bytes_sent_total
  uint64_t bytes_received = 0;  // backend_bytes_received_total
  std::array<uint64_t, kBackendFailureKinds.size()> failures{};  // backend_failures_total, by kind
};

// What a worker counts for one bucket, by name.
struct BucketMetrics {
  uint64_t requests = 0;  // bucket_requests_total
  uint64_t errors = 0;    // bucket_errors_total
  uint64_t hits = 0;      // bucket_get_hits_total
  uint64_t misses = 0;    // bucket_get_misses_total
  int64_t revision = -1;  // config_revision: set when a reader renders (fill_process_metrics)
};

// One worker's metrics (and, summed, everybody's).
class Metrics {
 public:
  void inc(Metric m, uint64_t n = 1) { values_[static_cast<size_t>(m)] += n; }
  void dec(Metric m) { --values_[static_cast<size_t>(m)]; }
  uint64_t get(Metric m) const { return values_[static_cast<size_t>(m)]; }
  void set(Metric m, uint64_t v) { values_[static_cast<size_t>(m)] = v; }

  Histogram& command(protocol::Op op) { return commands_[static_cast<size_t>(op)]; }
  const Histogram& command(protocol::Op op) const { return commands_[static_cast<size_t>(op)]; }
  // The server's entry, created on first use. The reference stays valid for
  // the Metrics' lifetime (entries are never erased; reset() zeroes them).
  ServerMetrics& server(const std::string& address) { return servers_[address]; }
  const std::map<std::string, ServerMetrics>& servers() const { return servers_; }
  // The bucket's entry, created on first use; stable like server()'s.
  BucketMetrics& bucket(const std::string& name) { return buckets_[name]; }
  const std::map<std::string, BucketMetrics>& buckets() const { return buckets_; }

  // Zeroes counters and histograms; gauges (current connections) stay.
  void reset();
  // Adds another worker's copy (counters and gauges sum).
  Metrics& operator+=(const Metrics& o);

 private:
  std::array<uint64_t, kMetricCount> values_{};
  std::array<Histogram, kOpCount> commands_{};
  std::map<std::string, ServerMetrics> servers_;
  std::map<std::string, BucketMetrics> buckets_;
};

}  // namespace moxi
