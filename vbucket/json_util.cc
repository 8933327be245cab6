#include "vbucket/json_util.h"

#include <rapidjson/error/en.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>

namespace moxi::vbucket::detail {

Result<std::unique_ptr<rapidjson::Document>> parse_json(std::string_view text) noexcept {
  using R = Result<std::unique_ptr<rapidjson::Document>>;
  try {
    auto doc = std::make_unique<rapidjson::Document>();
    doc->Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
    if (doc->HasParseError()) {
      const size_t offset = std::min(doc->GetErrorOffset(), text.size());
      const std::string_view before = text.substr(0, offset);
      const size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
      const size_t line_start = before.rfind('\n');
      const size_t column = offset - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
      return R::failure("not JSON: at offset " + std::to_string(offset) + " (line " + std::to_string(line) +
                        ", column " + std::to_string(column) +
                        "): " + rapidjson::GetParseError_En(doc->GetParseError()));
    }
    return R::success(std::move(doc));
  } catch (const std::bad_alloc&) {
    return R::failure("out of memory while parsing JSON");
  } catch (...) {
    return R::failure("unexpected error while parsing JSON");
  }
}

const rapidjson::Value* find_member(const rapidjson::Value& object, std::string_view name) noexcept {
  if (!object.IsObject()) return nullptr;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    if (it->name.IsString() && as_string_view(it->name) == name) return &it->value;
  }
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    if (!it->name.IsString()) continue;
    std::string_view key = as_string_view(it->name);
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(), [&](char a, char b) { return lower(a) == lower(b); }))
      return &it->value;
  }
  return nullptr;
}

const char* type_name(const rapidjson::Value& value) noexcept {
  switch (value.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "boolean";
    case rapidjson::kObjectType:
      return "object";
    case rapidjson::kArrayType:
      return "array";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return "number";
  }
  return "unknown";
}

std::optional<int> as_int(const rapidjson::Value& value) noexcept {
  if (value.IsInt()) return value.GetInt();
  if (value.IsDouble()) {
    const double d = value.GetDouble();
    if (std::isfinite(d) && d == std::trunc(d) && d >= std::numeric_limits<int>::min() &&
        d <= std::numeric_limits<int>::max())
      return static_cast<int>(d);
  }
  return std::nullopt;
}

}  // namespace moxi::vbucket::detail
