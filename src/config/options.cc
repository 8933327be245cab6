// moxi command line: see options.h. The option table below is the single
// source for the parser and the option rows of --help; t/options checks
// that man/moxi.1 names every entry too.
#include "src/config/options.h"

#include <algorithm>
#include <cstdlib>
#include <set>
#include <thread>

#include "conflate/url.h"
#include "src/config/secrets.h"
#include "src/config/text.h"
#include "src/routing/down_policy.h"
#include "src/backend/resolver.h"

namespace moxi {

using namespace config;  // the layer's own tools (text.h, secrets.h, cluster_source.h)

namespace {

constexpr auto I = Support::Implemented;
constexpr auto G = Support::Ignored;
constexpr auto R = Support::Rejected;

constexpr OptionInfo kOptions[] = {
    {"-z", "", "CONFIG", I, "cluster configuration (see above); may be repeated"},
    {"-Z", "", "KEY=VALUE[,...]", I, "behaviors (see below); -Z ./FILE or -Z /FILE reads them from a file"},
    {"-p", "", "PORT", I,
     "the original's embedded memcached port: 0 (off) is accepted and ignored; another PORT is the listen port for "
     "URL configs and bare {json} when -Z port_listen is not given"},
    {"-l", "", "ADDR", I, "listen on this address only (default: every interface)"},
    {"-t", "", "NUM", I, "worker threads (default: the number of cores)"},
    {"-c", "", "NUM", I, "maximum simultaneous client connections (default 1024); raises ulimit -n to fit"},
    {"-I", "", "SIZE", I, "largest value accepted, as memcached's -I (k/m suffix; default 1m, 20m for vBucket buckets)"},
    {"-d", "", "", I, "run as a daemon"},
    {"-P", "", "FILE", I, "write the process id to FILE"},
    {"-v", "", "", I, "log more: -v info, -vv debug, -vvv trace (errors and warnings always)"},
    {"-o", "", "FILE", I, "log to FILE instead of stderr (-O is the same); SIGUSR1 reopens it"},
    {"-O", "", "FILE", I, "= -o"},
    {"-Y", "", "y|n", I,
     "y: drain and exit (status 0) when standard input reaches end of file or a newline, as a supervisor's pipe "
     "does; default n"},
    {"", "--check-config", "", I, "check the configuration, print what would be served, exit 0 (valid) or 1"},
    {"", "--describe-stats", "", I, "list the stats moxi reports, then exit"},
    {"-h", "--help", "", I, "show this help and exit"},
    {"-V", "--version", "", I, "show the version, the git revision built from and the library versions, and exit"},
    // The original's embedded memcached server and other old flags: accepted, warned about, no effect.
    {"-m", "", "MB", G, "embedded server memory"},
    {"-M", "", "", G, "embedded server: no eviction"},
    {"-k", "", "", G, "mlockall"},
    {"-f", "", "FACTOR", G, "slab growth factor"},
    {"-n", "", "BYTES", G, "minimum item size"},
    {"-L", "", "", G, "large pages"},
    {"-C", "", "", G, "no CAS"},
    {"-D", "", "CHAR", G, "stats detail delimiter"},
    {"-U", "", "PORT", G, "embedded server UDP port"},
    {"-r", "", "", G, "raise the core file limit"},
    {"-a", "", "MASK", G, "UNIX socket mask"},
    {"-R", "", "NUM", G, "requests per event"},
    {"-b", "", "NUM", G, "listen backlog"},
    {"-B", "", "PROTO", G, "client protocol (moxi always detects it)"},
    // Refused: honouring them silently would be wrong.
    {"-s", "", "FILE", R, "UNIX socket: not supported; listen on TCP with -l/-p"},
    {"-u", "", "USER", R, "setuid: not supported; start moxi as that user"},
    {"-X", "", "", R, "mcmux mode: not supported"},
};

constexpr unsigned kMaxWorkers = 1024;
constexpr unsigned kMaxConnections = 1 << 20;

const OptionInfo* find_short(char c) {
  for (const auto& o : kOptions)
    if (o.name.size() == 2 && o.name[1] == c) return &o;
  return nullptr;
}

const OptionInfo* find_long(std::string_view name) {
  for (const auto& o : kOptions)
    if (o.long_name == name) return &o;
  return nullptr;
}

std::string usage_error(std::string_view text) { return "moxi: " + std::string(text); }

// Everything parse_options accumulates.
class Parser {
 public:
  explicit Parser(const EnvLookup& env) : env_(env) {}

