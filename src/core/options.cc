// moxi command line: see options.h. The tables below are the single source for
// the parser and the generated parts of --help; t/options checks that
// man/moxi.1 names every entry too.
#include "src/core/options.h"

#include <curl/curlver.h>
#include <event2/event.h>
#include <libmemcached-1.0/configure.h>
#include <rapidjson/rapidjson.h>
#include <sasl/sasl.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>
#include <thread>

#include "conflate/url.h"
#include "src/build_revision.h"
#include "src/routing/down_policy.h"
#include "src/upstream/resolver.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

namespace moxi {

namespace {

// ---------------------------------------------------------------------------
// Small string helpers.

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != prefix[i]) return false;
  }
  return true;
}

bool is_url(std::string_view s) {
  return starts_with_nocase(s, "http://") || starts_with_nocase(s, "https://") || conflate::is_data_node_url(s);
}

// A user value in an error message: quoted, and shortened when long (JSON).
std::string quote(std::string_view s) {
  constexpr size_t kMax = 60;
  std::string out = "\"";
  if (s.size() > kMax) {
    out.append(s.substr(0, kMax));
    out.append("...");
  } else {
    out.append(s);
  }
  out.push_back('"');
  return out;
}

// The passwords in a -z or -Z value (or an argument), which no error or
// warning may show. A password may contain the separators around it (, ;
// | % =), so what follows one on its line may be a piece of it: from the
// start of a password to the end of its line, nothing is shown. A password
// starts
//   after the first '%' of an auth= or apikey= value (USER%PASSWORD),
//   after the '=' of pwd=,
//   after the "://" before an '@' (http://USER:PASSWORD@HOST; the user is
//     hidden too),
//   after a '%' that follows an '@' outside URLs (the old USER@HOST%PASSWORD).
// Keys are matched in any case, with white space around them.
class Secrets {
 public:
  Secrets() = default;  // nothing hidden
  // `text` must outlive the Secrets.
  explicit Secrets(std::string_view text) : text_(text) {
    size_t line = 0;
    while (line <= text.size()) {
      size_t end = text.find('\n', line);
      if (end == std::string_view::npos) end = text.size();
      const size_t from = password_start(line, end);
      if (from < end) hidden_.emplace_back(from, end);
      line = end + 1;
    }
  }

  // `piece` as it may be shown: each run of hidden bytes (when `piece` lies
  // in the text) as "****".
  std::string shown(std::string_view piece) const {
    const char* base = text_.data();
    if (hidden_.empty() || piece.data() < base || piece.data() + piece.size() > base + text_.size())
      return std::string(piece);
    const size_t begin = static_cast<size_t>(piece.data() - base), end = begin + piece.size();
    std::string out;
    size_t at = begin;
    for (const auto& [from, to] : hidden_) {
      if (to <= at || from >= end) continue;
      if (from > at) out.append(text_.substr(at, from - at));
      out += "****";
      hid_ = true;
      at = std::min(to, end);
    }
    if (at < end) out.append(text_.substr(at, end - at));
    return out;
  }
  std::string quoted(std::string_view piece) const { return quote(shown(piece)); }
  // True when `needle` (a copy of some text) occurs in the text only where
  // something is hidden (or not at all).
  bool hides(std::string_view needle) const {
    for (size_t at = text_.find(needle); at != std::string_view::npos; at = text_.find(needle, at + 1)) {
      if (shown(text_.substr(at, needle.size())) != needle) return true;
    }
    return false;
  }
  // `message` with a note on what was hidden, when shown() hid something.
  std::string noted(std::string message) const {
    if (hid_) message += " (what follows a password on its line is not shown: see PASSWORDS in moxi(1))";
    return message;
  }

 private:
  static bool at_key(std::string_view text, size_t& i, std::string_view key) {
    size_t j = i;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
    if (!starts_with_nocase(text.substr(j), key)) return false;
    j += key.size();
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
    if (j >= text.size() || text[j] != '=') return false;
    i = j + 1;
    return true;
  }

  // Where the first password of the line [line, end) starts; `end` if none.
  size_t password_start(size_t line, size_t end) const {
    const std::string_view t = text_.substr(0, end);
    size_t start = end;
    for (size_t i = line; i < end; ++i) {
      if (i != line && t[i - 1] != ',' && t[i - 1] != ';' && t[i - 1] != '\r') continue;
      size_t v = i;
      if (at_key(t, v, "pwd")) {
        start = std::min(start, v);
      } else if (at_key(t, v, "auth") || at_key(t, v, "apikey")) {  // v moves only on a match
        const size_t pct = t.find_first_of("%,;", v);
        if (pct != std::string_view::npos && t[pct] == '%') start = std::min(start, pct + 1);
      }
    }
    for (size_t at = t.find('@', line); at != std::string_view::npos; at = t.find('@', at + 1)) {
      const size_t scheme = t.substr(0, at).rfind("://");
      if (scheme != std::string_view::npos && scheme >= line) {
        start = std::min(start, scheme + 3);
      } else if (const size_t pct = t.find('%', at); pct != std::string_view::npos) {
        start = std::min(start, pct + 1);
      }
    }
    return start;
  }

  std::string_view text_;
  std::vector<std::pair<size_t, size_t>> hidden_;  // [from, to) offsets in text_, one run per line at most
  mutable bool hid_ = false;
};

// Splits on any of `seps`; keeps empty pieces.
std::vector<std::string_view> split_any(std::string_view s, std::string_view seps) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find_first_of(seps, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

// Splits on `sep` outside JSON strings, braces and brackets, so a ';' inside a
// {json} section does not cut it.
std::vector<std::string_view> split_top_level(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  int depth = 0;
  bool in_string = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"' && depth > 0) {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    } else if (c == sep && depth == 0) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

// Drops the lines whose first non-blank character is '#'.
std::string strip_comment_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::string_view line : split_any(text, "\n")) {
    if (!trim(line).starts_with('#')) {
      out.append(line);
      out.push_back('\n');
    }
  }
  if (!out.empty()) out.pop_back();
  return out;
}

