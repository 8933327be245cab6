// The cluster-source grammar: one -z value or URL argument (after a file's
// contents were read) to the sources it names — fixed "PORT = CONFIG"
// sections and cluster-manager URLs.
//
// Thread: any (pure functions; read_section_file reads the file system).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace moxi {

struct Credentials {
  std::string user;
  std::string password;
  bool operator==(const Credentials&) const = default;
};

struct ServerSpec {
  std::string host;       // name or address; IPv6 without the brackets
  uint16_t port = 11211;
  uint32_t weight = 0;    // 0 = not given (ketama-weighted treats it as 1)
  bool operator==(const ServerSpec&) const = default;
};

// "PORT = CONFIG": a fixed cluster that is never reconfigured.
struct StaticSection {
  uint16_t port = 0;               // listen port; 0 = let the OS choose
  bool port_from_listen = false;   // a bare {json} without "PORT =": port is -Z port_listen / -p
  std::string text;                // CONFIG as given, trimmed
  bool json = false;               // text starts with '{': a cluster map for the vbucket module to parse
  std::vector<ServerSpec> servers; // !json: the parsed server list (ketama)
  std::string file;                // the -z file it came from; "" if inline
  std::string config_file;         // "PORT = ./FILE": the file CONFIG is read from (text holds its
                                   // contents); re-read on SIGHUP like a -z file
};

// Cluster-manager URLs that stream the configuration (tried in order).
struct UrlSource {
  std::vector<std::string> urls;     // http:// or https://, credentials removed; or couchbase://HOST[:PORT][/BUCKET]
                                     // (a data node asked with GET_CLUSTER_CONFIG, logged in as -Z usr)
  std::optional<Credentials> auth;   // HTTP basic auth; nullopt = none
  bool auth_given = false;           // auth=/apikey= or user:pw@ was given (auth= alone means "none");
                                     // when false, parse_options fills auth from -Z usr/pwd
  std::string file;                  // the -z file it came from; "" if inline
};

using ConfigSource = std::variant<StaticSection, UrlSource>;

// Parses one -z value or URL argument (after a file's contents were read):
// ';'-separated sections (a ';' inside JSON braces or strings does not split),
// each "PORT = servers", "PORT = {json}", a bare "{json}", "http://URL[,URL]",
// or "key=value" items (url=, host=, auth=, apikey=, config=, dbpath=, #comment).
// Appends to `out`; returns the error "reason" (without the "moxi: -z: " prefix).
// `file` is recorded in the sections; `warnings` receives notes about ignored items.
std::optional<std::string> parse_cluster_config(std::string_view text, std::string_view file,
                                                std::vector<ConfigSource>& out,
                                                std::vector<std::string>* warnings = nullptr);

// A server list "host[:port[:weight]],..." ("[v6addr]:port" for IPv6).
std::optional<std::string> parse_server_list(std::string_view text, std::vector<ServerSpec>& out);

}  // namespace moxi

// For the options parser (options.cc), internal to src/config/.
namespace moxi::config {

// An http://, https:// or couchbase:// URL (any case in the scheme).
bool is_url(std::string_view s);

// "PORT = ./FILE": reads section.config_file into section.text (comment
// lines dropped, trimmed) and parses it as CONFIG (a server list or {json}).
// On error returns the reason and leaves `section` unchanged; `unreadable`
// is set when the file could not be read.
std::optional<std::string> read_section_file(StaticSection& section, bool* unreadable);

}  // namespace moxi::config
