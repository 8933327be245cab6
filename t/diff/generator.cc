#include "t/diff/generator.h"

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "t/support/client.h"

namespace moxi::test::diff {

std::size_t max_value_size(std::size_t key_len, bool flags) { return 1048517 - key_len - (flags ? 4 : 0); }

namespace {

// Binary opcodes beyond the subset in t/support/client.h.
constexpr uint8_t kAddQ = 0x12, kReplaceQ = 0x13, kDeleteQ = 0x14, kIncrementQ = 0x15, kDecrementQ = 0x16,
                  kQuitQ = 0x17, kFlushQ = 0x18, kAppendQ = 0x19, kPrependQ = 0x1a, kTouch = 0x1c, kGat = 0x1d,
                  kGatQ = 0x1e;

const std::vector<std::string> kExptimes = {"0",          "0",         "0",           "-1",         "2592000",
                                            "2592001",    "1000000000", "4102444800", "3600",       "86400"};
const std::vector<std::string> kFlags = {"0", "0", "0", "1", "7", "4294967295"};
const std::vector<std::string> kDeltas = {"1", "1", "0", "5", "1000", "18446744073709551615", "4294967296"};
// Values a later incr/decr reads: numbers, edge numbers, text.
// RFC 4648 base64 (a b key as a client writes it; not the code under test's decoder).
std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kAlphabet[v & 63] : '=');
  }
  return out;
}
const std::vector<std::string> kNumberish = {"0", "1", "10", "18446744073709551615", "18446744073709551614",
                                             "4294967295", "00012", " 5", "5 ", "abc", "-1", "12a"};

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {
    static const char* hex = "0123456789abcdef";
    s_.prefix = "d";
    for (int i = 0; i < 8; ++i) s_.prefix.push_back(hex[rng_() % 16]);
    s_.prefix += ":";
    for (int i = 0; i < 5; ++i) keys_.push_back(s_.prefix + "k" + std::to_string(i));
    opaque_ = static_cast<uint32_t>(rng_() % 0x10000000u);
  }

  Stream run() {
    s_.protocol = chance(50) ? Protocol::Ascii : Protocol::Binary;
    // Two ascii streams in five mix meta commands in (a third to four fifths
    // of their commands), so they interact with the classic ones.
    if (s_.protocol == Protocol::Ascii && chance(40)) meta_share_ = 30 + static_cast<int>(pick(50));
    int family = static_cast<int>(pick(100));
    if (family < 50) {
      s_.family = "mixed";
      int n = 1 + static_cast<int>(pick(25));
      for (int i = 0; i < n; ++i) any_command();
    } else if (family < 60) {
      s_.family = "pipeline";
      int n = 100 + static_cast<int>(pick(300));
      for (int i = 0; i < n; ++i) any_command(/*allow_sync=*/false);
    } else if (family < 73) {
      s_.family = "boundary";
      int n = 1 + static_cast<int>(pick(6));
      for (int i = 0; i < n; ++i) {
        boundary_command();
        if (chance(60)) any_command();
      }
    } else if (family < 92) {
      s_.family = "malformed";
      int n = 1 + static_cast<int>(pick(6));
      for (int i = 0; i < n; ++i) {
        if (chance(50)) any_command();
        malformed_command();
      }
      if (chance(30)) any_command();
    } else {
      s_.family = "multiget";
      int n = 1 + static_cast<int>(pick(5));
      for (int i = 0; i < n; ++i) any_command();
      multiget();
      if (chance(50)) any_command();
    }
    if (s_.end == EndMode::Sentinel && chance(12)) {
      quit();
    } else if (s_.end == EndMode::Sentinel && chance(4)) {
      s_.end = EndMode::HalfClose;  // the client half-closes after its last command
    }
    if (chance(30)) s_.chunk_seed = rng_() | 1;
    return std::move(s_);
  }

 private:
  uint64_t pick(uint64_t n) { return rng_() % n; }
  bool chance(int percent) { return static_cast<int>(pick(100)) < percent; }
  template <class T>
  const T& one_of(const std::vector<T>& v) {
    return v[pick(v.size())];
  }
  const std::string& key() { return keys_[pick(keys_.size())]; }

  std::string value(std::size_t max_len = 12) {
    if (chance(20)) return one_of(kNumberish);
    std::size_t n = pick(max_len + 1);
    std::string v;
    for (std::size_t i = 0; i < n; ++i) v.push_back(static_cast<char>('a' + pick(26)));
    if (chance(5)) v += "\r\n";   // a value containing CRLF is still one data block
    if (chance(3)) v += std::string("\0\x80\xff", 3);
    return v;
  }

  void add(std::string bytes, std::string label, int cas_class = -1) {
    // After quit or a frame that never ends nothing can follow.
    if (s_.end != EndMode::Sentinel) return;
    Command c;
    c.bytes = std::move(bytes);
    c.label = std::move(label);
    c.cas_class = cas_class;
    // The cas of a class is known only once the replies showing it are read.
    c.sync_before = cas_class >= 0;
    s_.commands.push_back(std::move(c));
  }

  // ---- ascii ----

  std::string noreply() { return chance(25) ? " noreply" : ""; }

  void ascii_storage(const std::string& cmd, const std::string& k, const std::string& flags, const std::string& exp,
                     const std::string& data, bool with_cas) {
    std::string line = cmd + " " + k + " " + flags + " " + exp + " " + std::to_string(data.size());
    int cas_class = -1;
    if (with_cas) {
      if (chance(75)) {
        cas_class = static_cast<int>(pick(4));
        line += " " + std::string(kCasMarker);
      } else {
        line += chance(50) ? " 0" : " " + std::to_string(kBogusCas);
      }
    }
    line += noreply();
    std::string label = line;
    if (cas_class >= 0) label.replace(label.find(kCasMarker), std::string(kCasMarker).size(), "<cas>");
    add(line + "\r\n" + data + "\r\n", label + " <" + std::to_string(data.size()) + " bytes>", cas_class);
  }

  void ascii_command(bool allow_sync) {
    if (meta_share_ > 0 && static_cast<int>(pick(100)) < meta_share_) return meta_command(allow_sync);
    int what = static_cast<int>(pick(100));
    if (what < 25) {
      static const std::vector<std::string> cmds = {"get", "get", "gets", "gets", "gat", "gats"};
      std::string cmd = one_of(cmds);
      std::string line = cmd;
      if (cmd[1] == 'a') line += " " + one_of(kExptimes);
      int n = 1 + static_cast<int>(pick(chance(20) ? 8 : 3));
      for (int i = 0; i < n; ++i) line += " " + key();
      add(line + "\r\n", line);
    } else if (what < 55) {
      static const std::vector<std::string> cmds = {"set", "set", "set", "add", "replace", "append", "prepend"};
      ascii_storage(one_of(cmds), key(), one_of(kFlags), one_of(kExptimes), value(), false);
    } else if (what < 63) {
      if (!allow_sync) return ascii_storage("set", key(), "0", "0", value(), false);
      ascii_storage("cas", key(), one_of(kFlags), one_of(kExptimes), value(), true);
    } else if (what < 73) {
      std::string line = std::string(chance(50) ? "incr " : "decr ") + key() + " " + one_of(kDeltas) + noreply();
      add(line + "\r\n", line);
    } else if (what < 81) {
      std::string line = "delete " + key() + (chance(10) ? " 0" : "") + noreply();
      add(line + "\r\n", line);
    } else if (what < 88) {
      std::string line = "touch " + key() + " " + one_of(kExptimes) + noreply();
      add(line + "\r\n", line);
    } else if (what < 91) {
      static const std::vector<std::string> delays = {"", " 0", " 3600", " 2592000", " 4102444800"};
      std::string line = "flush_all" + one_of(delays) + noreply();
      add(line + "\r\n", line);
    } else if (what < 95) {
      std::string line = std::string("verbosity ") + (chance(80) ? "0" : "1") + noreply();
      add(line + "\r\n", line);
    } else {
      add("version\r\n", "version");
    }
  }

  // ---- meta ----

  // Some of `pool`, in a random order (the order of the return flags follows it).
  std::vector<std::string> some_of(const std::vector<std::string>& pool, int percent) {
    std::vector<std::string> out;
    for (const auto& f : pool)
      if (chance(percent)) out.push_back(f);
    for (std::size_t i = out.size(); i > 1; --i) std::swap(out[i - 1], out[pick(i)]);
    return out;
  }

  std::string meta_exptime() { return one_of(kExptimes); }

  // A meta command's C token: a cas this side handed out (a placeholder) when
  // the replies before may be waited for, else 0 or one never handed out.
  std::string meta_cas(bool allow_sync, int& cas_class) {
    if (allow_sync && chance(75)) {
      cas_class = static_cast<int>(pick(4));
      return std::string("C") + kCasMarker;
    }
    return chance(50) ? "C0" : "C" + std::to_string(kBogusCas);
  }

  void meta_line(const std::string& head, const std::vector<std::string>& flags, const std::string& data,
                 bool has_data, int cas_class) {
    std::string line = head;
    for (const auto& f : flags) line += " " + f;
    std::string label = line;
    if (cas_class >= 0) label.replace(label.find(kCasMarker), std::string(kCasMarker).size(), "<cas>");
    if (has_data) {
      add(line + "\r\n" + data + "\r\n", label + " <" + std::to_string(data.size()) + " bytes>", cas_class);
    } else {
      add(line + "\r\n", label, cas_class);
    }
  }

  void meta_command(bool allow_sync) {
    const bool b = chance(12);
    const std::string k = b ? base64(key()) : key();
    std::vector<std::string> flags;
    int cas_class = -1;
    const std::string opaque = "O" + std::to_string(pick(100000));
    int what = static_cast<int>(pick(100));
    if (what < 35) {
      flags = some_of({"v", "v", "f", "c", "s", "k", "t", "q", "h", "l", opaque, "T" + meta_exptime(),
                       "N" + meta_exptime(), "R30", "u"},
                      30);
      if (chance(15)) flags.push_back("E" + std::to_string(1 + pick(1000)));
      if (b) flags.push_back("b");
      meta_line("mg " + k, flags, {}, false, -1);
    } else if (what < 65) {
      static const std::vector<std::string> modes = {"E", "A", "P", "R", "S", "e", "a", "p", "r", "s"};
      flags = some_of({"T" + meta_exptime(), "F" + one_of(kFlags), "I", "q", "M" + one_of(modes), "c", "k", opaque},
                      25);
      if (chance(20)) flags.push_back(meta_cas(allow_sync, cas_class));
      if (b) flags.push_back("b");
      const std::string data = value();
      meta_line("ms " + k + " " + std::to_string(data.size()), flags, data, true, cas_class);
    } else if (what < 77) {
      flags = some_of({"q", "I", "T" + meta_exptime(), "k", opaque}, 25);
      if (chance(20)) flags.push_back(meta_cas(allow_sync, cas_class));
      if (b) flags.push_back("b");
      meta_line("md " + k, flags, {}, false, cas_class);
    } else if (what < 92) {
      static const std::vector<std::string> modes = {"I", "+", "D", "-", "i", "d"};
      flags = some_of({"N" + meta_exptime(), "J" + one_of(kDeltas), "D" + one_of(kDeltas), "T" + meta_exptime(),
                       "M" + one_of(modes), "q", "t", "c", "v", "k", opaque},
                      30);
      if (chance(15)) flags.push_back(meta_cas(allow_sync, cas_class));
      if (b) flags.push_back("b");
      meta_line("ma " + k, flags, {}, false, cas_class);
    } else if (what < 97) {
      add("mn\r\n", "mn");
    } else {
      meta_line("me " + k, b ? std::vector<std::string>{"b"} : std::vector<std::string>{}, {}, false, -1);
    }
  }

  void meta_malformed() {
    const std::string k = key();
    std::vector<std::string> lines = {
        "mg\r\n",
        "ms\r\n",
        "md\r\n",
        "ma\r\n",
        "me\r\n",
        "mg " + k + " zz\r\n",
        "mg " + k + " v v v v v v v v v v v v v v v v v v v v v v\r\n",
        "mg " + k + " O" + std::string(32, 'o') + "\r\n",
        "mg " + k + " O" + std::string(31, 'o') + " v\r\n",
        "mg " + k + " Tabc v\r\n",
        "mg " + k + " x v\r\n",
        "mg " + std::string(251, 'y') + " v\r\n",
        "mg !!!! b v\r\n",
        "mg " + k + "= b v\r\n",
        "ms " + k + "\r\n",
        "ms " + k + " abc\r\nxx\r\n",
        "ms " + k + " -1\r\n",
        "ms " + k + " 2 MX\r\nab\r\n",
        "ms " + k + " 2 Fabc\r\nab\r\n",
        "ms " + k + " 2 Cabc\r\nab\r\n",
        "ms " + k + " 3\r\nabcde\r\n",
        "ms " + k + " 5\r\nabc\r\n",
        "ms " + std::string(251, 'y') + " 1\r\nx\r\n",
        "md " + k + " Cabc\r\n",
        "md " + k + " x\r\n",
        "ma " + k + " MX\r\n",
        "ma " + k + " Dabc\r\n",
        "ma " + k + " D-1\r\n",
        "ma " + k + " N0 J18446744073709551616\r\n",
        "mn extra\r\n",
        "MG " + k + " v\r\n",
    };
    const std::string& l = one_of(lines);
    add(l, "malformed '" + escape_bytes(l, 60) + "'");
    add("version\r\n", "version");  // eaten instead of the sentinel if the line left a data block open
  }

  void meta_multiget() {
    static const std::vector<std::size_t> sizes = {10, 10, 100, 1000};
    std::size_t n = one_of(sizes);
    std::string bytes;
    for (std::size_t i = 0; i < n; ++i)
      bytes += "mg " + (chance(30) ? key() : s_.prefix + "m" + std::to_string(pick(n))) + " v f k q\r\n";
    add(bytes + "mn\r\n", std::to_string(n) + " mg q then mn");
  }

  // ---- binary ----

  static std::string be(uint64_t v, int bytes) {
    std::string out;
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return out;
  }
  uint32_t next_opaque() { return opaque_++ & 0x7fffffffu; }  // high bit: sentinels (transport.cc)

  uint32_t bin_exptime() {
    static const std::vector<uint32_t> exps = {0, 0, 0, 0xffffffffu, 2592000, 2592001, 1000000000, 4102444800u, 3600};
    return one_of(exps);
  }

  // A request; `cas_mode` 0: cas 0, 1: a cas placeholder, 2: a bogus cas.
  void bin(uint8_t op, const std::string& name, std::string k, std::string v = {}, std::string extras = {},
           int cas_mode = 0) {
    uint64_t cas = cas_mode == 2 ? kBogusCas : 0;
    int cas_class = cas_mode == 1 ? static_cast<int>(pick(4)) : -1;
    std::string label = name + " key='" + escape_bytes(k, 40) + "'";
    if (!v.empty()) label += " value=" + std::to_string(v.size()) + "B";
    if (!extras.empty()) label += " extras=" + std::to_string(extras.size()) + "B";
    if (cas_mode == 1) label += " cas=<cas>";
    if (cas_mode == 2) label += " cas=bogus";
    add(encode_binary(bin::request(op, std::move(k), std::move(v), std::move(extras), next_opaque(), cas)), label,
        cas_class);
  }

  int cas_mode(bool allow_sync) {
    int r = static_cast<int>(pick(100));
    if (r < 20 && allow_sync) return 1;
    if (r < 25) return 2;
    return 0;
  }

  void binary_command(bool allow_sync) {
    int what = static_cast<int>(pick(100));
    if (what < 25) {
      static const std::vector<std::pair<uint8_t, std::string>> ops = {
          {bin::kGet, "GET"}, {bin::kGetQ, "GETQ"}, {bin::kGetK, "GETK"}, {bin::kGetKQ, "GETKQ"}};
      const auto& [op, name] = one_of(ops);
      bin(op, name, key());
    } else if (what < 50) {
      static const std::vector<std::pair<uint8_t, std::string>> ops = {
          {bin::kSet, "SET"}, {bin::kSetQ, "SETQ"}, {bin::kAdd, "ADD"}, {kAddQ, "ADDQ"}, {bin::kReplace, "REPLACE"},
          {kReplaceQ, "REPLACEQ"}};
      const auto& [op, name] = one_of(ops);
      static const std::vector<uint32_t> flags = {0, 0, 1, 7, 0xffffffffu};
      bin(op, name, key(), value(), bin::set_extras(one_of(flags), bin_exptime()), cas_mode(allow_sync));
    } else if (what < 60) {
      static const std::vector<std::pair<uint8_t, std::string>> ops = {
          {bin::kAppend, "APPEND"}, {kAppendQ, "APPENDQ"}, {bin::kPrepend, "PREPEND"}, {kPrependQ, "PREPENDQ"}};
      const auto& [op, name] = one_of(ops);
      bin(op, name, key(), value(), {}, cas_mode(allow_sync));
    } else if (what < 70) {
      static const std::vector<std::pair<uint8_t, std::string>> ops = {
          {bin::kIncrement, "INCR"}, {kIncrementQ, "INCRQ"}, {bin::kDecrement, "DECR"}, {kDecrementQ, "DECRQ"}};
      const auto& [op, name] = one_of(ops);
      static const std::vector<uint64_t> deltas = {1, 1, 0, 5, 1000, 0xffffffffffffffffull};
      static const std::vector<uint64_t> initials = {0, 10, 0xffffffffffffffffull};
      bin(op, name, key(), {}, be(one_of(deltas), 8) + be(one_of(initials), 8) + be(bin_exptime(), 4),
          cas_mode(allow_sync));
    } else if (what < 77) {
      static const std::vector<std::pair<uint8_t, std::string>> ops = {{bin::kDelete, "DELETE"}, {kDeleteQ, "DELETEQ"}};
      const auto& [op, name] = one_of(ops);
      bin(op, name, key(), {}, {}, cas_mode(allow_sync));
    } else if (what < 87) {
      static const std::vector<std::pair<uint8_t, std::string>> ops = {
          {kTouch, "TOUCH"}, {kGat, "GAT"}, {kGatQ, "GATQ"}};
      const auto& [op, name] = one_of(ops);
      bin(op, name, key(), {}, be(bin_exptime(), 4));
    } else if (what < 92) {
      bin(bin::kNoop, "NOOP", {});
    } else if (what < 96) {
      bin(bin::kVersion, "VERSION", {});
    } else {
      static const std::vector<std::pair<uint8_t, std::string>> ops = {{bin::kFlush, "FLUSH"}, {kFlushQ, "FLUSHQ"}};
      const auto& [op, name] = one_of(ops);
      int e = static_cast<int>(pick(3));
      bin(op, name, {}, {}, e == 0 ? std::string() : be(e == 1 ? 0 : 3600, 4));
    }
  }

  void any_command(bool allow_sync = true) {
    if (s_.protocol == Protocol::Ascii) {
      ascii_command(allow_sync);
    } else {
      binary_command(allow_sync);
    }
  }

  // ---- boundaries ----

  std::string key_of_length(std::size_t n) {
    if (n <= s_.prefix.size()) return std::string(n, 'b');
    return s_.prefix + std::string(n - s_.prefix.size(), 'x');
  }

  void boundary_command() {
    static const std::vector<std::size_t> key_lens = {0, 1, 250, 250, 251};
    std::size_t klen = chance(50) ? keys_[0].size() : one_of(key_lens);
    std::string k = klen == keys_[0].size() ? keys_[0] : key_of_length(klen);
    bool flags = chance(30);
    std::size_t max = max_value_size(k.size(), flags);
    // Big values are rare: each costs a MiB per side.
    static const std::vector<int> kinds = {0, 1, 0, 1, 2, 3, 4, 5, 6};
    std::size_t vlen = 0;
    switch (one_of(kinds)) {
      case 0: vlen = 0; break;
      case 1: vlen = 1; break;
      case 2: vlen = max; break;
      case 3: vlen = max + 1; break;
      case 4: vlen = 1048575; break;
      case 5: vlen = 1048576; break;
      default: vlen = 1048577; break;
    }
    std::string data(vlen, 'v');
    if (s_.protocol == Protocol::Ascii) {
      static const std::vector<std::string> cmds = {"set", "set", "add", "append", "replace"};
      ascii_storage(one_of(cmds), k, flags ? "3" : "0", one_of(kExptimes), data, false);
      std::string line = "get " + k;
      add(line + "\r\n", line);
      if (chance(50)) {
        std::string touch = "touch " + k + " " + one_of(kExptimes);
        add(touch + "\r\n", touch);
      }
    } else {
      bin(chance(70) ? bin::kSet : bin::kSetQ, "SET", k, data, bin::set_extras(flags ? 3 : 0, bin_exptime()));
      bin(bin::kGetK, "GETK", k);
      if (chance(50)) bin(kTouch, "TOUCH", k, {}, be(bin_exptime(), 4));
    }
  }

  // ---- malformed ----

  void ascii_malformed() {
    const std::string k = key();
    std::vector<std::string> lines = {
        "\n",
        "\r\n",
        "get\r\n",
        "gets\r\n",
        "gat 0\r\n",
        "gat\r\n",
        "gat abc " + k + "\r\n",
        "set " + k + " 0 0\r\n",
        "set " + k + "\r\n",
        "set " + k + " 0 0 1 noreply extra\r\nx\r\n",
        "set " + k + " abc 0 1\r\nx\r\n",
        "set " + k + " 0 abc 1\r\nx\r\n",
        "set " + k + " 0 0 abc\r\nx\r\n",
        "set " + k + " 0 0 -1\r\n",
        "set " + k + " 4294967296 0 1\r\nx\r\n",
        "set " + k + " 0 99999999999999999999 1\r\nx\r\n",
        "set " + k + " 0 0 3\r\nabcde\r\n",
        "set " + k + " 0 0 5\r\nabc\r\n",
        "cas " + k + " 0 0 1\r\nx\r\n",
        "cas " + k + " 0 0 1 abc\r\nx\r\n",
        "incr " + k + "\r\n",
        "incr " + k + " abc\r\n",
        "incr " + k + " -1\r\n",
        "incr " + k + " 18446744073709551616\r\n",
        "decr " + k + " 1 2 3\r\n",
        "delete\r\n",
        "delete " + k + " 1\r\n",
        "delete " + k + " noreply extra\r\n",
        "touch " + k + "\r\n",
        "touch " + k + " abc\r\n",
        "flush_all abc\r\n",
        "flush_all 0 noreply extra\r\n",
        "verbosity\r\n",
        "verbosity invalid\r\n",
        "verbosity 1 2 3\r\n",
        "version extra\r\n",
        "slabs automove invalid\r\n",
        "foo bar\r\n",
        "GET " + k + "\r\n",
        "get " + std::string(251, 'y') + "\r\n",
        "set " + std::string(251, 'y') + " 0 0 1\r\nx\r\n",
        "get " + k + " " + k + "\r\n",
        std::string("\x01\x02\xfe\xff garbage\r\n", 15),
        "get " + k + "\r\nget " + k,  // no CRLF: completed by whatever follows
        // Longer than memcached's 16 KiB read buffer: it gives up on the
        // line (and closes) whatever the segmentation; a 3000-byte line
        // would depend on whether it arrived in one read.
        std::string(20000, 'z') + "\r\n",
    };
    const std::string& l = one_of(lines);
    add(l, "malformed '" + escape_bytes(l, 60) + "'");
    // A malformed command may leave the server inside a data block or an
    // unfinished line; this filler is what gets eaten then, not the
    // sentinel (which would make both sides hang until the deadline).
    add("version\r\n", "version");
  }

  void binary_malformed() {
    int what = static_cast<int>(pick(9));
    BinaryPacket p = bin::request(bin::kGet, key(), {}, {}, next_opaque());
    std::string label;
    switch (what) {
      case 0: {  // unknown opcodes
        // Not the Couchbase opcodes moxi passes to vBucket buckets: memcached, the
        // backend here, would drop the connection every run shares.
        static const std::vector<uint8_t> ops = {0x1b, 0x30, 0x3f, 0x41, 0x9e, 0xfe};
        p.opcode = one_of(ops);
        label = "unknown opcode";
        break;
      }
      case 1:  // a GET with extras, a SET without
        if (chance(50)) {
          p.extras = be(0, 4);
          label = "GET with extras";
        } else {
          p.opcode = bin::kSet;
          p.value = "v";
          label = "SET without extras";
        }
        break;
      case 2:
        p.key = std::string(251, 'y');
        label = "GET with a 251-byte key";
        break;
      case 3:
        p.key.clear();
        p.opcode = chance(50) ? bin::kGet : bin::kSet;
        if (p.opcode == bin::kSet) p.extras = bin::set_extras(0, 0);
        label = "empty key";
        break;
      case 4:
        p.datatype = 0x01;
        label = "datatype 1";
        break;
      case 5: {  // lengths that do not add up: keylen beyond the body
        p.keylen = static_cast<uint16_t>(p.key.size() + 10);
        p.extlen = 0;
        p.bodylen = static_cast<uint32_t>(p.key.size());
        add(encode_binary_raw(p), "keylen > bodylen");
        // memcached may wait for the rest of it: only a half-close ends this
        // stream without both sides idling until the deadline.
        s_.end = EndMode::HalfClose;
        return;
      }
      case 6: {  // wrong magic: memcached closes
        std::string bytes = encode_binary(p);
        static const std::vector<uint8_t> magics = {0x81, 0x00, 0x7f, 0x82};
        bytes[0] = static_cast<char>(one_of(magics));
        add(bytes, "wrong magic");
        return;
      }
      case 7: {  // a frame that never ends: only a half-close can end the stream
        std::string bytes = encode_binary(bin::request(bin::kSet, key(), "abcdef", bin::set_extras(0, 0), next_opaque()));
        bytes.resize(kBinaryHeaderSize + pick(bytes.size() - kBinaryHeaderSize));
        if (chance(30)) bytes.resize(pick(kBinaryHeaderSize));
        add(bytes, "truncated frame");
        s_.end = EndMode::HalfClose;
        return;
      }
      default: {  // a header announcing a huge body, then the stream ends
        p.opcode = bin::kSet;
        p.extras = bin::set_extras(0, 0);
        p.keylen = static_cast<uint16_t>(p.key.size());
        p.extlen = 8;
        p.bodylen = 0x7fffffffu;
        add(encode_binary_raw(p), "bodylen 2^31-1");
        s_.end = EndMode::HalfClose;
        return;
      }
    }
    add(encode_binary(p), label + " (op " + std::to_string(p.opcode) + ")");
  }

  void malformed_command() {
    if (s_.end != EndMode::Sentinel) return;  // nothing may follow a never-ending frame
    if (s_.protocol == Protocol::Ascii) {
      if (meta_share_ > 0 && chance(60)) return meta_malformed();
      ascii_malformed();
    } else {
      binary_malformed();
    }
  }

  // ---- multiget ----

  void multiget() {
    static const std::vector<std::size_t> sizes = {10, 10, 100, 1000, 1000, 5000, 20000};
    std::size_t n = one_of(sizes);
    // Keys that exist are mixed with misses and duplicates.
    std::vector<std::string> ks;
    for (std::size_t i = 0; i < n; ++i)
      ks.push_back(chance(30) ? key() : s_.prefix + "m" + std::to_string(pick(n)));
    if (s_.protocol == Protocol::Ascii && meta_share_ > 0 && chance(60)) {
      meta_multiget();
    } else if (s_.protocol == Protocol::Ascii) {
      std::string line = chance(30) ? "gets" : "get";
      for (const auto& k : ks) line += " " + k;
      add(line + "\r\n", "get of " + std::to_string(n) + " keys");
    } else {
      std::string bytes;
      for (const auto& k : ks) bytes += encode_binary(bin::request(bin::kGetKQ, k, {}, {}, next_opaque()));
      bytes += encode_binary(bin::request(bin::kNoop, {}, {}, {}, next_opaque()));
      add(bytes, std::to_string(n) + " GETKQ then NOOP");
    }
  }

  void quit() {
    if (s_.protocol == Protocol::Ascii) {
      add("quit\r\n", "quit");
    } else if (chance(50)) {
      bin(bin::kQuit, "QUIT", {});
    } else {
      bin(kQuitQ, "QUITQ", {});
    }
    s_.end = EndMode::Quit;
  }

  std::mt19937_64 rng_;
  Stream s_;
  std::vector<std::string> keys_;
  uint32_t opaque_ = 0;
  int meta_share_ = 0;  // ascii: the percent of commands that are meta commands
};

}  // namespace

Stream generate(uint64_t seed) { return Gen(seed).run(); }

}  // namespace moxi::test::diff
