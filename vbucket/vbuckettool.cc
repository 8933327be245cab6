#include "vbucket/vbuckettool.h"

#include <istream>
#include <ostream>

#include "vbucket/config_loader.h"
#include "vbucket/host_port.h"

namespace moxi::vbucket {
namespace {

constexpr const char* kUsage =
    "usage: vbuckettool [--peer HOST] [--network NET] [--port N] [--bucket NAME] CONFIG [KEY...]\n"
    "\n"
    "Prints, for each KEY (or each line of standard input when no KEY is given),\n"
    "a tab-separated line: key, vBucket (- for ketama), master host:port, replicas.\n"
    "\n"
    "CONFIG is a file: a bucket config (JSON), a {\"buckets\":[...]} document,\n"
    "a moxi static file (PORT = CONFIG;...) or a libmemcached server list.\n"
    "\n"
    "  --peer HOST    host the config came from: replaces $HOST (default localhost)\n"
    "  --network NET  default, or external: nodesExt alternate addresses\n"
    "  --port N       static file: use the section for port N (default: the first)\n"
    "  --bucket NAME  multi-bucket document: use bucket NAME (default: the first)\n"
    "  -h, --help     show this help\n"
    "  --             end of options (for keys that start with '-')\n";

std::string server_or_dash(const Config& config, int index) {
  const std::string& name = config.server(index);
  return name.empty() ? std::string("-") : name;
}

struct ToolArguments {
  LoadOptions load = [] {
    LoadOptions o;
    o.parse.origin_host = "localhost";  // a file: as libvbucket's vbucket_config_parse()
    return o;
  }();
  std::string config_path;
  std::vector<std::string> keys;
  bool help = false;
};

// Options are recognised before the first operand only (like POSIX getopt),
// so keys after CONFIG may start with '-'. Returns an error message, or "".
std::string parse_args(const std::vector<std::string>& args, ToolArguments& options) {
  size_t i = 0;
  auto value = [&](const std::string& name, std::string& out) -> std::string {
    if (i + 1 >= args.size()) return name + " needs a value";
    out = args[++i];
    return {};
  };
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "-h" || arg == "--help") {
      options.help = true;
      return {};
    }
    std::string v;
    if (arg == "--peer") {
      if (auto e = value(arg, v); !e.empty()) return e;
      if (v.empty()) return "--peer needs a non-empty host";
      options.load.parse.origin_host = v;
    } else if (arg == "--network") {
      if (auto e = value(arg, v); !e.empty()) return e;
      auto network = network_from_string(v);
      if (!network) return "--network needs default or external, got \"" + v + "\"";
      options.load.parse.network = *network;
    } else if (arg == "--port") {
      if (auto e = value(arg, v); !e.empty()) return e;
      auto port = detail::parse_port(v);
      if (!port) return "--port needs a port 1..65535, got \"" + v + "\"";
      options.load.port = *port;
    } else if (arg == "--bucket") {
      if (auto e = value(arg, v); !e.empty()) return e;
      options.load.bucket = v;
    } else if (arg.size() > 1 && arg[0] == '-') {
      return "unknown option " + arg;
    } else {
      break;
    }
  }
  if (i >= args.size()) return "missing CONFIG";
  options.config_path = args[i++];
  options.keys.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  return {};
}

}  // namespace

std::string describe_key(const Config& config, std::string_view key) noexcept {
  std::string line(key);
  line += '\t';
  if (config.distribution() == Distribution::ketama) {
    line += "-\t" + server_or_dash(config, config.server_for_key(key)) + "\t-";
    return line;
  }
  const int vb = config.vbucket_for_key(key);
  line += std::to_string(vb) + '\t' + server_or_dash(config, config.master(vb)) + '\t';
  if (config.num_replicas() == 0) return line + "-";
  for (int i = 0; i < config.num_replicas(); ++i) {
    if (i > 0) line += ',';
    line += server_or_dash(config, config.replica(vb, i));
  }
  return line;
}

int run_vbuckettool(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                    std::ostream& err) noexcept {
  try {
    ToolArguments options;
    if (std::string e = parse_args(args, options); !e.empty()) {
      err << "vbuckettool: " << e << "\n" << kUsage;
      return 2;
    }
    if (options.help) {
      out << kUsage;
      return 0;
    }
    auto config = load_config_file(options.config_path, options.load);
    if (!config) {
      err << "vbuckettool: " << config.error() << "\n";
      return 1;
    }
    if (!options.keys.empty()) {
      for (const std::string& key : options.keys) out << describe_key(*config.value(), key) << '\n';
    } else {
      std::string line;
      while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;  // memcached keys are never empty
        out << describe_key(*config.value(), line) << '\n';
      }
    }
    out.flush();
    if (!out) {
      err << "vbuckettool: cannot write the output\n";
      return 1;
    }
    return 0;
  } catch (...) {
    err << "vbuckettool: out of memory\n";
    return 1;
  }
}

}  // namespace moxi::vbucket
