// The settings a worker's backend connections run by (filled from the
// command line's -Z behaviors; core's ProxySettings holds them and the rest).
// Never changed while a worker runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moxi::backend {

struct BackendSettings {
  uint32_t downstream_conn_max = 1;       // pipelined connections per worker per backend server (0 = 16)
  uint32_t connect_max_errors = 5;        // failures in a row that take a server down (0 = never; timeouts do)
  uint64_t connect_retry_interval_ms = 30000;  // the longest a flapping down server waits for its probe
  uint64_t downstream_timeout_ms = 5000;  // a request's wait for its backend reply (0 = none)
  uint64_t connect_timeout_ms = 400;      // a backend connect (0 = none)
  uint32_t downstream_retry = 1;          // resends when a reused connection died before replying
  uint64_t probe_interval_ms = 1000;      // a down server is probed this often (server_health.h)
  // Backend names (resolver.h): a cached address serves new connections for
  // dns_ttl_ms (0: none), asking dns_servers ("IP[:PORT]" each; empty = the
  // system's resolv.conf and hosts file).
  uint64_t dns_ttl_ms = 60000;
  std::vector<std::string> dns_servers;
  // SASL on every new binary backend connection when backend_user is set
  // (-Z usr, pwd; MOXI_SASL_PLAIN_USR/PWD), then SELECT_BUCKET when
  // backend_bucket is (-Z bucket); each step waits auth_timeout_ms.
  std::string backend_user;
  std::string backend_password;
  std::string backend_bucket;
  uint64_t auth_timeout_ms = 100;
  uint32_t item_size_max = 0;             // -I / item_size_max; 0 = item_size_for's per-bucket default
  bool time_stats = false;                // per-backend latency histograms (two clock reads per backend op)
  // TLS: a handshake's bound (clients on tls_port, and backends).
  uint64_t tls_handshake_timeout_ms = 5000;
};

// The largest value a client may store through a bucket: the -I setting, or
// memcached's default of 1 MiB for memcached pools and Couchbase's 20 MiB
// for vBucket buckets (a null bucket: no map yet, nothing is stored anyway).
constexpr uint32_t kMemcachedItemSize = 1024 * 1024;
constexpr uint32_t kCouchbaseItemSize = 20 * 1024 * 1024;
inline uint32_t item_size_for(const BackendSettings& settings, bool vbucket_bucket) {
  if (settings.item_size_max != 0) return settings.item_size_max;
  return vbucket_bucket ? kCouchbaseItemSize : kMemcachedItemSize;
}

}  // namespace moxi::backend
