// Small URL helpers for the HTTP source: what to show in logs, which host
// replaces $HOST, whether a URL streams, and the heartbeat query parameter.
// They read "scheme://[user[:password]@]host[:port][/path][?query][#frag]"
// and do not validate: libcurl does that when it connects.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace moxi::conflate {

// The URL with the password of its user info replaced by "****"
// ("http://u:pw@h/x" -> "http://u:****@h/x"); unchanged without one.
std::string mask_url(std::string_view url);

// `text` with every occurrence of `secret` replaced by "****" (no change when
// the secret is empty). Used on every message a source emits, so that a
// password echoed by a server or an error text never reaches a log.
std::string mask_secret(std::string_view text, std::string_view secret);

// The host of the URL, without user info and port; an IPv6 literal keeps its
// brackets ("http://[::1]:8091/" -> "[::1]"). This is the peer that replaces
// "$HOST" in the documents fetched from it. "" if there is no host.
std::string url_host(std::string_view url);

// True when the path names a streaming endpoint: any "...Streaming..." path
// (bucketsStreaming, bucketsStreamingConfig, saslBucketsStreaming,
// poolsStreaming, nodeServicesStreaming) or the 2.5+ terse stream
// "/pools/default/bs/NAME". Other URLs (e.g. /pools/default/buckets/NAME)
// answer one document and are polled.
bool is_streaming_url(std::string_view url);

// For a document from `url` that is not a valid config: "" when the URL's
// path names an endpoint that serves bucket configs (/pools/default/ then
// b/NAME, bs/NAME, buckets/NAME, bucketsStreaming/NAME,
// bucketsStreamingConfig/NAME or saslBucketsStreaming; any path that is not
// under /pools/, such as a file served over HTTP), else a sentence saying
// which endpoints to use, to append to the error.
std::string bucket_endpoint_hint(std::string_view url);

// The URL with "heartbeat=SECONDS" added to its query (ns_server then writes
// a bare delimiter every SECONDS, which keeps the stall detector quiet on an
// idle but healthy stream). Unchanged when `every` is under one second or
// the query already has a heartbeat parameter.
std::string with_heartbeat(std::string_view url, std::chrono::seconds every);

// A data node named as a config source: "couchbase://HOST[:PORT][/BUCKET]",
// HOST a name, an IPv4 address or a bracketed IPv6 literal; PORT the data
// port (11210, Couchbase's, when left out).
inline constexpr std::uint16_t kDefaultDataPort = 11210;
struct DataNodeUrl {
  std::string host;    // as written ("[::1]" keeps its brackets): the peer that replaces $HOST
  std::uint16_t port = kDefaultDataPort;
  std::string bucket;  // "" when the URL names none
};
bool is_data_node_url(std::string_view url);
// The parts of a couchbase:// URL; nullopt with `error` saying what is wrong
// (user info, a query, a bad port, no host, a path of more than one part).
std::optional<DataNodeUrl> parse_data_node_url(std::string_view url, std::string& error);

}  // namespace moxi::conflate
