// The config parsers' text tools: see text.h.
#include "src/config/text.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace moxi::config {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != prefix[i]) return false;
  }
  return true;
}

// A user value in an error message: quoted, and shortened when long (JSON).
std::string quote(std::string_view s) {
  constexpr size_t kMax = 60;
  std::string out = "\"";
  if (s.size() > kMax) {
    out.append(s.substr(0, kMax));
    out.append("...");
  } else {
    out.append(s);
  }
  out.push_back('"');
  return out;
}

// Splits on any of `seps`; keeps empty pieces.
std::vector<std::string_view> split_any(std::string_view s, std::string_view seps) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find_first_of(seps, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

// Splits on `sep` outside JSON strings, braces and brackets, so a ';' inside a
// {json} section does not cut it.
std::vector<std::string_view> split_top_level(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  int depth = 0;
  bool in_string = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"' && depth > 0) {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    } else if (c == sep && depth == 0) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

// Drops the lines whose first non-blank character is '#'.
std::string strip_comment_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::string_view line : split_any(text, "\n")) {
    if (!trim(line).starts_with('#')) {
      out.append(line);
      out.push_back('\n');
    }
  }
  if (!out.empty()) out.pop_back();
  return out;
}

// A whole number written with digits only (no sign, no spaces, no suffix) and <= max.
std::optional<uint64_t> parse_number(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

std::optional<uint16_t> parse_port(std::string_view s, uint16_t min) {
  auto v = parse_number(s, 65535);
  if (!v || *v < min) return std::nullopt;
  return static_cast<uint16_t>(*v);
}

// Reads a whole file; on failure returns nullopt and sets `error` to strerror.
std::optional<std::string> read_whole_file(const std::string& path, std::string& error) {
  errno = 0;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::string out;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  bool failed = std::ferror(f) != 0;
  int saved = errno;
  std::fclose(f);
  if (failed) {
    error = std::strerror(saved != 0 ? saved : EIO);
    return std::nullopt;
  }
  return out;
}

bool is_file_value(std::string_view v) { return v.starts_with('.') || v.starts_with('/'); }

// memcached's -I: bytes, or a number with a k/K or m/M suffix; 1 KiB to 1 GiB.
// A byte count with an optional k, m or g suffix, from `min` to `max` bytes.
std::optional<uint64_t> parse_bytes(std::string_view value, uint64_t min, uint64_t max) {
  uint64_t unit = 1;
  if (!value.empty()) {
    const char last = value.back();
    if (last == 'k' || last == 'K') unit = uint64_t{1} << 10;
    if (last == 'm' || last == 'M') unit = uint64_t{1} << 20;
    if (last == 'g' || last == 'G') unit = uint64_t{1} << 30;
    if (unit != 1) value.remove_suffix(1);
  }
  auto n = parse_number(value, max / unit);
  if (!n || *n * unit < min) return std::nullopt;
  return *n * unit;
}
// An item or per-client size: 1 KiB to 1 GiB (memcached's -I range).
std::optional<uint64_t> parse_size(std::string_view value) { return parse_bytes(value, 1 << 10, 1 << 30); }
// A process-wide budget: 1 MiB to 1 TiB.
std::optional<uint64_t> parse_memory(std::string_view value) {
  return parse_bytes(value, 1 << 20, uint64_t{1} << 40);
}

}  // namespace moxi::config