  ParseOutcome run(const std::vector<std::string>& args) {
    // 1. The environment first, so that -Z usr=/pwd= override it.
    if (env_) {
      if (auto u = env_("MOXI_SASL_PLAIN_USR")) opts_.behaviors.usr = *u;
      if (auto p = env_("MOXI_SASL_PLAIN_PWD")) opts_.behaviors.pwd = *p;
    }
    // 2. Options and arguments, in order (later values win).
    bool only_arguments = false;
    for (size_t i = 0; i < args.size() && !failed(); ++i) {
      const std::string& a = args[i];
      if (only_arguments || a.size() < 2 || a[0] != '-') {
        argument(a);
      } else if (a == "--") {
        only_arguments = true;
      } else if (a.starts_with("--")) {
        long_option(a);
      } else {
        short_options(args, i);
      }
    }
    if (failed()) return std::move(outcome_);
    // 3. Requests that need no configuration.
    if (opts_.show_help || opts_.show_version || opts_.describe_stats) return success();
    // 4. A configuration is required.
    if (opts_.sources.empty()) fail("need cluster configuration (-z or URL); see moxi -h");
    // 5. Fill in what depends on the final behaviors, then check the ports.
    if (!failed()) resolve();
    if (!failed() && opts_.behaviors.ready_when != "map" && opts_.behaviors.ready_when != "reachable" &&
        opts_.behaviors.ready_when != "all")
      fail("-Z ready_when: " + quote(opts_.behaviors.ready_when) + " is not map, reachable or all");
    if (!failed() && opts_.behaviors.io_engine != "epoll" && opts_.behaviors.io_engine != "uring")
      fail("-Z io_engine: " + quote(opts_.behaviors.io_engine) + " is not epoll or uring");
    if (!failed() && !vbucket::network_from_string(opts_.behaviors.network))
      fail("-Z network: " + quote(opts_.behaviors.network) + " is not default or external");
    if (!failed()) {
      DownPolicy policy;
      if (auto err = parse_down_policy(opts_.behaviors.down_policy, policy)) fail("-Z down_policy: " + *err);
    }
    if (!failed() && !opts_.behaviors.dns_servers.empty()) {
      std::vector<std::string> servers;
      if (auto err = backend::parse_dns_servers(opts_.behaviors.dns_servers, servers)) fail("-Z dns_servers: " + *err);
    }
    if (!failed()) load_client_passwords();
    if (failed()) return std::move(outcome_);
    return success();
  }

 private:
  bool failed() const { return !outcome_.error.empty(); }

  // Records the first error; later ones are dropped.
  void fail(std::string_view text, int status = kExitUsage) {
    if (!failed()) {
      outcome_.error = usage_error(text);
      outcome_.exit_status = status;
    }
  }

  ParseOutcome success() {
    outcome_.options = std::move(opts_);
    outcome_.exit_status = kExitOk;
    return std::move(outcome_);
  }

  void warn(std::string_view text) { opts_.warnings.push_back("moxi: warning: " + std::string(text)); }

  void long_option(const std::string& a) {
    std::string_view name = a;
    size_t eq = name.find('=');
    if (eq != std::string_view::npos) name = name.substr(0, eq);
    const OptionInfo* o = find_long(name);
    if (!o) {
      fail("unknown option " + quote(name) + " (see moxi -h)");
      return;
    }
    if (eq != std::string_view::npos) {
      fail(std::string(name) + " takes no value");
      return;
    }
    apply(*o, "");
  }

  // A cluster of short options: "-dvv", "-t4", "-t 4", "-vz 11211=a".
  void short_options(const std::vector<std::string>& args, size_t& i) {
    const std::string& a = args[i];
    for (size_t j = 1; j < a.size() && !failed(); ++j) {
      const OptionInfo* o = find_short(a[j]);
      if (!o) {
        fail("unknown option " + quote(std::string("-") + a[j]) + " (see moxi -h)");
        return;
      }
      if (o->argument.empty()) {
        apply(*o, "");
        continue;
      }
      if (j + 1 < a.size()) {
        apply(*o, std::string_view(a).substr(j + 1));
      } else if (i + 1 < args.size()) {
        apply(*o, args[++i]);
      } else {
        fail(std::string(o->name) + ": missing " + std::string(o->argument));
      }
      return;
    }
  }

