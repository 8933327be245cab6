#include "src/config/url_source_options.h"

#include <algorithm>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

namespace moxi::conflate {

HttpStreamOptions http_options_from(const moxi::UrlSource& source, const moxi::Behaviors& behaviors) {
  HttpStreamOptions options;
  for (const auto& url : source.urls)
    if (!is_data_node_url(url)) options.urls.push_back(url);
  if (source.auth) options.auth = BasicAuth{source.auth->user, source.auth->password};
  options.cache_path = behaviors.config_cache;
  options.network = config_network(behaviors);
  // ns_server's heartbeat is asked for 2/7 of the stall timeout (10 s of the
  // default 35 s), so about three heartbeats are missed before a stream is
  // declared dead; never more often than once a second (its unit).
  options.stall_timeout = behaviors.config_stall_timeout;
  if (behaviors.config_stall_timeout.count() > 0)
    options.heartbeat = std::max(std::chrono::seconds(1), std::chrono::duration_cast<std::chrono::seconds>(
                                                              behaviors.config_stall_timeout * 2 / 7));
  return options;
}

std::optional<moxi::backend::DataNodeSourceOptions> data_node_options_from(const moxi::UrlSource& source,
                                                                  const moxi::Behaviors& behaviors) {
  moxi::backend::DataNodeSourceOptions options;
  std::string error;
  for (const auto& url : source.urls) {
    if (!is_data_node_url(url)) continue;
    auto node = parse_data_node_url(url, error);
    if (!node) continue;  // the options parser refused it already
    options.bucket = moxi::data_node_bucket(behaviors, node->bucket);
    options.nodes.push_back(std::move(*node));
  }
  if (options.nodes.empty()) return std::nullopt;
  options.user = behaviors.usr;
  options.password = behaviors.pwd;
  options.agent = std::string("moxi/") + PACKAGE_VERSION;
  options.interval = behaviors.node_config_interval;
  options.network = config_network(behaviors);
  return options;
}

std::vector<std::unique_ptr<ConfigSource>> make_sources(const moxi::UrlSource& source, const moxi::Behaviors& behaviors,
                                                        const UpdateCallback& on_update, const StatusCallback& on_status,
                                                        bool use_cache) {
  std::vector<std::unique_ptr<ConfigSource>> sources;
  HttpStreamOptions http = http_options_from(source, behaviors);
  if (!use_cache) http.cache_path.clear();
  if (!http.urls.empty()) sources.push_back(std::make_unique<HttpStreamSource>(std::move(http), on_update, on_status));
  if (auto nodes = data_node_options_from(source, behaviors))
    sources.push_back(std::make_unique<moxi::backend::DataNodeConfigSource>(std::move(*nodes), on_update, on_status));
  return sources;
}

}  // namespace moxi::conflate
