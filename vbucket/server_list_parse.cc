#include "vbucket/server_list_parse.h"

#include <libmemcached-1.0/memcached.h>

#include <memory>
#include <new>
#include <string>
#include <vector>

#include "vbucket/host_port.h"

namespace moxi::vbucket {
namespace {

// Longer entries would not fit libmemcached's host name buffer (NI_MAXHOST).
constexpr size_t kMaxEntryLength = 1000;

struct ServerListFree {
  void operator()(memcached_server_st* list) const noexcept { memcached_server_list_free(list); }
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 10) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// "" if `entry` is host[:port[(:| )weight]], else why not.
std::string check_entry(std::string_view entry) {
  if (entry.size() > kMaxEntryLength) return "longer than " + std::to_string(kMaxEntryLength) + " characters";
  size_t host_end;
  if (entry.starts_with('[')) {
    host_end = entry.find(']');
    if (host_end == std::string_view::npos) return "unterminated \"[\" in an IPv6 address";
    ++host_end;
  } else {
    host_end = entry.find(':');
    if (host_end == std::string_view::npos) host_end = entry.size();
  }
  const std::string_view host = entry.substr(0, host_end);
  if (host.empty()) return "no host";
  for (char c : host)
    if (is_space(c) || c == '\0') return "white space or NUL in the host name";
  std::string_view rest = entry.substr(host_end);
  if (rest.empty()) return {};
  if (rest.front() != ':') return "expected ':' after the host";
  rest.remove_prefix(1);
  const size_t sep = rest.find_first_of(": ");
  const std::string_view port = rest.substr(0, sep);
  if (!detail::parse_port(port)) return "port must be 1..65535, got \"" + std::string(port) + "\"";
  if (sep == std::string_view::npos) return {};
  const std::string_view weight = rest.substr(sep + 1);
  if (!all_digits(weight) || std::stoull(std::string(weight)) > 0xffffffffULL)
    return "weight must be a number 0..4294967295, got \"" + std::string(weight) + "\"";
  return {};
}

}  // namespace

Result<ConfigPtr> parse_server_list(std::string_view servers) noexcept {
  using R = Result<ConfigPtr>;
  try {
    const std::string_view text = trim(servers);
    if (text.empty()) return R::failure("server list: empty");
    // Check and normalise each entry, then let libmemcached parse the result.
    std::string normalized;
    size_t count = 0;
    for (size_t start = 0;; ++count) {
      const size_t comma = text.find(',', start);
      const std::string_view entry = trim(text.substr(start, comma == std::string_view::npos ? comma : comma - start));
      const std::string where = "server list entry " + std::to_string(count + 1);
      if (entry.empty()) return R::failure(where + ": empty");
      if (std::string why = check_entry(entry); !why.empty())
        return R::failure(where + " (\"" + std::string(entry.substr(0, 80)) + "\"): " + why);
      if (!normalized.empty()) normalized += ',';
      normalized += entry;
      if (comma == std::string_view::npos) {
        ++count;
        break;
      }
      start = comma + 1;
    }

    std::unique_ptr<memcached_server_st, ServerListFree> list(memcached_servers_parse(normalized.c_str()));
    if (!list || memcached_server_list_count(list.get()) != count)
      return R::failure("server list: libmemcached could not parse \"" + normalized + "\"");

    ConfigSpec spec;
    spec.distribution = Distribution::ketama;
    spec.document = std::make_shared<const std::string>(servers);
    for (size_t i = 0; i < count; ++i) {
      const memcached_server_st& parsed = list.get()[i];
      Server server;
      server.host = parsed.hostname;
      server.port = parsed.port == 0 ? MEMCACHED_DEFAULT_PORT : parsed.port;
      server.weight = parsed.weight == 0 ? 1 : parsed.weight;
      server.authority = server.host + ":" + std::to_string(server.port);
      spec.servers.push_back(std::move(server));
    }
    auto config = Config::build(std::move(spec));
    if (!config) return R::failure("server list: " + config.error());
    return config;
  } catch (const std::bad_alloc&) {
    return R::failure("out of memory while parsing the server list");
  } catch (...) {
    return R::failure("unexpected error while parsing the server list");
  }
}

}  // namespace moxi::vbucket
