#include "t/diff/known.h"

#include <algorithm>
#include <optional>
#include <charconv>
#include <set>
#include <string_view>

#include "t/diff/generator.h"
#include "t/diff/normalise.h"
#include "t/support/client.h"

namespace moxi::test::diff {

namespace {

// The first line of an ascii command, split on spaces.
std::vector<std::string> ascii_words(const Command& c) {
  std::string_view line(c.bytes);
  auto words = words_of(line.substr(0, line.find_first_of("\r\n")));
  return {words.begin(), words.end()};
}

bool is_number(std::string_view s) {
  long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

bool ascii_is(const Stream& s, std::size_t i, std::initializer_list<std::string_view> names) {
  if (s.protocol != Protocol::Ascii) return false;
  auto w = ascii_words(s.commands[i]);
  return !w.empty() && std::find(names.begin(), names.end(), w[0]) != names.end();
}

// Binary: the header fields of command i (false if it is not a request).
struct Header {
  uint8_t opcode = 0;
  std::size_t keylen = 0, extlen = 0, bodylen = 0;
  uint8_t datatype = 0;
};
bool binary_header(const Stream& s, std::size_t i, Header& h) {
  const std::string& b = s.commands[i].bytes;
  if (s.protocol != Protocol::Binary || b.size() < kBinaryHeaderSize || static_cast<uint8_t>(b[0]) != bin::kRequest)
    return false;
  auto u = [&](std::size_t at) { return static_cast<std::size_t>(static_cast<uint8_t>(b[at])); };
  h.opcode = static_cast<uint8_t>(b[1]);
  h.keylen = u(2) << 8 | u(3);
  h.extlen = u(4);
  h.datatype = static_cast<uint8_t>(b[5]);
  h.bodylen = u(8) << 24 | u(9) << 16 | u(10) << 8 | u(11);
  return true;
}

// A storage command (either protocol) whose value is non-empty and all
// white space, as C's isspace counts it.
bool stores_only_white_space(const Stream& s, std::size_t i) {
  const std::string& b = s.commands[i].bytes;
  std::string_view value;
  Header h;
  if (binary_header(s, i, h)) {
    static const std::set<uint8_t> storage = {0x01, 0x02, 0x03, 0x0e, 0x0f, 0x11, 0x12, 0x13, 0x19, 0x1a};
    if (!storage.count(h.opcode) || h.bodylen < h.extlen + h.keylen) return false;
    const std::size_t at = kBinaryHeaderSize + h.extlen + h.keylen;
    if (at > b.size()) return false;
    value = std::string_view(b).substr(at, h.bodylen - h.extlen - h.keylen);
  } else if (ascii_is(s, i, {"set", "add", "replace", "append", "prepend", "cas"})) {
    const std::size_t nl = b.find('\n');
    if (nl == std::string::npos) return false;
    auto w = ascii_words(s.commands[i]);
    long long n = 0;
    if (w.size() < 5 || !is_number(w[4]) || (n = std::stoll(w[4])) <= 0) return false;
    value = std::string_view(b).substr(nl + 1, static_cast<std::size_t>(n));
  } else {
    return false;
  }
  return !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
  });
}

// A command that may leave a number of 2^63 or more in an item (the
// values memcached's safe_strtoull checks for a minus sign with strchr,
// see KN8): a stored value, or an incr/decr delta or binary initial, of
// 2^63 or more, or an append/prepend of digits (which can lengthen a
// number past it).
bool may_store_huge_number(const Stream& s, std::size_t i) {
  auto huge = [](std::string_view text) {
    std::size_t at = text.find_first_not_of(" \t\r\n\v\f");
    if (at == std::string_view::npos) return false;
    std::size_t end = text.find_first_not_of("0123456789", at);
    std::string_view digits = text.substr(at, end == std::string_view::npos ? text.size() - at : end - at);
    while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
    return digits.size() > 19 || (digits.size() == 19 && digits >= "9223372036854775808");
  };
  auto digits_only = [](std::string_view v) {
    return !v.empty() && v.find_first_not_of("0123456789") == std::string_view::npos;
  };
  const std::string& b = s.commands[i].bytes;
  Header h;
  if (binary_header(s, i, h)) {
    auto be64 = [&](std::size_t at) {
      uint64_t v = 0;
      for (std::size_t k = 0; k < 8 && at + k < b.size(); ++k) v = v << 8 | static_cast<uint8_t>(b[at + k]);
      return v;
    };
    static const std::set<uint8_t> arithmetic = {0x05, 0x06, 0x15, 0x16};
    if (arithmetic.count(h.opcode))
      return h.extlen >= 16 && (be64(kBinaryHeaderSize) >> 63 || be64(kBinaryHeaderSize + 8) >> 63);
    static const std::set<uint8_t> storage = {0x01, 0x02, 0x03, 0x11, 0x12, 0x13};
    static const std::set<uint8_t> concatenation = {0x0e, 0x0f, 0x19, 0x1a};
    if ((!storage.count(h.opcode) && !concatenation.count(h.opcode)) || h.bodylen < h.extlen + h.keylen) return false;
    const std::size_t at = kBinaryHeaderSize + h.extlen + h.keylen;
    if (at > b.size()) return false;
    std::string_view value = std::string_view(b).substr(at, h.bodylen - h.extlen - h.keylen);
    return huge(value) || (concatenation.count(h.opcode) && digits_only(value));
  }
  auto w = ascii_words(s.commands[i]);
  if (ascii_is(s, i, {"incr", "decr"})) return w.size() >= 3 && huge(w[2]);
  if (!ascii_is(s, i, {"set", "add", "replace", "append", "prepend", "cas"})) return false;
  const std::size_t nl = b.find('\n');
  long long n = 0;
  if (nl == std::string::npos || w.size() < 5 || !is_number(w[4]) || (n = std::stoll(w[4])) <= 0) return false;
  std::string_view value = std::string_view(b).substr(nl + 1, static_cast<std::size_t>(n));
  return huge(value) || ((w[0] == "append" || w[0] == "prepend") && digits_only(value));
}

// A flush_all with a delay (binary FLUSH/FLUSHQ with a non-zero expiration,
// ascii "flush_all N" with N > 0).
bool delayed_flush(const Stream& s, std::size_t i) {
  Header h;
  if (binary_header(s, i, h)) {
    if ((h.opcode != 0x08 && h.opcode != 0x18) || h.extlen != 4) return false;
    const std::string& b = s.commands[i].bytes;
    if (b.size() < kBinaryHeaderSize + 4) return false;
    return b.compare(kBinaryHeaderSize, 4, std::string(4, '\0')) != 0;
  }
  if (!ascii_is(s, i, {"flush_all"})) return false;
  auto w = ascii_words(s.commands[i]);
  return w.size() >= 2 && w[1] != "0" && w[1] != "noreply";
}

// A meta command (mg, ms, md, ma, me): its name and flag tokens (after the
// key, and after ms's length).
struct MetaWords {
  std::string name;
  std::vector<std::string> flags;
  bool has(char letter) const { return token(letter) != nullptr; }
  // The first flag token that starts with `letter` ("C0": the letter included), or null.
  const std::string* token(char letter) const {
    for (const auto& f : flags)
      if (!f.empty() && f[0] == letter) return &f;
    return nullptr;
  }
};
// Command i as a meta command; nothing for anything else.
std::optional<MetaWords> meta_command(const Stream& s, std::size_t i) {
  if (!ascii_is(s, i, {"mg", "ms", "md", "ma", "me"})) return std::nullopt;
  auto w = ascii_words(s.commands[i]);
  MetaWords m;
  m.name = w[0];
  const std::size_t first = m.name == "ms" ? 3 : 2;
  m.flags.assign(w.size() > first ? w.begin() + static_cast<std::ptrdiff_t>(first) : w.end(), w.end());
  return m;
}
// Some command of the stream is a meta command with a flag in `letters`.
bool stream_has_meta_flag(const Stream& s, std::string_view letters) {
  for (std::size_t j = 0; j < s.commands.size(); ++j)
    if (auto m = meta_command(s, j))
      for (char letter : letters)
        if (m->has(letter)) return true;
  return false;
}

// What moxi answers "CLIENT_ERROR meta flag 'X' needs a meta backend" (or
// "meta command me ...") for with a binary backend or in a vBucket bucket:
// the meta semantics no binary request carries (README, the backend table).
bool needs_meta_backend(const Stream& s, std::size_t i, bool ascii_backend) {
  const auto m = meta_command(s, i);
  if (!m) return false;
  if (m->name == "me") return true;
  for (char letter : std::string_view("RIhltu"))
    if (m->has(letter)) return true;
  if (m->name != "ma" && m->has('N')) return true;
  if (m->name == "ma" && m->has('T')) return true;
  if (ascii_backend) {  // what ascii commands cannot carry: a cas to return or to compare (but a set's)
    if ((m->name == "ms" || m->name == "ma") && m->has('c')) return true;
    if ((m->name == "md" || m->name == "ma") && m->has('C')) return true;
    // An append or prepend compares a non-zero C (memcached 1.6.18; a set
    // or replace's is a plain cas, an add ignores it).
    const std::string* mode = m->token('M');
    const std::string* cas = m->token('C');
    if (m->name == "ms" && cas && cas->find_first_not_of('0', 1) != std::string::npos && mode &&
        (*mode == "MA" || *mode == "MP"))
      return true;
  }
  return false;
}

const std::set<uint8_t>& binary_opcodes_moxi_knows() {
  // The binary commands of the memcached protocol spec that moxi serves.
  static const std::set<uint8_t> ops = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
                                        0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                                        0x18, 0x19, 0x1a, 0x1c, 0x1d, 0x1e};
  return ops;
}

