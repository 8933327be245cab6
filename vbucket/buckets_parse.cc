#include "vbucket/buckets_parse.h"

#include <algorithm>
#include <new>
#include <set>

#include "vbucket/bucket_json.h"
#include "vbucket/buckets_json.h"
#include "vbucket/json_util.h"
#include "vbucket/text_file.h"

namespace moxi::vbucket {
namespace detail {

Result<std::vector<NamedConfig>> buckets_from_json(const rapidjson::Value& root, const ParseOptions& options,
                                              const std::shared_ptr<const std::string>& document) noexcept {
  using R = Result<std::vector<NamedConfig>>;
  try {
    if (!root.IsObject()) return R::failure(std::string("(document): expected a JSON object, got ") + type_name(root));
    const rapidjson::Value* list = find_member(root, "buckets");
    if (list == nullptr || !list->IsArray())
      return R::failure(std::string("buckets: expected an array of bucket objects (") +
                        (list ? std::string("got ") + type_name(*list) : std::string("missing")) +
                        "); a single bucket is read with parse_config()");

    std::vector<NamedConfig> buckets;
    std::set<std::string, std::less<>> names;
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
      const rapidjson::Value& element = (*list)[i];
      const std::string where = "buckets[" + std::to_string(i) + "]";
      if (!element.IsObject()) return R::failure(where + ": expected a bucket object, got " + type_name(element));
      const rapidjson::Value* name = find_member(element, "name");
      if (name == nullptr || !name->IsString() || name->GetStringLength() == 0)
        return R::failure(where + ".name: expected a non-empty string (" +
                          (name ? std::string("got ") + (name->IsString() ? "\"\"" : type_name(*name)) : "missing") +
                          ")");
      std::string bucket_name(as_string_view(*name));
      if (!names.insert(bucket_name).second)
        return R::failure(where + ".name: bucket \"" + bucket_name + "\" appears twice");

      BucketJsonContext context;
      context.options = options;
      context.document = document;
      context.field_prefix = where + ".";
      auto config = config_from_json(element, context);
      if (!config) return R::failure("bucket \"" + bucket_name + "\": " + config.error());
      buckets.push_back(NamedConfig{std::move(bucket_name), std::move(config).value()});
    }
    // moxi configures the default bucket first (two passes); keep that order.
    std::stable_partition(buckets.begin(), buckets.end(), [](const NamedConfig& b) { return b.name == "default"; });
    return R::success(std::move(buckets));
  } catch (const std::bad_alloc&) {
    return R::failure("out of memory while reading the buckets");
  } catch (...) {
    return R::failure("unexpected error while reading the buckets");
  }
}

}  // namespace detail

Result<std::vector<NamedConfig>> parse_buckets(std::string_view json, const ParseOptions& options) noexcept {
  using R = Result<std::vector<NamedConfig>>;
  try {
    auto doc = detail::parse_json(json);
    if (!doc) return R::failure(doc.error());
    return detail::buckets_from_json(*doc.value(), options, std::make_shared<const std::string>(json));
  } catch (...) {
    return R::failure("out of memory while parsing the buckets");
  }
}

Result<std::vector<NamedConfig>> parse_buckets_file(const std::string& path, const ParseOptions& options) noexcept {
  using R = Result<std::vector<NamedConfig>>;
  try {
    auto text = detail::read_text_file(path);
    if (!text) return R::failure(path + ": " + text.error());
    auto buckets = parse_buckets(text.value(), options);
    if (!buckets) return R::failure(path + ": " + buckets.error());
    return buckets;
  } catch (...) {
    return R::failure("out of memory while parsing the buckets");
  }
}

}  // namespace moxi::vbucket