// A whole number written with digits only (no sign, no spaces, no suffix) and <= max.
std::optional<uint64_t> parse_number(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

std::optional<uint16_t> parse_port(std::string_view s, uint16_t min) {
  auto v = parse_number(s, 65535);
  if (!v || *v < min) return std::nullopt;
  return static_cast<uint16_t>(*v);
}

// Reads a whole file; on failure returns nullopt and sets `error` to strerror.
std::optional<std::string> read_whole_file(const std::string& path, std::string& error) {
  errno = 0;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::string out;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  bool failed = std::ferror(f) != 0;
  int saved = errno;
  std::fclose(f);
  if (failed) {
    error = std::strerror(saved != 0 ? saved : EIO);
    return std::nullopt;
  }
  return out;
}

bool is_file_value(std::string_view v) { return v.starts_with('.') || v.starts_with('/'); }

// ---------------------------------------------------------------------------
// -Z behaviors.

using Field = std::variant<std::monostate, std::chrono::milliseconds Behaviors::*, uint32_t Behaviors::*, uint64_t Behaviors::*,
                           uint16_t Behaviors::*, std::optional<uint16_t> Behaviors::*, bool Behaviors::*, DownstreamProtocol Behaviors::*,
                           std::string Behaviors::*, std::optional<std::string> Behaviors::*>;

struct BehaviorEntry {
  BehaviorKeyInfo info;
  Field field;  // monostate for ignored keys
};

constexpr auto I = Support::Implemented;
constexpr auto P = Support::Planned;
constexpr auto G = Support::Ignored;
using VK = ValueKind;
using B = Behaviors;

// Order: documentation order of the primary keys, then ignored keys, then synonyms.
constexpr BehaviorEntry kBehaviorEntries[] = {
    {{"downstream_max", "", VK::Count, I, "1024", "concurrent requests per worker per bucket; 0 = unlimited"},
     &B::downstream_max},
    {{"downstream_conn_max", "", VK::Count, I, "1", "pipelined connections per worker per backend server; 0 = 16"},
     &B::downstream_conn_max},
    {{"downstream_timeout", "", VK::Millis, I, "5000", "time a request may take once it has its connections"},
     &B::downstream_timeout},
    {{"downstream_conn_queue_timeout", "", VK::Millis, G, "200", "no effect: requests pipeline on their connection, they never queue for one"},
     &B::downstream_conn_queue_timeout},
    {{"wait_queue_timeout", "", VK::Millis, I, "200", "time a request may wait for a free slot (downstream_max)"},
     &B::wait_queue_timeout},
    {{"connect_timeout", "", VK::Millis, I, "400", "time to connect to a backend server"}, &B::connect_timeout},
    {{"connect_max_errors", "", VK::Count, I, "5",
      "failures in a row (connects, closes, garbage, logins) that take a backend down; 0 = never (timeouts do)"},
     &B::connect_max_errors},
    {{"connect_retry_interval", "", VK::Millis, I, "30000",
      "the longest a flapping down backend waits for its next probe"},
     &B::connect_retry_interval},
    {{"probe_interval", "", VK::Millis, I, "1000", "a down backend is probed (NOOP or version) this often"},
     &B::probe_interval},
    {{"down_policy", "", VK::String, I, "fail",
      "ketama pools: fail = a down server's keys fail at once; eject = the others take them; PORT:eject|PORT:fail per pool"},
     &B::down_policy},
    {{"dns_ttl", "", VK::Millis, I, "60000",
      "a backend name's address is resolved again for a new connection after this long (and after any failure); 0 = always"},
     &B::dns_ttl},
    {{"dns_servers", "", VK::String, I, "none",
      "nameservers IP[:PORT] ('|' between) for backend names, no search domains or /etc/hosts; none = the system's"},
     &B::dns_servers},
    {{"downstream_protocol", "", VK::Protocol, I, "unset", "ascii, binary or meta to the backends (see below)"},
     &B::downstream_protocol},
    {{"downstream_retry", "", VK::Count, I, "1", "retries when a connection closes before any reply"},
     &B::downstream_retry},
    {{"port_listen", "", VK::Port, I, "11211", "listen port for URL configs and bare {json}; 0 = any free port"},
     &B::port_listen},
    {{"cycle", "", VK::Millis, G, "200", "no effect: timers are exact, there is no clock quantum"}, &B::cycle},
    {{"time_stats", "", VK::Bool, I, "0", "1 = keep per-backend-server latency histograms"}, &B::time_stats},
    {{"replica_reads", "", VK::Bool, I, "0",
      "vBucket buckets: 1 = a get whose active server is down or failed is read from a replica (may be stale)"},
     &B::replica_reads},
    {{"mcs_opts", "", VK::McsOpts, I, "none", "hash options; only distribution:ketama-weighted"},
     &B::mcs_opts},
    {{"usr", "", VK::String, I, "none",
      "SASL user for every new binary backend connection; HTTP user for URLs without auth"}, &B::usr},
    {{"pwd", "", VK::String, I, "none", "password for usr (never shown: stats and logs print ****)"}, &B::pwd},
    {{"auth_timeout", "", VK::Millis, I, "100", "wait for each SASL or bucket-select reply on a new backend connection"},
     &B::auth_timeout},
    {{"config_cache", "", VK::String, I, "none", "file that keeps the last good URL config"},
     &B::config_cache},
    {{"config_stall_timeout", "", VK::Millis, I, "35000",
      "config stream silence (heartbeats count) that ends it; heartbeat asked every 2/7; 0 = never"},
     &B::config_stall_timeout},
    {{"node_config_interval", "", VK::Millis, I, "2500",
      "couchbase:// config sources: a data node is asked for the bucket's config (GET_CLUSTER_CONFIG) this often"},
     &B::node_config_interval},
    {{"network", "", VK::String, I, "default",
      "terse configs: default = the servers of serverList; external = their nodesExt alternateAddresses.external"},
     &B::network},
    {{"nmv_max_retries", "", VK::Count, I, "0", "NOT_MY_VBUCKET retries per request; 0 = 2 x servers"},
     &B::nmv_max_retries},
    {{"ready_when", "", VK::String, I, "reachable",
      "/readyz: map (a map per port), reachable (and a server of each bucket up) or all (every server up)"},
     &B::ready_when},
    {{"admin_port", "", VK::Port, I, "none", "admin HTTP port (/metrics, /healthz, /readyz, /config); 0 = any free port"}, &B::admin_port},
    {{"drain_timeout", "", VK::Millis, I, "5000", "SIGTERM/SIGINT: time to finish in-flight requests before exit"},
     &B::drain_timeout},
    {{"log_interval", "", VK::Millis, I, "10000", "a repeated log message is written at most once per interval"},
     &B::log_interval},
    {{"client_buffer_max", "", VK::Size, I, "4m",
      "reply bytes one client may hold in moxi (unsent, or waiting for an earlier reply); k/m suffix"},
     &B::client_buffer_max},
    {{"buffer_max", "", VK::Memory, I, "auto",
      "bytes all connections may buffer together (k/m/g suffix); auto = 1/8 of physical memory, at least 64m"},
     &B::buffer_max},
    {{"buffer_wait", "", VK::Millis, I, "1000",
      "how long a client waits for buffer room before its requests are answered SERVER_ERROR out of memory"},
     &B::buffer_wait},
    {{"item_size_max", "", VK::Size, I, "auto",
      "largest value accepted (= -I; k/m suffix); auto = 1m for memcached pools, 20m for vBucket buckets"},
     &B::item_size_max},
    {{"reuse_port", "", VK::Bool, I, "0",
      "1 = SO_REUSEPORT: another process may bind the same ports (upgrade hand-over); 0 = they are ours alone"},
     &B::reuse_port},
    {{"tls_port", "", VK::Port, I, "none",
      "a TLS listener serving what the first port serves (tls_cert, tls_key); 0 = any free port"},
     &B::tls_port},
    {{"tls_cert", "", VK::String, I, "none", "PEM certificate chain tls_port presents (SIGHUP reloads it)"},
     &B::tls_cert},
    {{"tls_key", "", VK::String, I, "none", "PEM private key of tls_cert"}, &B::tls_key},
    {{"tls_client_ca", "", VK::String, I, "none",
      "PEM CA certificates: tls_port asks every client for a certificate and verifies it"},
     &B::tls_client_ca},
    {{"tls_min_version", "", VK::String, I, "1.2", "oldest TLS version tls_port accepts: 1.2 or 1.3"},
     &B::tls_min_version},
    {{"tls_handshake_timeout", "", VK::Millis, I, "5000",
      "a TLS handshake (client or backend) not finished this long fails and closes the connection"},
     &B::tls_handshake_timeout},
    {{"downstream_tls", "", VK::String, I, "0",
      "1 = TLS to every backend server (Couchbase maps: the kvSSL port of nodesExt); PORT|PORT = the pools served there"},
     &B::downstream_tls},
    {{"downstream_tls_ca", "", VK::String, I, "none",
      "PEM CA certificates backends are verified with; none = the system's store"},
     &B::downstream_tls_ca},
    {{"downstream_tls_cert", "", VK::String, I, "none", "PEM client certificate moxi presents to backends"},
     &B::downstream_tls_cert},
    {{"downstream_tls_key", "", VK::String, I, "none", "PEM private key of downstream_tls_cert"},
     &B::downstream_tls_key},
    {{"downstream_tls_verify", "", VK::Bool, I, "1",
      "0 = accept any backend certificate and name (tests only: anyone in the path can read the data)"},
     &B::downstream_tls_verify},
    // Accepted for compatibility with the original's command lines; warned about and ignored.
    {{"front_cache_max", "", VK::Count, G, "200", "front cache (not implemented)"}, std::monostate{}},
    {{"front_cache_lifespan", "", VK::Millis, G, "0", "front cache (not implemented)"}, std::monostate{}},
    {{"front_cache_spec", "", VK::String, G, "none", "front cache (not implemented)"}, std::monostate{}},
    {{"front_cache_unspec", "", VK::String, G, "none", "front cache (not implemented)"}, std::monostate{}},
    {{"key_stats_max", "", VK::Count, G, "4000", "key stats (not implemented)"}, std::monostate{}},
    {{"key_stats_lifespan", "", VK::Millis, G, "0", "key stats (not implemented)"}, std::monostate{}},
    {{"key_stats_spec", "", VK::String, G, "none", "key stats (not implemented)"}, std::monostate{}},
    {{"key_stats_unspec", "", VK::String, G, "none", "key stats (not implemented)"}, std::monostate{}},
    {{"optimize_set", "", VK::String, G, "none", "fire-and-forget set (not implemented)"}, std::monostate{}},
    {{"downstream_weight", "", VK::Count, G, "0", "default server weight (give :WEIGHT per server)"},
     std::monostate{}},
    {{"default_bucket_name", "", VK::String, I, "first",
      "bucket new client connections start on (gateway); empty = none: clients must authenticate"},
     &B::default_bucket_name},
    {{"client_passwords", "", VK::String, I, "none",
      "file of BUCKET:PASSWORD lines: a client's SASL password for that bucket (overrides its saslPassword)"},
     &B::client_passwords_file},
    {{"bucket", "", VK::String, I, "none",
      "after SASL, each new backend connection selects this bucket (SELECT_BUCKET, Couchbase Server 5.0 and later)"},
     &B::bucket},
    {{"host", "", VK::String, G, "none", "per-server host of the old MCP configs"}, std::monostate{}},
    {{"port", "", VK::Port, G, "0", "per-server port of the old MCP configs (the listen port is port_listen)"},
     std::monostate{}},
    // Synonyms (same field, same kind).
    {{"concurrency", "downstream_max", VK::Count, I, "1024", "= downstream_max"}, &B::downstream_max},
    {{"timeout", "downstream_timeout", VK::Millis, I, "5000", "= downstream_timeout"}, &B::downstream_timeout},
    {{"downstream_conn_timeout", "downstream_timeout", VK::Millis, I, "5000", "= downstream_timeout"},
     &B::downstream_timeout},
    {{"protocol", "downstream_protocol", VK::Protocol, I, "unset", "= downstream_protocol"},
     &B::downstream_protocol},
    {{"retry", "downstream_retry", VK::Count, I, "1", "= downstream_retry"}, &B::downstream_retry},
    {{"weight", "downstream_weight", VK::Count, G, "0", "= downstream_weight"}, std::monostate{}},
};

constexpr auto kBehaviorInfos = [] {
  std::array<BehaviorKeyInfo, std::size(kBehaviorEntries)> a{};
  for (size_t i = 0; i < a.size(); ++i) a[i] = kBehaviorEntries[i].info;
  return a;
}();

constexpr uint64_t kMaxMillis = std::numeric_limits<int32_t>::max();  // about 24.8 days

// memcached's -I: bytes, or a number with a k/K or m/M suffix; 1 KiB to 1 GiB.
// A byte count with an optional k, m or g suffix, from `min` to `max` bytes.
std::optional<uint64_t> parse_bytes(std::string_view value, uint64_t min, uint64_t max) {
  uint64_t unit = 1;
  if (!value.empty()) {
    const char last = value.back();
    if (last == 'k' || last == 'K') unit = uint64_t{1} << 10;
    if (last == 'm' || last == 'M') unit = uint64_t{1} << 20;
    if (last == 'g' || last == 'G') unit = uint64_t{1} << 30;
    if (unit != 1) value.remove_suffix(1);
  }
  auto n = parse_number(value, max / unit);
  if (!n || *n * unit < min) return std::nullopt;
  return *n * unit;
}
// An item or per-client size: 1 KiB to 1 GiB (memcached's -I range).
std::optional<uint64_t> parse_size(std::string_view value) { return parse_bytes(value, 1 << 10, 1 << 30); }
// A process-wide budget: 1 MiB to 1 TiB.
std::optional<uint64_t> parse_memory(std::string_view value) {
  return parse_bytes(value, 1 << 20, uint64_t{1} << 40);
}
constexpr uint64_t kMaxCount = std::numeric_limits<int32_t>::max();

struct ParsedValue {
  std::chrono::milliseconds ms{0};
  uint64_t number = 0;
  bool flag = false;
  DownstreamProtocol protocol = DownstreamProtocol::Unset;
  std::string text;
};

// Checks `value` against `kind`; returns the reason on error, with the
// value quoted as `secrets` lets it be shown.
std::optional<std::string> parse_value(ValueKind kind, std::string_view value, const Secrets& secrets,
                                       ParsedValue& out) {
  switch (kind) {
    case ValueKind::Millis: {
      auto v = parse_number(value, kMaxMillis);
      if (!v) {
        if (parse_number(value, std::numeric_limits<uint64_t>::max() / 10))
          return secrets.quoted(value) + " is too large (at most " + std::to_string(kMaxMillis) + " ms)";
        return secrets.quoted(value) + " is not a number of milliseconds";
      }
      out.ms = std::chrono::milliseconds(*v);
      return std::nullopt;
    }
    case ValueKind::Count: {
      auto v = parse_number(value, kMaxCount);
      if (!v) {
        if (parse_number(value, std::numeric_limits<uint64_t>::max() / 10))
          return secrets.quoted(value) + " is too large (at most " + std::to_string(kMaxCount) + ")";
        return secrets.quoted(value) + " is not a whole number";
      }
      out.number = *v;
      return std::nullopt;
    }
    case ValueKind::Port: {
      auto v = parse_port(value, 0);
      if (!v) return secrets.quoted(value) + " is not a port number (0-65535)";
      out.number = *v;
      return std::nullopt;
    }
    case ValueKind::Bool:
      if (value == "1" || value == "true") {
        out.flag = true;
      } else if (value == "0" || value == "false") {
        out.flag = false;
      } else {
        return secrets.quoted(value) + " is not a boolean (0, 1, true or false)";
      }
      return std::nullopt;
    case ValueKind::Protocol:
      if (value == "ascii" || value == "memcached-ascii" || value == "membase-ascii") {
        out.protocol = DownstreamProtocol::Ascii;
      } else if (value == "binary" || value == "memcached-binary" || value == "membase-binary") {
        out.protocol = DownstreamProtocol::Binary;
      } else if (value == "meta") {
        out.protocol = DownstreamProtocol::Meta;
      } else {
        return secrets.quoted(value) + " is not a protocol (ascii, binary or meta)";
      }
      return std::nullopt;
    case ValueKind::McsOpts:
      if (!value.empty() && value != "distribution:ketama-weighted")
        return secrets.quoted(value) + " is not supported (only distribution:ketama-weighted)";
      out.text.assign(value);
      return std::nullopt;
    case ValueKind::String:
      out.text.assign(value);
      return std::nullopt;
    case ValueKind::Size: {
      auto v = parse_size(value);
      if (!v) return secrets.quoted(value) + " is not a size from 1k to 1024m (bytes, or a number with k or m)";
      out.number = *v;
      return std::nullopt;
    }
    case ValueKind::Memory: {
      if (value == "auto") {
        out.number = 0;
        return std::nullopt;
      }
      auto v = parse_memory(value);
      if (!v) return secrets.quoted(value) + " is not auto or a size from 1m to 1024g (bytes, or a number with k, m or g)";
      out.number = *v;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

void store(const Field& field, const ParsedValue& v, Behaviors& b) {
  std::visit(
      [&](auto member) {
        using M = decltype(member);
        if constexpr (std::is_same_v<M, std::chrono::milliseconds Behaviors::*>) {
          b.*member = v.ms;
        } else if constexpr (std::is_same_v<M, uint32_t Behaviors::*>) {
          b.*member = static_cast<uint32_t>(v.number);
        } else if constexpr (std::is_same_v<M, uint64_t Behaviors::*>) {
          b.*member = v.number;
        } else if constexpr (std::is_same_v<M, uint16_t Behaviors::*> ||
                             std::is_same_v<M, std::optional<uint16_t> Behaviors::*>) {
          b.*member = static_cast<uint16_t>(v.number);
        } else if constexpr (std::is_same_v<M, bool Behaviors::*>) {
          b.*member = v.flag;
        } else if constexpr (std::is_same_v<M, DownstreamProtocol Behaviors::*>) {
          b.*member = v.protocol;
        } else if constexpr (std::is_same_v<M, std::string Behaviors::*> ||
                             std::is_same_v<M, std::optional<std::string> Behaviors::*>) {
          b.*member = v.text;
        }
      },
      field);
}

const BehaviorEntry* find_behavior(std::string_view key) {
  for (const auto& e : kBehaviorEntries)
    if (e.info.name == key) return &e;
  return nullptr;
}

// ---------------------------------------------------------------------------
// -z cluster configurations.

// Decodes %XX in URL user info; other bytes are kept as they are.
std::string percent_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct ParsedUrl {
  std::string url;                    // without user info
  std::optional<Credentials> userinfo;
};

std::optional<std::string> parse_url(std::string_view raw, ParsedUrl& out, const Secrets& secrets) {
  if (!is_url(raw)) return secrets.quoted(raw) + " is not an http://, https:// or couchbase:// URL";
  if (conflate::is_data_node_url(raw)) {
    // Checked here, so that a bad one stops moxi at start with its reason.
    std::string error;
    if (!conflate::parse_data_node_url(raw, error)) return secrets.noted(error);
    out.userinfo.reset();
    out.url.assign(raw);
    return std::nullopt;
  }
  size_t scheme_end = raw.find("://") + 3;
  size_t authority_end = raw.find_first_of("/?#", scheme_end);
  if (authority_end == std::string_view::npos) authority_end = raw.size();
  std::string_view authority = raw.substr(scheme_end, authority_end - scheme_end);
  size_t at = authority.rfind('@');
  out.userinfo.reset();
  if (at != std::string_view::npos) {
    std::string_view info = authority.substr(0, at);
    size_t colon = info.find(':');
    Credentials c;
    c.user = percent_decode(info.substr(0, colon));
    if (colon != std::string_view::npos) c.password = percent_decode(info.substr(colon + 1));
    out.userinfo = std::move(c);
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) return secrets.quoted(raw) + " has no host";
  out.url.assign(raw.substr(0, scheme_end));
  out.url.append(authority);
  out.url.append(raw.substr(authority_end));
  return std::nullopt;
}

// Credentials from "USER%PASSWORD" (split at the first '%'; no '%' = user only).
Credentials parse_auth(std::string_view v) {
  Credentials c;
  size_t pct = v.find('%');
  c.user.assign(v.substr(0, pct));
  if (pct != std::string_view::npos) c.password.assign(v.substr(pct + 1));
  return c;
}

// Adds URLs (separated by ',' or '|') to `src`, collecting user info.
std::optional<std::string> add_urls(std::string_view list, UrlSource& src, std::optional<Credentials>& userinfo,
                                    const Secrets& secrets) {
  for (std::string_view piece : split_any(list, ",|")) {
    std::string_view u = trim(piece);
    if (u.empty()) return "empty URL in " + secrets.quoted(trim(list));
    ParsedUrl p;
    if (auto err = parse_url(u, p, secrets)) return err;
    if (p.userinfo) {
      if (userinfo && *userinfo != *p.userinfo) return "the URLs carry different user:password credentials";
      userinfo = p.userinfo;
    }
    src.urls.push_back(std::move(p.url));
  }
  return std::nullopt;
}

std::optional<std::string> parse_url_section(std::string_view section, std::string_view file,
                                             std::vector<ConfigSource>& out, std::vector<std::string>* warnings,
                                             const Secrets& secrets) {
  UrlSource src;
  src.file.assign(file);
  std::optional<Credentials> userinfo;
  std::optional<Credentials> explicit_auth;
  bool auth_key = false;
  if (is_url(section)) {
    if (auto err = add_urls(section, src, userinfo, secrets)) return err;
  } else {
    for (std::string_view piece : split_any(section, ",\r\n")) {
      std::string_view item = trim(piece);
      if (item.empty() || item.starts_with('#')) continue;
      size_t eq = item.find('=');
      if (eq == std::string_view::npos) {
        if (is_url(item)) {  // "url=http://a,http://b": the comma list form of the usage text
          if (auto err = add_urls(item, src, userinfo, secrets)) return err;
          continue;
        }
        if (item == section && item.find_first_of("./") != std::string_view::npos && item.find(':') == std::string_view::npos)
          return secrets.quoted(item) + " is not a configuration (to read a file, write ./" + secrets.shown(item) + ")";
        return secrets.quoted(item) + " is not a configuration (expected PORT=SERVERS, PORT={json}, URL, url=URL or ./FILE)";
      }
      std::string_view key = trim(item.substr(0, eq));
      std::string_view value = trim(item.substr(eq + 1));
      if (key == "url" || key == "host") {
        if (value.empty()) return secrets.shown(key) + "= has no URL";
        if (auto err = add_urls(value, src, userinfo, secrets)) return err;
      } else if (key == "auth" || key == "apikey") {
        auth_key = true;
        if (value.empty()) {
          explicit_auth.reset();
        } else {
          explicit_auth = parse_auth(value);
        }
      } else if (key == "config" || key == "dbpath") {
        if (warnings)
          warnings->push_back(secrets.shown(key) + "=" + secrets.shown(value) + ": ignored (use -Z config_cache=PATH)");
      } else {
        // Not the item: a misspelt auth='s value would be a password.
        return "unknown configuration key " + secrets.quoted(key) + " (expected url=, auth=, or PORT=...)";
      }
    }
    if (src.urls.empty()) return "missing url=URL in " + secrets.quoted(section);
  }
  if (auth_key) {
    if (userinfo && explicit_auth != userinfo) return "auth= and the user:password in the URL differ";
    src.auth = explicit_auth;
    src.auth_given = true;
  } else if (userinfo) {
    src.auth = userinfo;
    src.auth_given = true;
  }
  out.emplace_back(std::move(src));
  return std::nullopt;
}

std::optional<std::string> server_list(std::string_view text, std::vector<ServerSpec>& out, const Secrets& secrets);
std::optional<std::string> read_section_file(StaticSection& section, bool* unreadable);

// "PORT = CONFIG" when `section` starts with digits then '='.
bool is_static_section(std::string_view section) {
  size_t i = 0;
  while (i < section.size() && section[i] >= '0' && section[i] <= '9') ++i;
  if (i == 0) return false;
  while (i < section.size() && is_space(section[i])) ++i;
  return i < section.size() && section[i] == '=';
}

std::optional<std::string> parse_static_section(std::string_view section, std::string_view file,
                                                std::vector<ConfigSource>& out, const Secrets& secrets) {
  size_t eq = section.find('=');
  std::string_view port_text = trim(section.substr(0, eq));
  StaticSection s;
  s.file.assign(file);
  auto port = parse_port(port_text, 0);
  if (!port) return "port " + secrets.quoted(port_text) + " is not a port number (0-65535)";
  s.port = *port;
  const std::string_view config = trim(section.substr(eq + 1));
  s.text.assign(config);
  std::string where = "port " + secrets.shown(port_text) + ": ";
  if (s.text.empty()) return where + "empty configuration";
  // PORT=URL reads as "serve this URL's bucket on PORT", which moxi writes
  // otherwise; the URL itself is not repeated (it may hold a password).
  if (is_url(config) || starts_with_nocase(config, "url="))
    return where + "a URL configuration takes no PORT= (URLs are served on -Z port_listen, default 11211): write -Z port_listen=" +
           secrets.shown(port_text) + " -z URL";
  if (is_file_value(s.text)) {
    // Read later (read_section_file), so an unreadable file exits 66 like any -z file.
    s.config_file = std::move(s.text);
    s.text.clear();
  } else if (s.text.front() == '{') {
    s.json = true;
  } else if (auto err = server_list(config, s.servers, secrets)) {
    return where + *err;
  }
  out.emplace_back(std::move(s));
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Command-line options.

constexpr auto R = Support::Rejected;

constexpr OptionInfo kOptions[] = {
    {"-z", "", "CONFIG", I, "cluster configuration (see above); may be repeated"},
    {"-Z", "", "KEY=VALUE[,...]", I, "behaviors (see below); -Z ./FILE or -Z /FILE reads them from a file"},
    {"-p", "", "PORT", I,
     "the original's embedded memcached port: 0 (off) is accepted and ignored; another PORT is the listen port for "
     "URL configs and bare {json} when -Z port_listen is not given"},
    {"-l", "", "ADDR", I, "listen on this address only (default: every interface)"},
    {"-t", "", "NUM", I, "worker threads (default: the number of cores)"},
    {"-c", "", "NUM", I, "maximum simultaneous client connections (default 1024); raises ulimit -n to fit"},
    {"-I", "", "SIZE", I, "largest value accepted, as memcached's -I (k/m suffix; default 1m, 20m for vBucket buckets)"},
    {"-d", "", "", I, "run as a daemon"},
    {"-P", "", "FILE", I, "write the process id to FILE"},
    {"-v", "", "", I, "log more: -v info, -vv debug, -vvv trace (errors and warnings always)"},
    {"-o", "", "FILE", I, "log to FILE instead of stderr (-O is the same); SIGUSR1 reopens it"},
    {"-O", "", "FILE", I, "= -o"},
    {"-Y", "", "y|n", I,
     "y: drain and exit (status 0) when standard input reaches end of file or a newline, as a supervisor's pipe "
     "does; default n"},
    {"", "--check-config", "", I, "check the configuration, print what would be served, exit 0 (valid) or 1"},
    {"", "--describe-stats", "", I, "list the stats moxi reports, then exit"},
    {"-h", "--help", "", I, "show this help and exit"},
    {"-V", "--version", "", I, "show the version, the git revision built from and the library versions, and exit"},
    // The original's embedded memcached server and other old flags: accepted, warned about, no effect.
    {"-m", "", "MB", G, "embedded server memory"},
    {"-M", "", "", G, "embedded server: no eviction"},
    {"-k", "", "", G, "mlockall"},
    {"-f", "", "FACTOR", G, "slab growth factor"},
    {"-n", "", "BYTES", G, "minimum item size"},
    {"-L", "", "", G, "large pages"},
    {"-C", "", "", G, "no CAS"},
    {"-D", "", "CHAR", G, "stats detail delimiter"},
    {"-U", "", "PORT", G, "embedded server UDP port"},
    {"-r", "", "", G, "raise the core file limit"},
    {"-a", "", "MASK", G, "UNIX socket mask"},
    {"-R", "", "NUM", G, "requests per event"},
    {"-b", "", "NUM", G, "listen backlog"},
    {"-B", "", "PROTO", G, "client protocol (moxi always detects it)"},
    // Refused: honouring them silently would be wrong.
    {"-s", "", "FILE", R, "UNIX socket: not supported; listen on TCP with -l/-p"},
    {"-u", "", "USER", R, "setuid: not supported; start moxi as that user"},
    {"-X", "", "", R, "mcmux mode: not supported"},
};

constexpr unsigned kMaxWorkers = 1024;
constexpr unsigned kMaxConnections = 1 << 20;

const OptionInfo* find_short(char c) {
  for (const auto& o : kOptions)
    if (o.name.size() == 2 && o.name[1] == c) return &o;
  return nullptr;
}

const OptionInfo* find_long(std::string_view name) {
  for (const auto& o : kOptions)
    if (o.long_name == name) return &o;
  return nullptr;
}

std::string usage_error(std::string_view text) { return "moxi: " + std::string(text); }

// Everything parse_options accumulates.
class Parser {
 public:
  explicit Parser(const EnvLookup& env) : env_(env) {}

  ParseOutcome run(const std::vector<std::string>& args) {
    // 1. The environment first, so that -Z usr=/pwd= override it.
    if (env_) {
      if (auto u = env_("MOXI_SASL_PLAIN_USR")) opts_.behaviors.usr = *u;
      if (auto p = env_("MOXI_SASL_PLAIN_PWD")) opts_.behaviors.pwd = *p;
    }
    // 2. Options and arguments, in order (later values win).
    bool only_arguments = false;
    for (size_t i = 0; i < args.size() && !failed(); ++i) {
      const std::string& a = args[i];
      if (only_arguments || a.size() < 2 || a[0] != '-') {
        argument(a);
      } else if (a == "--") {
        only_arguments = true;
      } else if (a.starts_with("--")) {
        long_option(a);
      } else {
        short_options(args, i);
      }
    }
    if (failed()) return std::move(outcome_);
    // 3. Requests that need no configuration.
    if (opts_.show_help || opts_.show_version || opts_.describe_stats) return success();
    // 4. A configuration is required.
    if (opts_.sources.empty()) fail("need cluster configuration (-z or URL); see moxi -h");
    // 5. Fill in what depends on the final behaviors, then check the ports.
    if (!failed()) resolve();
    if (!failed() && opts_.behaviors.ready_when != "map" && opts_.behaviors.ready_when != "reachable" &&
        opts_.behaviors.ready_when != "all")
      fail("-Z ready_when: " + quote(opts_.behaviors.ready_when) + " is not map, reachable or all");
    if (!failed() && !vbucket::network_from_string(opts_.behaviors.network))
      fail("-Z network: " + quote(opts_.behaviors.network) + " is not default or external");
    if (!failed()) {
      DownPolicy policy;
      if (auto err = parse_down_policy(opts_.behaviors.down_policy, policy)) fail("-Z down_policy: " + *err);
    }
    if (!failed() && !opts_.behaviors.dns_servers.empty()) {
      std::vector<std::string> servers;
      if (auto err = parse_dns_servers(opts_.behaviors.dns_servers, servers)) fail("-Z dns_servers: " + *err);
    }
    if (!failed()) load_client_passwords();
    if (failed()) return std::move(outcome_);
    return success();
  }

 private:
  bool failed() const { return !outcome_.error.empty(); }

  // Records the first error; later ones are dropped.
  void fail(std::string_view text, int status = kExitUsage) {
    if (!failed()) {
      outcome_.error = usage_error(text);
      outcome_.exit_status = status;
    }
  }

  ParseOutcome success() {
    outcome_.options = std::move(opts_);
    outcome_.exit_status = kExitOk;
    return std::move(outcome_);
  }

  void warn(std::string_view text) { opts_.warnings.push_back("moxi: warning: " + std::string(text)); }

  void long_option(const std::string& a) {
    std::string_view name = a;
    size_t eq = name.find('=');
    if (eq != std::string_view::npos) name = name.substr(0, eq);
    const OptionInfo* o = find_long(name);
    if (!o) {
      fail("unknown option " + quote(name) + " (see moxi -h)");
      return;
    }
    if (eq != std::string_view::npos) {
      fail(std::string(name) + " takes no value");
      return;
    }
    apply(*o, "");
  }

  // A cluster of short options: "-dvv", "-t4", "-t 4", "-vz 11211=a".
  void short_options(const std::vector<std::string>& args, size_t& i) {
    const std::string& a = args[i];
    for (size_t j = 1; j < a.size() && !failed(); ++j) {
      const OptionInfo* o = find_short(a[j]);
      if (!o) {
        fail("unknown option " + quote(std::string("-") + a[j]) + " (see moxi -h)");
        return;
      }
      if (o->argument.empty()) {
        apply(*o, "");
        continue;
      }
      if (j + 1 < a.size()) {
        apply(*o, std::string_view(a).substr(j + 1));
      } else if (i + 1 < args.size()) {
        apply(*o, args[++i]);
      } else {
        fail(std::string(o->name) + ": missing " + std::string(o->argument));
      }
      return;
    }
  }

  void apply(const OptionInfo& o, std::string_view value) {
    std::string_view name = o.name.empty() ? o.long_name : o.name;
    if (o.support == Support::Ignored) {
      warn(std::string(name) + ": ignored (" + std::string(o.help) + ")");
      return;
    }
    if (o.support == Support::Rejected) {
      fail(std::string(name) + ": " + std::string(o.help));
      return;
    }
    std::string where = std::string(name) + ": ";
    if (name == "-z") {
      cluster_config(value);
    } else if (name == "-Z") {
      behaviors(value);
    } else if (name == "-p") {
      auto port = parse_port(value, 0);
      if (!port) {
        fail(where + quote(value) + " is not a port number (0-65535)");
        return;
      }
      // The original's embedded memcached port; 0 = off. See resolve().
      embedded_port_ = *port;
    } else if (name == "-l") {
      if (value.empty()) {
        fail(where + "empty address");
        return;
      }
      opts_.listen_address.assign(value);
    } else if (name == "-t") {
      auto n = parse_number(value, kMaxWorkers);
      if (!n || *n == 0) {
        fail(where + quote(value) + " is not a number of workers (1-" + std::to_string(kMaxWorkers) + ")");
        return;
      }
      opts_.workers = static_cast<unsigned>(*n);
    } else if (name == "-c") {
      auto n = parse_number(value, kMaxConnections);
      if (!n || *n == 0) {
        fail(where + quote(value) + " is not a number of connections (1-" + std::to_string(kMaxConnections) + ")");
        return;
      }
      opts_.max_connections = static_cast<unsigned>(*n);
      opts_.max_connections_given = true;
    } else if (name == "-I") {
      auto size = parse_size(value);
      if (!size) {
        fail(where + quote(value) + " is not a size from 1k to 1024m (bytes, or a number with k or m)");
        return;
      }
      opts_.behaviors.item_size_max = static_cast<uint32_t>(*size);
    } else if (name == "-d") {
      opts_.daemonize = true;
    } else if (name == "-P") {
      if (value.empty()) {
        fail(where + "empty file name");
        return;
      }
      opts_.pidfile.assign(value);
    } else if (name == "-v") {
      opts_.verbosity = std::min(opts_.verbosity + 1, 3);
    } else if (name == "-Y") {
      if (value != "y" && value != "n") {
        fail(where + quote(value) + " is not y or n (y: exit when standard input ends)");
        return;
      }
      opts_.exit_on_stdin_end = value == "y";
    } else if (name == "-o" || name == "-O") {
      // The original's convention: "stderr" or "" mean stderr.
      opts_.log_file = value == "stderr" ? std::string() : std::string(value);
    } else if (name == "--check-config") {
      opts_.check_config = true;
    } else if (name == "--describe-stats") {
      opts_.describe_stats = true;
    } else if (name == "-h") {
      opts_.show_help = true;
    } else if (name == "-V") {
      opts_.show_version = true;
    }
  }

  // Reads FILE for "-z ./FILE" / "-Z /FILE"; nullopt after a failure.
  std::optional<std::string> read_named_file(std::string_view flag, std::string_view path) {
    std::string err;
    auto text = read_whole_file(std::string(path), err);
    if (!text) {
      fail(std::string(flag) + " " + std::string(path) + ": cannot read: " + err, kExitNoInput);
      return std::nullopt;
    }
    if (trim(*text).empty()) {
      fail(std::string(flag) + " " + std::string(path) + ": file is empty");
      return std::nullopt;
    }
    return text;
  }

  void cluster_config(std::string_view value) {
    std::string where = "-z";
    std::string text(value);
    std::string file;
    if (is_file_value(trim(value))) {
      file.assign(trim(value));
      where += " " + file;
      auto contents = read_named_file("-z", file);
      if (!contents) return;
      text = std::move(*contents);
    }
    add_sources(where, text, file);
  }

  void add_sources(const std::string& where, std::string_view text, const std::string& file) {
    std::vector<std::string> warnings;
    const size_t first = opts_.sources.size();
    if (auto err = parse_cluster_config(text, file, opts_.sources, &warnings)) {
      fail(where + ": " + *err);
      return;
    }
    for (const auto& w : warnings) warn(where + ": " + w);
    const Secrets secrets(text);
    for (size_t i = first; i < opts_.sources.size(); ++i) {
      auto* s = std::get_if<StaticSection>(&opts_.sources[i]);
      if (!s || s->config_file.empty()) continue;
      bool unreadable = false;
      if (auto reason = read_section_file(*s, &unreadable)) {
        // A section after a password on its line may be a piece of it: its port and file are not shown.
        const bool hidden = secrets.hides(s->config_file);
        const std::string section = hidden ? "port ****: ****: " : "port " + std::to_string(s->port) + ": " + s->config_file + ": ";
        fail(where + ": " + secrets.noted(section + *reason), unreadable ? kExitNoInput : kExitUsage);
        return;
      }
    }
  }

  void behaviors(std::string_view value) {
    std::string where = "-Z ";
    std::string text(value);
    if (is_file_value(trim(value))) {
      std::string path(trim(value));
      where += path + ": ";
      auto contents = read_named_file("-Z", path);
      if (!contents) return;
      text = std::move(*contents);
      opts_.behavior_files.push_back(path);
    }
    std::vector<std::string> ignored, given;
    if (auto err = parse_behaviors(text, opts_.behaviors, &ignored, &given)) {
      fail(where + *err);
      return;
    }
    port_listen_given_ = port_listen_given_ || std::find(given.begin(), given.end(), "port_listen") != given.end();
    for (const auto& key : ignored) warn("-Z " + key + ": accepted but ignored (not implemented)");
  }

  // A positional argument: a config URL (or url=/auth= list), as the original's trailing argument.
  void argument(const std::string& a) {
    std::string_view v = trim(a);
    if (is_url(v) || v.starts_with("url=") || v.starts_with("auth=") || v.starts_with("apikey=")) {
      add_sources("argument", v, "");
      return;
    }
    const Secrets secrets(v);
    if (v.find('@') != std::string_view::npos) {
      fail(secrets.noted("argument " + secrets.quoted(v) +
                         ": not a config URL (XMPP/JID configurations are not supported; give an http:// URL)"));
      return;
    }
    fail(secrets.noted("unexpected argument " + secrets.quoted(v) + " (give a configuration with -z, or an http:// URL)"));
  }

  // -Z client_passwords=FILE (bucket_access.h). No error shows a line of
  // the file: it holds passwords.
  void load_client_passwords() {
    Behaviors& b = opts_.behaviors;
    if (b.client_passwords_file.empty()) return;
    const std::string where = "-Z client_passwords " + b.client_passwords_file;
    std::string error;
    const auto text = read_whole_file(b.client_passwords_file, error);
    if (!text) {
      fail(where + ": " + error);
      return;
    }
    size_t line_no = 0;
    for (size_t pos = 0; pos < text->size();) {
      size_t end = text->find('\n', pos);
      if (end == std::string::npos) end = text->size();
      std::string_view line(text->data() + pos, end - pos);
      pos = end + 1;
      ++line_no;
      if (line.ends_with('\r')) line.remove_suffix(1);
      if (line.empty() || line.front() == '#') continue;
      const size_t colon = line.find(':');
      const std::string at = where + " line " + std::to_string(line_no);
      if (colon == std::string_view::npos || colon == 0) {
        fail(at + ": expected BUCKET:PASSWORD (the line is not shown: it may hold a password)");
        return;
      }
      const std::string bucket(line.substr(0, colon));
      if (!b.client_passwords.emplace(bucket, std::string(line.substr(colon + 1))).second) {
        fail(at + ": bucket " + quote(bucket) + " is listed twice");
        return;
      }
    }
  }

  // The couchbase:// URLs of `source` name one bucket, and the data
  // connections have a login to give (Couchbase 5+ refuses data without one).
  std::optional<std::string> check_data_nodes(const UrlSource& source) const {
    std::string bucket, error;
    bool any = false;
    for (const auto& url : source.urls) {
      if (!conflate::is_data_node_url(url)) continue;
      auto node = conflate::parse_data_node_url(url, error);
      if (!node) return error;
      const std::string named = node->bucket.empty() ? data_node_bucket(opts_.behaviors, "") : node->bucket;
      if (any && named != bucket)
        return "the couchbase:// URLs of one source name different buckets (\"" + bucket + "\" and \"" + named + "\")";
      bucket = named;
      any = true;
    }
    if (any && opts_.behaviors.usr.empty())
      return "couchbase:// URLs need a login: give -Z usr=USER,pwd=PASSWORD (the data nodes and the data "
             "connections are asked with it)";
    return std::nullopt;
  }

  // Fills ports and credentials that depend on the final behaviors; checks that
  // no two listeners want the same port.
  void resolve() {
    if (opts_.exit_on_stdin_end && opts_.daemonize) {
      fail("-Y y and -d: a daemon's standard input is /dev/null, so moxi would exit at once; give one of them");
      return;
    }
    Behaviors& b = opts_.behaviors;
    // -p was the original's embedded memcached server port (0 = off). There
    // is no embedded server: -p 0 says nothing, and another -p names the
    // proxy port unless -Z port_listen does.
    if (embedded_port_.value_or(0) != 0) {
      if (port_listen_given_) {
        warn("-p " + std::to_string(*embedded_port_) + ": ignored: -Z port_listen=" + std::to_string(b.port_listen) +
             " is the listen port (-p was the original's embedded memcached port)");
      } else {
        b.port_listen = *embedded_port_;
      }
    }
    std::set<uint16_t> ports;
    size_t on_port_listen = 0;
    for (auto& src : opts_.sources) {
      if (auto* s = std::get_if<StaticSection>(&src)) {
        if (s->port_from_listen) {
          s->port = b.port_listen;
          ++on_port_listen;
        } else if (s->port != 0 && !ports.insert(s->port).second) {
          fail("-z: port " + std::to_string(s->port) + " is given to two configurations");
          return;
        }
      } else if (auto* u = std::get_if<UrlSource>(&src)) {
        ++on_port_listen;
        if (!u->auth_given && !b.usr.empty()) u->auth = Credentials{b.usr, b.pwd};
        if (auto err = check_data_nodes(*u)) {
          fail("-z: " + *err);
          return;
        }
      }
    }
    if (on_port_listen > 1) {
      fail("only one configuration may listen on port_listen (" + std::to_string(b.port_listen) +
           "): write PORT = {json}, and put failover URLs in one list (URL,URL)");
      return;
    }
    if (on_port_listen == 1 && b.port_listen != 0 && !ports.insert(b.port_listen).second) {
      fail("port " + std::to_string(b.port_listen) + " is both a -z PORT and port_listen (-p)");
      return;
    }
    if (b.tls_port) {
      if (b.tls_cert.empty() || b.tls_key.empty()) {
        fail("-Z tls_port=" + std::to_string(*b.tls_port) + " needs tls_cert=FILE and tls_key=FILE");
        return;
      }
      if (*b.tls_port != 0 && !ports.insert(*b.tls_port).second) {
        fail("-Z tls_port: " + std::to_string(*b.tls_port) + " is also a plain listen port (give TLS a port of its own)");
        return;
      }
    } else if (!b.tls_cert.empty() || !b.tls_key.empty() || !b.tls_client_ca.empty()) {
      fail("-Z tls_cert, tls_key and tls_client_ca are for a TLS listener: give tls_port=PORT too");
      return;
    }
    if (b.tls_min_version != "1.2" && b.tls_min_version != "1.3") {
      fail("-Z tls_min_version: " + quote(b.tls_min_version) + " is not 1.2 or 1.3");
      return;
    }
    TlsPorts tls_ports;
    if (auto err = parse_tls_ports(b.downstream_tls, tls_ports)) {
      fail("-Z downstream_tls: " + *err);
      return;
    }
    if (b.downstream_tls_cert.empty() != b.downstream_tls_key.empty()) {
      fail("-Z downstream_tls_cert and downstream_tls_key go together");
      return;
    }
    if (!tls_ports.any() && (!b.downstream_tls_ca.empty() || !b.downstream_tls_cert.empty())) {
      fail("-Z downstream_tls_ca and downstream_tls_cert are for TLS to the backends: give downstream_tls=1 too");
      return;
    }
    if (b.admin_port && *b.admin_port != 0 && ports.count(*b.admin_port)) {
      fail("-Z admin_port: " + std::to_string(*b.admin_port) + " is also a proxy listen port");
      return;
    }
  }

  const EnvLookup& env_;
  Options opts_;
  ParseOutcome outcome_;
  std::optional<uint16_t> embedded_port_;  // -p, the last one given
  bool port_listen_given_ = false;         // some -Z set port_listen
};

}  // namespace

// ---------------------------------------------------------------------------
// Public functions.

bool TlsPorts::includes(int port) const {
  return all || std::find(ports.begin(), ports.end(), port) != ports.end();
}

std::optional<std::string> parse_tls_ports(std::string_view text, TlsPorts& out) {
  out = {};
  const std::string_view value = trim(text);
  if (value == "0" || value.empty()) return std::nullopt;
  if (value == "1") {
    out.all = true;
    return std::nullopt;
  }
  for (std::string_view piece : split_any(value, "|")) {
    const std::string_view item = trim(piece);
    auto port = parse_port(item, 1);
    if (!port) return quote(item) + " is not 0, 1 or a port 1 to 65535 (give PORT|PORT for the pools served there)";
    out.ports.push_back(*port);
  }
  return std::nullopt;
}

TlsPorts downstream_tls_ports(const Behaviors& behaviors) {
  TlsPorts ports;
  parse_tls_ports(behaviors.downstream_tls, ports);
  return ports;
}

std::string data_node_bucket(const Behaviors& behaviors, std::string_view url_bucket) {
  if (!url_bucket.empty()) return std::string(url_bucket);
  return behaviors.bucket.empty() ? std::string("default") : behaviors.bucket;
}

vbucket::Network config_network(const Behaviors& behaviors) {
  return vbucket::network_from_string(behaviors.network).value_or(vbucket::Network::Default);
}

DownstreamProtocol effective_downstream_protocol(DownstreamProtocol configured, bool vbucket) {
  // Binary unless ascii is asked for, as in the original moxi: memcached
  // batches its binary replies (one send for many pipelined requests, where
  // each ascii get reply is a send of its own), and binary frames are cheaper
  // to encode and parse. ascii stays for backends that speak only ascii.
  if (vbucket) return DownstreamProtocol::Binary;
  return configured == DownstreamProtocol::Unset ? DownstreamProtocol::Binary : configured;
}

std::span<const BehaviorKeyInfo> behavior_keys() { return kBehaviorInfos; }

std::span<const OptionInfo> option_table() { return kOptions; }

std::optional<std::string> parse_behaviors(std::string_view text, Behaviors& out,
                                           std::vector<std::string>* ignored_keys,
                                           std::vector<std::string>* given_keys) {
  Behaviors next = out;
  std::vector<std::string> ignored, given;
  const Secrets secrets(text);
  for (std::string_view line : split_any(text, "\n")) {
    if (trim(line).starts_with('#')) continue;
    for (std::string_view piece : split_any(line, ",")) {
      std::string_view item = trim(piece);
      if (item.empty() || item.starts_with('#')) continue;
      size_t eq = item.find('=');
      std::string_view key = trim(item.substr(0, eq));
      if (eq == std::string_view::npos) return secrets.noted(secrets.shown(key) + ": missing \"=VALUE\"");
      std::string_view value = trim(item.substr(eq + 1));
      const BehaviorEntry* e = find_behavior(key);
      // Not the value: a misspelt pwd's would be a password.
      if (!e) return secrets.noted(secrets.shown(key) + ": unknown behavior key");
      ParsedValue v;
      if (auto err = parse_value(e->info.kind, value, secrets, v))
        return secrets.noted(secrets.shown(key) + ": " + *err);
      if (e->info.support == Support::Ignored &&
          std::find(ignored.begin(), ignored.end(), key) == ignored.end())
        ignored.emplace_back(key);
      if (!std::holds_alternative<std::monostate>(e->field)) store(e->field, v, next);
      const std::string_view primary = e->info.synonym_of.empty() ? e->info.name : e->info.synonym_of;
      if (std::find(given.begin(), given.end(), primary) == given.end()) given.emplace_back(primary);
    }
  }
  out = std::move(next);
  if (ignored_keys) ignored_keys->insert(ignored_keys->end(), ignored.begin(), ignored.end());
  if (given_keys) given_keys->insert(given_keys->end(), given.begin(), given.end());
  return std::nullopt;
}

namespace {

std::optional<std::string> server_list(std::string_view text, std::vector<ServerSpec>& out, const Secrets& secrets) {
  std::vector<ServerSpec> servers;
  for (std::string_view piece : split_any(text, ",")) {
    std::string_view entry = trim(piece);
    std::string where = "server " + secrets.quoted(entry) + ": ";
    if (entry.empty()) return "empty server entry in " + secrets.quoted(trim(text));
    ServerSpec s;
    std::string_view rest;
    if (entry.starts_with('[')) {
      size_t close = entry.find(']');
      if (close == std::string_view::npos) return where + "missing ']'";
      s.host.assign(entry.substr(1, close - 1));
      rest = entry.substr(close + 1);
      if (!rest.empty() && rest.front() != ':') return where + "expected ':' after ']'";
    } else {
      size_t colon = entry.find(':');
      s.host.assign(entry.substr(0, colon));
      if (colon != std::string_view::npos) rest = entry.substr(colon);
    }
    if (s.host.empty()) return where + "empty host name";
    if (!rest.empty()) {
      rest.remove_prefix(1);  // ':'
      size_t colon = rest.find(':');
      std::string_view port_text = rest.substr(0, colon);
      auto port = parse_port(port_text, 1);
      if (!port) return where + secrets.quoted(port_text) + " is not a port number (1-65535)";
      s.port = *port;
      if (colon != std::string_view::npos) {
        std::string_view weight_text = rest.substr(colon + 1);
        if (weight_text.find(':') != std::string_view::npos)
          return where + "too many ':' (write IPv6 addresses as [ADDR]:PORT)";
        auto weight = parse_number(weight_text, kMaxCount);
        if (!weight || *weight == 0)
          return where + secrets.quoted(weight_text) + " is not a weight (a whole number from 1)";
        s.weight = static_cast<uint32_t>(*weight);
      }
    }
    servers.push_back(std::move(s));
  }
  out.insert(out.end(), servers.begin(), servers.end());
  return std::nullopt;
}

// "PORT = ./FILE": reads section.config_file into section.text (comment
// lines dropped, trimmed) and parses it as CONFIG (a server list or {json}).
// On error returns the reason and leaves `section` unchanged; `unreadable`
// is set when the file could not be read.
std::optional<std::string> read_section_file(StaticSection& section, bool* unreadable) {
  std::string err;
  auto contents = read_whole_file(section.config_file, err);
  if (!contents) {
    if (unreadable) *unreadable = true;
    return "cannot read: " + err;
  }
  std::string text(trim(strip_comment_lines(*contents)));
  if (text.empty()) return std::string("file is empty");
  std::vector<ServerSpec> servers;
  const bool json = text.front() == '{';
  if (!json) {
    if (auto e = parse_server_list(text, servers)) return e;
  }
  section.text = std::move(text);
  section.json = json;
  section.servers = std::move(servers);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> parse_server_list(std::string_view text, std::vector<ServerSpec>& out) {
  return server_list(text, out, Secrets());
}

std::optional<std::string> parse_cluster_config(std::string_view text, std::string_view file,
                                                std::vector<ConfigSource>& out, std::vector<std::string>* warnings) {
  std::string cleaned = strip_comment_lines(text);
  const Secrets secrets(cleaned);
  std::vector<ConfigSource> sources;
  for (std::string_view piece : split_top_level(cleaned, ';')) {
    std::string_view section = trim(piece);
    if (section.empty()) continue;
    if (section.front() == '{') {
      StaticSection s;
      s.port_from_listen = true;
      s.json = true;
      s.text.assign(section);
      s.file.assign(file);
      sources.emplace_back(std::move(s));
    } else if (is_static_section(section)) {
      if (auto err = parse_static_section(section, file, sources, secrets)) return secrets.noted(*err);
    } else if (auto err = parse_url_section(section, file, sources, warnings, secrets)) {
      return secrets.noted(*err);
    }
  }
  if (sources.empty()) return std::string("empty configuration");
  for (auto& s : sources) out.push_back(std::move(s));
  return std::nullopt;
}

unsigned default_workers() { return std::max(1u, std::thread::hardware_concurrency()); }

ParseOutcome parse_options(const std::vector<std::string>& args, const EnvLookup& env) {
  Parser parser(env);
  return parser.run(args);
}

EnvLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

ParseOutcome parse_options(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return parse_options(args, process_environment());
}

namespace {

std::string placeholder(ValueKind kind) {
  switch (kind) {
    case ValueKind::Millis: return "MS";
    case ValueKind::Count: return "N";
    case ValueKind::Port: return "PORT";
    case ValueKind::Bool: return "0|1";
    case ValueKind::Protocol: return "PROTO";
    case ValueKind::String: return "TEXT";
    case ValueKind::McsOpts: return "OPTS";
    case ValueKind::Size: return "SIZE";
    case ValueKind::Memory: return "SIZE";
  }
  return "VALUE";
}

// "  LEFT<pad>TEXT": LEFT padded to `width` (TEXT starts on the next line when
// LEFT is too long); TEXT is wrapped at 79 columns, continued at `width` + 2.
void row(std::string& out, std::string_view left, std::string_view text, size_t width) {
  constexpr size_t kColumns = 79;
  const size_t indent = width + 2;
  std::string line = "  " + std::string(left);
  if (line.size() + 1 > indent) {
    out += line + "\n";
    line.clear();
  }
  line.resize(indent, ' ');
  size_t base = indent;
  for (std::string_view word : split_any(text, " ")) {
    if (word.empty()) continue;
    if (line.size() > base && line.size() + 1 + word.size() > kColumns) {
      out += line + "\n";
      line.assign(indent, ' ');
    }
    if (line.size() > base) line += ' ';
    line += word;
  }
  out += line + "\n";
}

// TEXT wrapped at 79 columns, the first line indented by `indent`, the others by `indent` + 2.
void paragraph(std::string& out, std::string_view text, size_t indent) {
  constexpr size_t kColumns = 79;
  size_t base = indent;
  std::string line(base, ' ');
  for (std::string_view word : split_any(text, " ")) {
    if (word.empty()) continue;
    if (line.size() > base && line.size() + 1 + word.size() > kColumns) {
      out += line + "\n";
      base = indent + 2;
      line.assign(base, ' ');
    }
    if (line.size() > base) line += ' ';
    line += word;
  }
  out += line + "\n";
}

std::string join_names(Support support, bool behaviors) {
  std::string out;
  auto add = [&](std::string_view name) {
    if (!out.empty()) out += ", ";
    out += name;
  };
  if (behaviors) {
    for (const auto& k : kBehaviorInfos)
      if (k.support == support && k.synonym_of.empty()) add(k.name);
  } else {
    for (const auto& o : kOptions)
      if (o.support == support) add(o.name);
  }
  return out;
}

}  // namespace

std::string help_text() {
  std::string out;
  out += "Usage: moxi [OPTIONS] -z CONFIG [-z CONFIG...]\n"
         "       moxi [OPTIONS] URL[,URL...]\n"
         "\n"
         "moxi is a memcached proxy. Clients speak the memcached protocol (ascii or\n"
         "binary) to moxi; moxi sends each key to the backend server that owns it\n"
         "(ketama over a server list, or a vBucket map).\n"
         "\n"
         "Cluster configuration (one is required):\n"
         "  -z PORT=HOST[:PORT[:WEIGHT]][,HOST...]\n"
         "                         listen on PORT; ketama over memcached servers\n"
         "                         (server port default 11211; PORT 0 = any free port)\n"
         "  -z PORT={JSON}         listen on PORT; route by the cluster map in JSON\n"
         "  -z ./FILE, -z /FILE    read the configuration from a file (a value that\n"
         "                         starts with . or /): PORT = CONFIG sections,\n"
         "                         separated by ;\n"
         "  -z PORT=./FILE         listen on PORT; CONFIG (servers or {JSON}) from\n"
         "                         FILE; SIGHUP re-reads it (and -z ./FILE)\n"
         "  -z 'A;B'               several sections, each with its own port\n"
         "  URL[,URL...]           stream the cluster map from http(s) URLs,\n"
         "                         tried in order; listen on -Z port_listen;\n"
         "                         http://USER:PASSWORD@HOST/... sets HTTP credentials\n"
         "  -z url=URL[|URL...][,auth=USER%PASSWORD]\n"
         "                         the same, credentials given apart\n"
         "  couchbase://HOST[:PORT][/BUCKET][,...]\n"
         "                         ask data nodes (port 11210) for the bucket's map\n"
         "                         (GET_CLUSTER_CONFIG, logged in as -Z usr/pwd), in\n"
         "                         order; with http URLs in one list, both run\n"
         "\n"
         "Options:\n";
  for (const auto& o : kOptions) {
    if (o.support == Support::Ignored || o.support == Support::Rejected || o.name == "-z") continue;
    std::string left;
    if (o.name == "-v") {
      left = "-v, -vv, -vvv";
    } else {
      left.assign(o.name);
      if (!o.name.empty() && !o.long_name.empty()) left += ", ";
      left += o.long_name;
      if (!o.argument.empty()) {
        left += " ";
        left += o.argument;
      }
    }
    std::string text(o.help);
    if (o.support == Support::Planned) text = "[planned] " + text;
    row(out, left, text, 23);
  }
  out += "\nBehaviors (-Z KEY=VALUE,...; MS = milliseconds, 0 = no timeout):\n";
  for (const auto& k : kBehaviorInfos) {
    if (!k.synonym_of.empty() || k.support == Support::Ignored) continue;
    std::string left = std::string(k.name) + "=" + placeholder(k.kind);
    std::string text = std::string(k.help) + " (default " + std::string(k.default_text) + ")";
    if (k.support == Support::Planned) text = "[planned] " + text;
    row(out, left, text, 33);
  }
  paragraph(out,
            "downstream_protocol: ascii (or memcached-ascii, membase-ascii) or binary (or "
            "memcached-binary, membase-binary) or meta (memcached 1.6's meta commands: any key, CAS on "
            "every command). Unset: binary (as the original moxi); ascii is for backends "
            "that speak only ascii. vBucket maps always use binary (ascii or meta is ignored for them).",
            2);
  std::string synonyms = "Synonyms:";
  for (const auto& k : kBehaviorInfos) {
    if (k.synonym_of.empty()) continue;
    synonyms += " " + std::string(k.name) + "=" + std::string(k.synonym_of);
  }
  paragraph(out, synonyms + ". Items starting with # are comments.", 2);
  paragraph(out, "Accepted but ignored (with a warning): " + join_names(Support::Ignored, true) + ".", 2);
  out += "\nEnvironment:\n";
  row(out, "MOXI_SASL_PLAIN_USR, MOXI_SASL_PLAIN_PWD", "defaults for -Z usr and pwd (keep them out of ps)", 23);
  paragraph(out,
            "Passwords: -Z pwd= cannot hold a comma, -z auth= neither a comma nor a semicolon; a URL's "
            "USER:PASSWORD@ holds anything %-escaped (%2C for a comma), MOXI_SASL_PLAIN_PWD anything as it is. "
            "Messages never show a password: what follows one on its line is printed as ****. See PASSWORDS in "
            "moxi(1).",
            2);
  out += "\n";
  paragraph(out, "Old moxi flags accepted and ignored (with a warning): " + join_names(Support::Ignored, false) + ".",
            0);
  std::string refused = "Refused:";
  for (const auto& o : kOptions) {
    if (o.support != Support::Rejected) continue;
    std::string_view what = o.help.substr(0, o.help.find(':'));
    refused += std::string(refused.size() > 8 ? ", " : " ") + std::string(o.name) + " (" + std::string(what) + ")";
  }
  paragraph(out, refused + ".", 0);
  out += "\n";
  paragraph(out, "[planned]: parsed and checked now; takes effect in a later release.", 0);
  paragraph(out,
            "Exit status: 0 ok, 1 run-time failure, 64 usage error, 65 invalid cluster configuration, "
            "66 unreadable file; --check-config: 0 valid, 1 any error. Signals: TERM/INT drain and exit, "
            "HUP reload -z files, USR1 reopen the log. See moxi(1).",
            0);
  return out;
}

std::string version_text() {
  std::string out = "moxi " PACKAGE_VERSION " (git revision " MOXI_BUILD_REVISION ")\n";
  out += "libevent ";
  out += event_get_version();
  out += ", libcurl " LIBCURL_VERSION ", libmemcached " LIBMEMCACHED_VERSION_STRING;
  out += ", Cyrus SASL " + std::to_string(SASL_VERSION_MAJOR) + "." + std::to_string(SASL_VERSION_MINOR) + "." +
         std::to_string(SASL_VERSION_STEP) + ", RapidJSON " RAPIDJSON_VERSION_STRING "\n";
  return out;
}

std::vector<std::pair<std::string, std::string>> behavior_values(const Behaviors& b) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const BehaviorEntry& e : kBehaviorEntries) {
    if (!e.info.synonym_of.empty() || std::holds_alternative<std::monostate>(e.field)) continue;
    std::string value;
    std::visit(
        [&](auto member) {
          using M = decltype(member);
          if constexpr (std::is_same_v<M, std::chrono::milliseconds Behaviors::*>) {
            value = std::to_string((b.*member).count());
          } else if constexpr (std::is_same_v<M, uint32_t Behaviors::*> || std::is_same_v<M, uint16_t Behaviors::*>) {
            value = std::to_string(b.*member);
            if constexpr (std::is_same_v<M, uint32_t Behaviors::*>)
              if (member == &Behaviors::item_size_max && b.item_size_max == 0) value = "auto";
          } else if constexpr (std::is_same_v<M, uint64_t Behaviors::*>) {
            value = b.*member == 0 ? "auto" : std::to_string(b.*member);  // buffer_max: 0 = auto
          } else if constexpr (std::is_same_v<M, std::optional<uint16_t> Behaviors::*>) {
            value = (b.*member) ? std::to_string(*(b.*member)) : "none";
          } else if constexpr (std::is_same_v<M, bool Behaviors::*>) {
            value = (b.*member) ? "1" : "0";
          } else if constexpr (std::is_same_v<M, DownstreamProtocol Behaviors::*>) {
            const DownstreamProtocol p = b.*member;
            value = p == DownstreamProtocol::Ascii    ? "ascii"
                    : p == DownstreamProtocol::Binary ? "binary"
                    : p == DownstreamProtocol::Meta   ? "meta"
                                                      : "unset";
          } else if constexpr (std::is_same_v<M, std::string Behaviors::*>) {
            value = (b.*member).empty() ? "none" : member == &Behaviors::pwd ? "****" : b.*member;
          } else if constexpr (std::is_same_v<M, std::optional<std::string> Behaviors::*>) {
            value = !(b.*member) ? "first" : (b.*member)->empty() ? "none" : *(b.*member);
          }
        },
        e.field);
    out.emplace_back(std::string(e.info.name), std::move(value));
  }
  return out;
}

}  // namespace moxi