// The extras and key memcached requires of each opcode (memcached 1.6
// proto_bin.c checks these and closes the connection when they are wrong).
bool binary_well_formed(const Header& h) {
  if (h.keylen + h.extlen > h.bodylen || h.keylen > 250 || h.datatype != 0) return false;
  switch (h.opcode) {
    case 0x00: case 0x09: case 0x0c: case 0x0d:            // get family
    case 0x04: case 0x14:                                  // delete
      return h.extlen == 0 && h.keylen > 0 && h.bodylen == h.keylen;
    case 0x01: case 0x02: case 0x03: case 0x11: case 0x12: case 0x13:  // set family
      return h.extlen == 8 && h.keylen > 0;
    case 0x0e: case 0x0f: case 0x19: case 0x1a:            // append/prepend
      return h.extlen == 0 && h.keylen > 0;
    case 0x05: case 0x06: case 0x15: case 0x16:            // incr/decr
      return h.extlen == 20 && h.keylen > 0 && h.bodylen == 20 + h.keylen;
    case 0x1c: case 0x1d: case 0x1e:                       // touch, gat
      return h.extlen == 4 && h.keylen > 0 && h.bodylen == 4 + h.keylen;
    case 0x08: case 0x18:                                  // flush
      return (h.extlen == 0 || h.extlen == 4) && h.keylen == 0 && h.bodylen == h.extlen;
    default:                                               // noop, version, quit, stat
      return h.extlen == 0;
  }
}

