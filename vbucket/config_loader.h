// Loading a config of any shape, for tools and for the proxy's file source:
// detects which of the formats the text is in and returns one bucket.
//
//   starts with "PORT ="  -> static file (static_config_parse.h); the section
//                            for options.port, or the first one
//   starts with '{'       -> JSON, read by parse_document() (document_parse.h),
//                            as moxi reads it: of a {"buckets":[...]}
//                            document, options.bucket or the first bucket
//                            ("default" if present); else the one bucket
//   otherwise             -> a libmemcached server list (server_list_parse.h)
//
// options.port and options.bucket are ignored by the shapes they do not
// apply to.
//
// Thread-safety: no shared state. Errors: never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vbucket/config.h"
#include "vbucket/parse_options.h"
#include "vbucket/result.h"

namespace moxi::vbucket {

struct LoadOptions {
  ParseOptions parse;                 // origin host ($HOST) and network
  std::optional<std::uint16_t> port;  // static files: which section
  std::optional<std::string> bucket;  // multi-bucket documents: which bucket
};

Result<ConfigPtr> load_config(std::string_view text, const LoadOptions& options = {}) noexcept;

// The same, reading a file; errors start with "<path>: ".
Result<ConfigPtr> load_config_file(const std::string& path, const LoadOptions& options = {}) noexcept;

}  // namespace moxi::vbucket
