// -Z behaviors: the Behaviors value, the kinds of values its keys take, and
// the -Z grammar ("k=v,k=v", or the same in a file). The key table itself —
// the one place each key's name, kind, default text and help are written — is
// behavior_table.cc; the man page and --help are checked against it.
//
// Thread: any (pure functions).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vbucket/config.h"

namespace moxi {

// The protocol moxi speaks to the backend servers.
//   Unset  — not given: binary (vBucket buckets always use binary).
//   Ascii  — memcached ascii. vBucket buckets still use binary (they need the
//            vBucket id and NOT_MY_VBUCKET, which ascii lacks): the caller
//            overrides it and warns once.
//   Binary — memcached binary.
enum class DownstreamProtocol : uint8_t { Unset, Ascii, Binary, Meta };

// The protocol to use for one bucket; `vbucket` is true when the bucket routes
// by a vBucket map. Never returns Unset.
DownstreamProtocol effective_downstream_protocol(DownstreamProtocol configured, bool vbucket);

// -Z behaviors. Timeouts are milliseconds; 0 means "no timeout" (or "no limit"
// for counts) unless the field says otherwise. Defaults are the original moxi's.
struct Behaviors {
  std::chrono::milliseconds cycle{200};                          // clock quantum
  uint32_t downstream_max = 1024;                                // concurrent requests per worker per bucket; 0 = unlimited
  uint32_t downstream_conn_max = 1;                              // pipelined backend conns per worker per server; 0 = 16
  uint32_t downstream_retry = 1;                                 // retries when a conn closes before any reply byte
  DownstreamProtocol downstream_protocol = DownstreamProtocol::Unset;
  std::chrono::milliseconds downstream_timeout{5000};            // a request, once its conns are obtained
  std::chrono::milliseconds downstream_conn_queue_timeout{200};  // waiting for a pooled conn (conn_max reached)
  std::chrono::milliseconds wait_queue_timeout{200};             // waiting for a request slot (downstream_max reached)
  std::chrono::milliseconds connect_timeout{400};                // a non-blocking connect()
  std::chrono::milliseconds auth_timeout{100};                   // SASL auth on a new backend conn
  uint32_t connect_max_errors = 5;                               // consecutive errors before a server is avoided; 0 = never
  std::chrono::milliseconds connect_retry_interval{30000};       // how long it is avoided
  std::chrono::milliseconds probe_interval{1000};                // a down backend is probed this often
  std::string down_policy = "fail";                             // ketama pools: fail or eject (a down server's keys)
  std::chrono::milliseconds dns_ttl{60000};                      // a backend name's cached address, at most this old
  std::string dns_servers;                                       // "IP[:PORT]|...": nameservers; "" = the system's
  bool time_stats = false;                                       // keep the timing histograms
  bool replica_reads = false;                                    // vBucket gets fall back to replicas
  std::string mcs_opts;                                          // "" or "distribution:ketama-weighted" (the only hash)
  std::string usr;                                               // SASL user for backends; HTTP user for URLs without auth
  std::string pwd;                                               // its password
  std::string bucket;                                            // SELECT_BUCKET after SASL on each backend conn
  std::optional<std::string> default_bucket_name;                // bucket new clients start on; unset = the first (bucket_access.h)
  std::string ready_when = "reachable";                          // /readyz: map, reachable or all
  std::string io_engine = "epoll";                               // epoll or uring (net/loop.h)
  std::string client_passwords_file;                             // -Z client_passwords: BUCKET:PASSWORD lines
  std::map<std::string, std::string> client_passwords;           // ... as read at start (bucket -> password)
  uint16_t port_listen = 11211;                                  // listen port for URL configurations (and bare JSON)
  std::string config_cache;                                      // last good config is kept here; "" = nowhere
  std::chrono::milliseconds config_stall_timeout{35000};         // a silent config stream is dead; 0 = never
  std::chrono::milliseconds node_config_interval{2500};          // couchbase:// sources: GET_CLUSTER_CONFIG this often
  std::string network = "default";                              // terse configs: default or external addresses
  uint32_t nmv_max_retries = 0;                                  // NOT_MY_VBUCKET retries; 0 = 2 x servers
  std::optional<uint16_t> admin_port;                            // admin HTTP port; unset = off, 0 = the OS chooses
  std::chrono::milliseconds drain_timeout{5000};                 // SIGTERM/SIGINT: bound on finishing in-flight work
  std::chrono::milliseconds log_interval{10000};                 // a repeated log message at most once per interval; 0 = all
  uint32_t client_buffer_max = 4 << 20;                          // reply bytes one client may hold in moxi
  uint64_t buffer_max = 0;                                       // bytes all connections may buffer; 0 = auto (1/8 of RAM)
  std::chrono::milliseconds buffer_wait{1000};                   // a client's wait for buffer room before refusals
  uint32_t item_size_max = 0;                                    // -I: largest value accepted; 0 = per bucket (see item_size_for)
  bool reuse_port = false;                                       // SO_REUSEPORT: share the ports with other processes
  // TLS to clients: a listener on tls_port serving what the first port serves.
  std::optional<uint16_t> tls_port;                              // unset = no TLS listener; 0 = the OS chooses
  std::string tls_cert;                                          // PEM chain the TLS port presents
  std::string tls_key;                                           // its private key
  std::string tls_client_ca;                                     // "" = no client certificates; else asked and verified
  std::string tls_min_version = "1.2";                           // 1.2 or 1.3
  std::chrono::milliseconds tls_handshake_timeout{5000};         // a client handshake, at most
  // TLS to the backends: "0", "1" (every pool and bucket) or "PORT|PORT" (those served there).
  std::string downstream_tls = "0";
  std::string downstream_tls_ca;                                 // "" = the system's CA store
  std::string downstream_tls_cert;                               // optional client certificate (mTLS)
  std::string downstream_tls_key;
  bool downstream_tls_verify = true;                             // certificate and host name
};

// -Z downstream_tls: which pools and buckets reach their servers with TLS,
// by the port they are served on.
struct TlsPorts {
  bool all = false;
  std::vector<uint16_t> ports;  // with all false
  bool any() const { return all || !ports.empty(); }
  bool includes(int port) const;
  bool operator==(const TlsPorts&) const = default;
};
// "0" (none), "1" (all), or ports separated by '|'; the error names the bad item.
std::optional<std::string> parse_tls_ports(std::string_view text, TlsPorts& out);
// The behaviors' (checked by the parser: an unparsable value is none).
TlsPorts downstream_tls_ports(const Behaviors& behaviors);

// The bucket a couchbase:// source asks for: the URL's path, else -Z bucket,
// else "default".
std::string data_node_bucket(const Behaviors& behaviors, std::string_view url_bucket);

// -Z network as the vbucket library's choice (the parser has checked it is
// "default" or "external").
vbucket::Network config_network(const Behaviors& behaviors);

// The value kinds of behavior keys (also used by the help and the man page).
// Size: 1k..1024m (an item or per-client size); Memory: "auto" or 1m..1024g
// with a k/m/g suffix (a budget of the whole process).
enum class ValueKind : uint8_t { Millis, Count, Port, Bool, Protocol, String, McsOpts, Size, Memory };

// How far moxi honours an option or a behavior key today.
enum class Support : uint8_t {
  Implemented,  // takes effect
  Planned,      // parsed and validated; takes effect in a later release ("[planned]" in --help and the man page)
  Ignored,      // accepted for compatibility, warned about, no effect
  Rejected,     // recognised, refused with an error that says why
};

struct BehaviorKeyInfo {
  std::string_view name;
  std::string_view synonym_of;  // "" for a primary key, else the primary key's name
  ValueKind kind;
  Support support;
  std::string_view default_text;  // as shown in the help and the man page
  std::string_view help;          // one line
};

// Every -Z key the parser knows, primary keys first in documentation order, then synonyms.
std::span<const BehaviorKeyInfo> behavior_keys();

// Applies a -Z list ("k=v,k=v", commas or newlines between items, surrounding
// white space ignored, items and whole lines starting with '#' are comments)
// to `out`. All or nothing: on error `out` is unchanged. Returns the error as
// "KEY: reason" naming the key as written and the value, e.g.
//   downstream_timeout: "abc" is not a number of milliseconds
// `ignored_keys`, when given, receives the accepted-but-ignored keys seen (the
// caller warns about them); `given_keys` every key set, by its primary name
// (a synonym counts for its primary key), once each.
std::optional<std::string> parse_behaviors(std::string_view text, Behaviors& out,
                                           std::vector<std::string>* ignored_keys = nullptr,
                                           std::vector<std::string>* given_keys = nullptr);

// Every primary behavior key with a value, as "stats proxy behaviors" shows
// them: name -> value text ("none" when unset); pwd is masked.
std::vector<std::pair<std::string, std::string>> behavior_values(const Behaviors& b);

}  // namespace moxi
