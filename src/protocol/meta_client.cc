// Meta commands from clients, as memcached 1.6.18 reads and answers them
// (the reference the tests compare with byte for byte):
//  * mg/ms/md/ma need a key (else ERROR); me without one is "CLIENT_ERROR
//    bad command line format". The 250-byte key limit applies to the key
//    token as written, so a base64 (b) key decodes to at most 187 bytes.
//  * 20 tokens or more: "CLIENT_ERROR options flags are too long" (mg) or
//    "... options flags too long" (ms, md, ma).
//  * Flags are checked in order: a repeated first letter (or a byte >= 127)
//    is "duplicate flag" and an unknown one "invalid flag", at once; a bad
//    token (N T R C: "bad token in command line format"; F: "bad command line
//    format"; M: "incorrect length for M token"; J: "invalid numeric initial
//    value"; D: "invalid numeric delta value"; b: "error decoding key") lets
//    the scan go on and the last one is reported. md and ma report every flag
//    error as "invalid or duplicate flag". Then the mode (ms: E A P R S; ma:
//    I + D -; anything else "invalid mode for ms M token" / "... ma M token";
//    mg and md ignore M),
//    then an opaque longer than 31 bytes ("opaque token too long").
//  * ms: a missing, negative or non-numeric length is "bad command line
//    format" and its data block is NOT skipped (memcached reads it as the
//    next command); an error found after the length swallows the block; a
//    block too large is "SERVER_ERROR object too large for cache", swallowed,
//    and the old item is unlinked.
//  * Flags memcached 1.6.18 does not know (E, x) are invalid flags here too.
//  * ms's C by mode: S (and none) and R compare it as a cas does (C0 fails:
//    EX, or NF for a missing key), E ignores it, A and P compare only a
//    non-zero one (C0 is none).
// Replies (for a meta backend, the server's own, relayed):
//  * return flags follow the request's order: O (echoed), k (the key; a b
//    key re-encoded, then " b"), and on an item s, c, f; ms answers c on
//    every outcome (c0 when nothing was stored); EN, NF, NS and EX carry O
//    and k only.
//  * q elides mg's EN, ms's and md's HD, and ma's HD or VA, except for a
//    counter that N just created. A binary or ascii backend cannot say
//    whether it created the counter: the counter counts as created when its
//    value is J's initial value.
//  * One deliberate difference: memcached answers k on a hit with the key in
//    the form it was STORED (a key stored plainly and read with b comes back
//    plain); moxi answers it as the client sent it, unless a meta backend
//    relays memcached's own reply.
#include "src/protocol/meta_client.h"

#include <openssl/evp.h>

#include <array>
#include <climits>
#include <cstdio>
#include <string>

#include "src/protocol/ascii_numbers.h"
#include "src/protocol/status_text.h"
#include "src/protocol/wire_util.h"

