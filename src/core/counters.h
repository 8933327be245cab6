// Per-worker counters. Each worker increments its own copy without atomics
// or locks; readers (stats) sum the copies through the notify queue.
#pragma once

#include <cstdint>

namespace moxi {

struct Counters {
  uint64_t client_connections_total = 0;
  uint64_t client_connections_current = 0;
  uint64_t client_connections_rejected = 0;  // over -c
  uint64_t requests_total = 0;
  uint64_t request_errors = 0;               // answered with a proxy error
  uint64_t multiget_keys = 0;
  uint64_t multiget_key_misses_on_error = 0; // keys turned into misses because their server failed
  uint64_t backend_connects = 0;
  uint64_t backend_connect_errors = 0;
  uint64_t backend_closed = 0;               // backend connections lost with requests outstanding
  uint64_t backend_timeouts = 0;
  uint64_t backend_retries = 0;
  uint64_t backend_desyncs = 0;
  uint64_t not_my_vbucket = 0;
  uint64_t client_backpressure = 0;          // times a client was paused for sending faster than answers
  uint64_t wait_queue_timeouts = 0;          // requests failed after waiting wait_queue_timeout for a slot

  Counters& operator+=(const Counters& o) {
    client_connections_total += o.client_connections_total;
    client_connections_current += o.client_connections_current;
    client_connections_rejected += o.client_connections_rejected;
    requests_total += o.requests_total;
    request_errors += o.request_errors;
    multiget_keys += o.multiget_keys;
    multiget_key_misses_on_error += o.multiget_key_misses_on_error;
    backend_connects += o.backend_connects;
    backend_connect_errors += o.backend_connect_errors;
    backend_closed += o.backend_closed;
    backend_timeouts += o.backend_timeouts;
    backend_retries += o.backend_retries;
    backend_desyncs += o.backend_desyncs;
    not_my_vbucket += o.not_my_vbucket;
    client_backpressure += o.client_backpressure;
    wait_queue_timeouts += o.wait_queue_timeouts;
    return *this;
  }
};

}  // namespace moxi
