// Runtime settings every worker reads (copied into each worker at start;
// never changed while it runs). Filled from the command line's behaviors.
// What the backend connections read is the BackendSettings part
// (backend/backend_settings.h, with item_size_for).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "src/net/loop.h"
#include "src/protocol/request.h"
#include "src/routing/down_policy.h"
#include "src/backend/backend_settings.h"
#include "vbucket/config.h"

namespace moxi {

struct ProxySettings : backend::BackendSettings {
  uint32_t downstream_max = 1024;         // requests at the backends per worker per bucket (0 = no limit)
  uint64_t wait_queue_timeout_ms = 200;   // a request's wait for a downstream_max slot (0 = none)
  // -Z down_policy: the ketama pools where a down server (and one on
  // probation) leaves the ring; its keys go where libmemcached puts them
  // without it (routing::build_live_ring). vBucket buckets never rehash.
  DownPolicy down_policy;
  uint32_t max_client_inflight = 128;     // requests a client may have in flight before we stop reading it
  uint64_t max_client_output = 4 << 20;   // -Z client_buffer_max: reply bytes a client may hold (see client_connection.h)
  uint64_t buffer_max = 0;                // -Z buffer_max: bytes all connections may buffer (buffer_budget.h); 0 = none
  uint64_t buffer_wait_ms = 1000;         // -Z buffer_wait: a client's wait for buffer room before it is refused
  uint32_t nmv_max_retries = 0;           // NOT_MY_VBUCKET re-routes per request; 0 = 2 x servers
  protocol::Limits limits;
  std::string version = "2.0.0";
  // -Z replica_reads: a vBucket get whose active server is down, or failed
  // it (timeout, closed, refused), goes to the vBucket's replicas in map
  // order with GET_REPLICA (RequestRouter::read_from_replica). Never writes.
  bool replica_reads = false;
  // -Z network: the addresses of terse configs the data nodes send
  // (NOT_MY_VBUCKET bodies), as for the streamed ones.
  vbucket::Network config_network = vbucket::Network::Default;
  uint64_t started_us = 0;                // monotonic_us() at process start: uptime
  // -Z io_engine: how a worker's loop moves bytes (net/loop.h); a worker
  // whose io_uring cannot be set up runs on epoll and says so at start.
  net::Engine io_engine = net::Engine::Epoll;
  // -Z behaviors as `stats proxy behaviors` shows them (passwords masked).
  std::vector<std::pair<std::string, std::string>> behavior_stats;
};

}  // namespace moxi
