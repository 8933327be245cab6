#include "src/core/static_config.h"
#include "src/core/tls_setup.h"

#include <variant>

#include "src/util/log.h"
#include "vbucket/document_parse.h"
#include "vbucket/server_list_parse.h"

namespace moxi {

namespace {

std::string where(const StaticSection& section, int port) {
  std::string w = "-z port " + std::to_string(port);
  const std::string& file = section.config_file.empty() ? section.file : section.config_file;
  if (!file.empty()) w += " (" + file + ")";
  return w;
}

// A section is one bucket ("default"), or moxi's {"buckets":[...]}, every
// bucket of which the port serves. A local config came from this host:
// "$HOST" in it is localhost (as libvbucket read files).
vbucket::Result<std::vector<vbucket::NamedConfig>> parse_section(const StaticSection& section, const BucketRules& rules,
                                                            bool& gateway) {
  gateway = false;
  using Many = vbucket::Result<std::vector<vbucket::NamedConfig>>;
  if (!section.json) {
    auto list = vbucket::parse_server_list(section.text);
    if (!list.ok()) return Many::failure(list.error());
    return Many::success(std::vector<vbucket::NamedConfig>{vbucket::NamedConfig{"default", list.value()}});
  }
  auto doc = vbucket::parse_document(section.text, vbucket::ParseOptions{"localhost", rules.network});
  if (!doc.ok()) return Many::failure(doc.error());
  std::vector<vbucket::NamedConfig> buckets = std::move(doc.value().buckets);
  if (!doc.value().bucket_list) {
    buckets.front().name = "default";  // a single-bucket port serves it to everyone, as "default"
    return Many::success(std::move(buckets));
  }
  if (buckets.empty()) return Many::failure("the \"buckets\" list is empty");
  gateway = true;
  return Many::success(std::move(buckets));
}

}  // namespace

std::optional<ServedBuckets> build_static_buckets(const StaticSection& section, const BucketRules& rules,
                                                  std::string& error) {
  bool gateway = false;
  auto parsed = parse_section(section, rules, gateway);
  if (!parsed.ok()) {
    error = where(section, section.port) + ": " + parsed.error();
    return std::nullopt;
  }
  return serve_buckets(parsed.value(), gateway, MapSource::File, rules.for_port(section.port));
}

std::shared_ptr<const Snapshot> build_initial_snapshot(const Options& options, std::vector<UrlPort>& url_ports,
                                                       std::string& error) {
  SnapshotBuilder builder;
  const BucketRules rules = bucket_rules(options.behaviors);
  bool warned_ascii = false;
  for (const ConfigSource& source : options.sources) {
    if (const auto* url = std::get_if<UrlSource>(&source)) {
      // Serves "no map yet" until the URL's first map; stats and /config
      // name the URL it waits for.
      url_ports.push_back(UrlPort{builder.port_count(), url});
      builder.add_port(options.behaviors.port_listen, nullptr);
      if (!url->urls.empty()) builder.set_source(url->urls.front());
      continue;
    }
    const auto* section = std::get_if<StaticSection>(&source);
    auto served = build_static_buckets(*section, rules, error);
    if (!served) return nullptr;
    for (const auto& bucket : served->buckets)
      if (bucket->vbucket_routing() && (options.behaviors.downstream_protocol == DownstreamProtocol::Ascii ||
                                                 options.behaviors.downstream_protocol == DownstreamProtocol::Meta) &&
          !warned_ascii) {
        log::warning("vBucket maps need the binary protocol; downstream_protocol=ascii/meta ignored for them");
        warned_ascii = true;
      }
    builder.add_port(section->port, nullptr);
    builder.set_buckets(builder.port_count() - 1, std::move(served->buckets), std::move(served->start));
  }
  if (builder.port_count() == 0) {
    error = "need cluster configuration (-z or URL); see moxi -h";
    return nullptr;
  }
  TlsContexts tls;
  if (!make_tls_contexts(options.behaviors, tls, error)) return nullptr;
  builder.set_tls(std::move(tls.clients), std::move(tls.backends));
  return builder.build();
}

}  // namespace moxi
