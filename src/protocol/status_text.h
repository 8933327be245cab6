// Status -> text tables: what memcached says for each outcome, in each
// protocol. Kept apart from the codecs so the exact strings (which clients
// and tests match byte for byte) live in one reviewed place.
#pragma once

#include <string_view>

#include "src/protocol/request.h"

namespace moxi::protocol {

// The body memcached's write_bin_error() puts in a binary error response
// ("Not found", "Data exists for key.", ...). Empty for Success.
std::string_view binary_status_text(Status status);

// The ascii reply line (without CRLF) memcached gives when `op` ends with
// `status`. `cas_command` distinguishes ascii "cas" from "set" (they differ
// on KeyNotFound). For a successful incr/decr the caller writes the number.
//
// Per-command mapping (matches memcached, not the original moxi):
//   storage success STORED, delete DELETED, touch TOUCHED, flush/verbosity OK;
//   add+KeyExists NOT_STORED, replace/append/prepend/set+KeyNotFound NOT_STORED,
//   cas+KeyNotFound NOT_FOUND, cas+KeyExists EXISTS;
//   DeltaBadValue "CLIENT_ERROR cannot increment or decrement non-numeric value",
//   TooLarge "SERVER_ERROR object too large for cache",
//   OutOfMemory "SERVER_ERROR out of memory storing object" (storage) or
//   "SERVER_ERROR out of memory", NotMyVbucket "SERVER_ERROR not my vbucket".
std::string_view ascii_status_line(Op op, bool cas_command, Status status);

}  // namespace moxi::protocol
