// Runtime settings every worker reads (copied into each worker at start;
// never changed while it runs). Filled from the command line's behaviors.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "src/protocol/request.h"
#include "src/routing/down_policy.h"
#include "vbucket/config.h"

namespace moxi {

struct ProxySettings {
  uint32_t downstream_conn_max = 1;       // pipelined connections per worker per backend server (0 = 16)
  uint32_t downstream_max = 1024;         // requests at the backends per worker per bucket (0 = no limit)
  uint64_t wait_queue_timeout_ms = 200;   // a request's wait for a downstream_max slot (0 = none)
  uint32_t connect_max_errors = 5;        // failures in a row that take a server down (0 = never; timeouts do)
  uint64_t connect_retry_interval_ms = 30000;  // the longest a flapping down server waits for its probe
  uint64_t downstream_timeout_ms = 5000;  // a request's wait for its backend reply (0 = none)
  uint64_t connect_timeout_ms = 400;      // a backend connect (0 = none)
  uint32_t downstream_retry = 1;          // resends when a reused connection died before replying
  uint64_t probe_interval_ms = 1000;      // a down server is probed this often (server_health.h)
  // -Z down_policy: the ketama pools where a down server (and one on
  // probation) leaves the ring; its keys go where libmemcached puts them
  // without it (Worker::refresh_live_ring). vBucket buckets never rehash.
  DownPolicy down_policy;
  // Backend names (upstream/resolver.h): a cached address serves new
  // connections for dns_ttl_ms (0: none), asking dns_servers ("IP[:PORT]"
  // each; empty = the system's resolv.conf and hosts file).
  uint64_t dns_ttl_ms = 60000;
  std::vector<std::string> dns_servers;
  uint32_t max_client_inflight = 128;     // requests a client may have in flight before we stop reading it
  uint64_t max_client_output = 4 << 20;   // -Z client_buffer_max: reply bytes a client may hold (see client_connection.h)
  uint64_t buffer_max = 0;                // -Z buffer_max: bytes all connections may buffer (buffer_budget.h); 0 = none
  uint64_t buffer_wait_ms = 1000;         // -Z buffer_wait: a client's wait for buffer room before it is refused
  // SASL on every new binary backend connection when backend_user is set
  // (-Z usr, pwd; MOXI_SASL_PLAIN_USR/PWD), then SELECT_BUCKET when
  // backend_bucket is (-Z bucket); each step waits auth_timeout_ms.
  std::string backend_user;
  std::string backend_password;
  std::string backend_bucket;
  uint64_t auth_timeout_ms = 100;
  uint32_t nmv_max_retries = 0;           // NOT_MY_VBUCKET re-routes per request; 0 = 2 x servers
  protocol::Limits limits;
  uint32_t item_size_max = 0;             // -I / item_size_max; 0 = item_size_for's per-bucket default
  std::string version = "2.0.0";
  bool time_stats = false;                // per-backend latency histograms (two clock reads per backend op)
  // -Z replica_reads: a vBucket get whose active server is down, or failed
  // it (timeout, closed, refused), goes to the vBucket's replicas in map
  // order with GET_REPLICA (Worker::read_from_replica). Never writes.
  bool replica_reads = false;
  // -Z network: the addresses of terse configs the data nodes send
  // (NOT_MY_VBUCKET bodies), as for the streamed ones.
  vbucket::Network config_network = vbucket::Network::Default;
  // TLS: a handshake's bound (clients on tls_port, and backends).
  uint64_t tls_handshake_timeout_ms = 5000;
  uint64_t started_us = 0;                // monotonic_us() at process start: uptime
  // -Z behaviors as `stats proxy behaviors` shows them (passwords masked).
  std::vector<std::pair<std::string, std::string>> behavior_stats;
};

// The largest value a client may store through a bucket: the -I setting, or
// memcached's default of 1 MiB for memcached pools and Couchbase's 20 MiB
// for vBucket buckets (a null bucket: no map yet, nothing is stored anyway).
constexpr uint32_t kMemcachedItemSize = 1024 * 1024;
constexpr uint32_t kCouchbaseItemSize = 20 * 1024 * 1024;
inline uint32_t item_size_for(const ProxySettings& settings, bool vbucket_bucket) {
  if (settings.item_size_max != 0) return settings.item_size_max;
  return vbucket_bucket ? kCouchbaseItemSize : kMemcachedItemSize;
}

}  // namespace moxi
