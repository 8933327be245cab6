#include "src/core/check_config.h"

#include <map>
#include <memory>
#include <variant>

#include "conflate/config_cache.h"
#include "conflate/document.h"
#include "conflate/stream_splitter.h"
#include "src/core/static_config.h"

namespace moxi {

namespace {

std::string plural(size_t n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

void describe_bucket(const Bucket& bucket, std::ostream& out) {
  const vbucket::Config& config = *bucket.config;
  const bool vb = bucket.vbucket_routing();
  out << "  bucket " << bucket.name << ", " << (vb ? "vbucket (CRC32)" : "ketama (MD5, libmemcached ketama-weighted)")
      << ", " << plural(bucket.servers.size(), "server");
  if (vb) {
    out << ", " << plural(static_cast<size_t>(config.num_vbuckets()), "vBucket") << ", "
        << plural(static_cast<size_t>(config.num_replicas()), "replica")
        << (config.has_forward_map() ? ", with a forward map" : "");
  }
  out << ", " << (bucket.downstream_protocol == protocol::Protocol::Binary ? "binary" : "ascii") << " downstream\n";
  std::vector<size_t> masters(bucket.servers.size()), replicas(bucket.servers.size());
  size_t orphans = 0;
  for (int v = 0; vb && v < config.num_vbuckets(); ++v) {
    const int m = config.master(v);
    if (m < 0) ++orphans;
    else masters[static_cast<size_t>(m)]++;
    for (int r = 0; r < config.num_replicas(); ++r) {
      const int s = config.replica(v, r);
      if (s >= 0) replicas[static_cast<size_t>(s)]++;
    }
  }
  for (size_t i = 0; i < bucket.servers.size(); ++i) {
    const BackendServer& server = bucket.servers[i];
    out << "    server " << server.address;
    if (vb) {
      out << ": " << plural(masters[i], "vBucket") << " (master)";
      if (config.num_replicas() > 0) out << ", " << replicas[i] << " as replica";
    } else {
      out << ": weight " << config.servers()[i].weight;
    }
    if (server.sockaddr_len == 0) out << " [warning: " << server.host << " does not resolve now]";
    out << "\n";
  }
  if (orphans > 0) out << "    " << plural(orphans, "vBucket") << " without a master (their keys get errors)\n";
}

}  // namespace

bool check_config_requested(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--") return false;
    if (a == "--check-config") return true;
  }
  return false;
}

int check_config(const ParseOutcome& parsed, std::ostream& out, std::ostream& err) {
  if (!parsed.ok()) {
    err << parsed.error << "\n";
    return kExitFailure;
  }
  const Options& options = *parsed.options;
  for (const auto& w : options.warnings) err << w << "\n";
  bool ok = true;
  for (const ConfigSource& source : options.sources) {
    if (const auto* url = std::get_if<UrlSource>(&source)) {
      out << "port " << options.behaviors.port_listen << ": follows ";
      for (size_t i = 0; i < url->urls.size(); ++i) out << (i ? ", " : "") << url->urls[i];
      out << (url->auth ? " (HTTP user " + url->auth->user + ")" : std::string()) << "\n"
          << "  not fetched: --check-config reads no URL; each map is validated when it arrives\n";
      const std::string& cache = options.behaviors.config_cache;
      if (!cache.empty()) {
        conflate::ConfigCache reader(cache);
        std::string error;
        auto text = reader.load(conflate::kDefaultMaxDocumentBytes, error);
        if (text) {
          auto doc = conflate::parse_document(*text, "localhost");
          if (doc.ok()) {
            out << "  config_cache " << cache << ": a valid map (" << plural(doc.value().size(), "bucket") << ")\n";
          } else {
            err << "moxi: config_cache " << cache << ": " << doc.error() << "\n";
            ok = false;
          }
        } else if (!error.empty()) {
          err << "moxi: config_cache " << cache << ": " << error << "\n";
          ok = false;
        } else {
          out << "  config_cache " << cache << ": not written yet\n";
        }
      }
      continue;
    }
    const auto& section = std::get<StaticSection>(source);
    std::string error;
    auto bucket = build_static_bucket(section, options.behaviors.downstream_protocol, error);
    if (!bucket) {
      err << "moxi: " << error << "\n";
      ok = false;
      continue;
    }
    out << "port " << section.port << (section.port == 0 ? " (any free port)" : "");
    const std::string& file = section.config_file.empty() ? section.file : section.config_file;
    if (!file.empty()) out << " from " << file;
    out << ":\n";
    describe_bucket(*bucket, out);
  }
  out << (ok ? "configuration OK\n" : "");
  return ok ? kExitOk : kExitFailure;
}

}  // namespace moxi
