// The one entry point for a cluster-config JSON document, whatever its shape
// (cluster-config.md §1): moxi's multi-bucket {"buckets":[...]} (read as
// parse_buckets() does) or one bucket (read as parse_config() does: a bare
// vBucketServerMap, a REST bucket object, a memcached bucket, a terse config
// with nodesExt and $HOST). The proxy (every config source) and vbuckettool
// read documents through it, so both accept the same shapes.
//
// A single bucket is named by its top-level "name" when that is a non-empty
// string, otherwise "default" (moxi's rule).
//
// options.origin_host is the host the document came from (it replaces
// $HOST); options.network picks the nodes' addresses (parse_options.h).
//
// Thread-safety: no shared state. Errors: never throws; the messages are the
// shape readers' (field path, reason, value).
#pragma once

#include <string_view>
#include <vector>

#include "vbucket/buckets_parse.h"
#include "vbucket/parse_options.h"
#include "vbucket/result.h"

namespace moxi::vbucket {

struct Document {
  std::vector<NamedConfig> buckets;  // one, for a single-bucket document
  bool bucket_list = false;     // of the {"buckets":[...]} form (a gateway's, however many buckets it lists)
};

Result<Document> parse_document(std::string_view text, const ParseOptions& options) noexcept;

}  // namespace moxi::vbucket