  void apply(const OptionInfo& o, std::string_view value) {
    std::string_view name = o.name.empty() ? o.long_name : o.name;
    if (o.support == Support::Ignored) {
      warn(std::string(name) + ": ignored (" + std::string(o.help) + ")");
      return;
    }
    if (o.support == Support::Rejected) {
      fail(std::string(name) + ": " + std::string(o.help));
      return;
    }
    std::string where = std::string(name) + ": ";
    if (name == "-z") {
      cluster_config(value);
    } else if (name == "-Z") {
      behaviors(value);
    } else if (name == "-p") {
      auto port = parse_port(value, 0);
      if (!port) {
        fail(where + quote(value) + " is not a port number (0-65535)");
        return;
      }
      // The original's embedded memcached port; 0 = off. See resolve().
      embedded_port_ = *port;
    } else if (name == "-l") {
      if (value.empty()) {
        fail(where + "empty address");
        return;
      }
      opts_.listen_address.assign(value);
    } else if (name == "-t") {
      auto n = parse_number(value, kMaxWorkers);
      if (!n || *n == 0) {
        fail(where + quote(value) + " is not a number of workers (1-" + std::to_string(kMaxWorkers) + ")");
        return;
      }
      opts_.workers = static_cast<unsigned>(*n);
    } else if (name == "-c") {
      auto n = parse_number(value, kMaxConnections);
      if (!n || *n == 0) {
        fail(where + quote(value) + " is not a number of connections (1-" + std::to_string(kMaxConnections) + ")");
        return;
      }
      opts_.max_connections = static_cast<unsigned>(*n);
      opts_.max_connections_given = true;
    } else if (name == "-I") {
      auto size = parse_size(value);
      if (!size) {
        fail(where + quote(value) + " is not a size from 1k to 1024m (bytes, or a number with k or m)");
        return;
      }
      opts_.behaviors.item_size_max = static_cast<uint32_t>(*size);
    } else if (name == "-d") {
      opts_.daemonize = true;
    } else if (name == "-P") {
      if (value.empty()) {
        fail(where + "empty file name");
        return;
      }
      opts_.pidfile.assign(value);
    } else if (name == "-v") {
      opts_.verbosity = std::min(opts_.verbosity + 1, 3);
    } else if (name == "-Y") {
      if (value != "y" && value != "n") {
        fail(where + quote(value) + " is not y or n (y: exit when standard input ends)");
        return;
      }
      opts_.exit_on_stdin_end = value == "y";
    } else if (name == "-o" || name == "-O") {
      // The original's convention: "stderr" or "" mean stderr.
      opts_.log_file = value == "stderr" ? std::string() : std::string(value);
    } else if (name == "--check-config") {
      opts_.check_config = true;
    } else if (name == "--describe-stats") {
      opts_.describe_stats = true;
    } else if (name == "-h") {
      opts_.show_help = true;
    } else if (name == "-V") {
      opts_.show_version = true;
    }
  }

  // Reads FILE for "-z ./FILE" / "-Z /FILE"; nullopt after a failure.
  std::optional<std::string> read_named_file(std::string_view flag, std::string_view path) {
    std::string err;
    auto text = read_whole_file(std::string(path), err);
    if (!text) {
      fail(std::string(flag) + " " + std::string(path) + ": cannot read: " + err, kExitNoInput);
      return std::nullopt;
    }
    if (trim(*text).empty()) {
      fail(std::string(flag) + " " + std::string(path) + ": file is empty");
      return std::nullopt;
    }
    return text;
  }

  void cluster_config(std::string_view value) {
    std::string where = "-z";
    std::string text(value);
    std::string file;
    if (is_file_value(trim(value))) {
      file.assign(trim(value));
      where += " " + file;
      auto contents = read_named_file("-z", file);
      if (!contents) return;
      text = std::move(*contents);
    }
    add_sources(where, text, file);
  }

  void add_sources(const std::string& where, std::string_view text, const std::string& file) {
    std::vector<std::string> warnings;
    const size_t first = opts_.sources.size();
    if (auto err = parse_cluster_config(text, file, opts_.sources, &warnings)) {
      fail(where + ": " + *err);
      return;
    }
    for (const auto& w : warnings) warn(where + ": " + w);
    const Secrets secrets(text);
    for (size_t i = first; i < opts_.sources.size(); ++i) {
      auto* s = std::get_if<StaticSection>(&opts_.sources[i]);
      if (!s || s->config_file.empty()) continue;
      bool unreadable = false;
      if (auto reason = read_section_file(*s, &unreadable)) {
        // A section after a password on its line may be a piece of it: its port and file are not shown.
        const bool hidden = secrets.hides(s->config_file);
        const std::string section = hidden ? "port ****: ****: " : "port " + std::to_string(s->port) + ": " + s->config_file + ": ";
        fail(where + ": " + secrets.noted(section + *reason), unreadable ? kExitNoInput : kExitUsage);
        return;
      }
    }
  }

