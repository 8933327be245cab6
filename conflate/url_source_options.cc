#include "conflate/url_source_options.h"

namespace moxi::conflate {

HttpStreamOptions http_options_from(const moxi::UrlSource& source, const moxi::Behaviors& behaviors) {
  HttpStreamOptions options;
  options.urls = source.urls;
  if (source.auth) options.auth = BasicAuth{source.auth->user, source.auth->password};
  options.cache_path = behaviors.config_cache;
  return options;
}

}  // namespace moxi::conflate
