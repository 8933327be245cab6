#include "src/core/static_config.h"

#include <variant>

#include "src/util/log.h"
#include "vbucket/buckets_parse.h"
#include "vbucket/config_parse.h"
#include "vbucket/server_list_parse.h"

namespace moxi {

namespace {

std::string where(const StaticSection& section, int port) {
  std::string w = "-z port " + std::to_string(port);
  const std::string& file = section.config_file.empty() ? section.file : section.config_file;
  if (!file.empty()) w += " (" + file + ")";
  return w;
}

// A JSON section is one bucket, or moxi's {"buckets":[...]} of which a
// static port serves the first (the "default" bucket when there is one).
vbucket::Result<vbucket::ConfigPtr> parse_json_section(const std::string& text) {
  auto single = vbucket::parse_config(text);
  if (single.ok() || text.find("\"buckets\"") == std::string::npos) return single;
  auto many = vbucket::parse_buckets(text);
  if (!many.ok()) return vbucket::Result<vbucket::ConfigPtr>::failure(many.error());
  return vbucket::Result<vbucket::ConfigPtr>::success(many.value().front().config);
}

}  // namespace

std::shared_ptr<const Bucket> build_static_bucket(const StaticSection& section, DownstreamProtocol configured,
                                                  std::string& error) {
  auto parsed = section.json ? parse_json_section(section.text) : vbucket::parse_server_list(section.text);
  if (!parsed.ok()) {
    error = where(section, section.port) + ": " + parsed.error();
    return nullptr;
  }
  const bool vbucket = parsed.value()->distribution() == vbucket::Distribution::vbucket;
  const protocol::Protocol downstream =
      effective_downstream_protocol(configured, vbucket) == DownstreamProtocol::Binary ? protocol::Protocol::Binary
                                                                                       : protocol::Protocol::Ascii;
  return make_bucket("default", parsed.value(), downstream);
}

std::shared_ptr<const Snapshot> build_initial_snapshot(const Options& options, std::vector<UrlPort>& url_ports,
                                                       std::string& error) {
  SnapshotBuilder builder;
  bool warned_ascii = false;
  for (const ConfigSource& source : options.sources) {
    if (const auto* url = std::get_if<UrlSource>(&source)) {
      // Serves "no map yet" until the URL's first map; stats and /config
      // name the URL it waits for.
      url_ports.push_back(UrlPort{builder.port_count(), url});
      builder.add_port(PortBinding{options.behaviors.port_listen, nullptr});
      if (!url->urls.empty()) builder.set_source(url->urls.front());
      continue;
    }
    const auto* section = std::get_if<StaticSection>(&source);
    auto bucket = build_static_bucket(*section, options.behaviors.downstream_protocol, error);
    if (!bucket) return nullptr;
    if (bucket->vbucket_routing() && options.behaviors.downstream_protocol == DownstreamProtocol::Ascii &&
        !warned_ascii) {
      log::warning("vBucket maps need the binary protocol; downstream_protocol=ascii ignored for them");
      warned_ascii = true;
    }
    builder.add_port(PortBinding{section->port, std::move(bucket)});
  }
  if (builder.port_count() == 0) {
    error = "need cluster configuration (-z or URL); see moxi -h";
    return nullptr;
  }
  return builder.build();
}

}  // namespace moxi
