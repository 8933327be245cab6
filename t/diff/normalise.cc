#include "t/diff/normalise.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "t/diff/transport.h"
#include "t/support/client.h"

namespace moxi::test::diff {

namespace {

// A garbage header must not make the framer wait for gigabytes: a reply body
// larger than any value memcached can hold means the framing is lost.
constexpr uint32_t kMaxReplyBody = 4u << 20;

// The marker a unit carries when the side stopped in the middle of it.
constexpr std::string_view kPartial = "<partial>";

// memcached's incr/decr writes a shorter result over the old value padded
// with spaces ("10" -> "9 ") when no pending reply still references the item,
// and stores a new exact-length item otherwise: which one happens depends on
// whether an earlier reply has been written out yet, i.e. on timing, and a
// later append/prepend carries the padding along. Values are therefore
// compared without their spaces (the generator's values are letters and
// digits, so only the "5 " / " 5" incr inputs lose a distinction).
std::string unpad_number(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value)
    if (c != ' ') out.push_back(c);
  return out;
}

bool parse_u64(std::string_view text, uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

uint64_t be(std::string_view in, std::size_t at, std::size_t n) {
  uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = v << 8 | static_cast<uint8_t>(in[at + i]);
  return v;
}

void put_be(std::string& out, std::size_t at, std::size_t n, uint64_t v) {
  for (std::size_t i = 0; i < n; ++i) out[at + n - 1 - i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xf]);
  }
  return out;
}

}  // namespace

std::vector<std::string_view> words_of(std::string_view line) { return split_words(line); }

uint64_t CasBook::class_of(uint64_t cas) {
  if (cas == 0) return 0;
  for (std::size_t i = 0; i < values_.size(); ++i)
    if (values_[i] == cas) return i + 1;
  values_.push_back(cas);
  return values_.size();
}

uint64_t CasBook::value_of(int cas_class) const {
  if (cas_class < 0 || static_cast<std::size_t>(cas_class) >= values_.size()) return kBogusCas;
  return values_[static_cast<std::size_t>(cas_class)];
}

void ReplyFramer::feed(std::string_view bytes) {
  pending_.append(bytes);
  while (!pending_.empty() && (protocol_ == Protocol::Ascii ? take_ascii() : take_binary())) {
  }
}

void ReplyFramer::finish() {
  if (pending_.empty()) return;
  units_.push_back(std::string(kPartial) + pending_);
  pending_.clear();
}

bool ReplyFramer::take_ascii() {
  auto eol = pending_.find("\r\n");
  if (eol == std::string::npos) return false;
  std::string_view line(pending_.data(), eol);
  auto words = words_of(line);
  uint64_t bytes = 0;
  if (!words.empty() && is_meta_code(words[0])) {
    // A meta reply: "VA <bytes> <flags>" and its data block, or a status
    // with return flags.
    std::string unit(words[0]);
    std::size_t total = eol + 2;
    std::size_t first_flag = 1;
    if (words[0] == "VA") {
      if (words.size() < 2 || !parse_u64(words[1], bytes) || bytes > kMaxReplyBody) {
        units_.emplace_back(line);
        pending_.erase(0, eol + 2);
        return true;
      }
      total += bytes + 2;
      if (pending_.size() < total) return false;
      first_flag = 2;
    }
    std::string data = words[0] == "VA" ? unpad_number(std::string_view(pending_).substr(eol + 2, bytes)) : "";
    if (words[0] == "VA") unit += " " + std::to_string(data.size());
    for (std::size_t i = first_flag; i < words.size(); ++i) unit += " " + meta_word(words[0], words[i]);
    unit += "\r\n";
    if (words[0] == "VA") unit += data + "\r\n";
    units_.push_back(std::move(unit));
    pending_.erase(0, total);
    return true;
  }
  if (words.size() >= 4 && words.size() <= 5 && words[0] == "VALUE" && parse_u64(words[3], bytes) &&
      bytes <= kMaxReplyBody) {
    // A data block follows: the unit is the header line plus the block, so a
    // value that happens to contain "\r\n" is not cut into fake lines.
    std::size_t total = eol + 2 + bytes + 2;
    if (pending_.size() < total) return false;
    std::string unit;
    uint64_t cas = 0;
    std::string data = unpad_number(std::string_view(pending_).substr(eol + 2, bytes));
    unit = "VALUE " + std::string(words[1]) + " " + std::string(words[2]) + " " + std::to_string(data.size());
    if (words.size() == 5 && parse_u64(words[4], cas)) {
      unit += " c" + std::to_string(cas_.class_of(cas));
    } else if (words.size() == 5) {
      unit += " " + std::string(words[4]);
    }
    unit += "\r\n" + data + "\r\n";
    units_.push_back(std::move(unit));
    pending_.erase(0, total);
    return true;
  }
  if (line.rfind("VERSION ", 0) == 0) {
    units_.push_back("VERSION <v>");
  } else {
    units_.emplace_back(line);
  }
  pending_.erase(0, eol + 2);
  return true;
}

