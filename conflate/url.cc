#include "conflate/url.h"

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

}  // namespace moxi::conflate
