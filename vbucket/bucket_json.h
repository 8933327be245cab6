// Internal (not part of the public API): turns one parsed bucket object
// (shapes A, B, C of cluster-config.md §1) into a Config. Shared by
// parse_config(), parse_buckets(), the static-file parser and the loader, so
// that all of them accept and reject exactly the same things.
//
// Thread-safety: pure function of its arguments.
#pragma once

#include <rapidjson/document.h>

#include <memory>
#include <string>
#include <string_view>

#include "vbucket/config.h"
#include "vbucket/parse_options.h"
#include "vbucket/result.h"

namespace moxi::vbucket::detail {

struct BucketJsonContext {
  ParseOptions options;                         // origin host ($HOST) and network
  std::shared_ptr<const std::string> document;  // becomes Config::document()
  std::string field_prefix;                     // prepended to field names in errors, e.g. "buckets[1]."
};

// Errors read "<field>: <reason>", e.g.
// "vBucketServerMap.vBucketMap[3][1]: Server ID must be >= -1 and < num_servers (...)".
Result<ConfigPtr> config_from_json(const rapidjson::Value& bucket, const BucketJsonContext& context) noexcept;

// True if `root` is moxi's multi-bucket document {"buckets":[...]}.
bool is_multi_bucket_document(const rapidjson::Value& root) noexcept;

}  // namespace moxi::vbucket::detail
