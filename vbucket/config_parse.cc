#include "vbucket/config_parse.h"

#include <new>

#include "vbucket/bucket_json.h"
#include "vbucket/json_util.h"
#include "vbucket/text_file.h"

namespace moxi::vbucket {

Result<ConfigPtr> parse_config(std::string_view json, const ParseOptions& options) noexcept {
  try {
    auto doc = detail::parse_json(json);
    if (!doc) return Result<ConfigPtr>::failure(doc.error());
    detail::BucketJsonContext context;
    context.options = options;
    context.document = std::make_shared<const std::string>(json);
    return detail::config_from_json(*doc.value(), context);
  } catch (const std::bad_alloc&) {
    return Result<ConfigPtr>::failure("out of memory while parsing the config");
  } catch (...) {
    return Result<ConfigPtr>::failure("unexpected error while parsing the config");
  }
}

Result<ConfigPtr> parse_config_file(const std::string& path, const ParseOptions& options) noexcept {
  try {
    auto text = detail::read_text_file(path);
    if (!text) return Result<ConfigPtr>::failure(path + ": " + text.error());
    auto config = parse_config(text.value(), options);
    if (!config) return Result<ConfigPtr>::failure(path + ": " + config.error());
    return config;
  } catch (...) {
    return Result<ConfigPtr>::failure("out of memory while parsing the config");
  }
}

}  // namespace moxi::vbucket
