// The -Z key table: see behavior_table.h.
#include "src/config/behavior_table.h"

#include <array>

namespace moxi::config {

namespace {

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
    {{"io_engine", "", VK::String, I, "epoll",
      "epoll, or uring: plain client and backend sockets and accepts through io_uring (epoll where it is unavailable)"},
     &B::io_engine},
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

}  // namespace

std::span<const BehaviorEntry> behavior_entries() { return kBehaviorEntries; }

const BehaviorEntry* find_behavior(std::string_view key) {
  for (const auto& e : kBehaviorEntries)
    if (e.info.name == key) return &e;
  return nullptr;
}

}  // namespace moxi::config

namespace moxi {

std::span<const BehaviorKeyInfo> behavior_keys() { return config::kBehaviorInfos; }

}  // namespace moxi
