#include "conflate/config_source.h"

namespace moxi::conflate {

ConfigSource::~ConfigSource() = default;

std::string_view to_string(SourceStatus::Kind kind) noexcept {
  switch (kind) {
    case SourceStatus::Kind::connected:
      return "connected";
    case SourceStatus::Kind::disconnected:
      return "disconnected";
    case SourceStatus::Kind::auth_failure:
      return "auth_failure";
    case SourceStatus::Kind::http_error:
      return "http_error";
    case SourceStatus::Kind::invalid_document:
      return "invalid_document";
    case SourceStatus::Kind::using_cache:
      return "using_cache";
    case SourceStatus::Kind::cache_error:
      return "cache_error";
  }
  return "unknown";
}

}  // namespace moxi::conflate
