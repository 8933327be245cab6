// Internal (not part of the public API): "host:port" handling shared by the
// parsers: $HOST substitution, the host part of a node's REST hostname, and
// splitting a server authority.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace moxi::vbucket::detail {

// The placeholder ns_server writes for a node's own (loopback) address.
inline constexpr std::string_view kHostMarker = "$HOST";

// `host` as it appears in a "host:port" string: an IPv6 literal is
// bracketed ("::1" -> "[::1]"); anything else, brackets included, as is.
std::string bracketed_host(std::string_view host);

// Replaces the first "$HOST" in `text` with `origin`, the host the config was
// fetched from (libvbucket substitutes once per string; so do we), bracketed
// as bracketed_host() does so that "$HOST:11210" stays a valid authority.
std::string substitute_host(std::string_view text, std::string_view origin);

// The host part of a node's "hostname" (REST "host:port", or just "host"):
// everything before the first ':' as libvbucket does, except that a
// bracketed IPv6 literal ("[::1]:8091") keeps its brackets and colons.
std::string_view node_host(std::string_view hostname) noexcept;

// Decimal port 1..65535 with nothing else around it.
std::optional<std::uint16_t> parse_port(std::string_view digits) noexcept;

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

// Splits "host:port" at the last ':' (so "[::1]:11210" works). Fails if there
// is no ':', the host is empty, or the port is not 1..65535.
std::optional<HostPort> split_authority(std::string_view authority);

}  // namespace moxi::vbucket::detail
