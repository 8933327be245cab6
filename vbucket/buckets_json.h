// Internal (not part of the public API): the multi-bucket reader working on
// an already parsed document, shared by parse_buckets() and the loader.
#pragma once

#include <rapidjson/document.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vbucket/buckets_parse.h"
#include "vbucket/parse_options.h"

namespace moxi::vbucket::detail {

Result<std::vector<NamedConfig>> buckets_from_json(const rapidjson::Value& root, const ParseOptions& options,
                                              const std::shared_ptr<const std::string>& document) noexcept;

}  // namespace moxi::vbucket::detail
