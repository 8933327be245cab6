// Rendering summed metrics and the served config for operators: the
// `stats proxy` family (name/value pairs), Prometheus text format 0.0.4
// (/metrics), and the config snapshot as JSON (/config), with secrets masked.
//
// Thread: any (pure functions of their arguments).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/routing/snapshot.h"
#include "src/stats/metrics.h"

namespace moxi {

using StatLines = std::vector<std::pair<std::string, std::string>>;

// What the process-scope gauges are read from, besides the snapshot.
struct ProcessFigures {
  uint64_t started_us = 0;   // monotonic_us() at start
  uint64_t workers = 0;
  uint64_t buffer_peak = 0;  // buffer_budget.h: the most bytes buffered at once
  uint64_t buffer_max = 0;   // the total buffer budget (0 = none)
  uint64_t reload_failures = 0;  // SIGHUP reloads that failed (reload.h)
  uint64_t stale_configs = 0;    // bucket configs ignored as not newer (config_follower.h)
  bool draining = false;         // SIGTERM/SIGINT (or -Y's end of stdin) started the drain
};

// Fills the Process-scope values of `m` (config generation and age, uptime,
// workers, buffer peak and budget, failed reloads) from the snapshot served
// and `figures`.
void fill_process_metrics(Metrics& m, const Snapshot& snapshot, const ProcessFigures& figures);

// `stats proxy` / `stats proxy all`: every counter and gauge (labelled gauges
// as "name:label"), plus the config source (masked).
StatLines stats_proxy_lines(const Metrics& m, const Snapshot& snapshot);
// `stats proxy timings`: per histogram and label, count, sum and one line per
// non-empty bucket, "name:label" -> "START+WIDTH=COUNT PCT%" (microseconds,
// cumulative percent), in the spirit of the original's timings.
StatLines timing_lines(const Metrics& m);
// `stats proxy config`: "<port>:<bucket>:config" -> the document, passwords masked.
StatLines config_lines(const Snapshot& snapshot);

// Prometheus text exposition format 0.0.4: HELP and TYPE for every metric,
// names "moxi_" + table name, cumulative histogram buckets in seconds.
std::string prometheus_text(const Metrics& m);

// /config: {"generation":N,"source":"...","age_seconds":N,"ports":[...]}.
std::string config_json(const Snapshot& snapshot);

// Replaces the value of every JSON member whose name ends in "assword"
// (password, saslPassword) with "****", as the original masked them.
std::string mask_passwords(std::string_view text);
// "http://user:pw@host/..." -> "http://user:****@host/...".
std::string mask_url(std::string_view url);

// What /readyz calls ready (-Z ready_when):
//   Map        every port has a map (and moxi is not draining);
//   Reachable  ... and every bucket has a server that no worker has down
//              (the default: one dead memcached of many must not take every
//              moxi out of its load balancer at once, which would help no
//              client);
//   AllUp      ... and no server of any bucket is down on any worker.
enum class ReadyRule : uint8_t { Map, Reachable, AllUp };
// Why moxi should not be sent clients now, or "" (ready): /readyz.
std::string not_ready_reason(const Snapshot& snapshot, const Metrics& m, bool draining = false,
                             ReadyRule rule = ReadyRule::Reachable);

}  // namespace moxi
