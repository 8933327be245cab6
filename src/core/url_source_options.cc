#include "src/core/url_source_options.h"

#include <algorithm>

namespace moxi::conflate {

HttpStreamOptions http_options_from(const moxi::UrlSource& source, const moxi::Behaviors& behaviors) {
  HttpStreamOptions options;
  options.urls = source.urls;
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

}  // namespace moxi::conflate
