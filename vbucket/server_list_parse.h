// Parsing a libmemcached server list, "host[:port[:weight]],..." (the
// non-JSON CONFIG of moxi's static file and of `-z PORT=host:port,...`),
// into a ketama Config.
//
// The list is parsed by libmemcached's own memcached_servers_parse(), so we
// read it exactly as a libmemcached client does: the port defaults to 11211,
// a weight may follow the port after ':' or ' ', IPv6 literals are written
// "[addr]:port". Before handing it over we check each entry's syntax
// (memcached_servers_parse silently turns a bad port into 11211 and copies
// entries into a fixed-size buffer), so a typo is an error naming the entry.
// A weight of 0 counts as 1. Servers keep the order of the list.
//
// Thread-safety: no shared state. Errors: never throws.
#pragma once

#include <string_view>

#include "vbucket/config.h"
#include "vbucket/result.h"

namespace moxi::vbucket {

Result<ConfigPtr> parse_server_list(std::string_view servers) noexcept;

}  // namespace moxi::vbucket
