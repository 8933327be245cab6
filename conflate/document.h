// Validating one config document with the vbucket library, whatever its
// shape (cluster-config.md §1): moxi's multi-bucket {"buckets":[...]}
// (read with vbucket::parse_buckets) or a single bucket (vbucket::parse_config:
// a bare vBucketServerMap, a REST bucket object, a memcached bucket, a terse
// config).
//
// A single bucket is named by its top-level "name" (looked up
// case-insensitively, as the vbucket library does) when that is a non-empty
// string, otherwise "default" — moxi's rule.
//
// `peer` replaces "$HOST": the host of the URL the document came from.
//
// Thread-safety: pure function. Errors: never throws.
#pragma once

#include <string_view>
#include <vector>

#include "vbucket/buckets_parse.h"
#include "vbucket/result.h"

namespace moxi::conflate {

// `bucket_list`, when given, is set to whether the document is of the
// {"buckets":[...]} form (a gateway's, however many buckets it lists).
vbucket::Result<std::vector<vbucket::Bucket>> parse_document(std::string_view text, std::string_view peer,
                                                             bool* bucket_list = nullptr) noexcept;

}  // namespace moxi::conflate
