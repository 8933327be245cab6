#include "conflate/url.h"

#include <cctype>

namespace moxi::conflate {
namespace {

struct Parts {
  std::size_t authority_begin = 0;  // after "://" (or 0 without a scheme)
  std::size_t authority_end = 0;    // first '/', '?' or '#' after it (or the end)
  std::size_t path_end = 0;         // first '?' or '#' after authority_end (or the end)
};

Parts split(std::string_view url) {
  Parts p;
  const std::size_t scheme = url.find("://");
  p.authority_begin = scheme == std::string_view::npos ? 0 : scheme + 3;
  p.authority_end = url.find_first_of("/?#", p.authority_begin);
  if (p.authority_end == std::string_view::npos) p.authority_end = url.size();
  p.path_end = url.find_first_of("?#", p.authority_end);
  if (p.path_end == std::string_view::npos) p.path_end = url.size();
  return p;
}

}  // namespace

std::string mask_url(std::string_view url) {
  const Parts p = split(url);
  const std::string_view authority = url.substr(p.authority_begin, p.authority_end - p.authority_begin);
  const std::size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  const std::size_t colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, p.authority_begin + colon + 1));
  out += "****";
  out += url.substr(p.authority_begin + at);
  return out;
}

std::string mask_secret(std::string_view text, std::string_view secret) {
  std::string out(text);
  if (secret.empty()) return out;
  for (std::size_t at = out.find(secret); at != std::string::npos; at = out.find(secret, at + 4))
    out.replace(at, secret.size(), "****");
  return out;
}

std::string url_host(std::string_view url) {
  const Parts p = split(url);
  std::string_view authority = url.substr(p.authority_begin, p.authority_end - p.authority_begin);
  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    return std::string(close == std::string_view::npos ? authority : authority.substr(0, close + 1));
  }
  return std::string(authority.substr(0, authority.find(':')));
}

bool is_streaming_url(std::string_view url) {
  const Parts p = split(url);
  const std::string_view path = url.substr(p.authority_end, p.path_end - p.authority_end);
  return path.find("Streaming") != std::string_view::npos || path.find("/bs/") != std::string_view::npos;
}

std::string bucket_endpoint_hint(std::string_view url) {
  const Parts p = split(url);
  const std::string_view path = url.substr(p.authority_end, p.path_end - p.authority_end);
  static constexpr std::string_view kPools = "/pools/";
  if (!path.starts_with(kPools)) return {};
  const std::size_t pool_end = path.find('/', kPools.size());
  if (pool_end != std::string_view::npos) {
    const std::string_view rest = path.substr(pool_end + 1);
    if (rest == "saslBucketsStreaming") return {};
    const std::size_t slash = rest.find('/');
    if (slash != std::string_view::npos && slash + 1 < rest.size() && rest.find('/', slash + 1) == std::string_view::npos) {
      const std::string_view endpoint = rest.substr(0, slash);
      if (endpoint == "b" || endpoint == "bs" || endpoint == "buckets" || endpoint == "bucketsStreaming" ||
          endpoint == "bucketsStreamingConfig")
        return {};
    }
  }
  return std::string(path) +
         " is not a bucket config endpoint: follow /pools/default/bs/NAME (terse) or "
         "/pools/default/bucketsStreaming/NAME for bucket NAME, or /pools/default/saslBucketsStreaming for every bucket";
}

std::string with_heartbeat(std::string_view url, std::chrono::seconds every) {
  if (every.count() < 1) return std::string(url);
  const Parts p = split(url);
  std::size_t fragment = url.find('#', p.authority_end);
  if (fragment == std::string_view::npos) fragment = url.size();
  const std::string_view query =
      p.path_end < fragment ? url.substr(p.path_end + 1, fragment - p.path_end - 1) : std::string_view();
  if (query.starts_with("heartbeat=") || query.find("&heartbeat=") != std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, fragment));
  out += p.path_end < fragment ? (query.empty() ? "" : "&") : "?";
  out += "heartbeat=" + std::to_string(every.count());
  out += url.substr(fragment);
  return out;
}

bool is_data_node_url(std::string_view url) {
  constexpr std::string_view kScheme = "couchbase://";
  if (url.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(url[i])) != kScheme[i]) return false;
  return true;
}

std::optional<DataNodeUrl> parse_data_node_url(std::string_view url, std::string& error) {
  const std::string shown = "\"" + mask_url(url) + "\"";
  if (!is_data_node_url(url)) {
    error = shown + " is not a couchbase:// URL";
    return std::nullopt;
  }
  std::string_view rest = url.substr(std::string_view("couchbase://").size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (authority.find('@') != std::string_view::npos) {
    error = shown + ": a data node URL takes no user: the data connections log in with -Z usr and pwd";
    return std::nullopt;
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    error = shown + ": a data node URL takes no query";
    return std::nullopt;
  }
  if (path.find('/') != std::string_view::npos) {
    error = shown + ": the path names one bucket (couchbase://HOST[:PORT]/BUCKET)";
    return std::nullopt;
  }
  DataNodeUrl out;
  out.bucket.assign(path);
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = shown + ": an IPv6 host needs its closing ']'";
      return std::nullopt;
    }
    out.host.assign(authority.substr(0, close + 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = shown + ": expected ':PORT' after the IPv6 host";
        return std::nullopt;
      }
      port = after.substr(1);
      if (port.empty()) port = "-";  // "[::1]:" names no port: refused below
    }
  } else {
    const size_t colon = authority.find(':');
    out.host.assign(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) port = "-";  // "host:" names no port: refused below
    }
  }
  if (out.host.empty() || out.host == "[]") {
    error = shown + " has no host";
    return std::nullopt;
  }
  if (!port.empty()) {
    unsigned value = 0;
    bool ok = port.size() <= 5;
    for (char c : port) {
      ok = ok && c >= '0' && c <= '9';
      if (ok) value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (!ok || value == 0 || value > 65535) {
      error = shown + ": port \"" + std::string(port == "-" ? "" : port) + "\" is not 1 to 65535";
      return std::nullopt;
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  return out;
}

}  // namespace moxi::conflate
