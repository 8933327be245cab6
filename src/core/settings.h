// Runtime settings every worker reads (copied into each worker at start;
// never changed while it runs). Filled from the command line's behaviors.
#pragma once

#include <cstdint>
#include <string>

#include "src/protocol/request.h"

namespace moxi {

struct ProxySettings {
  uint32_t downstream_conn_max = 4;       // connections per worker per backend server
  uint64_t downstream_timeout_ms = 5000;  // a request's wait for its backend reply (0 = none)
  uint64_t connect_timeout_ms = 400;      // a backend connect (0 = none)
  uint32_t downstream_retry = 1;          // resends when a reused connection died before replying
  uint64_t backoff_min_ms = 50;           // first reconnect delay after a backend failure
  uint64_t backoff_max_ms = 1000;         // cap of the doubling reconnect delay
  uint32_t max_client_inflight = 256;     // requests a client may have in flight before we stop reading it
  uint64_t max_client_output = 4 << 20;   // reply bytes waiting for a slow client before we stop reading it
  uint32_t nmv_max_retries = 0;           // NOT_MY_VBUCKET re-routes per request; 0 = 2 x servers
  protocol::Limits limits;
  std::string version = "2.0.0";
};

}  // namespace moxi
