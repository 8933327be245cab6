// --help and --version: see help.h.
#include "src/config/help.h"

#include <curl/curlver.h>
#include <event2/event.h>
#include <libmemcached-1.0/configure.h>
#include <rapidjson/rapidjson.h>
#include <sasl/sasl.h>

#include "src/build_revision.h"
#include "src/config/options.h"
#include "src/config/text.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

namespace moxi {

using namespace config;  // the layer's own tools (text.h)

namespace {

std::string placeholder(ValueKind kind) {
  switch (kind) {
    case ValueKind::Millis: return "MS";
    case ValueKind::Count: return "N";
    case ValueKind::Port: return "PORT";
    case ValueKind::Bool: return "0|1";
    case ValueKind::Protocol: return "PROTO";
    case ValueKind::String: return "TEXT";
    case ValueKind::McsOpts: return "OPTS";
    case ValueKind::Size: return "SIZE";
    case ValueKind::Memory: return "SIZE";
  }
  return "VALUE";
}

// "  LEFT<pad>TEXT": LEFT padded to `width` (TEXT starts on the next line when
// LEFT is too long); TEXT is wrapped at 79 columns, continued at `width` + 2.
void row(std::string& out, std::string_view left, std::string_view text, size_t width) {
  constexpr size_t kColumns = 79;
  const size_t indent = width + 2;
  std::string line = "  " + std::string(left);
  if (line.size() + 1 > indent) {
    out += line + "\n";
    line.clear();
  }
  line.resize(indent, ' ');
  size_t base = indent;
  for (std::string_view word : split_any(text, " ")) {
    if (word.empty()) continue;
    if (line.size() > base && line.size() + 1 + word.size() > kColumns) {
      out += line + "\n";
      line.assign(indent, ' ');
    }
    if (line.size() > base) line += ' ';
    line += word;
  }
  out += line + "\n";
}

// TEXT wrapped at 79 columns, the first line indented by `indent`, the others by `indent` + 2.
void paragraph(std::string& out, std::string_view text, size_t indent) {
  constexpr size_t kColumns = 79;
  size_t base = indent;
  std::string line(base, ' ');
  for (std::string_view word : split_any(text, " ")) {
    if (word.empty()) continue;
    if (line.size() > base && line.size() + 1 + word.size() > kColumns) {
      out += line + "\n";
      base = indent + 2;
      line.assign(base, ' ');
    }
    if (line.size() > base) line += ' ';
    line += word;
  }
  out += line + "\n";
}

std::string join_names(Support support, bool behaviors) {
  std::string out;
  auto add = [&](std::string_view name) {
    if (!out.empty()) out += ", ";
    out += name;
  };
  if (behaviors) {
    for (const auto& k : behavior_keys())
      if (k.support == support && k.synonym_of.empty()) add(k.name);
  } else {
    for (const auto& o : option_table())
      if (o.support == support) add(o.name);
  }
  return out;
}

}  // namespace

std::string help_text() {
  std::string out;
  out += "Usage: moxi [OPTIONS] -z CONFIG [-z CONFIG...]\n"
         "       moxi [OPTIONS] URL[,URL...]\n"
         "\n"
         "moxi is a memcached proxy. Clients speak the memcached protocol (ascii or\n"
         "binary) to moxi; moxi sends each key to the backend server that owns it\n"
         "(ketama over a server list, or a vBucket map).\n"
         "\n"
         "Cluster configuration (one is required):\n"
         "  -z PORT=HOST[:PORT[:WEIGHT]][,HOST...]\n"
         "                         listen on PORT; ketama over memcached servers\n"
         "                         (server port default 11211; PORT 0 = any free port)\n"
         "  -z PORT={JSON}         listen on PORT; route by the cluster map in JSON\n"
         "  -z ./FILE, -z /FILE    read the configuration from a file (a value that\n"
         "                         starts with . or /): PORT = CONFIG sections,\n"
         "                         separated by ;\n"
         "  -z PORT=./FILE         listen on PORT; CONFIG (servers or {JSON}) from\n"
         "                         FILE; SIGHUP re-reads it (and -z ./FILE)\n"
         "  -z 'A;B'               several sections, each with its own port\n"
         "  URL[,URL...]           stream the cluster map from http(s) URLs,\n"
         "                         tried in order; listen on -Z port_listen;\n"
         "                         http://USER:PASSWORD@HOST/... sets HTTP credentials\n"
         "  -z url=URL[|URL...][,auth=USER%PASSWORD]\n"
         "                         the same, credentials given apart\n"
         "  couchbase://HOST[:PORT][/BUCKET][,...]\n"
         "                         ask data nodes (port 11210) for the bucket's map\n"
         "                         (GET_CLUSTER_CONFIG, logged in as -Z usr/pwd), in\n"
         "                         order; with http URLs in one list, both run\n"
         "\n"
         "Options:\n";
  for (const auto& o : option_table()) {
    if (o.support == Support::Ignored || o.support == Support::Rejected || o.name == "-z") continue;
    std::string left;
    if (o.name == "-v") {
      left = "-v, -vv, -vvv";
    } else {
      left.assign(o.name);
      if (!o.name.empty() && !o.long_name.empty()) left += ", ";
      left += o.long_name;
      if (!o.argument.empty()) {
        left += " ";
        left += o.argument;
      }
    }
    std::string text(o.help);
    if (o.support == Support::Planned) text = "[planned] " + text;
    row(out, left, text, 23);
  }
  out += "\nBehaviors (-Z KEY=VALUE,...; MS = milliseconds, 0 = no timeout):\n";
  for (const auto& k : behavior_keys()) {
    if (!k.synonym_of.empty() || k.support == Support::Ignored) continue;
    std::string left = std::string(k.name) + "=" + placeholder(k.kind);
    std::string text = std::string(k.help) + " (default " + std::string(k.default_text) + ")";
    if (k.support == Support::Planned) text = "[planned] " + text;
    row(out, left, text, 33);
  }
  paragraph(out,
            "downstream_protocol: ascii (or memcached-ascii, membase-ascii) or binary (or "
            "memcached-binary, membase-binary) or meta (memcached 1.6's meta commands: any key, CAS on "
            "every command). Unset: binary (as the original moxi); ascii is for backends "
            "that speak only ascii. vBucket maps always use binary (ascii or meta is ignored for them).",
            2);
  std::string synonyms = "Synonyms:";
  for (const auto& k : behavior_keys()) {
    if (k.synonym_of.empty()) continue;
    synonyms += " " + std::string(k.name) + "=" + std::string(k.synonym_of);
  }
  paragraph(out, synonyms + ". Items starting with # are comments.", 2);
  paragraph(out, "Accepted but ignored (with a warning): " + join_names(Support::Ignored, true) + ".", 2);
  out += "\nEnvironment:\n";
  row(out, "MOXI_SASL_PLAIN_USR, MOXI_SASL_PLAIN_PWD", "defaults for -Z usr and pwd (keep them out of ps)", 23);
  paragraph(out,
            "Passwords: -Z pwd= cannot hold a comma, -z auth= neither a comma nor a semicolon; a URL's "
            "USER:PASSWORD@ holds anything %-escaped (%2C for a comma), MOXI_SASL_PLAIN_PWD anything as it is. "
            "Messages never show a password: what follows one on its line is printed as ****. See PASSWORDS in "
            "moxi(1).",
            2);
  out += "\n";
  paragraph(out, "Old moxi flags accepted and ignored (with a warning): " + join_names(Support::Ignored, false) + ".",
            0);
  std::string refused = "Refused:";
  for (const auto& o : option_table()) {
    if (o.support != Support::Rejected) continue;
    std::string_view what = o.help.substr(0, o.help.find(':'));
    refused += std::string(refused.size() > 8 ? ", " : " ") + std::string(o.name) + " (" + std::string(what) + ")";
  }
  paragraph(out, refused + ".", 0);
  out += "\n";
  paragraph(out, "[planned]: parsed and checked now; takes effect in a later release.", 0);
  paragraph(out,
            "Exit status: 0 ok, 1 run-time failure, 64 usage error, 65 invalid cluster configuration, "
            "66 unreadable file; --check-config: 0 valid, 1 any error. Signals: TERM/INT drain and exit, "
            "HUP reload -z files, USR1 reopen the log. See moxi(1).",
            0);
  return out;
}

std::string version_text() {
  std::string out = "moxi " PACKAGE_VERSION " (git revision " MOXI_BUILD_REVISION ")\n";
  out += "libevent ";
  out += event_get_version();
  out += ", libcurl " LIBCURL_VERSION ", libmemcached " LIBMEMCACHED_VERSION_STRING;
  out += ", Cyrus SASL " + std::to_string(SASL_VERSION_MAJOR) + "." + std::to_string(SASL_VERSION_MINOR) + "." +
         std::to_string(SASL_VERSION_STEP) + ", RapidJSON " RAPIDJSON_VERSION_STRING "\n";
  return out;
}

}  // namespace moxi