bool ReplyFramer::is_meta_code(std::string_view word) {
  return word == "VA" || word == "HD" || word == "EN" || word == "NF" || word == "NS" || word == "EX" ||
         word == "MN" || word == "ME";
}

// A meta return flag (or a word of an "ME" debug line) with what two servers
// legitimately differ in rewritten: a cas becomes its class, a TTL left that
// is counting down becomes "t>0" (the two servers stored it up to a second
// apart), the seconds since the last access become "l<s>".
std::string ReplyFramer::meta_word(std::string_view code, std::string_view word) {
  uint64_t n = 0;
  if (code == "ME") {
    const auto eq = word.find('=');
    if (eq == std::string_view::npos) return std::string(word);
    const std::string_view name = word.substr(0, eq), value = word.substr(eq + 1);
    if (name == "cas" && parse_u64(value, n)) return "cas=c" + std::to_string(cas_.class_of(n));
    if (name == "exp" && parse_u64(value, n) && n > 0) return "exp>0";
    if (name == "la") return "la=<s>";
    return std::string(word);
  }
  if (word.size() < 2) return std::string(word);
  const std::string_view rest = word.substr(1);
  if (word[0] == 'c' && parse_u64(rest, n)) return "c" + std::to_string(cas_.class_of(n));
  if (word[0] == 't' && parse_u64(rest, n) && n > 0) return "t>0";
  if (word[0] == 'l' && parse_u64(rest, n)) return "l<s>";
  return std::string(word);
}

bool ReplyFramer::take_binary() {
  if (garbage_ || static_cast<uint8_t>(pending_[0]) != bin::kResponse) {
    // Not a response header: nothing after this can be framed, so it is
    // compared as raw bytes (finish() emits it).
    garbage_ = true;
    return false;
  }
  if (pending_.size() < kBinaryHeaderSize) return false;
  uint32_t bodylen = static_cast<uint32_t>(be(pending_, 8, 4));
  if (bodylen > kMaxReplyBody) {
    garbage_ = true;
    return false;
  }
  std::size_t total = kBinaryHeaderSize + bodylen;
  if (pending_.size() < total) return false;
  std::string unit = pending_.substr(0, total);
  pending_.erase(0, total);
  put_be(unit, 16, 8, cas_.class_of(be(unit, 16, 8)));
  std::size_t head = kBinaryHeaderSize + static_cast<uint8_t>(unit[4]) + be(unit, 2, 2);
  if (head < unit.size() && be(unit, 6, 2) == bin::kSuccess) {
    std::string value = unpad_number(std::string_view(unit).substr(head));
    unit.resize(head);
    unit += value;
    put_be(unit, 8, 4, unit.size() - kBinaryHeaderSize);
  }
  if (static_cast<uint8_t>(unit[1]) == bin::kVersion && be(unit, 6, 2) == bin::kSuccess) {
    if (head <= unit.size()) {
      unit.resize(head);
      unit += "<v>";
      put_be(unit, 8, 4, unit.size() - kBinaryHeaderSize);
    }
  }
  units_.push_back(std::move(unit));
  return true;
}

std::string render_unit(Protocol protocol, std::string_view unit) {
  if (unit.rfind(kPartial, 0) == 0) return "partial bytes '" + escape_bytes(unit.substr(kPartial.size())) + "'";
  if (protocol == Protocol::Ascii) return "'" + escape_bytes(unit) + "'";
  if (unit.size() < kBinaryHeaderSize) return "'" + escape_bytes(unit) + "'";
  char head[160];
  std::snprintf(head, sizeof head, "magic=%02x op=%02x keylen=%u extlen=%u type=%02x status=%04x body=%u opaque=%08x cas=c%llu",
                static_cast<unsigned>(be(unit, 0, 1)), static_cast<unsigned>(be(unit, 1, 1)),
                static_cast<unsigned>(be(unit, 2, 2)), static_cast<unsigned>(be(unit, 4, 1)),
                static_cast<unsigned>(be(unit, 5, 1)), static_cast<unsigned>(be(unit, 6, 2)),
                static_cast<unsigned>(be(unit, 8, 4)), static_cast<unsigned>(be(unit, 12, 4)),
                static_cast<unsigned long long>(be(unit, 16, 8)));
  std::string_view body = unit.substr(kBinaryHeaderSize);
  std::size_t extlen = std::min<std::size_t>(static_cast<uint8_t>(unit[4]), body.size());
  std::size_t keylen = std::min<std::size_t>(be(unit, 2, 2), body.size() - extlen);
  return std::string(head) + " extras=" + hex(body.substr(0, extlen)) + " key='" +
         escape_bytes(body.substr(extlen, keylen), 80) + "' value='" + escape_bytes(body.substr(extlen + keylen), 120) +
         "'";
}

