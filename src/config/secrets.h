// Hiding passwords in the config parsers' messages: no error or warning of
// -z, -Z or an argument may show a piece of one (PASSWORDS in moxi(1)).
// Internal to src/config/ (namespace moxi::config).
//
// Header only: a small class, used by the three parsers of this folder.
//
// Thread: any; a Secrets is used by one parse at a time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/config/text.h"

namespace moxi::config {

// The passwords in a -z or -Z value (or an argument), which no error or
// warning may show. A password may contain the separators around it (, ;
// | % =), so what follows one on its line may be a piece of it: from the
// start of a password to the end of its line, nothing is shown. A password
// starts
//   after the first '%' of an auth= or apikey= value (USER%PASSWORD),
//   after the '=' of pwd=,
//   after the "://" before an '@' (http://USER:PASSWORD@HOST; the user is
//     hidden too),
//   after a '%' that follows an '@' outside URLs (the old USER@HOST%PASSWORD).
// Keys are matched in any case, with white space around them.
class Secrets {
 public:
  Secrets() = default;  // nothing hidden
  // `text` must outlive the Secrets.
  explicit Secrets(std::string_view text) : text_(text) {
    size_t line = 0;
    while (line <= text.size()) {
      size_t end = text.find('\n', line);
      if (end == std::string_view::npos) end = text.size();
      const size_t from = password_start(line, end);
      if (from < end) hidden_.emplace_back(from, end);
      line = end + 1;
    }
  }

  // `piece` as it may be shown: each run of hidden bytes (when `piece` lies
  // in the text) as "****".
  std::string shown(std::string_view piece) const {
    const char* base = text_.data();
    if (hidden_.empty() || piece.data() < base || piece.data() + piece.size() > base + text_.size())
      return std::string(piece);
    const size_t begin = static_cast<size_t>(piece.data() - base), end = begin + piece.size();
    std::string out;
    size_t at = begin;
    for (const auto& [from, to] : hidden_) {
      if (to <= at || from >= end) continue;
      if (from > at) out.append(text_.substr(at, from - at));
      out += "****";
      hid_ = true;
      at = std::min(to, end);
    }
    if (at < end) out.append(text_.substr(at, end - at));
    return out;
  }
  std::string quoted(std::string_view piece) const { return quote(shown(piece)); }
  // True when `needle` (a copy of some text) occurs in the text only where
  // something is hidden (or not at all).
  bool hides(std::string_view needle) const {
    for (size_t at = text_.find(needle); at != std::string_view::npos; at = text_.find(needle, at + 1)) {
      if (shown(text_.substr(at, needle.size())) != needle) return true;
    }
    return false;
  }
  // `message` with a note on what was hidden, when shown() hid something.
  std::string noted(std::string message) const {
    if (hid_) message += " (what follows a password on its line is not shown: see PASSWORDS in moxi(1))";
    return message;
  }

 private:
  static bool at_key(std::string_view text, size_t& i, std::string_view key) {
    size_t j = i;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
    if (!starts_with_nocase(text.substr(j), key)) return false;
    j += key.size();
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
    if (j >= text.size() || text[j] != '=') return false;
    i = j + 1;
    return true;
  }

  // Where the first password of the line [line, end) starts; `end` if none.
  size_t password_start(size_t line, size_t end) const {
    const std::string_view t = text_.substr(0, end);
    size_t start = end;
    for (size_t i = line; i < end; ++i) {
      if (i != line && t[i - 1] != ',' && t[i - 1] != ';' && t[i - 1] != '\r') continue;
      size_t v = i;
      if (at_key(t, v, "pwd")) {
        start = std::min(start, v);
      } else if (at_key(t, v, "auth") || at_key(t, v, "apikey")) {  // v moves only on a match
        const size_t pct = t.find_first_of("%,;", v);
        if (pct != std::string_view::npos && t[pct] == '%') start = std::min(start, pct + 1);
      }
    }
    for (size_t at = t.find('@', line); at != std::string_view::npos; at = t.find('@', at + 1)) {
      const size_t scheme = t.substr(0, at).rfind("://");
      if (scheme != std::string_view::npos && scheme >= line) {
        start = std::min(start, scheme + 3);
      } else if (const size_t pct = t.find('%', at); pct != std::string_view::npos) {
        start = std::min(start, pct + 1);
      }
    }
    return start;
  }

  std::string_view text_;
  std::vector<std::pair<size_t, size_t>> hidden_;  // [from, to) offsets in text_, one run per line at most
  mutable bool hid_ = false;
};

}  // namespace moxi::config
