// Number parsing with memcached's exact ascii semantics (its safe_strtoul,
// safe_strtol and safe_strtoull helpers), so the proxy accepts and rejects
// the same tokens memcached does: leading '+' and whitespace are accepted,
// a trailing whitespace character ends the number, values are parsed as
// 64-bit and then truncated to the field's width (memcached stores
// "4294967297" in a 32-bit field as 1), and a '-' is rejected only where the
// 64-bit value would look negative.
#pragma once

#include <cstdint>
#include <string_view>

namespace moxi::protocol {

// memcached safe_strtoul: unsigned 32-bit fields (flags, verbosity).
bool parse_u32(std::string_view token, uint32_t& out);
// memcached safe_strtol: signed 32-bit fields (exptime, value length).
bool parse_i32(std::string_view token, int32_t& out);
// memcached safe_strtoull: unsigned 64-bit fields (cas unique, incr delta).
bool parse_u64(std::string_view token, uint64_t& out);

// Appends the decimal form of v to buf (at most 20 characters); returns the
// end. Used on the hot path instead of snprintf.
char* format_u64(uint64_t v, char* buf);
char* format_i64(int64_t v, char* buf);

}  // namespace moxi::protocol