namespace moxi::protocol {
namespace {

constexpr std::string_view kBadFormat = "bad command line format";
constexpr std::string_view kBadToken = "bad token in command line format";
constexpr size_t kTooManyTokens = 20;      // memcached: ntokens (with its terminal one) > 20
constexpr size_t kMaxOpaqueToken = 32;     // 'O' and at most 31 bytes
constexpr uint64_t kNeverIssuedCas = UINT64_MAX;  // C0: memcached compares 0, which no item has

// A decode error of an ascii request.
void set_invalid(Request& req, ErrorClass cls, std::string_view text) {
  req.protocol = Protocol::Ascii;
  req.make_invalid(cls, text);
}

MetaCommand command_of(std::string_view name) {
  if (name == "mg") return MetaCommand::Get;
  if (name == "ms") return MetaCommand::Set;
  if (name == "md") return MetaCommand::Delete;
  if (name == "ma") return MetaCommand::Arithmetic;
  if (name == "me") return MetaCommand::Debug;
  return MetaCommand::None;
}

// memcached's flag pre-parse of tokens[first..]: the flags go to req.meta
// (a b key is decoded into req's key bytes). Returns "" or the error text.
std::string_view parse_flags(std::span<const std::string_view> tokens, size_t first, Request& req) {
  MetaRequest& meta = req.meta;
  std::array<bool, 127> seen{};
  bool failed = false;
  std::string_view error = kBadFormat;
  for (size_t i = first; i < tokens.size(); ++i) {
    const std::string_view tok = tokens[i];
    const auto letter = static_cast<unsigned char>(tok[0]);
    if (letter >= seen.size() || seen[letter]) return "duplicate flag";
    seen[letter] = true;
    const std::string_view arg = tok.substr(1);
    auto bad = [&](std::string_view text) {
      failed = true;
      error = text;
    };
    int32_t i32 = 0;
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    switch (letter) {
      case 'b':
        meta.base64_key = true;
        if (!decode_meta_base64_key(tokens[1], req.key_bytes)) bad("error decoding key");
        break;
      case 'N':
      case 'T':
      case 'R':
        if (!parse_i32(arg, i32)) bad(kBadToken);
        break;
      case 'C':
        if (!parse_u64(arg, u64)) bad(kBadToken);
        break;
      case 'F':
        if (!parse_u32(arg, u32)) failed = true;  // memcached leaves its default text
        break;
      case 'M':
        if (tok.size() != 2) {
          bad("incorrect length for M token");
        } else {
          meta.mode = tok[1];
        }
        break;
      case 'J':
        if (!parse_u64(arg, u64)) bad("invalid numeric initial value");
        break;
      case 'D':
        if (!parse_u64(arg, u64)) bad("invalid numeric delta value");
        break;
      case 'q':
        meta.quiet = true;
        break;
      case 'c': case 'f': case 'h': case 'I': case 'k': case 'l': case 'L': case 'O':
      case 'P': case 's': case 't': case 'u': case 'v':
        break;
      default:
        return "invalid flag";
    }
    meta.flags.push_back({static_cast<char>(letter), std::string(arg)});
  }
  return failed ? error : std::string_view();
}

bool valid_mode(MetaCommand command, char mode) {
  static constexpr std::string_view kSetModes = "EAPRS";
  static constexpr std::string_view kArithmeticModes = "I+D-";
  // mg and md take an M token and ignore it (memcached: "md k MX" is HD or NF).
  if (mode == 0 || (command != MetaCommand::Set && command != MetaCommand::Arithmetic)) return true;
  return (command == MetaCommand::Set ? kSetModes : kArithmeticModes).find(mode) != std::string_view::npos;
}

// The flag's numeric token, parsed as the pre-parse already accepted it.
int32_t i32_of(const MetaRequest& meta, char letter, int32_t fallback) {
  const MetaRequest::Flag* f = meta.find(letter);
  int32_t v = fallback;
  if (f) parse_i32(f->token, v);
  return v;
}
uint64_t u64_of(const MetaRequest& meta, char letter, uint64_t fallback) {
  const MetaRequest::Flag* f = meta.find(letter);
  uint64_t v = fallback;
  if (f) parse_u64(f->token, v);
  return v;
}

// The op a valid meta request maps to, with its arguments.
void map_to_op(Request& req) {
  const MetaRequest& meta = req.meta;
  const bool has_cas = meta.has('C');
  uint64_t cas = u64_of(meta, 'C', 0);
  if (has_cas && cas == 0) cas = kNeverIssuedCas;
  switch (meta.command) {
    case MetaCommand::Get:
      req.op = meta.has('T') ? Op::Gat : Op::Get;
      req.exptime = i32_of(meta, 'T', 0);
      req.want_cas = true;
      break;
    case MetaCommand::Set: {
      switch (meta.mode) {
        case 'E': req.op = Op::Add; break;          // memcached's add ignores a cas
        case 'A': req.op = Op::Append; break;
        case 'P': req.op = Op::Prepend; break;
        case 'R': req.op = has_cas ? Op::Set : Op::Replace; break;  // replace + cas is a cas
        default: req.op = Op::Set; break;
      }
      // C by mode, as memcached 1.6.18 reads it: a set or replace compares
      // it (C0 as a cas no item has: it fails), an add ignores it, an append
      // or prepend compares only a non-zero one (C0 is none, as for ma).
      if (req.op == Op::Append || req.op == Op::Prepend) {
        req.cas = u64_of(meta, 'C', 0);
      } else if (req.op != Op::Add) {
        req.cas = cas;
      }
      uint32_t flags = 0;
      if (const MetaRequest::Flag* f = meta.find('F')) parse_u32(f->token, flags);
      req.flags = flags;
      req.exptime = i32_of(meta, 'T', 0);
      break;
    }
    case MetaCommand::Delete:
      req.op = Op::Delete;
      req.cas = cas;
      break;
    case MetaCommand::Arithmetic:
      req.op = meta.mode == 'D' || meta.mode == '-' ? Op::Decr : Op::Incr;
      req.delta = u64_of(meta, 'D', 1);
      req.cas = cas;
      req.create = meta.has('N');
      req.initial = u64_of(meta, 'J', 0);
      // Unlike ms and md, memcached's ma takes C0 as no cas at all
      // (do_add_delta compares only a non-zero cas): "ma k C0" increments.
      if (!has_cas || u64_of(meta, 'C', 0) == 0) req.cas = 0;
      req.exptime = i32_of(meta, 'N', 0);
      break;
    case MetaCommand::Debug:
      req.op = Op::Get;
      break;
    case MetaCommand::None:
      break;
  }
}

MetaLine done() { return {}; }

MetaLine decode_debug(std::span<const std::string_view> tokens, std::string_view line, const Limits& limits,
                      Request& req) {
  // memcached's process_meta_command: "me <key> [b]", b only as the 2nd token.
  if (tokens.size() < 2 || tokens[1].size() > limits.max_key_length) {
    if (tokens.size() >= 2) req.limit = Limit::KeyLength;
    set_invalid(req, ErrorClass::ClientError, kBadFormat);
    return done();
  }
  if (tokens.size() >= 3 && tokens[2] == "b") {
    req.meta.base64_key = true;
    if (!decode_meta_base64_key(tokens[1], req.key_bytes)) {
      set_invalid(req, ErrorClass::ClientError, kBadFormat);
      return done();
    }
    req.keys.push_back(KeySpan{0, static_cast<uint32_t>(req.key_bytes.size())});
  } else {
    req.add_key(tokens[1]);
  }
  req.meta.line.assign(line);
  map_to_op(req);
  return done();
}

}  // namespace

bool decode_meta_base64_key(std::string_view text, std::string& out) {
  auto value_of = [](unsigned char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    if (c == '=') return 0;
    return -1;
  };
  size_t count = 0;
  for (unsigned char c : text)
    if (value_of(c) >= 0) ++count;
  out.clear();
  if (count == 0 || count % 4 != 0) return false;
  std::array<int, 4> quantum{};
  size_t have = 0;
  int pad = 0;
  for (unsigned char c : text) {
    const int v = value_of(c);
    if (v < 0) continue;
    if (c == '=') ++pad;
    quantum[have++] = v;
    if (have < 4) continue;
    have = 0;
    const char bytes[3] = {static_cast<char>((quantum[0] << 2) | (quantum[1] >> 4)),
                           static_cast<char>((quantum[1] << 4) | (quantum[2] >> 2)),
                           static_cast<char>((quantum[2] << 6) | quantum[3])};
    if (pad > 2) {
      out.clear();
      return false;
    }
    out.append(bytes, 3 - static_cast<size_t>(pad));
    if (pad > 0) break;
  }
  return !out.empty();
}

MetaLine decode_meta_line(std::span<const std::string_view> tokens, bool more, std::string_view line,
                          const Limits& limits, Request& req) {
  const MetaCommand command = command_of(tokens[0]);
  req.protocol = Protocol::Ascii;
  req.meta.command = command;
  if (command == MetaCommand::Debug) return decode_debug(tokens, line, limits, req);
  const size_t n = more ? kTooManyTokens + 1 : tokens.size();
  if (n < 2) {
    set_invalid(req, ErrorClass::Error, "");
    return done();
  }
  const std::string_view key = tokens[1];
  if (key.size() > limits.max_key_length) {
    req.limit = Limit::KeyLength;
    set_invalid(req, ErrorClass::ClientError, kBadFormat);
    return done();
  }
  const bool set = command == MetaCommand::Set;
  if (set && n == 2) {
    set_invalid(req, ErrorClass::ClientError, kBadFormat);
    return done();
  }
  if (n >= kTooManyTokens) {
    set_invalid(req, ErrorClass::ClientError,
                command == MetaCommand::Get ? "options flags are too long" : "options flags too long");
    return done();
  }
  int32_t length = 0;
  if (set && (!parse_i32(tokens[2], length) || length < 0 || length > INT_MAX - 2)) {
    set_invalid(req, ErrorClass::ClientError, kBadFormat);
    return done();
  }
  const size_t data_length = static_cast<size_t>(length);
  auto refuse = [&](std::string_view text) {
    set_invalid(req, ErrorClass::ClientError, text);
    return set ? MetaLine{MetaLine::Next::SwallowData, data_length} : done();
  };
  std::string_view error = parse_flags(tokens, set ? 3 : 2, req);
  if (!error.empty()) {
    const bool terse = command == MetaCommand::Delete || command == MetaCommand::Arithmetic;
    return refuse(terse ? "invalid or duplicate flag" : error);
  }
  if (!valid_mode(command, req.meta.mode))
    return refuse(set ? "invalid mode for ms M token" : "invalid mode for ma M token");
  for (const auto& f : req.meta.flags)
    if (f.letter == 'O' && f.token.size() + 1 > kMaxOpaqueToken) return refuse("opaque token too long");
  if (req.meta.base64_key) {
    req.keys.push_back(KeySpan{0, static_cast<uint32_t>(req.key_bytes.size())});
  } else {
    req.add_key(key);
  }
  req.meta.line.assign(line);
  map_to_op(req);
  return set ? MetaLine{MetaLine::Next::ReadData, data_length} : done();
}

// ---------------------------------------------------------------------------
// Replies

namespace {

// " k<key>", and " b" after a base64 key (re-encoded: memcached's form).
void write_key_flag(const Request& req, wire::LineWriter& w) {
  w.str(" k");
  const std::string_view key = req.key(0);
  if (!req.meta.base64_key) {
    w.str(key);
    return;
  }
  std::array<unsigned char, 4 * ((256 + 2) / 3) + 1> text{};
  const int n = EVP_EncodeBlock(text.data(), reinterpret_cast<const unsigned char*>(key.data()),
                                static_cast<int>(key.size()));
  w.str(std::string_view(reinterpret_cast<const char*>(text.data()), static_cast<size_t>(n))).str(" b");
}

// The return flags in request order: O and k always; s and f of `item`
// when given (mg's hit); c when `cas` is given (an item's, or ms's 0 when
// nothing was stored).
void write_return_flags(const Request& req, const Result* item, const uint64_t* cas, wire::LineWriter& w) {
  for (const auto& f : req.meta.flags) {
    switch (f.letter) {
      case 'O': w.str(" O").str(f.token); break;
      case 'k': write_key_flag(req, w); break;
      case 's':
        if (item) w.str(" s").u64(item->value.size());
        break;
      case 'c':
        if (cas) w.str(" c").u64(*cas);
        break;
      case 'f':
        if (item) w.str(" f").u64(item->flags);
        break;
      default:
        break;
    }
  }
}

void write_error(const Request& req, const Result& r, ByteChain& out) {
  wire::LineWriter w(out);
  if (r.error_class == ErrorClass::Error) {
    w.str("ERROR\r\n");
    return;
  }
  if (r.error_class != ErrorClass::None) {
    w.str(r.error_class == ErrorClass::ClientError ? "CLIENT_ERROR " : "SERVER_ERROR ").str(r.message).crlf();
    return;
  }
  w.str(ascii_status_line(req.op, req.cas != 0, r.status)).crlf();
}

// A relayed meta backend reply: the line, and for VA its data block.
void write_relayed(const Result& r, ByteChain& out) {
  if (r.message.empty()) return;  // elided by q
  wire::LineWriter w(out);
  w.str(r.message).crlf();
  if (r.message.starts_with("VA ")) {
    w.flush();
    r.value.move_to(out);
    out.append("\r\n", 2);
  }
}

// "VA <length> <flags>" and the data, or "HD <flags>" without v: mg's hit
// (the item's value) or ma's success (`number`, the counter's new value).
void write_value_reply(const Request& req, const Result& r, const std::string_view* number, ByteChain& out) {
  const bool value = req.meta.has('v');
  wire::LineWriter w(out);
  if (value) {
    w.str("VA ").u64(number ? number->size() : r.value.size());
  } else {
    w.str("HD");
  }
  write_return_flags(req, number ? nullptr : &r, &r.cas, w);
  w.crlf();
  if (!value) return;
  if (number) {
    w.str(*number);
  } else if (r.value.is_small()) {
    w.str(r.value.small());
  } else {
    w.flush();
    r.value.move_to(out);
  }
  w.crlf();
}

// A reply without an item: the code and the O and k flags (and c: `cas`).
void write_code(const Request& req, std::string_view code, const uint64_t* cas, ByteChain& out) {
  wire::LineWriter w(out);
  w.str(code);
  write_return_flags(req, nullptr, cas, w);
  w.crlf();
}

}  // namespace

void encode_meta_reply(const Request& req, ByteChain& out) {
  const Result& r = req_result(req, 0);
  if (r.meta_reply) {
    write_relayed(r, out);
    return;
  }
  const bool quiet = req.meta.quiet;
  if (r.error_class != ErrorClass::None) {
    write_error(req, r, out);
    return;
  }
  static constexpr uint64_t kNoCas = 0;
  switch (req.meta.command) {
    case MetaCommand::Get:
    case MetaCommand::Debug:  // only a meta backend carries me (refused before for the others)
      if (r.hit) {
        write_value_reply(req, r, nullptr, out);
      } else if (r.status == Status::KeyNotFound) {
        if (!quiet) write_code(req, "EN", nullptr, out);
      } else {
        write_error(req, r, out);
      }
      return;
    case MetaCommand::Set:
      switch (r.status) {
        case Status::Success:
          if (!quiet) write_code(req, "HD", &r.cas, out);
          return;
        case Status::KeyExists: write_code(req, req.op == Op::Add ? "NS" : "EX", &kNoCas, out); return;
        case Status::KeyNotFound: write_code(req, req.cas != 0 ? "NF" : "NS", &kNoCas, out); return;
        case Status::NotStored: write_code(req, "NS", &kNoCas, out); return;
        default: write_error(req, r, out); return;
      }
    case MetaCommand::Delete:
      switch (r.status) {
        case Status::Success:
          if (!quiet) write_code(req, "HD", nullptr, out);
          return;
        case Status::KeyNotFound: write_code(req, "NF", nullptr, out); return;
        case Status::KeyExists: write_code(req, "EX", nullptr, out); return;
        default: write_error(req, r, out); return;
      }
    case MetaCommand::Arithmetic:
      switch (r.status) {
        case Status::Success: {
          const bool created = req.create && r.number == req.initial;
          if (quiet && !created) return;
          char digits[24];
          const int n = std::snprintf(digits, sizeof digits, "%llu", static_cast<unsigned long long>(r.number));
          const std::string_view number(digits, static_cast<size_t>(n));
          write_value_reply(req, r, &number, out);
          return;
        }
        case Status::KeyNotFound: write_code(req, "NF", nullptr, out); return;
        case Status::KeyExists: write_code(req, "EX", nullptr, out); return;
        default: write_error(req, r, out); return;
      }
    case MetaCommand::None:
      return;
  }
}

}  // namespace moxi::protocol
