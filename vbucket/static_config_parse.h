// Parsing moxi's static config file (`moxi -z ./file`, cluster-config.md
// §1.6): one or more "PORT = CONFIG" sections separated by ';', where PORT is
// the port moxi listens on and CONFIG is either a JSON bucket config (it
// starts with '{'; read by parse_config()) or a libmemcached server list
// "host[:port[:weight]],..." (read by parse_server_list()).
//
// Like moxi, sections are split on every ';', so the JSON must not contain
// one. Empty sections (e.g. after a trailing ';') are skipped; a port may
// appear only once. Each Config's document() is its own CONFIG text.
//
// Thread-safety: no shared state. Errors: never throws; messages name the
// section ("section 2 (port 11212): ...").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vbucket/config.h"
#include "vbucket/parse_options.h"
#include "vbucket/result.h"

namespace moxi::vbucket {

struct PortConfig {
  std::uint16_t port = 0;
  ConfigPtr config;
};

// Sections in file order.
Result<std::vector<PortConfig>> parse_static_config(std::string_view text,
                                                    const ParseOptions& options = {}) noexcept;

// The same, reading a file; errors start with "<path>: ".
Result<std::vector<PortConfig>> parse_static_config_file(const std::string& path,
                                                         const ParseOptions& options = {}) noexcept;

// True if `text` starts (after white space) with "digits =", i.e. is in this
// format rather than JSON or a bare server list.
bool looks_like_static_config(std::string_view text) noexcept;

}  // namespace moxi::vbucket
