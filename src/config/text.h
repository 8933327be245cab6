// The small text tools the config parsers share: white space, splitting,
// comment lines, whole numbers, ports, byte sizes, quoting a user's value in
// an error, reading a named file. Only the files of src/config/ use them
// (namespace moxi::config: internal to the layer, not the program's vocabulary).
//
// Thread: any (pure functions; read_whole_file reads the file system).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moxi::config {

bool is_space(char c);
std::string_view trim(std::string_view s);
// `prefix` must be lower case.
bool starts_with_nocase(std::string_view s, std::string_view prefix);

// A user value in an error message: quoted, and shortened when long (JSON).
std::string quote(std::string_view s);

// Splits on any of `seps`; keeps empty pieces.
std::vector<std::string_view> split_any(std::string_view s, std::string_view seps);
// Splits on `sep` outside JSON strings, braces and brackets, so a ';' inside a
// {json} section does not cut it.
std::vector<std::string_view> split_top_level(std::string_view s, char sep);
// Drops the lines whose first non-blank character is '#'.
std::string strip_comment_lines(std::string_view text);

// A whole number written with digits only (no sign, no spaces, no suffix) and <= max.
std::optional<uint64_t> parse_number(std::string_view s, uint64_t max);
std::optional<uint16_t> parse_port(std::string_view s, uint16_t min);
// The largest count a -Z count or a server weight may be.
inline constexpr uint64_t kMaxCount = std::numeric_limits<int32_t>::max();

// memcached's -I: bytes, or a number with a k/K or m/M suffix; 1 KiB to 1 GiB.
// A byte count with an optional k, m or g suffix, from `min` to `max` bytes.
std::optional<uint64_t> parse_bytes(std::string_view value, uint64_t min, uint64_t max);
// An item or per-client size: 1 KiB to 1 GiB (memcached's -I range).
std::optional<uint64_t> parse_size(std::string_view value);
// A process-wide budget: 1 MiB to 1 TiB.
std::optional<uint64_t> parse_memory(std::string_view value);

// Reads a whole file; on failure returns nullopt and sets `error` to strerror.
std::optional<std::string> read_whole_file(const std::string& path, std::string& error);
// "./FILE" or "/FILE": a -z or -Z value that names a file.
bool is_file_value(std::string_view v);

}  // namespace moxi::config