std::vector<KnownDivergence> make_list() {
  std::vector<KnownDivergence> list;

  list.push_back({
      .id = "K8",
      .reason = "documented difference: unknown binary opcodes: memcached drops the connection on one with a key, "
                "moxi answers Unknown command and keeps serving",
      .command = [](const Stream& s, std::size_t i) {
                      Header h;
                      return binary_header(s, i, h) && !binary_opcodes_moxi_knows().count(h.opcode);
                    }});

  list.push_back({
      .id = "K9",
      .reason = "documented difference: the input ends (half-close) inside a request that can never complete: "
                "memcached closes without flushing the replies it owes for the complete requests before it (and "
                "waits for a frame's body), moxi answers every complete request (and refuses a frame too large "
                "for the item size at its header), then closes",
      .stream = [](const Stream& s) {
        if (s.end != EndMode::HalfClose) return false;
        for (const auto& c : s.commands)
          if (c.label.rfind("truncated", 0) == 0 || c.label.rfind("bodylen", 0) == 0 ||
              c.label.rfind("keylen > bodylen", 0) == 0)
            return true;
        return false;
      },
      .neutralise = [](Stream& s) {
        std::erase_if(s.commands, [](const Command& c) {
          return c.label.rfind("truncated", 0) == 0 || c.label.rfind("bodylen", 0) == 0 ||
                 c.label.rfind("keylen > bodylen", 0) == 0;
        });
        s.end = EndMode::Sentinel;
      }});

  list.push_back({
      .id = "KB1",
      .reason = "documented difference: append/prepend of a value between memcached's real largest value "
                "(1 MiB less its item header and key) and moxi's -I (1 MiB) over a binary downstream: memcached's "
                "binary APPEND answers NOT_STORED for a missing key before it checks the size, its ascii append "
                "the size first",
      .configs = {"binary", "vbucket"},
      .command = [](const Stream& s, std::size_t i) {
        if (!ascii_is(s, i, {"append", "prepend"})) return false;
        auto w = ascii_words(s.commands[i]);
        std::size_t len = 0;
        if (w.size() < 5 || std::from_chars(w[4].data(), w[4].data() + w[4].size(), len).ec != std::errc()) return false;
        return len + w[1].size() + 4 > 1048517 && len <= (1u << 20);
      }});

  list.push_back({
      .id = "KN1",
      .reason = "documented difference: an ascii line longer than memcached's 16 KiB read buffer (or the data of a storage command "
                "whose line is invalid, read as a line): memcached closes at once without sending the replies "
                "still queued; moxi answers 'CLIENT_ERROR line too long' (or ERROR for the bad command) and "
                "then closes",
      .command = [](const Stream& s, std::size_t i) {
        if (s.protocol != Protocol::Ascii) return false;
        const std::string& b = s.commands[i].bytes;
        std::size_t eol = b.find('\n');
        if (eol == std::string::npos || eol > (16u << 10)) return !ascii_is(s, i, {"get", "gets", "gat", "gats"});
        auto w = ascii_words(s.commands[i]);
        bool storage = ascii_is(s, i, {"set", "add", "replace", "append", "prepend", "cas"});
        bool well_formed = storage && w.size() >= 5 && w.size() <= 7 && is_number(w[4]);
        return !well_formed && b.size() - eol > (16u << 10);
      }});

  list.push_back({
      .id = "KN2",
      .reason = "documented difference: an ascii get/gets/gat/gats/touch with a key over 250 bytes: memcached 1.6.18 answers "
                "CLIENT_ERROR and its error path also drops the replies still queued from earlier commands of "
                "the same read (a memcached quirk); moxi answers every command",
      .command = [](const Stream& s, std::size_t i) {
        if (!ascii_is(s, i, {"get", "gets", "gat", "gats", "touch"})) return false;
        for (const auto& w : ascii_words(s.commands[i]))
          if (w.size() > 250) return true;
        return false;
      }});

  list.push_back({
      .id = "KN3",
      .reason = "documented difference: an ascii storage command with a key over 250 bytes: memcached answers CLIENT_ERROR and "
                "swallows the data block; moxi answers CLIENT_ERROR, then reads the data block as a command "
                "(ERROR)",
      .command = [](const Stream& s, std::size_t i) {
        if (!ascii_is(s, i, {"set", "add", "replace", "append", "prepend", "cas"})) return false;
        auto w = ascii_words(s.commands[i]);
        return w.size() > 1 && w[1].size() > 250;
      }});

  list.push_back({
      .id = "KN4",
      .reason = "documented difference: a binary request memcached rejects as malformed (wrong extras length, no "
                "key where one is needed, a key over 250 bytes, keylen beyond the body, a datatype it does not "
                "take): both answer Invalid arguments and close, but memcached drops what it had not yet written "
                "of earlier replies (part of a large GETK value), moxi writes them first",
      .command = [](const Stream& s, std::size_t i) {
        Header h;
        return binary_header(s, i, h) && binary_opcodes_moxi_knows().count(h.opcode) && !binary_well_formed(h);
      }});

  // ---- moxi with an ascii downstream serving binary clients ----

  list.push_back({
      .id = "KA1",
      .reason = "ascii downstream, binary client: a request carrying a cas is refused with status 0x83 \"CAS on "
                    "this command needs a binary backend\" (memcached checks the cas); translation limit",
      .configs = {"ascii"},
      .command = [](const Stream& s, std::size_t i) {
                      Header h;
                      if (!binary_header(s, i, h)) return false;
                      const std::string& b = s.commands[i].bytes;
                      return s.commands[i].cas_class >= 0 || b.find_first_not_of('\0', 16) < 24;
                    }});

  list.push_back({
      .id = "KA2",
      .reason = "ascii downstream, binary client: replies carry cas 0 where memcached returns the item's cas "
                    "(the ascii commands moxi sends do not return one); compared with cas ignored",
      .configs = {"ascii"},
      .stream = [](const Stream& s) { return s.protocol == Protocol::Binary; },
      .relax = [](std::vector<std::string>& units) { zero_binary_cas(units); }});

  list.push_back({
      .id = "KA3",
      .reason = "ascii downstream, binary client: a TOUCH reply has flags 0 (ascii touch returns no flags)",
      .configs = {"ascii"},
      .command = [](const Stream& s, std::size_t i) {
                      Header h;
                      return binary_header(s, i, h) && h.opcode == 0x1c;
                    }});
  // ---- meta commands without a meta backend ----

  list.push_back({
      .id = "KM1",
      .reason = "documented: a meta flag that needs memcached's meta semantics (N on mg, R, I, h, l, t, u, T on "
                "ma, the me command; with an ascii backend also ms c, a non-zero ms C in mode A or P, md C, "
                "ma C and c) is answered CLIENT_ERROR "
                "meta flag 'X' needs a meta backend",
      .configs = {"binary", "vbucket"},
      .command = [](const Stream& s, std::size_t i) { return needs_meta_backend(s, i, false); }});
  list.push_back({
      .id = "KM1a",
      .reason = "KM1 with an ascii backend",
      .configs = {"ascii"},
      .command = [](const Stream& s, std::size_t i) { return needs_meta_backend(s, i, true); }});
  list.push_back({
      .id = "KM2",
      .reason = "documented: k on a hit returns the key as the client wrote it (a b key re-encoded); memcached "
                "returns it in the form it was stored in, so they differ when one key is written with b and read "
                "without, or the other way round",
      .configs = {"ascii", "binary", "vbucket"},
      .command = [](const Stream& s, std::size_t i) {
        const auto m = meta_command(s, i);
        return m && m->has('k') && stream_has_meta_flag(s, "b");
      }});
  list.push_back({
      .id = "KM3",
      .reason = "documented: ma N q: a binary or ascii backend cannot say whether the counter was just created, "
                "so moxi counts it as created (and answers, where q elides the reply) when its value is J's "
                "initial value",
      .configs = {"ascii", "binary", "vbucket"},
      .command = [](const Stream& s, std::size_t i) {
        const auto m = meta_command(s, i);
        return m && m->name == "ma" && m->has('N') && m->has('q');
      }});

  // ---- a meta backend ----

  list.push_back({
      .id = "KM4",
      .reason = "documented difference: add/replace/append/prepend of a value between memcached's real largest "
                "value (1 MiB less its item header and key) and moxi's -I (1 MiB) over a meta downstream: moxi "
                "sends it as ms, and memcached's ms unlinks the old item when it refuses a value as too large, "
                "in every mode; its ascii commands do that for set only",
      .configs = {"meta"},
      .command = [](const Stream& s, std::size_t i) {
        if (!ascii_is(s, i, {"add", "replace", "append", "prepend"})) return false;
        auto w = ascii_words(s.commands[i]);
        std::size_t len = 0;
        if (w.size() < 5 || std::from_chars(w[4].data(), w[4].data() + w[4].size(), len).ec != std::errc()) return false;
        return len + w[1].size() > 1048400 && len <= (1u << 20);
      }});
  list.push_back({
      .id = "KM5",
      .reason = "memcached quirk: ma with T: memcached 1.6.18 applies the new TTL only when the incr wrote in "
                "place; when it made a new item (an mg's reply in the same read still holds the old one) the "
                "TTL is lost. A meta backend reads with mg and pipelines, so the two servers take different "
                "paths (memcached alone: set k 1 2592000 2 ' 5', then mg k v f, ma k t T-1 M+, me k in one "
                "write shows the item; with a pause before the ma, or get k instead of the mg, it is gone)",
      .configs = {"meta"},
      .command = [](const Stream& s, std::size_t i) {
        const auto m = meta_command(s, i);
        return m && m->name == "ma" && m->has('T');
      }});

  list.push_back({
      .id = "KM6",
      .reason = "documented difference: over a meta downstream a classic get, gets, gat, gats or touch is sent as "
                "mg, and memcached hands the win token of an invalidated (md/ms I) or recaching (mg R) item to "
                "any mg, so moxi's read takes it where memcached's classic read does not: a client's later mg "
                "sees Z instead of W",
      .configs = {"meta"},
      .command = [](const Stream& s, std::size_t i) {
        return ascii_is(s, i, {"get", "gets", "gat", "gats", "touch"}) && stream_has_meta_flag(s, "IR");
      }});

  list.push_back({
      .id = "KN5",
      .reason = "memcached quirk: incr/decr of a value made only of white space (\"\\r\\n\", \" \"): memcached 1.6.18's "
                "strtoull skips the white space and reads on past the item into stale slab memory, so the outcome "
                "(Non-numeric, or a number left there by an earlier item) depends on what that memory held; moxi's "
                "backend and the reference memcached hold different leftovers (reproduced on memcached alone: set "
                "k '12345678901234', delete k, add k '\\r\\n', incr k 1000 answers 5678902234)",
      .command = [](const Stream& s, std::size_t i) { return stores_only_white_space(s, i); },
      .memcached_alone_varies = true});
  list.push_back({
      .id = "KN6",
      .reason = "memcached quirk: flush_all with a delay after an immediate flush_all: memcached 1.6.18 keeps one "
                "flush time, so the delayed one makes it forget the first for every item not yet unlinked, and "
                "flushed items come back (memcached alone: set k, flush_all, flush_all 3600, get k returns k); "
                "which ones were unlinked depends on the server's background LRU crawler and on earlier reads, "
                "so moxi's backend and the reference memcached differ now and then",
      .command = [](const Stream& s, std::size_t i) { return delayed_flush(s, i); },
      .memcached_alone_varies = true});
  list.push_back({
      .id = "KN7",
      .reason = "documented difference: a binary frame with a wrong magic byte after other requests in the same read: memcached "
                "closes without sending the replies it had queued for them; moxi sends them, then closes",
      .command = [](const Stream& s, std::size_t i) {
        const std::string& b = s.commands[i].bytes;
        return s.protocol == Protocol::Binary && !b.empty() && static_cast<uint8_t>(b[0]) != bin::kRequest;
      }});
  list.push_back({
      .id = "KN8",
      .reason = "memcached quirk: incr/decr of a stored number of 2^63 or more: memcached 1.6.18's safe_strtoull "
                "then looks for a minus sign with strchr, which runs past the item's value (not NUL-terminated) "
                "into the slab memory after it, so a '-' byte there before the next zero byte answers Non-numeric "
                "now and then (memcached alone, binary: INCR k with initial 2^64-1 creates k, INCRQ k delta 0 "
                "answers Non-numeric in about 1 of 100 runs, with keys of varying length)",
      .command = [](const Stream& s, std::size_t i) { return may_store_huge_number(s, i); },
      .memcached_alone_varies = true});
  return list;
}

}  // namespace

