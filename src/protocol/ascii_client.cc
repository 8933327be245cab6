// memcached ascii protocol, client side (client -> proxy requests, proxy ->
// client replies).
//
// Decoding follows memcached 1.6's proto_text.c token for token, so malformed
// input gets the same answer and leaves the connection in the same state:
//  * the line ends at '\n'; one '\r' before it is dropped; the line is cut at
//    its first NUL (memcached tokenizes with strlen); tokens are separated by
//    spaces only;
//  * numbers are parsed like memcached's safe_strto* (ascii_numbers.h),
//    including its 32-bit truncation;
//  * token-count errors give "ERROR"; a key over 250 bytes or a bad number
//    gives "CLIENT_ERROR bad command line format" (or the command's own text:
//    "invalid exptime argument", "invalid numeric delta argument", the delete
//    usage line); after such an error the value line, if any, is NOT skipped:
//    memcached reads it as the next command (and answers ERROR), and so do we;
//  * a negative or > INT_MAX-2 value length is "bad command line format"; a
//    value larger than Limits::max_value_length is
//    "SERVER_ERROR object too large for cache" and its <bytes>+2 bytes are
//    swallowed;
//  * a value whose last two bytes are not "\r\n" is "CLIENT_ERROR bad data
//    chunk" (exactly <bytes>+2 bytes are consumed, as memcached does);
//  * noreply, once seen in its position, silences errors too (memcached's
//    out_string skips the reply);
//  * an unknown command whose last token starts with "HTTP/" closes the
//    connection silently (memcached's guard against HTTP clients).
//
// Over-long lines: memcached closes the connection when more than 2048 bytes
// are buffered without a newline, unless the line starts with "get " or
// "gets " (multigets may be long). What it does with a long line that arrives
// in one read depends on TCP segmentation, which a proxy must not inherit, so
// the rule here is the deterministic worst case: a line longer than
// Limits::max_line_length is too long. Unlike memcached we say why before
// closing ("CLIENT_ERROR line too long", then close), and we also allow long
// "gat"/"gats" lines (memcached closes on those, an accident of its prefix
// check). Get lines are bounded by Limits::max_multiget_line and
// Limits::max_keys (beyond: "CLIENT_ERROR line too long" and close, or
// "CLIENT_ERROR too many keys"); memcached has no bound at all.
//
// Other deliberate differences: the meta commands (mg, ms, ...) and
// memcached's admin commands (slabs, lru_crawler, watch, shutdown, ...) get
// "ERROR"; "cas" with unique 0 (which memcached can never satisfy) is sent on
// as the never-issued unique UINT64_MAX, so backends answer EXISTS/NOT_FOUND
// as memcached would, rather than it becoming an unconditional set.
#include <event2/buffer.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <string_view>

#include "src/protocol/ascii_numbers.h"
#include "src/protocol/client_codec.h"
#include "src/protocol/status_text.h"
#include "src/protocol/wire_util.h"

namespace moxi::protocol {
namespace {

constexpr std::string_view kBadFormat = "bad command line format";
constexpr std::string_view kBadExptime = "invalid exptime argument";
constexpr std::string_view kBadDelta = "invalid numeric delta argument";
constexpr std::string_view kDeleteUsage = "bad command line format.  Usage: delete <key> [noreply]";
constexpr std::string_view kTooLarge = "object too large for cache";
constexpr std::string_view kBadChunk = "bad data chunk";
constexpr std::string_view kLineTooLong = "line too long";
constexpr std::string_view kTooManyKeys = "too many keys";

// memcached tokenizes at most 24 tokens (incl. its terminal token) per pass;
// every fixed-arity command is rejected long before that, so 24 real tokens
// are plenty to decide, and `more` records that the line had even more.
constexpr size_t kMaxTokens = 24;

struct Tokens {
  std::array<std::string_view, kMaxTokens> t;
  size_t n = 0;
  bool more = false;
  // memcached's ntokens minus its terminal token; saturates when `more`.
  size_t count() const { return more ? kMaxTokens + 1 : n; }
  std::string_view last() const { return t[n - 1]; }
};

// The end of the token starting at `i`: the next space, or the end. memchr
// rather than a byte loop: keys are most of a line's bytes.
size_t token_end(std::string_view s, size_t i) {
  const void* sp = std::memchr(s.data() + i, ' ', s.size() - i);
  return sp ? static_cast<size_t>(static_cast<const char*>(sp) - s.data()) : s.size();
}

// Calls f(token) for each space-separated token of `s`.
template <typename F>
void for_each_token(std::string_view s, F&& f) {
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i == s.size()) break;
    size_t start = i;
    i = token_end(s, i);
    if (!f(s.substr(start, i - start))) return;
  }
}

