#include "src/protocol/stats_merge.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace moxi::protocol {
namespace {

enum class Rule { First, Max, Sum };

constexpr std::array<std::string_view, 8> kFirst = {
    "pid", "version", "libevent", "pointer_size",
    "ep_dbname", "ep_storage_type", "ep_flusher_state", "ep_warmup_thread"};
constexpr std::array<std::string_view, 9> kMax = {
    "uptime", "time", "threads", "accepting_conns", "max_connections",
    "hash_power_level", "chunk_size", "chunk_per_page", "age"};

Rule rule_for(std::string_view name) {
  size_t colon = name.rfind(':');
  std::string_view base = colon == std::string_view::npos ? name : name.substr(colon + 1);
  for (auto f : kFirst) {
    if (base == f) return Rule::First;
  }
  for (auto m : kMax) {
    if (base == m) return Rule::Max;
  }
  return Rule::Sum;
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

void merge_into(std::string& current, std::string_view incoming, Rule rule) {
  if (rule == Rule::First || !is_decimal(current) || !is_decimal(incoming)) return;
  uint64_t a = 0;
  uint64_t b = 0;
  if (is_unsigned_integer(current) && is_unsigned_integer(incoming) && to_u64(current, a) && to_u64(incoming, b)) {
    uint64_t merged = rule == Rule::Max ? (a > b ? a : b) : a + b;
    current = std::to_string(merged);
    return;
  }
  double x = to_double(current);
  double y = to_double(incoming);
  double merged = rule == Rule::Max ? (x > y ? x : y) : x + y;
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%.6f", merged);
  if (n > 0 && static_cast<size_t>(n) < sizeof(buf)) current.assign(buf, static_cast<size_t>(n));
}

}  // namespace

void merge_stat(Request& request, std::string_view name, std::string_view value) {
  for (auto& [n, v] : request.stats) {
    if (n == name) {
      merge_into(v, value, rule_for(name));
      return;
    }
  }
  request.stats.emplace_back(std::string(name), std::string(value));
}

}  // namespace moxi::protocol
