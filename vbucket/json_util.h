// Internal (not part of the public API): RapidJSON helpers shared by the
// JSON parsers. Only vbucket/*.cc include this header.
//
// Thread-safety: stateless functions; a Document is owned by one caller.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "vbucket/result.h"

namespace moxi::vbucket::detail {

// Parses a whole document. Iterative parsing keeps deeply nested input from
// exhausting the stack. On failure the message starts with "not JSON" and
// gives the byte offset, line and column, and RapidJSON's reason.
Result<std::unique_ptr<rapidjson::Document>> parse_json(std::string_view text) noexcept;

// Member `name` of an object, or null. An exact match wins; otherwise the
// first case-insensitive match, because libvbucket's cJSON lookup is
// case-insensitive and configs written for it may rely on that.
const rapidjson::Value* find_member(const rapidjson::Value& object, std::string_view name) noexcept;

// "string", "number", "object", ... for error messages.
const char* type_name(const rapidjson::Value& value) noexcept;

// The value as an integer if it is a number with no fractional part that
// fits in an int (1.0 counts, as with libvbucket; 1.5 does not).
std::optional<int> as_int(const rapidjson::Value& value) noexcept;

inline std::string_view as_string_view(const rapidjson::Value& value) noexcept {
  return {value.GetString(), value.GetStringLength()};
}

}  // namespace moxi::vbucket::detail
