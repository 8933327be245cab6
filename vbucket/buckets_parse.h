// Parsing moxi's multi-bucket document {"buckets":[bucket, ...]}, the shape
// of /pools/default/saslBucketsStreaming (cluster-config.md §1.5).
//
// Each element is read exactly like parse_config() reads a single bucket, so
// the same shapes and errors apply. As in moxi, the bucket named "default"
// comes first, then the others in document order.
//
// All or nothing: if any element is bad, the whole document is rejected with
// an error naming the element (index and name), so a proxy keeps its last
// good set of buckets instead of silently dropping one. Bucket names must be
// non-empty strings and unique.
//
// Thread-safety: no shared state. Errors: never throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vbucket/config.h"
#include "vbucket/parse_options.h"
#include "vbucket/result.h"

namespace moxi::vbucket {

// One bucket of the list: its name and its parsed map. (moxi::Bucket, in
// src/routing/snapshot.h, is what the proxy serves from one of these.)
struct NamedConfig {
  std::string name;  // "default" included (its Config::user() is absent)
  ConfigPtr config;
};

Result<std::vector<NamedConfig>> parse_buckets(std::string_view json, const ParseOptions& options = {}) noexcept;

// The same, reading a file; errors start with "<path>: ".
Result<std::vector<NamedConfig>> parse_buckets_file(const std::string& path, const ParseOptions& options = {}) noexcept;

}  // namespace moxi::vbucket