namespace {

// What kind of reply a unit is: the first word of an ascii line, or a binary
// response's opcode and status.
std::string kind_of(Protocol protocol, std::string_view unit) {
  if (unit.rfind(kPartial, 0) == 0) return "partial";
  if (protocol == Protocol::Ascii) return std::string(unit.substr(0, unit.find_first_of(" \r\n")));
  if (unit.size() < kBinaryHeaderSize) return "short";
  char out[32];
  std::snprintf(out, sizeof out, "op%02x/st%04x", static_cast<unsigned>(be(unit, 1, 1)),
                static_cast<unsigned>(be(unit, 6, 2)));
  return out;
}

}  // namespace

void zero_binary_cas(std::vector<std::string>& units) {
  for (auto& u : units)
    if (u.size() >= kBinaryHeaderSize && u.rfind(kPartial, 0) != 0) put_be(u, 16, 8, 0);
}

namespace {

// Both sides' replies, for a report: enough to see the difference in context.
std::string listing(Protocol protocol, const Outcome& direct, const Outcome& moxi) {
  auto side = [&](const char* name, const Outcome& o) {
    std::string out = std::string("\n    all replies from ") + name + " (" + std::to_string(o.units.size()) +
                      ", then " + to_string(o.ending) + "):";
    for (std::size_t i = 0; i < o.units.size() && i < 12; ++i) out += "\n      " + render_unit(protocol, o.units[i]);
    if (o.units.size() > 12) out += "\n      ...";
    return out;
  };
  return side("memcached", direct) + side("moxi", moxi);
}

Difference first_difference(Protocol protocol, const Outcome& direct, const Outcome& moxi);

}  // namespace

Difference compare(Protocol protocol, const Outcome& direct, const Outcome& moxi) {
  Difference d = first_difference(protocol, direct, moxi);
  if (!d.empty()) d.text += listing(protocol, direct, moxi);
  return d;
}

namespace {

Difference first_difference(Protocol protocol, const Outcome& direct, const Outcome& moxi) {
  const auto& a = direct.units;
  const auto& b = moxi.units;
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) {
      return {"reply " + std::to_string(i + 1) + " differs:\n    memcached: " + render_unit(protocol, a[i]) +
                  "\n    moxi:      " + render_unit(protocol, b[i]),
              "reply " + kind_of(protocol, a[i]) + " vs " + kind_of(protocol, b[i])};
    }
  }
  if (a.size() != b.size()) {
    const bool moxi_more = b.size() > a.size();
    const auto& more = moxi_more ? b : a;
    return {std::string(moxi_more ? "moxi" : "memcached") + " sent " + std::to_string(more.size() - n) +
                " more repl" + (more.size() - n == 1 ? "y" : "ies") + " (" + std::to_string(a.size()) + " vs " +
                std::to_string(b.size()) + "), the first: " + render_unit(protocol, more[n]) +
                "\n    endings: memcached " + to_string(direct.ending) + ", moxi " + to_string(moxi.ending),
            std::string(moxi_more ? "moxi" : "memcached") + " more " + kind_of(protocol, more[n]) + " " +
                to_string(direct.ending) + "/" + to_string(moxi.ending)};
  }
  if (direct.ending != moxi.ending) {
    return {std::string("same ") + std::to_string(n) + " replies, but memcached's connection ended " +
                to_string(direct.ending) + " and moxi's " + to_string(moxi.ending) +
                (moxi.note.empty() ? "" : " (" + moxi.note + ")"),
            std::string("ending ") + to_string(direct.ending) + "/" + to_string(moxi.ending)};
  }
  return {};
}

}  // namespace

}  // namespace moxi::test::diff
