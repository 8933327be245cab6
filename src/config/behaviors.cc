// -Z behaviors: their values and the -Z grammar; see behaviors.h. The keys
// are behavior_table.cc's.
#include "src/config/behaviors.h"

#include <algorithm>
#include <limits>

#include "src/config/behavior_table.h"
#include "src/config/secrets.h"
#include "src/config/text.h"

namespace moxi {

using namespace config;  // the layer's own tools (text.h, secrets.h, behavior_table.h)

namespace {

constexpr uint64_t kMaxMillis = std::numeric_limits<int32_t>::max();  // about 24.8 days

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

}  // namespace

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

std::vector<std::pair<std::string, std::string>> behavior_values(const Behaviors& b) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const BehaviorEntry& e : behavior_entries()) {
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