void tokenize(std::string_view line, Tokens& out) {
  out.n = 0;
  out.more = false;
  for_each_token(line, [&](std::string_view t) {
    if (out.n == kMaxTokens) {
      out.more = true;
      return false;
    }
    out.t[out.n++] = t;
    return true;
  });
}

// Text after the first `skip` tokens of `line` (for get keys, stats args).
std::string_view after_tokens(std::string_view line, size_t skip) {
  size_t i = 0;
  for (size_t k = 0; k < skip; ++k) {
    while (i < line.size() && line[i] == ' ') ++i;
    while (i < line.size() && line[i] != ' ') ++i;
  }
  return line.substr(i);
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

enum class Verb {
  Unknown,
  Get, Gets, Gat, Gats,
  Set, Add, Replace, Append, Prepend, Cas,
  Incr, Decr, Delete, Touch, FlushAll, Version, Quit, Verbosity, Stats,
  KnownOther,  // a command memcached knows that the proxy does not serve: ERROR
};

Verb classify(std::string_view cmd) {
  switch (cmd[0]) {
    case 'g':
      if (cmd == "get") return Verb::Get;
      if (cmd == "gets") return Verb::Gets;
      if (cmd == "gat") return Verb::Gat;
      if (cmd == "gats") return Verb::Gats;
      return Verb::KnownOther;  // memcached's 'g' branch answers ERROR, never the HTTP check
    case 's':
      if (cmd == "set") return Verb::Set;
      if (cmd == "stats") return Verb::Stats;
      return Verb::KnownOther;
    case 'a':
      if (cmd == "add") return Verb::Add;
      if (cmd == "append") return Verb::Append;
      return Verb::KnownOther;
    case 'c':
      if (cmd == "cas") return Verb::Cas;
      return Verb::KnownOther;
    case 'i':
      if (cmd == "incr") return Verb::Incr;
      return Verb::KnownOther;
    case 'd':
      if (cmd == "delete") return Verb::Delete;
      if (cmd == "decr") return Verb::Decr;
      return Verb::KnownOther;
    case 't':
      if (cmd == "touch") return Verb::Touch;
      return Verb::KnownOther;
    case 'm':
      if (cmd.size() == 2) return Verb::KnownOther;  // meta commands
      break;
    default:
      break;
  }
  if (cmd == "replace") return Verb::Replace;
  if (cmd == "prepend") return Verb::Prepend;
  if (cmd == "bget") return Verb::Get;  // ancient alias memcached still honours
  if (cmd == "flush_all") return Verb::FlushAll;
  if (cmd == "version") return Verb::Version;
  if (cmd == "quit") return Verb::Quit;
  if (cmd == "verbosity") return Verb::Verbosity;
  if (cmd == "lru_crawler" || cmd == "watch" || cmd == "lru" || cmd == "extstore" || cmd == "refresh_certs" ||
      cmd == "misbehave" || cmd == "debugtime") {
    return Verb::KnownOther;
  }
  return Verb::Unknown;
}

class AsciiClientCodec final : public ClientCodec {
 public:
  explicit AsciiClientCodec(const Limits& limits) : limits_(limits) {}

  DecodeStatus decode(evbuffer* in, Request& req) override;
  void encode(const Request& req, evbuffer* out) override;
  void set_max_value_length(uint32_t bytes) override { limits_.max_value_length = bytes; }

 private:
  DecodeStatus decode_line(evbuffer* in, std::string_view line, size_t consumed, Request& req);
  DecodeStatus decode_get(std::string_view line, const Tokens& tok, Verb verb, Request& req);
  DecodeStatus decode_storage(evbuffer* in, const Tokens& tok, Verb verb, size_t consumed, Request& req);
  bool line_too_long(evbuffer* in, size_t line_length);
  static DecodeStatus invalid(Request& req, ErrorClass cls, std::string_view text, bool noreply = false);
  // True (and the limit noted in `req`) when `key` is longer than max_key_length.
  bool key_too_long(std::string_view key, Request& req) const {
    if (key.size() <= limits_.max_key_length) return false;
    req.limit = Limit::KeyLength;
    return true;
  }

  void encode_get(const Request& req, evbuffer* out);
  void encode_stats(const Request& req, evbuffer* out);
  static void write_result_line(Op op, bool cas_command, const Result& r, evbuffer* out);

  Limits limits_;
  Tokens tokens_;       // decode_line's scratch
  size_t swallow_ = 0;  // bytes of a rejected value still to discard
  size_t scanned_ = 0;  // bytes of the pending line already searched for '\n'
  size_t need_ = 0;     // bytes a pending storage command needs before it can be decoded
};

DecodeStatus AsciiClientCodec::invalid(Request& req, ErrorClass cls, std::string_view text, bool noreply) {
  req.protocol = Protocol::Ascii;
  req.op = Op::Invalid;
  req.error_class = cls;
  req.error_text.assign(text);
  req.noreply = noreply;
  req.keys.clear();
  req.key_bytes.clear();
  return DecodeStatus::Ready;
}

// True when a line of `line_length` bytes (not yet necessarily complete) is
// beyond what we accept: see the file comment.
bool AsciiClientCodec::line_too_long(evbuffer* in, size_t line_length) {
  if (line_length <= limits_.max_line_length) return false;
  if (line_length > limits_.max_multiget_line) return true;
  // Only get-type lines may be long; memcached allows up to 100 leading spaces.
  size_t peek = std::min<size_t>(evbuffer_get_length(in), 110);
  const char* p = reinterpret_cast<const char*>(evbuffer_pullup(in, static_cast<ev_ssize_t>(peek)));
  std::string_view head(p, peek);
  size_t spaces = 0;
  while (spaces < head.size() && head[spaces] == ' ') ++spaces;
  if (spaces > 100) return true;
  head.remove_prefix(spaces);
  return !(starts_with(head, "get ") || starts_with(head, "gets ") || starts_with(head, "gat ") ||
           starts_with(head, "gats "));
}

DecodeStatus AsciiClientCodec::decode(evbuffer* in, Request& req) {
  if (swallow_ > 0) {
    size_t n = std::min(swallow_, evbuffer_get_length(in));
    evbuffer_drain(in, n);
    swallow_ -= n;
    if (swallow_ > 0) return DecodeStatus::NeedMore;
  }
  const size_t avail = evbuffer_get_length(in);
  if (avail == 0 || avail < need_) return DecodeStatus::NeedMore;
  if (scanned_ > avail) scanned_ = 0;  // the caller drained behind our back

  ptrdiff_t nl = wire::find_newline(in, scanned_);
  if (nl < 0) {
    scanned_ = avail;
    if (!line_too_long(in, avail)) return DecodeStatus::NeedMore;
  }
  if (nl < 0 || line_too_long(in, static_cast<size_t>(nl))) {
    // The connection is closed after this reply, so whatever is buffered is
    // dropped with the line.
    evbuffer_drain(in, avail);
    scanned_ = need_ = 0;
    invalid(req, ErrorClass::ClientError, kLineTooLong);
    req.limit = Limit::LineLength;
    req.close_after = true;
    return DecodeStatus::Ready;
  }

  const size_t consumed = static_cast<size_t>(nl) + 1;
  const char* p = reinterpret_cast<const char*>(evbuffer_pullup(in, static_cast<ev_ssize_t>(consumed)));
  size_t len = static_cast<size_t>(nl);
  if (len > 1 && p[len - 1] == '\r') --len;
  if (const void* nul = std::memchr(p, '\0', len)) len = static_cast<size_t>(static_cast<const char*>(nul) - p);

  DecodeStatus st = decode_line(in, std::string_view(p, len), consumed, req);
  if (st == DecodeStatus::NeedMore) {
    // A storage command waiting for its value: keep the line in the buffer,
    // remember it is complete so the next call does not rescan it.
    scanned_ = 0;
    return st;
  }
  scanned_ = 0;
  need_ = 0;
  return st;
}

DecodeStatus AsciiClientCodec::decode_line(evbuffer* in, std::string_view line, size_t consumed, Request& req) {
  // Everything but a storage command consists of the line alone.
  auto done = [&](DecodeStatus st) {
    evbuffer_drain(in, consumed);
    return st;
  };
  // The most common line by far, "get <key>" with one space and one key that
  // fits, skips the tokenizer: decode_get would produce exactly this (the
  // decode tests compare both paths on the same lines).
  if (line.size() > 4 && line.compare(0, 4, "get ") == 0 && line[4] != ' ' &&
      line.size() - 4 <= limits_.max_key_length && limits_.max_keys > 0 &&
      std::memchr(line.data() + 4, ' ', line.size() - 4) == nullptr) {
    req.protocol = Protocol::Ascii;
    req.op = Op::Get;
    req.want_cas = false;
    req.add_key(line.substr(4));
    return done(DecodeStatus::Ready);
  }
  Tokens& tok = tokens_;  // a member: 24 string_views are not re-initialized per line
  tokenize(line, tok);
  if (tok.n == 0 || tok.t[0].size() < 2) return done(invalid(req, ErrorClass::Error, ""));

  const Verb verb = classify(tok.t[0]);
  const size_t n = tok.count();
  req.protocol = Protocol::Ascii;
  auto noreply_at_end = [&] { return tok.n > 0 && !tok.more && tok.last() == "noreply"; };

  switch (verb) {
    case Verb::Get:
    case Verb::Gets:
    case Verb::Gat:
    case Verb::Gats:
      if (n < 2) return done(invalid(req, ErrorClass::Error, ""));
      return done(decode_get(line, tok, verb, req));

    case Verb::Set:
    case Verb::Add:
    case Verb::Replace:
    case Verb::Append:
    case Verb::Prepend:
    case Verb::Cas: {
      const size_t base = verb == Verb::Cas ? 6 : 5;
      if (n != base && n != base + 1) return done(invalid(req, ErrorClass::Error, ""));
      DecodeStatus st = decode_storage(in, tok, verb, consumed, req);
      return st;  // decode_storage drains what it consumes
    }

    case Verb::Incr:
    case Verb::Decr: {
      if (n != 3 && n != 4) return done(invalid(req, ErrorClass::Error, ""));
      const bool noreply = noreply_at_end();
      if (key_too_long(tok.t[1], req)) return done(invalid(req, ErrorClass::ClientError, kBadFormat, noreply));
      uint64_t delta = 0;
      if (!parse_u64(tok.t[2], delta)) return done(invalid(req, ErrorClass::ClientError, kBadDelta, noreply));
      req.op = verb == Verb::Incr ? Op::Incr : Op::Decr;
      req.noreply = noreply;
      req.add_key(tok.t[1]);
      req.delta = delta;
      req.create = false;  // ascii incr/decr never creates the item
      return done(DecodeStatus::Ready);
    }

    case Verb::Delete: {
      if (n < 2 || n > 4) return done(invalid(req, ErrorClass::Error, ""));
      bool noreply = false;
      if (n > 2) {
        const bool hold_is_zero = tok.t[2] == "0";
        noreply = noreply_at_end();
        const bool valid = (n == 3 && (hold_is_zero || noreply)) || (n == 4 && hold_is_zero && noreply);
        if (!valid) return done(invalid(req, ErrorClass::ClientError, kDeleteUsage, noreply));
      }
      if (key_too_long(tok.t[1], req)) return done(invalid(req, ErrorClass::ClientError, kBadFormat, noreply));
      req.op = Op::Delete;
      req.noreply = noreply;
      req.add_key(tok.t[1]);
      return done(DecodeStatus::Ready);
    }

    case Verb::Touch: {
      if (n != 3 && n != 4) return done(invalid(req, ErrorClass::Error, ""));
      const bool noreply = noreply_at_end();
      if (key_too_long(tok.t[1], req)) return done(invalid(req, ErrorClass::ClientError, kBadFormat, noreply));
      int32_t exptime = 0;
      if (!parse_i32(tok.t[2], exptime)) return done(invalid(req, ErrorClass::ClientError, kBadExptime, noreply));
      req.op = Op::Touch;
      req.noreply = noreply;
      req.add_key(tok.t[1]);
      req.exptime = exptime;
      return done(DecodeStatus::Ready);
    }

    case Verb::FlushAll: {
      if (n < 1 || n > 3) return done(invalid(req, ErrorClass::Error, ""));
      const bool noreply = noreply_at_end();
      int32_t delay = 0;
      const bool has_delay = n != (noreply ? 2u : 1u);
      if (has_delay && !parse_i32(tok.t[1], delay)) {
        return done(invalid(req, ErrorClass::ClientError, kBadExptime, noreply));
      }
      req.op = Op::Flush;
      req.noreply = noreply;
      req.has_exptime = has_delay;
      req.exptime = delay;
      return done(DecodeStatus::Ready);
    }

    case Verb::Version:
      req.op = Op::Version;
      return done(DecodeStatus::Ready);

    case Verb::Quit:
      req.op = Op::Quit;
      req.close_after = true;
      return done(DecodeStatus::Ready);

    case Verb::Verbosity: {
      if (n != 2 && n != 3) return done(invalid(req, ErrorClass::Error, ""));
      const bool noreply = noreply_at_end();
      uint32_t level = 0;
      if (!parse_u32(tok.t[1], level)) return done(invalid(req, ErrorClass::ClientError, kBadFormat, noreply));
      req.op = Op::Verbosity;
      req.noreply = noreply;
      req.verbosity = level;
      return done(DecodeStatus::Ready);
    }

    case Verb::Stats: {
      req.op = Op::Stats;
      // Arguments normalized to single spaces: "stats  slabs" == "stats slabs".
      bool first = true;
      for_each_token(after_tokens(line, 1), [&](std::string_view t) {
        if (!first) req.stats_args.push_back(' ');
        req.stats_args.append(t);
        first = false;
        return true;
      });
      return done(DecodeStatus::Ready);
    }

    case Verb::KnownOther:
      return done(invalid(req, ErrorClass::Error, ""));

    case Verb::Unknown:
      if (starts_with(tok.last(), "HTTP/")) {
        // memcached drops HTTP clients without a word.
        invalid(req, ErrorClass::None, "");
        req.close_after = true;
        return done(DecodeStatus::Ready);
      }
      return done(invalid(req, ErrorClass::Error, ""));
  }
  return done(invalid(req, ErrorClass::Error, ""));
}

DecodeStatus AsciiClientCodec::decode_get(std::string_view line, const Tokens& tok, Verb verb, Request& req) {
  const bool touch = verb == Verb::Gat || verb == Verb::Gats;
  if (touch) {
    int32_t exptime = 0;
    if (!parse_i32(tok.t[1], exptime)) return invalid(req, ErrorClass::ClientError, kBadExptime);
    req.exptime = exptime;
  }
  req.op = touch ? Op::Gat : Op::Get;
  req.want_cas = verb == Verb::Gets || verb == Verb::Gats;
  // Keys are copied out of the line (it is drained next); key_bytes and keys
  // keep their capacity across requests, so this does not allocate in steady
  // state. "gat <exptime>" without keys is valid and answers just END.
  bool ok = true;
  bool too_many = false;
  for_each_token(after_tokens(line, touch ? 2 : 1), [&](std::string_view key) {
    if (key_too_long(key, req)) {
      ok = false;
      return false;
    }
    if (req.keys.size() >= limits_.max_keys) {
      req.limit = Limit::KeyCount;
      too_many = true;
      return false;
    }
    req.add_key(key);
    return true;
  });
  if (!ok) return invalid(req, ErrorClass::ClientError, kBadFormat);
  if (too_many) return invalid(req, ErrorClass::ClientError, kTooManyKeys);
  return DecodeStatus::Ready;
}

DecodeStatus AsciiClientCodec::decode_storage(evbuffer* in, const Tokens& tok, Verb verb, size_t consumed,
                                              Request& req) {
  const bool noreply = tok.last() == "noreply";
  auto fail = [&](ErrorClass cls, std::string_view text) {
    evbuffer_drain(in, consumed);
    return invalid(req, cls, text, noreply);
  };
  // The order of checks is memcached's process_update_command.
  if (key_too_long(tok.t[1], req)) return fail(ErrorClass::ClientError, kBadFormat);
  uint32_t flags = 0;
  int32_t exptime = 0;
  int32_t vlen = 0;
  if (!(parse_u32(tok.t[2], flags) && parse_i32(tok.t[3], exptime) && parse_i32(tok.t[4], vlen))) {
    return fail(ErrorClass::ClientError, kBadFormat);
  }
  uint64_t cas = 0;
  if (verb == Verb::Cas) {
    if (!parse_u64(tok.t[5], cas)) return fail(ErrorClass::ClientError, kBadFormat);
    if (cas == 0) cas = UINT64_MAX;  // see the file comment
  }
  if (vlen < 0 || vlen > INT_MAX - 2) return fail(ErrorClass::ClientError, kBadFormat);
  const size_t data = static_cast<size_t>(vlen) + 2;
  if (static_cast<uint64_t>(vlen) > limits_.max_value_length) {
    invalid(req, ErrorClass::ServerError, kTooLarge, noreply);
    req.limit = Limit::ValueSize;
    // memcached also unlinks the old item of a set it could not store, so a
    // later get does not return stale data; the key stays in the Invalid
    // request so the core can do the same (a delete) if it wants to.
    // (Copied before the drain below frees the line the token points into.)
    if (verb == Verb::Set) req.add_key(tok.t[1]);
    evbuffer_drain(in, consumed);
    size_t now = std::min(data, evbuffer_get_length(in));
    evbuffer_drain(in, now);
    swallow_ = data - now;
    return DecodeStatus::Ready;
  }
  if (evbuffer_get_length(in) < consumed + data) {
    need_ = consumed + data;
    return DecodeStatus::NeedMore;  // req untouched; the line stays buffered
  }
  switch (verb) {
    case Verb::Add: req.op = Op::Add; break;
    case Verb::Replace: req.op = Op::Replace; break;
    case Verb::Append: req.op = Op::Append; break;
    case Verb::Prepend: req.op = Op::Prepend; break;
    default: req.op = Op::Set; break;  // set, and cas (Op::Set with cas != 0)
  }
  req.noreply = noreply;
  req.add_key(tok.t[1]);
  req.flags = flags;
  req.exptime = exptime;
  req.cas = cas;
  evbuffer_drain(in, consumed);  // only now: the tokens point into the line
  evbuffer_remove_buffer(in, req.value.get(), static_cast<size_t>(vlen));
  char crlf[2];
  evbuffer_remove(in, crlf, 2);
  if (crlf[0] != '\r' || crlf[1] != '\n') {
    req.value.clear();
    return invalid(req, ErrorClass::ClientError, kBadChunk, noreply);
  }
  return DecodeStatus::Ready;
}

// ---------------------------------------------------------------------------
// Encoding


void write_error_class_line(ErrorClass cls, std::string_view message, evbuffer* out) {
  wire::LineWriter w(out);
  switch (cls) {
    case ErrorClass::Error: w.str("ERROR"); break;
    case ErrorClass::ClientError: w.str("CLIENT_ERROR"); break;
    case ErrorClass::ServerError: w.str("SERVER_ERROR"); break;
    case ErrorClass::None: return;
  }
  if (!message.empty()) w.ch(' ').str(message);
  w.crlf();
}

void AsciiClientCodec::write_result_line(Op op, bool cas_command, const Result& r, evbuffer* out) {
  if (r.error_class != ErrorClass::None && (r.error_class == ErrorClass::Error || !r.message.empty())) {
    write_error_class_line(r.error_class, r.message, out);
    return;
  }
  wire::LineWriter w(out);
  w.str(ascii_status_line(op, cas_command, r.status)).crlf();
}

// A get key counts as failed (rather than missed) when a server or the proxy
// reported an error for it.
bool get_key_failed(const Result& r) {
  if (r.hit) return false;
  if (r.error_class == ErrorClass::ServerError) return true;
  return r.error_class == ErrorClass::None && r.status != Status::Success && r.status != Status::KeyNotFound;
}

// get/gets/gat/gats: "VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n" for
// each hit, in the client's key order (a duplicated key is answered at each
// occurrence), then "END\r\n". Failed keys read as misses, as in memcached a
// get never fails per key. One exception: when EVERY key failed (so the
// client would learn nothing from END, e.g. the only key's server is down),
// the first key's error line is written instead of END, so the failure is
// visible.
void AsciiClientCodec::encode_get(const Request& req, evbuffer* out) {
  const size_t n = req.key_count();
  bool all_failed = n > 0;
  for (size_t i = 0; i < n && all_failed; ++i) all_failed = get_key_failed(req_result(req, i));
  if (all_failed) {
    write_result_line(req.op, false, req_result(req, 0), out);
    return;
  }
  // Small values are moved into the line buffer with their VALUE line (one
  // evbuffer_add for many replies); bigger ones move their chains.
  wire::LineWriter w(out);
  for (size_t i = 0; i < n; ++i) {
    const Result& r = req_result(req, i);
    if (!r.hit) continue;
    const size_t bytes = r.value.size();
    w.str("VALUE ").str(req.key(i)).ch(' ').u64(r.flags).ch(' ').u64(bytes);
    if (req.want_cas) w.ch(' ').u64(r.cas);
    w.crlf();
    if (r.value.is_small()) {
      w.str(r.value.small());
    } else if (!w.take_from(r.value.chain(), bytes)) {
      w.flush();
      r.value.move_to(out);  // moves the chains: no copy
    }
    w.crlf();
  }
  w.str("END\r\n");
}

void AsciiClientCodec::encode_stats(const Request& req, evbuffer* out) {
  const Result& r = req_result(req, 0);
  if (r.status == Status::KeyNotFound && r.error_class == ErrorClass::None) {
    // A binary backend's answer to an unknown stats group; memcached's ascii
    // side says ERROR for it ("stats bogus", "stats noreply").
    evbuffer_add(out, "ERROR\r\n", 7);
    return;
  }
  if (r.status != Status::Success || r.error_class != ErrorClass::None) {
    write_result_line(Op::Stats, false, r, out);
    return;
  }
  if (req.stats_args == "reset") {
    evbuffer_add(out, "RESET\r\n", 7);
    return;
  }
  if (req.stats_args == "proxy reset") {  // the original's reply: the reset is asynchronous
    evbuffer_add(out, "OK\r\n", 4);
    return;
  }
  wire::LineWriter w(out);
  for (const auto& [name, value] : req.stats) w.str("STAT ").str(name).ch(' ').str(value).crlf();
  w.str("END\r\n");
}

void AsciiClientCodec::encode(const Request& req, evbuffer* out) {
  if (req.noreply) return;
  switch (req.op) {
    case Op::Invalid:
      write_error_class_line(req.error_class, req.error_text, out);
      return;
    case Op::Get:
    case Op::Gat:
      encode_get(req, out);
      return;
    case Op::Incr:
    case Op::Decr: {
      const Result& r = req_result(req, 0);
      if (r.status == Status::Success && r.error_class == ErrorClass::None) {
        wire::LineWriter w(out);
        w.u64(r.number).crlf();
        return;
      }
      write_result_line(req.op, false, r, out);
      return;
    }
    case Op::Stats:
      encode_stats(req, out);
      return;
    case Op::Version: {
      const Result& r = req_result(req, 0);
      if (r.status == Status::Success && r.error_class == ErrorClass::None) {
        wire::LineWriter w(out);
        w.str("VERSION ").str(r.message).crlf();
        return;
      }
      write_result_line(req.op, false, r, out);
      return;
    }
    case Op::Quit:
    case Op::Noop:  // binary only; an ascii client never sends it
      return;
    case Op::Set:
    case Op::Add:
    case Op::Replace:
    case Op::Append:
    case Op::Prepend:
    case Op::Delete:
    case Op::Touch:
    case Op::Flush:
    case Op::Verbosity:
      write_result_line(req.op, req.op == Op::Set && req.cas != 0, req_result(req, 0), out);
      return;
  }
}

}  // namespace

std::unique_ptr<ClientCodec> make_ascii_client_codec(const Limits& limits) {
  return std::make_unique<AsciiClientCodec>(limits);
}

}  // namespace moxi::protocol
