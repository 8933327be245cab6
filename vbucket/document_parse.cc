#include "vbucket/document_parse.h"

#include <memory>
#include <new>
#include <string>

#include "vbucket/bucket_json.h"
#include "vbucket/buckets_json.h"
#include "vbucket/json_util.h"

namespace moxi::vbucket {

Result<Document> parse_document(std::string_view text, const ParseOptions& options) noexcept {
  using R = Result<Document>;
  try {
    auto doc = detail::parse_json(text);
    if (!doc) return R::failure(doc.error());
    const rapidjson::Value& root = *doc.value();
    auto shared = std::make_shared<const std::string>(text);
    Document out;
    if (detail::is_multi_bucket_document(root)) {
      auto buckets = detail::buckets_from_json(root, options, shared);
      if (!buckets) return R::failure(buckets.error());
      out.buckets = std::move(buckets).value();
      out.bucket_list = true;
      return R::success(std::move(out));
    }
    detail::BucketJsonContext context;
    context.options = options;
    context.document = std::move(shared);
    auto config = detail::config_from_json(root, context);
    if (!config) return R::failure(config.error());
    std::string name = "default";
    if (root.IsObject()) {
      const rapidjson::Value* n = detail::find_member(root, "name");
      if (n != nullptr && n->IsString() && n->GetStringLength() > 0) name.assign(detail::as_string_view(*n));
    }
    out.buckets.push_back(NamedConfig{std::move(name), std::move(config).value()});
    return R::success(std::move(out));
  } catch (const std::bad_alloc&) {
    return R::failure("out of memory while parsing the config");
  } catch (...) {
    return R::failure("unexpected error while parsing the config");
  }
}

}  // namespace moxi::vbucket
