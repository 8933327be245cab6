#include "vbucket/host_port.h"

namespace moxi::vbucket::detail {

std::string bracketed_host(std::string_view host) {
  const bool bracket = host.find(':') != std::string_view::npos && !host.starts_with('[');
  return bracket ? "[" + std::string(host) + "]" : std::string(host);
}

std::string substitute_host(std::string_view text, std::string_view origin) {
  std::string out(text);
  const size_t at = out.find(kHostMarker);
  if (at == std::string::npos) return out;
  out.replace(at, kHostMarker.size(), bracketed_host(origin));
  return out;
}

std::string_view node_host(std::string_view hostname) noexcept {
  if (hostname.starts_with('[')) {
    const size_t close = hostname.find(']');
    if (close != std::string_view::npos) return hostname.substr(0, close + 1);
  }
  return hostname.substr(0, hostname.find(':'));
}

std::optional<std::uint16_t> parse_port(std::string_view digits) noexcept {
  if (digits.empty() || digits.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::optional<HostPort> split_authority(std::string_view authority) {
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  auto port = parse_port(authority.substr(colon + 1));
  if (!port) return std::nullopt;
  return HostPort{std::string(authority.substr(0, colon)), *port};
}

}  // namespace moxi::vbucket::detail
