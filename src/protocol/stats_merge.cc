#include "src/protocol/stats_merge.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

namespace moxi::protocol {
namespace {

struct NamedRule {
  std::string_view name;
  MergeRule rule;
};

// Stats of memcached 1.6 (and the Couchbase ep_ identities) that do not add
// up. Everything else numeric is a counter or a gauge and is summed.
constexpr std::array kRules = {
    // Identities: one value per server; "mixed" when they differ.
    NamedRule{"pid", MergeRule::Same},
    NamedRule{"version", MergeRule::Same},
    NamedRule{"libevent", MergeRule::Same},
    NamedRule{"pointer_size", MergeRule::Same},
    NamedRule{"ep_dbname", MergeRule::Same},
    NamedRule{"ep_storage_type", MergeRule::Same},
    NamedRule{"ep_flusher_state", MergeRule::Same},
    NamedRule{"ep_warmup_thread", MergeRule::Same},
    // Per-server settings shown in plain stats.
    NamedRule{"max_connections", MergeRule::Same},
    NamedRule{"threads", MergeRule::Same},
    NamedRule{"reserved_fds", MergeRule::Same},
    NamedRule{"chunk_size", MergeRule::Same},
    NamedRule{"chunks_per_page", MergeRule::Same},
    NamedRule{"chunk_per_page", MergeRule::Same},
    // Clocks and levels: the largest.
    NamedRule{"uptime", MergeRule::Max},
    NamedRule{"time", MergeRule::Max},
    NamedRule{"age", MergeRule::Max},
    NamedRule{"age_hot", MergeRule::Max},
    NamedRule{"age_warm", MergeRule::Max},
    NamedRule{"evicted_time", MergeRule::Max},
    NamedRule{"hash_power_level", MergeRule::Max},
    NamedRule{"hash_is_expanding", MergeRule::Max},
    NamedRule{"slab_reassign_running", MergeRule::Max},
    NamedRule{"lru_crawler_running", MergeRule::Max},
    // Flags that hold for the cluster only when they hold everywhere.
    NamedRule{"accepting_conns", MergeRule::Min},
};

std::string_view base_name(std::string_view name) {
  const size_t colon = name.rfind(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

bool is_unsigned_integer(std::string_view v) {
  if (v.empty() || v.size() > 20) return false;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Decimal number: optional '-', digits, optional '.' and digits.
bool is_decimal(std::string_view v) {
  size_t i = 0;
  if (i < v.size() && v[i] == '-') ++i;
  size_t digits = 0;
  while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i, ++digits;
  if (i < v.size() && v[i] == '.') {
    ++i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i, ++digits;
  }
  return digits > 0 && i == v.size();
}

double to_double(std::string_view v) {
  std::string tmp(v);
  return std::strtod(tmp.c_str(), nullptr);
}

bool to_u64(std::string_view v, uint64_t& out) {
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size();
}

constexpr std::string_view kMixed = "mixed";

void merge_into(std::string& current, std::string_view incoming, MergeRule rule) {
  if (rule == MergeRule::Same || !is_decimal(current) || !is_decimal(incoming)) {
    if (current != incoming) current.assign(kMixed);
    return;
  }
  uint64_t a = 0;
  uint64_t b = 0;
  if (is_unsigned_integer(current) && is_unsigned_integer(incoming) && to_u64(current, a) && to_u64(incoming, b)) {
    uint64_t merged = rule == MergeRule::Max ? (a > b ? a : b) : rule == MergeRule::Min ? (a < b ? a : b) : a + b;
    current = std::to_string(merged);
    return;
  }
  double x = to_double(current);
  double y = to_double(incoming);
  double merged = rule == MergeRule::Max ? (x > y ? x : y) : rule == MergeRule::Min ? (x < y ? x : y) : x + y;
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%.6f", merged);
  if (n > 0 && static_cast<size_t>(n) < sizeof(buf)) current.assign(buf, static_cast<size_t>(n));
}

bool failed(const Result& r) { return r.status != Status::Success || r.error_class != ErrorClass::None; }

}  // namespace

MergeRule merge_rule(std::string_view group, std::string_view name) {
  if (group == "settings") return MergeRule::Same;
  const std::string_view base = base_name(name);
  for (const auto& r : kRules)
    if (r.name == base) return r.rule;
  return MergeRule::Sum;
}

void merge_stat(Request& request, std::string_view name, std::string_view value) {
  for (auto& [n, v] : request.stats) {
    if (n == name) {
      merge_into(v, value, merge_rule(request.stats_args, name));
      return;
    }
  }
  request.stats.emplace_back(std::string(name), std::string(value));
}

size_t combine_broadcast(Request& request, size_t servers) {
  if (request.results.size() < servers) request.results.resize(servers);
  size_t failures = 0;
  size_t first_failure = servers;
  for (size_t s = 0; s < servers; ++s) {
    if (!failed(request.results[s])) continue;
    ++failures;
    if (first_failure == servers) first_failure = s;
  }
  const bool all_failed = failures == servers;
  if (request.op == Op::Stats && !all_failed) {
    for (size_t s = 0; s < servers && s < request.server_stats.size(); ++s) {
      if (failed(request.results[s])) continue;
      for (const auto& [name, value] : request.server_stats[s]) merge_stat(request, name, value);
    }
    if (failures > 0) request.stats.emplace_back("moxi_servers_missing", std::to_string(failures));
    request.results[0].reset();
  } else if (failures > 0 && first_failure != 0) {
    std::swap(request.results[0], request.results[first_failure]);
  }
  request.server_stats.clear();
  request.results.resize(1);
  return failures;
}

}  // namespace moxi::protocol
