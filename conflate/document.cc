#include "conflate/document.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <string>

#include "vbucket/config_parse.h"

namespace moxi::conflate {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Exact match first, then case-insensitive: the vbucket library's lookup rule.
const rapidjson::Value* member(const rapidjson::Value& object, std::string_view name) {
  const rapidjson::Value* loose = nullptr;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    const std::string_view key(it->name.GetString(), it->name.GetStringLength());
    if (key == name) return &it->value;
    if (loose == nullptr && key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) { return lower(a) == lower(b); }))
      loose = &it->value;
  }
  return loose;
}

// The cluster manager's documents that describe the cluster rather than a
// bucket, by what they hold: what a URL that names one should name instead.
constexpr std::string_view kBucketEndpoints =
    ": follow one bucket's config, http://HOST:8091/pools/default/bucketsStreaming/BUCKET, "
    "or every bucket's, http://HOST:8091/pools/default/saslBucketsStreaming";

std::string not_a_bucket_config(const rapidjson::Value& doc) {
  if (doc.IsArray()) return "a list of buckets (/pools/default/buckets), not a bucket config" + std::string(kBucketEndpoints);
  if (!doc.IsObject()) return {};
  if (member(doc, "vBucketServerMap") != nullptr || member(doc, "vBucketMap") != nullptr ||
      member(doc, "nodeLocator") != nullptr || member(doc, "serverList") != nullptr)
    return {};
  const rapidjson::Value* pools = member(doc, "pools");
  if (pools != nullptr && pools->IsArray())
    return "the cluster's list of pools (/pools), not a bucket config" + std::string(kBucketEndpoints);
  const rapidjson::Value* buckets = member(doc, "buckets");
  if (buckets != nullptr && buckets->IsObject())
    return "a pool's details (/pools/default), not a bucket config" + std::string(kBucketEndpoints);
  return {};
}

}  // namespace

vbucket::Result<std::vector<vbucket::Bucket>> parse_document(std::string_view text, std::string_view peer,
                                                             bool* bucket_list) noexcept {
  using R = vbucket::Result<std::vector<vbucket::Bucket>>;
  if (bucket_list) *bucket_list = false;
  try {
    std::string name = "default";
    {
      rapidjson::Document doc;
      doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
      if (!doc.HasParseError()) {
        if (std::string wrong = not_a_bucket_config(doc); !wrong.empty()) return R::failure(wrong);
      }
      if (!doc.HasParseError() && doc.IsObject()) {
        const rapidjson::Value* buckets = member(doc, "buckets");
        if (buckets != nullptr && buckets->IsArray()) {
          if (bucket_list) *bucket_list = true;
          return vbucket::parse_buckets(text, peer);
        }
        const rapidjson::Value* n = member(doc, "name");
        if (n != nullptr && n->IsString() && n->GetStringLength() > 0) name.assign(n->GetString(), n->GetStringLength());
      }
      // Anything else (not JSON, not an object) gets parse_config's own error.
    }
    auto config = vbucket::parse_config(text, peer);
    if (!config) return R::failure(config.error());
    std::vector<vbucket::Bucket> out;
    out.push_back(vbucket::Bucket{std::move(name), std::move(config).value()});
    return R::success(std::move(out));
  } catch (...) {
    return R::failure("out of memory while reading the config");
  }
}

}  // namespace moxi::conflate