const std::vector<KnownDivergence>& known_divergences() {
  static const std::vector<KnownDivergence> list = make_list();
  return list;
}

std::vector<const KnownDivergence*> matching_known(const Stream& stream, const std::string& config) {
  std::vector<const KnownDivergence*> out;
  for (const auto& k : known_divergences()) {
    if (!k.configs.empty() && std::find(k.configs.begin(), k.configs.end(), config) == k.configs.end()) continue;
    bool hit = k.stream && k.stream(stream);
    for (std::size_t i = 0; !hit && k.command && i < stream.commands.size(); ++i) hit = k.command(stream, i);
    if (hit) out.push_back(&k);
  }
  return out;
}

Stream without_known(const Stream& stream, const std::vector<const KnownDivergence*>& entries) {
  Stream out = stream;
  out.commands.clear();
  for (std::size_t i = 0; i < stream.commands.size(); ++i) {
    bool drop = false;
    for (const auto* k : entries) drop = drop || (k->command && k->command(stream, i));
    if (!drop) out.commands.push_back(stream.commands[i]);
  }
  for (const auto* k : entries)
    if (k->stream && k->neutralise && k->stream(out)) k->neutralise(out);
  return out;
}

void relax_units(const std::vector<const KnownDivergence*>& entries, std::vector<std::string>& units) {
  for (const auto* k : entries)
    if (k->relax) k->relax(units);
}

}  // namespace moxi::test::diff
