// The cluster-source grammar: see cluster_source.h.
#include "src/config/cluster_source.h"

#include <utility>

#include "conflate/url.h"
#include "src/config/secrets.h"
#include "src/config/text.h"

namespace moxi {

using namespace config;  // the layer's own tools (text.h, secrets.h)

namespace {

// Decodes %XX in URL user info; other bytes are kept as they are.
std::string percent_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct ParsedUrl {
  std::string url;                    // without user info
  std::optional<Credentials> userinfo;
};

std::optional<std::string> parse_url(std::string_view raw, ParsedUrl& out, const Secrets& secrets) {
  if (!is_url(raw)) return secrets.quoted(raw) + " is not an http://, https:// or couchbase:// URL";
  if (conflate::is_data_node_url(raw)) {
    // Checked here, so that a bad one stops moxi at start with its reason.
    std::string error;
    if (!conflate::parse_data_node_url(raw, error)) return secrets.noted(error);
    out.userinfo.reset();
    out.url.assign(raw);
    return std::nullopt;
  }
  size_t scheme_end = raw.find("://") + 3;
  size_t authority_end = raw.find_first_of("/?#", scheme_end);
  if (authority_end == std::string_view::npos) authority_end = raw.size();
  std::string_view authority = raw.substr(scheme_end, authority_end - scheme_end);
  size_t at = authority.rfind('@');
  out.userinfo.reset();
  if (at != std::string_view::npos) {
    std::string_view info = authority.substr(0, at);
    size_t colon = info.find(':');
    Credentials c;
    c.user = percent_decode(info.substr(0, colon));
    if (colon != std::string_view::npos) c.password = percent_decode(info.substr(colon + 1));
    out.userinfo = std::move(c);
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) return secrets.quoted(raw) + " has no host";
  out.url.assign(raw.substr(0, scheme_end));
  out.url.append(authority);
  out.url.append(raw.substr(authority_end));
  return std::nullopt;
}

// Credentials from "USER%PASSWORD" (split at the first '%'; no '%' = user only).
Credentials parse_auth(std::string_view v) {
  Credentials c;
  size_t pct = v.find('%');
  c.user.assign(v.substr(0, pct));
  if (pct != std::string_view::npos) c.password.assign(v.substr(pct + 1));
  return c;
}

// Adds URLs (separated by ',' or '|') to `src`, collecting user info.
std::optional<std::string> add_urls(std::string_view list, UrlSource& src, std::optional<Credentials>& userinfo,
                                    const Secrets& secrets) {
  for (std::string_view piece : split_any(list, ",|")) {
    std::string_view u = trim(piece);
    if (u.empty()) return "empty URL in " + secrets.quoted(trim(list));
    ParsedUrl p;
    if (auto err = parse_url(u, p, secrets)) return err;
    if (p.userinfo) {
      if (userinfo && *userinfo != *p.userinfo) return "the URLs carry different user:password credentials";
      userinfo = p.userinfo;
    }
    src.urls.push_back(std::move(p.url));
  }
  return std::nullopt;
}

std::optional<std::string> parse_url_section(std::string_view section, std::string_view file,
                                             std::vector<ConfigSource>& out, std::vector<std::string>* warnings,
                                             const Secrets& secrets) {
  UrlSource src;
  src.file.assign(file);
  std::optional<Credentials> userinfo;
  std::optional<Credentials> explicit_auth;
  bool auth_key = false;
  if (is_url(section)) {
    if (auto err = add_urls(section, src, userinfo, secrets)) return err;
  } else {
    for (std::string_view piece : split_any(section, ",\r\n")) {
      std::string_view item = trim(piece);
      if (item.empty() || item.starts_with('#')) continue;
      size_t eq = item.find('=');
      if (eq == std::string_view::npos) {
        if (is_url(item)) {  // "url=http://a,http://b": the comma list form of the usage text
          if (auto err = add_urls(item, src, userinfo, secrets)) return err;
          continue;
        }
        if (item == section && item.find_first_of("./") != std::string_view::npos && item.find(':') == std::string_view::npos)
          return secrets.quoted(item) + " is not a configuration (to read a file, write ./" + secrets.shown(item) + ")";
        return secrets.quoted(item) + " is not a configuration (expected PORT=SERVERS, PORT={json}, URL, url=URL or ./FILE)";
      }
      std::string_view key = trim(item.substr(0, eq));
      std::string_view value = trim(item.substr(eq + 1));
      if (key == "url" || key == "host") {
        if (value.empty()) return secrets.shown(key) + "= has no URL";
        if (auto err = add_urls(value, src, userinfo, secrets)) return err;
      } else if (key == "auth" || key == "apikey") {
        auth_key = true;
        if (value.empty()) {
          explicit_auth.reset();
        } else {
          explicit_auth = parse_auth(value);
        }
      } else if (key == "config" || key == "dbpath") {
        if (warnings)
          warnings->push_back(secrets.shown(key) + "=" + secrets.shown(value) + ": ignored (use -Z config_cache=PATH)");
      } else {
        // Not the item: a misspelt auth='s value would be a password.
        return "unknown configuration key " + secrets.quoted(key) + " (expected url=, auth=, or PORT=...)";
      }
    }
    if (src.urls.empty()) return "missing url=URL in " + secrets.quoted(section);
  }
  if (auth_key) {
    if (userinfo && explicit_auth != userinfo) return "auth= and the user:password in the URL differ";
    src.auth = explicit_auth;
    src.auth_given = true;
  } else if (userinfo) {
    src.auth = userinfo;
    src.auth_given = true;
  }
  out.emplace_back(std::move(src));
  return std::nullopt;
}

std::optional<std::string> server_list(std::string_view text, std::vector<ServerSpec>& out, const Secrets& secrets) {
  std::vector<ServerSpec> servers;
  for (std::string_view piece : split_any(text, ",")) {
    std::string_view entry = trim(piece);
    std::string where = "server " + secrets.quoted(entry) + ": ";
    if (entry.empty()) return "empty server entry in " + secrets.quoted(trim(text));
    ServerSpec s;
    std::string_view rest;
    if (entry.starts_with('[')) {
      size_t close = entry.find(']');
      if (close == std::string_view::npos) return where + "missing ']'";
      s.host.assign(entry.substr(1, close - 1));
      rest = entry.substr(close + 1);
      if (!rest.empty() && rest.front() != ':') return where + "expected ':' after ']'";
    } else {
      size_t colon = entry.find(':');
      s.host.assign(entry.substr(0, colon));
      if (colon != std::string_view::npos) rest = entry.substr(colon);
    }
    if (s.host.empty()) return where + "empty host name";
    if (!rest.empty()) {
      rest.remove_prefix(1);  // ':'
      size_t colon = rest.find(':');
      std::string_view port_text = rest.substr(0, colon);
      auto port = parse_port(port_text, 1);
      if (!port) return where + secrets.quoted(port_text) + " is not a port number (1-65535)";
      s.port = *port;
      if (colon != std::string_view::npos) {
        std::string_view weight_text = rest.substr(colon + 1);
        if (weight_text.find(':') != std::string_view::npos)
          return where + "too many ':' (write IPv6 addresses as [ADDR]:PORT)";
        auto weight = parse_number(weight_text, kMaxCount);
        if (!weight || *weight == 0)
          return where + secrets.quoted(weight_text) + " is not a weight (a whole number from 1)";
        s.weight = static_cast<uint32_t>(*weight);
      }
    }
    servers.push_back(std::move(s));
  }
  out.insert(out.end(), servers.begin(), servers.end());
  return std::nullopt;
}

// "PORT = CONFIG" when `section` starts with digits then '='.
bool is_static_section(std::string_view section) {
  size_t i = 0;
  while (i < section.size() && section[i] >= '0' && section[i] <= '9') ++i;
  if (i == 0) return false;
  while (i < section.size() && is_space(section[i])) ++i;
  return i < section.size() && section[i] == '=';
}

std::optional<std::string> parse_static_section(std::string_view section, std::string_view file,
                                                std::vector<ConfigSource>& out, const Secrets& secrets) {
  size_t eq = section.find('=');
  std::string_view port_text = trim(section.substr(0, eq));
  StaticSection s;
  s.file.assign(file);
  auto port = parse_port(port_text, 0);
  if (!port) return "port " + secrets.quoted(port_text) + " is not a port number (0-65535)";
  s.port = *port;
  const std::string_view config = trim(section.substr(eq + 1));
  s.text.assign(config);
  std::string where = "port " + secrets.shown(port_text) + ": ";
  if (s.text.empty()) return where + "empty configuration";
  // PORT=URL reads as "serve this URL's bucket on PORT", which moxi writes
  // otherwise; the URL itself is not repeated (it may hold a password).
  if (is_url(config) || starts_with_nocase(config, "url="))
    return where + "a URL configuration takes no PORT= (URLs are served on -Z port_listen, default 11211): write -Z port_listen=" +
           secrets.shown(port_text) + " -z URL";
  if (is_file_value(s.text)) {
    // Read later (read_section_file), so an unreadable file exits 66 like any -z file.
    s.config_file = std::move(s.text);
    s.text.clear();
  } else if (s.text.front() == '{') {
    s.json = true;
  } else if (auto err = server_list(config, s.servers, secrets)) {
    return where + *err;
  }
  out.emplace_back(std::move(s));
  return std::nullopt;
}
}  // namespace

namespace config {

bool is_url(std::string_view s) {
  return starts_with_nocase(s, "http://") || starts_with_nocase(s, "https://") || conflate::is_data_node_url(s);
}

// lines dropped, trimmed) and parses it as CONFIG (a server list or {json}).
// On error returns the reason and leaves `section` unchanged; `unreadable`
// is set when the file could not be read.
std::optional<std::string> read_section_file(StaticSection& section, bool* unreadable) {
  std::string err;
  auto contents = read_whole_file(section.config_file, err);
  if (!contents) {
    if (unreadable) *unreadable = true;
    return "cannot read: " + err;
  }
  std::string text(trim(strip_comment_lines(*contents)));
  if (text.empty()) return std::string("file is empty");
  std::vector<ServerSpec> servers;
  const bool json = text.front() == '{';
  if (!json) {
    if (auto e = parse_server_list(text, servers)) return e;
  }
  section.text = std::move(text);
  section.json = json;
  section.servers = std::move(servers);
  return std::nullopt;
}

}  // namespace config

std::optional<std::string> parse_server_list(std::string_view text, std::vector<ServerSpec>& out) {
  return server_list(text, out, Secrets());
}

std::optional<std::string> parse_cluster_config(std::string_view text, std::string_view file,
                                                std::vector<ConfigSource>& out, std::vector<std::string>* warnings) {
  std::string cleaned = strip_comment_lines(text);
  const Secrets secrets(cleaned);
  std::vector<ConfigSource> sources;
  for (std::string_view piece : split_top_level(cleaned, ';')) {
    std::string_view section = trim(piece);
    if (section.empty()) continue;
    if (section.front() == '{') {
      StaticSection s;
      s.port_from_listen = true;
      s.json = true;
      s.text.assign(section);
      s.file.assign(file);
      sources.emplace_back(std::move(s));
    } else if (is_static_section(section)) {
      if (auto err = parse_static_section(section, file, sources, secrets)) return secrets.noted(*err);
    } else if (auto err = parse_url_section(section, file, sources, warnings, secrets)) {
      return secrets.noted(*err);
    }
  }
  if (sources.empty()) return std::string("empty configuration");
  for (auto& s : sources) out.push_back(std::move(s));
  return std::nullopt;
}

}  // namespace moxi