  void behaviors(std::string_view value) {
    std::string where = "-Z ";
    std::string text(value);
    if (is_file_value(trim(value))) {
      std::string path(trim(value));
      where += path + ": ";
      auto contents = read_named_file("-Z", path);
      if (!contents) return;
      text = std::move(*contents);
      opts_.behavior_files.push_back(path);
    }
    std::vector<std::string> ignored, given;
    if (auto err = parse_behaviors(text, opts_.behaviors, &ignored, &given)) {
      fail(where + *err);
      return;
    }
    port_listen_given_ = port_listen_given_ || std::find(given.begin(), given.end(), "port_listen") != given.end();
    for (const auto& key : ignored) warn("-Z " + key + ": accepted but ignored (not implemented)");
  }

  // A positional argument: a config URL (or url=/auth= list), as the original's trailing argument.
  void argument(const std::string& a) {
    std::string_view v = trim(a);
    if (is_url(v) || v.starts_with("url=") || v.starts_with("auth=") || v.starts_with("apikey=")) {
      add_sources("argument", v, "");
      return;
    }
    const Secrets secrets(v);
    if (v.find('@') != std::string_view::npos) {
      fail(secrets.noted("argument " + secrets.quoted(v) +
                         ": not a config URL (XMPP/JID configurations are not supported; give an http:// URL)"));
      return;
    }
    fail(secrets.noted("unexpected argument " + secrets.quoted(v) + " (give a configuration with -z, or an http:// URL)"));
  }

  // -Z client_passwords=FILE (bucket_access.h). No error shows a line of
  // the file: it holds passwords.
  void load_client_passwords() {
    Behaviors& b = opts_.behaviors;
    if (b.client_passwords_file.empty()) return;
    const std::string where = "-Z client_passwords " + b.client_passwords_file;
    std::string error;
    const auto text = read_whole_file(b.client_passwords_file, error);
    if (!text) {
      fail(where + ": " + error);
      return;
    }
    size_t line_no = 0;
    for (size_t pos = 0; pos < text->size();) {
      size_t end = text->find('\n', pos);
      if (end == std::string::npos) end = text->size();
      std::string_view line(text->data() + pos, end - pos);
      pos = end + 1;
      ++line_no;
      if (line.ends_with('\r')) line.remove_suffix(1);
      if (line.empty() || line.front() == '#') continue;
      const size_t colon = line.find(':');
      const std::string at = where + " line " + std::to_string(line_no);
      if (colon == std::string_view::npos || colon == 0) {
        fail(at + ": expected BUCKET:PASSWORD (the line is not shown: it may hold a password)");
        return;
      }
      const std::string bucket(line.substr(0, colon));
      if (!b.client_passwords.emplace(bucket, std::string(line.substr(colon + 1))).second) {
        fail(at + ": bucket " + quote(bucket) + " is listed twice");
        return;
      }
    }
  }

  // The couchbase:// URLs of `source` name one bucket, and the data
  // connections have a login to give (Couchbase 5+ refuses data without one).
  std::optional<std::string> check_data_nodes(const UrlSource& source) const {
    std::string bucket, error;
    bool any = false;
    for (const auto& url : source.urls) {
      if (!conflate::is_data_node_url(url)) continue;
      auto node = conflate::parse_data_node_url(url, error);
      if (!node) return error;
      const std::string named = node->bucket.empty() ? data_node_bucket(opts_.behaviors, "") : node->bucket;
      if (any && named != bucket)
        return "the couchbase:// URLs of one source name different buckets (\"" + bucket + "\" and \"" + named + "\")";
      bucket = named;
      any = true;
    }
    if (any && opts_.behaviors.usr.empty())
      return "couchbase:// URLs need a login: give -Z usr=USER,pwd=PASSWORD (the data nodes and the data "
             "connections are asked with it)";
    return std::nullopt;
  }

