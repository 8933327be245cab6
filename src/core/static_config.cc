#include "src/core/static_config.h"

#include <iostream>
#include <variant>

#include "vbucket/buckets_parse.h"
#include "vbucket/config_parse.h"
#include "vbucket/server_list_parse.h"

namespace moxi {

namespace {

std::string where(const StaticSection& section, int port) {
  std::string w = "-z port " + std::to_string(port);
  if (!section.file.empty()) w += " (" + section.file + ")";
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

std::shared_ptr<const Snapshot> build_initial_snapshot(const Options& options, std::vector<UrlPort>& url_ports,
                                                       std::string& error) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->generation = 1;  // URL ports serve "no map yet" in it
  bool warned_ascii = false;
  for (const ConfigSource& source : options.sources) {
    if (const auto* url = std::get_if<UrlSource>(&source)) {
      url_ports.push_back(UrlPort{snapshot->ports.size(), url});
      snapshot->ports.push_back(PortBinding{options.behaviors.port_listen, nullptr});
      continue;
    }
    const auto* section = std::get_if<StaticSection>(&source);
    const int port = section->port;
    auto parsed = section->json ? parse_json_section(section->text) : vbucket::parse_server_list(section->text);
    if (!parsed.ok()) {
      error = where(*section, port) + ": " + parsed.error();
      return nullptr;
    }
    const bool vbucket = parsed.value()->distribution() == vbucket::Distribution::vbucket;
    DownstreamProtocol configured = options.behaviors.downstream_protocol;
    if (vbucket && configured == DownstreamProtocol::Ascii && !warned_ascii) {
      std::cerr << "moxi: warning: vBucket maps need the binary protocol; downstream_protocol=ascii ignored for them\n";
      warned_ascii = true;
    }
    const protocol::Protocol downstream =
        effective_downstream_protocol(configured, vbucket) == DownstreamProtocol::Binary ? protocol::Protocol::Binary
                                                                                         : protocol::Protocol::Ascii;
    snapshot->ports.push_back(PortBinding{port, make_bucket("default", parsed.value(), downstream)});
  }
  if (snapshot->ports.empty()) {
    error = "need cluster configuration (-z or URL); see moxi -h";
    return nullptr;
  }
  return snapshot;
}

}  // namespace moxi
