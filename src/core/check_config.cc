#include "src/core/check_config.h"

#include <algorithm>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <variant>

#include "conflate/config_cache.h"
#include "conflate/http_stream_source.h"
#include "conflate/stream_splitter.h"
#include "conflate/url.h"
#include "src/config/url_source_options.h"
#include "src/core/config_follower.h"
#include "src/core/static_config.h"
#include "src/backend/resolver.h"
#include "vbucket/document_parse.h"

namespace moxi {

namespace {

std::string plural(size_t n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

// `nameservers`: -Z dns_servers, to resolve the servers' names as moxi would.
void describe_bucket(const Bucket& bucket, const std::vector<std::string>& nameservers, std::ostream& out) {
  const vbucket::Config& config = *bucket.config;
  const bool vb = bucket.vbucket_routing();
  out << "  bucket " << bucket.name << ", " << (vb ? "vbucket (CRC32)" : "ketama (MD5, libmemcached ketama-weighted)")
      << ", " << plural(bucket.servers.size(), "server");
  if (vb) {
    out << ", " << plural(static_cast<size_t>(config.num_vbuckets()), "vBucket") << ", "
        << plural(static_cast<size_t>(config.num_replicas()), "replica")
        << (config.has_forward_map() ? ", with a forward map" : "");
  }
  out << ", " << (bucket.downstream_protocol == protocol::Protocol::Binary ? "binary"
                : bucket.downstream_protocol == protocol::Protocol::Meta ? "meta"
                                                                         : "ascii") << " downstream\n";
  out << "    revision " << (config.revision() ? vbucket::to_string(*config.revision()) : std::string("none")) << "\n";
  if (config.network()) {
    size_t alternates = 0;
    for (const vbucket::Server& s : config.servers()) alternates += s.alternate_address ? 1 : 0;
    out << "    terse config (nodesExt), network " << vbucket::to_string(*config.network());
    if (*config.network() == vbucket::Network::External)
      out << ": " << alternates << " of " << plural(config.servers().size(), "server")
          << " on an external address";
    out << "\n";
  }
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
    if (const auto& tls = config.servers()[i].tls_port) out << " (TLS port " << *tls << ")";
    const std::string unresolved = backend::resolve_now(server, nameservers);
    if (!unresolved.empty()) out << " [warning: " << unresolved << "]";
    out << "\n";
  }
  if (orphans > 0) out << "    " << plural(orphans, "vBucket") << " without a master (their keys get errors)\n";
}

// The first valid map a URL source serves, fetched as moxi would follow it
// (failover over the URLs, auth, validation), but without writing the config
// cache. Gives up, with every failure the source reported, once each URL
// has failed or after kUrlFetchBound.
std::optional<conflate::ConfigUpdate> fetch_first_map(const UrlSource& url, const Behaviors& behaviors,
                                                      std::string& error) {
  std::mutex mutex;
  std::condition_variable changed;
  std::optional<conflate::ConfigUpdate> first;
  std::vector<std::string> failures;
  std::set<std::string> failed_urls;
  // Without the cache: a check must not change what the next start reads.
  auto sources = conflate::make_sources(
      url, behaviors,
      [&](conflate::ConfigUpdate update) {
        std::lock_guard lock(mutex);
        if (!first) first = std::move(update);
        changed.notify_all();
      },
      [&](const conflate::SourceStatus& status) {
        if (status.kind == conflate::SourceStatus::Kind::connected) return;
        std::lock_guard lock(mutex);
        failures.push_back(status.message);
        failed_urls.insert(status.source);
        changed.notify_all();
      },
      false);
  for (auto& source : sources) source->start();
  {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, kUrlFetchBound, [&] { return first || failed_urls.size() >= url.urls.size(); });
  }
  for (auto& source : sources) source->stop();  // no callback runs after this: the locals are no longer shared
  if (first) return first;
  if (failures.empty()) {
    error = "no map within " + std::to_string(kUrlFetchBound.count()) + " ms";
  } else {
    for (size_t i = 0; i < failures.size(); ++i) error += (i ? "; " : "") + failures[i];
  }
  return std::nullopt;
}

// Every bucket; for a gateway, where new connections start.
void describe_port(const ServedBuckets& served, const std::vector<std::string>& nameservers, std::ostream& out) {
  for (const auto& bucket : served.buckets) describe_bucket(*bucket, nameservers, out);
  if (served.buckets.size() > 1 || !served.start)
    out << "  new connections start on " << (served.start ? "bucket " + served.start->name : std::string("no bucket"))
        << "; binary clients choose another with SASL PLAIN (user = bucket name)\n";
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
  std::vector<std::string> nameservers;  // the parser checked the list
  if (!options.behaviors.dns_servers.empty()) backend::parse_dns_servers(options.behaviors.dns_servers, nameservers);
  bool ok = true;
  for (const ConfigSource& source : options.sources) {
    if (const auto* url = std::get_if<UrlSource>(&source)) {
      out << "port " << options.behaviors.port_listen << ": follows ";
      for (size_t i = 0; i < url->urls.size(); ++i) out << (i ? ", " : "") << url->urls[i];
      const bool rest = std::any_of(url->urls.begin(), url->urls.end(),
                                    [](const std::string& u) { return !conflate::is_data_node_url(u); });
      if (rest && url->auth) out << " (HTTP user " << url->auth->user << ")";
      if (auto nodes = conflate::data_node_options_from(*url, options.behaviors))
        out << " (data nodes: user " << nodes->user << ", bucket " << nodes->bucket << ")";
      out << "\n";
      std::string error;
      auto update = fetch_first_map(*url, options.behaviors, error);
      if (update && !update->buckets.empty()) {
        out << "  fetched from " << update->source << ":\n";
        describe_port(serve_buckets(update->buckets, update->bucket_list, MapSource::ClusterManager,
                                   bucket_rules(options.behaviors).for_port(options.behaviors.port_listen)),
                      nameservers, out);
      } else {
        err << "moxi: port " << options.behaviors.port_listen << ": "
            << (update ? "the map from " + update->source + " has no bucket" : "no valid map fetched: " + error)
            << "\n";
        ok = false;
      }
      const std::string& cache = options.behaviors.config_cache;
      if (!cache.empty()) {
        conflate::ConfigCache reader(cache);
        std::string error;
        auto text = reader.load(conflate::kDefaultMaxDocumentBytes, error);
        if (text) {
          // Read as the source would read it at start (conflate/README.md).
          auto doc = vbucket::parse_document(
              *text, vbucket::ParseOptions{conflate::url_host(url->urls.front()), config_network(options.behaviors)});
          if (doc.ok()) {
            out << "  config_cache " << cache << ": a valid map (" << plural(doc.value().buckets.size(), "bucket")
                << ")\n";
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
    auto served = build_static_buckets(section, bucket_rules(options.behaviors), error);
    if (!served) {
      err << "moxi: " << error << "\n";
      ok = false;
      continue;
    }
    out << "port " << section.port << (section.port == 0 ? " (any free port)" : "");
    const std::string& file = section.config_file.empty() ? section.file : section.config_file;
    if (!file.empty()) out << " from " << file;
    out << ":\n";
    describe_port(*served, nameservers, out);
  }
  out << (ok ? "configuration OK\n" : "");
  return ok ? kExitOk : kExitFailure;
}

}  // namespace moxi