  // Fills ports and credentials that depend on the final behaviors; checks that
  // no two listeners want the same port.
  void resolve() {
    if (opts_.exit_on_stdin_end && opts_.daemonize) {
      fail("-Y y and -d: a daemon's standard input is /dev/null, so moxi would exit at once; give one of them");
      return;
    }
    Behaviors& b = opts_.behaviors;
    // -p was the original's embedded memcached server port (0 = off). There
    // is no embedded server: -p 0 says nothing, and another -p names the
    // proxy port unless -Z port_listen does.
    if (embedded_port_.value_or(0) != 0) {
      if (port_listen_given_) {
        warn("-p " + std::to_string(*embedded_port_) + ": ignored: -Z port_listen=" + std::to_string(b.port_listen) +
             " is the listen port (-p was the original's embedded memcached port)");
      } else {
        b.port_listen = *embedded_port_;
      }
    }
    std::set<uint16_t> ports;
    size_t on_port_listen = 0;
    for (auto& src : opts_.sources) {
      if (auto* s = std::get_if<StaticSection>(&src)) {
        if (s->port_from_listen) {
          s->port = b.port_listen;
          ++on_port_listen;
        } else if (s->port != 0 && !ports.insert(s->port).second) {
          fail("-z: port " + std::to_string(s->port) + " is given to two configurations");
          return;
        }
      } else if (auto* u = std::get_if<UrlSource>(&src)) {
        ++on_port_listen;
        if (!u->auth_given && !b.usr.empty()) u->auth = Credentials{b.usr, b.pwd};
        if (auto err = check_data_nodes(*u)) {
          fail("-z: " + *err);
          return;
        }
      }
    }
    if (on_port_listen > 1) {
      fail("only one configuration may listen on port_listen (" + std::to_string(b.port_listen) +
           "): write PORT = {json}, and put failover URLs in one list (URL,URL)");
      return;
    }
    if (on_port_listen == 1 && b.port_listen != 0 && !ports.insert(b.port_listen).second) {
      fail("port " + std::to_string(b.port_listen) + " is both a -z PORT and port_listen (-p)");
      return;
    }
    if (b.tls_port) {
      if (b.tls_cert.empty() || b.tls_key.empty()) {
        fail("-Z tls_port=" + std::to_string(*b.tls_port) + " needs tls_cert=FILE and tls_key=FILE");
        return;
      }
      if (*b.tls_port != 0 && !ports.insert(*b.tls_port).second) {
        fail("-Z tls_port: " + std::to_string(*b.tls_port) + " is also a plain listen port (give TLS a port of its own)");
        return;
      }
    } else if (!b.tls_cert.empty() || !b.tls_key.empty() || !b.tls_client_ca.empty()) {
      fail("-Z tls_cert, tls_key and tls_client_ca are for a TLS listener: give tls_port=PORT too");
      return;
    }
    if (b.tls_min_version != "1.2" && b.tls_min_version != "1.3") {
      fail("-Z tls_min_version: " + quote(b.tls_min_version) + " is not 1.2 or 1.3");
      return;
    }
    TlsPorts tls_ports;
    if (auto err = parse_tls_ports(b.downstream_tls, tls_ports)) {
      fail("-Z downstream_tls: " + *err);
      return;
    }
    if (b.downstream_tls_cert.empty() != b.downstream_tls_key.empty()) {
      fail("-Z downstream_tls_cert and downstream_tls_key go together");
      return;
    }
    if (!tls_ports.any() && (!b.downstream_tls_ca.empty() || !b.downstream_tls_cert.empty())) {
      fail("-Z downstream_tls_ca and downstream_tls_cert are for TLS to the backends: give downstream_tls=1 too");
      return;
    }
    if (b.admin_port && *b.admin_port != 0 && ports.count(*b.admin_port)) {
      fail("-Z admin_port: " + std::to_string(*b.admin_port) + " is also a proxy listen port");
      return;
    }
  }

  const EnvLookup& env_;
  Options opts_;
  ParseOutcome outcome_;
  std::optional<uint16_t> embedded_port_;  // -p, the last one given
  bool port_listen_given_ = false;         // some -Z set port_listen
};

}  // namespace

std::span<const OptionInfo> option_table() { return kOptions; }

unsigned default_workers() { return std::max(1u, std::thread::hardware_concurrency()); }

ParseOutcome parse_options(const std::vector<std::string>& args, const EnvLookup& env) {
  Parser parser(env);
  return parser.run(args);
}

EnvLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

ParseOutcome parse_options(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return parse_options(args, process_environment());
}

}  // namespace moxi
