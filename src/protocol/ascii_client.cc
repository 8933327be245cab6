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
// check). Get lines have no bound, as in memcached: one longer than
// Limits::get_part_bytes is decoded in parts (cut after a space), each a
// request answered in order with the VALUE lines of its keys, END only after
// the last, so any number of keys streams through bounded memory. (A key
// too long in a later part is answered CLIENT_ERROR after the VALUE lines of
// the earlier parts, and the rest of the line is dropped.)
//
// Commands are looked up in one table (kCommands, also the man page's
// COMMANDS table): served ones are decoded into requests; memcached's admin
// commands that a proxy cannot carry (slabs, lru_crawler, watch, shutdown,
// ...) pass memcached's own argument checks and are then answered with the
// text memcached gives when that feature is off; "mn" answers "MN".
// Other deliberate differences: "cas" with unique 0 (which memcached can never satisfy) is sent on
// as the never-issued unique UINT64_MAX, so backends answer EXISTS/NOT_FOUND
// as memcached would, rather than it becoming an unconditional set.
#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <string_view>

#include "src/protocol/ascii_numbers.h"
#include "src/protocol/client_codec.h"
#include "src/protocol/meta_client.h"
#include "src/protocol/status_text.h"
#include "src/protocol/wire_util.h"

namespace moxi::protocol {
namespace {

constexpr std::string_view kBadFormat = "bad command line format";
constexpr uint8_t kGetLockedOpcode = 0x94;  // Couchbase GETL
constexpr uint8_t kUnlockOpcode = 0x95;     // Couchbase UNL
constexpr std::string_view kBadExptime = "invalid exptime argument";
constexpr std::string_view kBadDelta = "invalid numeric delta argument";
constexpr std::string_view kDeleteUsage = "bad command line format.  Usage: delete <key> [noreply]";
constexpr std::string_view kTooLarge = "object too large for cache";
constexpr std::string_view kBadChunk = "bad data chunk";
constexpr std::string_view kLineTooLong = "line too long";

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
  GetLocked,  // getl: Couchbase GETL (vBucket buckets), passed through
  Unlock,     // unl: Couchbase UNL, likewise
  MetaNoop,   // mn: answered MN in order (a pipeline of quiet meta commands ends with it)
  Meta,       // mg, ms, md, ma, me: meta_client.cc
  Slabs,      // refused, after memcached's own argument checks
  LruCrawler, // likewise
  KnownOther, // a command memcached knows that the proxy does not serve: its table reply
};

using R = CommandRoute;

struct CommandEntry {
  AsciiCommandInfo info;
  Verb verb;
};

// The one table of ascii commands; most frequent first (looked up linearly
// for every line but the "get <key>" fast path).
constexpr CommandEntry kCommands[] = {
    {{"get", R::Keyed, "", "one or many keys; duplicates answered at each occurrence"}, Verb::Get},
    {{"set", R::Keyed, "", "a refused too-large set deletes the old value, as memcached"}, Verb::Set},
    {{"gets", R::Keyed, "", "with cas uniques"}, Verb::Gets},
    {{"delete", R::Keyed, "", ""}, Verb::Delete},
    {{"incr", R::Keyed, "", ""}, Verb::Incr},
    {{"decr", R::Keyed, "", ""}, Verb::Decr},
    {{"add", R::Keyed, "", ""}, Verb::Add},
    {{"replace", R::Keyed, "", ""}, Verb::Replace},
    {{"append", R::Keyed, "", ""}, Verb::Append},
    {{"prepend", R::Keyed, "", ""}, Verb::Prepend},
    {{"cas", R::Keyed, "", ""}, Verb::Cas},
    {{"touch", R::Keyed, "", ""}, Verb::Touch},
    {{"gat", R::Keyed, "", "get and touch"}, Verb::Gat},
    {{"gats", R::Keyed, "", "get and touch, with cas uniques"}, Verb::Gats},
    {{"bget", R::Keyed, "", "memcached's old alias of get"}, Verb::Get},
    {{"getl", R::Keyed, "", "getl KEY [SECONDS]: Couchbase's get-and-lock (vBucket buckets; memcached pools: ERROR)"},
     Verb::GetLocked},
    {{"unl", R::Keyed, "", "unl KEY CAS: Couchbase's unlock (vBucket buckets; memcached pools: ERROR)"}, Verb::Unlock},
    {{"flush_all", R::Broadcast, "", "OK when every server flushed; else the first failing server's error"},
     Verb::FlushAll},
    {{"stats", R::Broadcast, "",
      "merged per field (sum, max, min, or the value when all agree, else mixed); "
      "stats proxy ... is moxi's own; stats detail is refused"},
     Verb::Stats},
    {{"version", R::Local, "", "moxi's version"}, Verb::Version},
    {{"verbosity", R::Local, "", "OK (the backends' verbosity is not changed)"}, Verb::Verbosity},
    {{"quit", R::Local, "", "closes after the earlier replies; nothing after it is read"}, Verb::Quit},
    {{"mn", R::Local, "", "meta no-op: MN, in order"}, Verb::MetaNoop},
    {{"mg", R::Keyed, "", "meta get: flags b c f k O q s v T; a meta backend also N R h l t u"}, Verb::Meta},
    {{"ms", R::Keyed, "", "meta set: b c C F k M O q T; a meta backend also I N"}, Verb::Meta},
    {{"md", R::Keyed, "", "meta delete: b C k O q; a meta backend also I T"}, Verb::Meta},
    {{"ma", R::Keyed, "", "meta arithmetic: b c C D J k M N O q v; a meta backend also t T"}, Verb::Meta},
    {{"me", R::Keyed, "", "meta debug: a meta backend only"}, Verb::Meta},
    {{"slabs", R::Refused, "CLIENT_ERROR slab reassignment disabled",
      "after memcached's argument checks (reassign, automove 0-2)"},
     Verb::Slabs},
    {{"lru_crawler", R::Refused, "CLIENT_ERROR lru crawler disabled", "its subcommands; others ERROR"},
     Verb::LruCrawler},
    {{"lru", R::Refused, "ERROR", "memcached's reply with no LRU maintainer"}, Verb::KnownOther},
    {{"cache_memlimit", R::Refused, "ERROR", "per server; set it on each memcached"}, Verb::KnownOther},
    {{"shutdown", R::Refused, "ERROR: shutdown not enabled", "a client never stops moxi or a backend"},
     Verb::KnownOther},
    {{"watch", R::Refused, "ERROR", "log streams are per server"}, Verb::KnownOther},
    {{"extstore", R::Refused, "ERROR", ""}, Verb::KnownOther},
    {{"refresh_certs", R::Refused, "Error TLS not enabled", ""}, Verb::KnownOther},
    {{"misbehave", R::Refused, "ERROR", "memcached debug builds only"}, Verb::KnownOther},
    {{"debugtime", R::Refused, "ERROR", "memcached debug builds only"}, Verb::KnownOther},
};

constexpr auto kCommandInfos = [] {
  std::array<AsciiCommandInfo, std::size(kCommands)> a{};
  for (size_t i = 0; i < a.size(); ++i) a[i] = kCommands[i].info;
  return a;
}();

// The command's table entry; null for a command memcached does not know,
// which memcached answers ERROR or, for an HTTP request line, closes on.
const CommandEntry* find_command(std::string_view cmd) {
  for (const auto& e : kCommands)
    if (e.info.name == cmd) return &e;
  return nullptr;
}

// memcached's dispatch quirks for commands not in the table: any other
// 'g...' word is answered ERROR by its get branch (never the HTTP check), and
// any other two-letter 'm?' word is a meta command it rejects.
Verb classify(std::string_view cmd, const CommandEntry*& entry) {
  entry = find_command(cmd);
  if (entry) return entry->verb;
  if (cmd[0] == 'g' || (cmd[0] == 'm' && cmd.size() == 2)) return Verb::KnownOther;
  return Verb::Unknown;
}

class AsciiClientCodec final : public ClientCodec {
 public:
  explicit AsciiClientCodec(const Limits& limits) : limits_(limits) {}

  DecodeStatus decode(ByteChain& in, Request& req) override;
  void encode(const Request& req, ByteChain& out) override;
  void set_max_value_length(uint32_t bytes) override {
    // A lower limit applies to the request being read too: parse it again.
    if (bytes < limits_.max_value_length) need_ = 0;
    limits_.max_value_length = bytes;
  }

 private:
  DecodeStatus decode_line(ByteChain& in, std::string_view line, size_t consumed, Request& req);
  DecodeStatus decode_get(std::string_view line, const Tokens& tok, Verb verb, Request& req);
  // Adds the space-separated keys of `text` to req; Invalid on a key too long.
  DecodeStatus add_get_keys(std::string_view text, Request& req);
  // A get line longer than Limits::get_part_bytes: decodes the next part
  // (the first one carries the command), cut after a space so no key is
  // split; the final part is the rest of the line up to its newline.
  DecodeStatus decode_get_part(ByteChain& in, Request& req);
  bool is_get_line(ByteChain& in);
  DecodeStatus decode_storage(ByteChain& in, const Tokens& tok, Verb verb, size_t consumed, Request& req);
  DecodeStatus decode_meta(ByteChain& in, std::string_view line, size_t consumed, Request& req);
  // A storage command's data block of `length` bytes after its line
  // (`consumed` bytes, still buffered). refuse_too_large answers a block over
  // the item size limit (the line and the block are dropped; `unlink_key`, if
  // any, stays in `req` for the core to unlink); take_block moves the block
  // into req.value and drains the line, once has_block says it is buffered.
  bool too_large(size_t length) const { return length > limits_.max_value_length; }
  void refuse_too_large(ByteChain& in, size_t consumed, size_t length, bool noreply, std::string_view unlink_key,
                        Request& req);
  bool has_block(ByteChain& in, size_t consumed, size_t length);
  void drop_line_and_block(ByteChain& in, size_t consumed, size_t length);  // what is not buffered yet: swallow_
  DecodeStatus take_block(ByteChain& in, size_t consumed, size_t length, bool noreply, Request& req);
  bool line_too_long(ByteChain& in, size_t line_length);
  static DecodeStatus invalid(Request& req, ErrorClass cls, std::string_view text, bool noreply = false);
  // True (and the limit noted in `req`) when `key` is longer than max_key_length.
  bool key_too_long(std::string_view key, Request& req) const {
    if (key.size() <= limits_.max_key_length) return false;
    req.limit = Limit::KeyLength;
    return true;
  }

  void encode_get(const Request& req, ByteChain& out);
  void encode_stats(const Request& req, ByteChain& out);
  static void encode_locking(const Request& req, ByteChain& out);
  static void write_result_line(Op op, bool cas_command, const Result& r, ByteChain& out);

  Limits limits_;
  Tokens tokens_;       // decode_line's scratch
  size_t swallow_ = 0;  // bytes of a rejected value still to discard
  size_t scanned_ = 0;  // bytes of the pending line already searched for '\n'
  size_t need_ = 0;     // bytes a pending storage command needs before it can be decoded
  // A get line being decoded in parts: the first part's command, for the rest.
  bool in_get_line_ = false;
  Op get_op_ = Op::Get;
  bool get_want_cas_ = false;
  int64_t get_exptime_ = 0;
  bool discard_line_ = false;  // a part failed: drop the rest of its line
};

DecodeStatus AsciiClientCodec::invalid(Request& req, ErrorClass cls, std::string_view text, bool noreply) {
  req.protocol = Protocol::Ascii;
  req.make_invalid(cls, text, noreply);
  return DecodeStatus::Ready;
}

// True when a line of `line_length` bytes (not yet necessarily complete) is
// beyond what we accept: see the file comment.
bool AsciiClientCodec::line_too_long(ByteChain& in, size_t line_length) {
  if (line_length <= limits_.max_line_length) return false;
  return !is_get_line(in);
}

// Only get-type lines may be long; memcached allows up to 100 leading spaces.
bool AsciiClientCodec::is_get_line(ByteChain& in) {
  size_t peek = std::min<size_t>(in.size(), 110);
  const char* p = in.contiguous(peek);
  std::string_view head(p, peek);
  size_t spaces = 0;
  while (spaces < head.size() && head[spaces] == ' ') ++spaces;
  if (spaces > 100) return false;
  head.remove_prefix(spaces);
  return starts_with(head, "get ") || starts_with(head, "gets ") || starts_with(head, "gat ") ||
         starts_with(head, "gats ");
}

DecodeStatus AsciiClientCodec::decode_get_part(ByteChain& in, Request& req) {
  const size_t avail = in.size();
  const ptrdiff_t nl = in.find('\n', 0);
  bool last = nl >= 0 && static_cast<size_t>(nl) <= limits_.get_part_bytes;
  size_t take = last ? static_cast<size_t>(nl) + 1 : std::min<size_t>(avail, limits_.get_part_bytes);
  const char* p = in.contiguous(take);
  size_t len = take;
  if (last) {
    len = static_cast<size_t>(nl);
    if (len > 0 && p[len - 1] == '\r') --len;
  } else {
    while (len > 0 && p[len - 1] != ' ') --len;  // after the last space: no key is split
    take = len;
  }
  // A NUL ends the line, as memcached reads it (strlen): its part is the
  // last, and the rest of the line is dropped.
  bool drop_rest = false;
  if (const void* nul = std::memchr(p, '\0', len)) {
    len = static_cast<size_t>(static_cast<const char*>(nul) - p);
    drop_rest = !last;
    last = true;
  }
  const std::string_view text(p, len);
  DecodeStatus st = DecodeStatus::Ready;
  if (take == 0) {
    // A part's worth of bytes without a space: a key longer than any key.
    req.limit = Limit::KeyLength;
    invalid(req, ErrorClass::ClientError, kBadFormat);
    take = std::min<size_t>(avail, limits_.get_part_bytes);
  } else if (!in_get_line_) {
    Tokens& tok = tokens_;
    tokenize(text, tok);
    const CommandEntry* entry = nullptr;
    if (tok.n < 2) {
      // A part's worth of spaces after the command (no key in sight): ERROR,
      // as for "get" alone, and the rest of the line is dropped.
      st = invalid(req, ErrorClass::Error, "");
    } else {
      st = decode_get(text, tok, classify(tok.t[0], entry), req);
    }
    get_op_ = req.op;
    get_want_cas_ = req.want_cas;
    get_exptime_ = req.exptime;
  } else {
    req.protocol = Protocol::Ascii;
    req.op = get_op_;
    req.want_cas = get_want_cas_;
    req.exptime = get_exptime_;
    st = add_get_keys(text, req);
  }
  in.drain(take);
  scanned_ = 0;
  if (req.op == Op::Invalid) {
    in_get_line_ = false;
    discard_line_ = !last || drop_rest;
    return st;
  }
  discard_line_ = drop_rest;
  req.get_part = true;
  req.get_continues = !last;
  in_get_line_ = !last;
  return st;
}

DecodeStatus AsciiClientCodec::decode(ByteChain& in, Request& req) {
  if (swallow_ > 0) {
    size_t n = std::min(swallow_, in.size());
    in.drain(n);
    swallow_ -= n;
    if (swallow_ > 0) return DecodeStatus::NeedMore;
  }
  if (discard_line_) {
    const ptrdiff_t end = in.find('\n', 0);
    in.drain(end < 0 ? in.size() : static_cast<size_t>(end) + 1);
    if (end < 0) return DecodeStatus::NeedMore;
    discard_line_ = false;
  }
  const size_t avail = in.size();
  if (avail == 0 || avail < need_) return DecodeStatus::NeedMore;
  if (scanned_ > avail) scanned_ = 0;  // the caller drained behind our back

  ptrdiff_t nl = in.find('\n', scanned_);
  if (in_get_line_) {
    // The rest of a get line decoded in parts: a part once there are enough
    // bytes for one, or the end of the line.
    // (More than a part's bytes without a newline: only then is it sure that
    // the line goes on past this part, whatever the next byte is.)
    if (nl >= 0 || avail > limits_.get_part_bytes) return decode_get_part(in, req);
    scanned_ = avail;
    return DecodeStatus::NeedMore;
  }
  if (nl < 0) {
    scanned_ = avail;
    if (!line_too_long(in, avail)) {
      if (avail > limits_.get_part_bytes && is_get_line(in)) return decode_get_part(in, req);  // long already
      return DecodeStatus::NeedMore;
    }
  }
  if (nl >= 0 && static_cast<size_t>(nl) > limits_.get_part_bytes && is_get_line(in) &&
      !line_too_long(in, static_cast<size_t>(nl)))
    return decode_get_part(in, req);
  if (nl < 0 || line_too_long(in, static_cast<size_t>(nl))) {
    // The connection is closed after this reply, so whatever is buffered is
    // dropped with the line.
    in.drain(avail);
    scanned_ = need_ = 0;
    invalid(req, ErrorClass::ClientError, kLineTooLong);
    req.limit = Limit::LineLength;
    req.close_after = true;
    return DecodeStatus::Ready;
  }

  const size_t consumed = static_cast<size_t>(nl) + 1;
  const char* p = in.contiguous(consumed);
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

DecodeStatus AsciiClientCodec::decode_line(ByteChain& in, std::string_view line, size_t consumed, Request& req) {
  // Everything but a storage command consists of the line alone.
  auto done = [&](DecodeStatus st) {
    in.drain(consumed);
    return st;
  };
  // The most common line by far, "get <key>" with one space and one key that
  // fits, skips the tokenizer: decode_get would produce exactly this (the
  // decode tests compare both paths on the same lines).
  if (line.size() > 4 && line.compare(0, 4, "get ") == 0 && line[4] != ' ' &&
      line.size() - 4 <= limits_.max_key_length &&
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

  const CommandEntry* entry = nullptr;
  const Verb verb = classify(tok.t[0], entry);
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
      if (n >= 2 && tok.t[1] == "detail") {
        // memcached's process_stats_detail; the detail dump is per server
        // and is not merged: its valid forms are refused.
        const bool valid = n >= 3 && (tok.t[2] == "on" || tok.t[2] == "off" || tok.t[2] == "dump");
        if (!valid) return done(invalid(req, ErrorClass::ClientError, "usage: stats detail on|off|dump"));
        return done(invalid(req, ErrorClass::Error, ""));
      }
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

    case Verb::GetLocked:
    case Verb::Unlock: {
      // The original moxi's forms: "getl <key> [<lock seconds>]", "unl <key> <cas>".
      const bool getl = verb == Verb::GetLocked;
      if (getl ? (n != 2 && n != 3) : n != 3) return done(invalid(req, ErrorClass::Error, ""));
      if (key_too_long(tok.t[1], req)) return done(invalid(req, ErrorClass::ClientError, kBadFormat));
      uint32_t seconds = 0;
      uint64_t cas = 0;
      if (getl && n == 3 && !parse_u32(tok.t[2], seconds)) return done(invalid(req, ErrorClass::ClientError, kBadFormat));
      if (!getl && !parse_u64(tok.t[2], cas)) return done(invalid(req, ErrorClass::ClientError, kBadFormat));
      req.op = Op::Passthrough;
      req.opcode = getl ? kGetLockedOpcode : kUnlockOpcode;
      req.add_key(tok.t[1]);
      req.cas = cas;
      if (getl) {
        const char lock[4] = {static_cast<char>(seconds >> 24), static_cast<char>(seconds >> 16),
                              static_cast<char>(seconds >> 8), static_cast<char>(seconds)};
        req.extras.assign(lock, 4);
      }
      return done(DecodeStatus::Ready);
    }

    case Verb::MetaNoop:
      return done(invalid(req, ErrorClass::Line, "MN"));

    case Verb::Meta:
      return decode_meta(in, line, consumed, req);  // drains what it consumes

    case Verb::Slabs: {
      // memcached's process_slabs_command: "reassign SRC DST" and
      // "automove LEVEL" are its only forms.
      const bool reassign = n == 4 && tok.t[1] == "reassign";
      const bool automove = n >= 3 && tok.t[1] == "automove";
      if (automove) {
        uint32_t level = 0;
        if (!parse_u32(tok.t[2], level)) return done(invalid(req, ErrorClass::ClientError, kBadFormat));
        if (level > 2) return done(invalid(req, ErrorClass::Error, ""));
      }
      if (!reassign && !automove) return done(invalid(req, ErrorClass::Error, ""));
      return done(invalid(req, ErrorClass::Line, entry->info.reply));
    }

    case Verb::LruCrawler: {
      static constexpr std::string_view kSubcommands[] = {"crawl", "metadump", "mgdump", "enable",
                                                          "disable", "sleep", "tocrawl"};
      const bool known = n >= 2 && std::find(std::begin(kSubcommands), std::end(kSubcommands), tok.t[1]) !=
                                       std::end(kSubcommands);
      if (!known) return done(invalid(req, ErrorClass::Error, ""));
      return done(invalid(req, ErrorClass::Line, entry->info.reply));
    }

    case Verb::KnownOther:
      if (entry && entry->info.reply != "ERROR") return done(invalid(req, ErrorClass::Line, entry->info.reply));
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
  return add_get_keys(after_tokens(line, touch ? 2 : 1), req);
}

// Keys are copied out of the line (it is drained next); key_bytes and keys
// keep their capacity across requests, so this does not allocate in steady
// state. "gat <exptime>" without keys is valid and answers just END.
DecodeStatus AsciiClientCodec::add_get_keys(std::string_view text, Request& req) {
  bool ok = true;
  for_each_token(text, [&](std::string_view key) {
    if (key_too_long(key, req)) {
      ok = false;
      return false;
    }
    req.add_key(key);
    return true;
  });
  if (!ok) return invalid(req, ErrorClass::ClientError, kBadFormat);
  return DecodeStatus::Ready;
}

DecodeStatus AsciiClientCodec::decode_storage(ByteChain& in, const Tokens& tok, Verb verb, size_t consumed,
                                              Request& req) {
  const bool noreply = tok.last() == "noreply";
  auto fail = [&](ErrorClass cls, std::string_view text) {
    in.drain(consumed);
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
  const size_t length = static_cast<size_t>(vlen);
  if (too_large(length)) {
    // memcached also unlinks the old item of a set it could not store, so a
    // later get does not return stale data.
    refuse_too_large(in, consumed, length, noreply, verb == Verb::Set ? tok.t[1] : std::string_view(), req);
    return DecodeStatus::Ready;
  }
  if (!has_block(in, consumed, length)) return DecodeStatus::NeedMore;  // req untouched; the line stays buffered
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
  return take_block(in, consumed, length, noreply, req);  // only now: the tokens point into the line
}

void AsciiClientCodec::refuse_too_large(ByteChain& in, size_t consumed, size_t length, bool noreply,
                                        std::string_view unlink_key, Request& req) {
  // The key is copied before the drain below frees the line it points into.
  std::string key(unlink_key);
  invalid(req, ErrorClass::ServerError, kTooLarge, noreply);
  req.limit = Limit::ValueSize;
  if (!key.empty()) req.add_key(key);
  drop_line_and_block(in, consumed, length);
}

void AsciiClientCodec::drop_line_and_block(ByteChain& in, size_t consumed, size_t length) {
  in.drain(consumed);
  const size_t data = length + 2;
  const size_t now = std::min(data, in.size());
  in.drain(now);
  swallow_ = data - now;
}

bool AsciiClientCodec::has_block(ByteChain& in, size_t consumed, size_t length) {
  if (in.size() >= consumed + length + 2) return true;
  need_ = consumed + length + 2;
  return false;
}

DecodeStatus AsciiClientCodec::take_block(ByteChain& in, size_t consumed, size_t length, bool noreply, Request& req) {
  in.drain(consumed);
  in.move_front_to(req.value, length);
  char crlf[2];
  in.remove(crlf, 2);
  if (crlf[0] != '\r' || crlf[1] != '\n') {
    req.value.clear();
    return invalid(req, ErrorClass::ClientError, kBadChunk, noreply);
  }
  return DecodeStatus::Ready;
}

// mg, ms, md, ma, me (meta_client.cc decodes the line); ms's data block is
// read here like any storage command's.
DecodeStatus AsciiClientCodec::decode_meta(ByteChain& in, std::string_view line, size_t consumed, Request& req) {
  const MetaLine meta = decode_meta_line(std::span(tokens_.t.data(), tokens_.n), tokens_.more, line, limits_, req);
  switch (meta.next) {
    case MetaLine::Next::Done:
      in.drain(consumed);
      return DecodeStatus::Ready;
    case MetaLine::Next::SwallowData:
      drop_line_and_block(in, consumed, meta.data_length);
      return DecodeStatus::Ready;
    case MetaLine::Next::ReadData:
      break;
  }
  if (too_large(meta.data_length)) {
    // memcached unlinks the old item whatever the mode (refuse_too_large
    // copies the key before it clears the request).
    refuse_too_large(in, consumed, meta.data_length, false, req.key(0), req);
    return DecodeStatus::Ready;
  }
  if (!has_block(in, consumed, meta.data_length)) {
    req.reset();  // decoded again once the block is in
    return DecodeStatus::NeedMore;
  }
  return take_block(in, consumed, meta.data_length, false, req);
}

// ---------------------------------------------------------------------------
// Encoding


void write_error_class_line(ErrorClass cls, std::string_view message, ByteChain& out) {
  wire::LineWriter w(out);
  switch (cls) {
    case ErrorClass::Error: w.str("ERROR"); break;
    case ErrorClass::ClientError: w.str("CLIENT_ERROR"); break;
    case ErrorClass::ServerError: w.str("SERVER_ERROR"); break;
    case ErrorClass::Line: w.str(message).crlf(); return;
    case ErrorClass::None: return;
  }
  if (!message.empty()) w.ch(' ').str(message);
  w.crlf();
}

void AsciiClientCodec::write_result_line(Op op, bool cas_command, const Result& r, ByteChain& out) {
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
void AsciiClientCodec::encode_get(const Request& req, ByteChain& out) {
  const size_t n = req.key_count();
  // A part of a long line speaks for its keys only: failures read as misses.
  bool all_failed = n > 0 && !req.get_part;
  for (size_t i = 0; i < n && all_failed; ++i) all_failed = get_key_failed(req_result(req, i));
  if (all_failed) {
    write_result_line(req.op, false, req_result(req, 0), out);
    return;
  }
  // Small values are moved into the line buffer with their VALUE line (one
  // append for many replies); bigger ones move their segments.
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
      r.value.move_to(out);  // moves the segments: no copy
    }
    w.crlf();
  }
  if (!req.get_continues) w.str("END\r\n");
}

// getl/unl, from the server's binary response frame (Result::value), with
// the original moxi's words: a locked or lock-less answer is LOCK_ERROR /
// UNLOCK_ERROR.
void AsciiClientCodec::encode_locking(const Request& req, ByteChain& out) {
  const Result& r = req_result(req, 0);
  const bool getl = req.opcode == kGetLockedOpcode;
  if (r.error_class != ErrorClass::None || r.value.size() < 24) {
    if (r.error_class == ErrorClass::None && r.status == Status::UnknownCommand) {
      out.append("ERROR\r\n", 7);  // a memcached pool: memcached has no getl/unl
      return;
    }
    write_result_line(req.op, false, r, out);
    return;
  }
  const std::string frame = r.value.str();
  const auto* h = reinterpret_cast<const unsigned char*>(frame.data());
  const size_t extras = h[4];
  const size_t key = (size_t{h[2]} << 8) | h[3];
  const size_t body = frame.size() - 24;
  wire::LineWriter w(out);
  switch (r.status) {
    case Status::Success:
      if (!getl) {
        w.str("UNLOCKED\r\n");
        return;
      }
      if (extras + key <= body) {
        const uint32_t flags = extras >= 4 ? (uint32_t{h[24]} << 24) | (uint32_t{h[25]} << 16) | (uint32_t{h[26]} << 8) | h[27] : 0;
        const std::string_view value(frame.data() + 24 + extras + key, body - extras - key);
        w.str("VALUE ").str(req.key(0)).ch(' ').u64(flags).ch(' ').u64(value.size()).ch(' ').u64(r.cas).crlf();
        w.str(value).crlf();
      }
      w.str("END\r\n");
      return;
    case Status::KeyNotFound:
      w.str("NOT_FOUND\r\n");
      return;
    case Status::TemporaryFailure:
    case Status::KeyExists:
    case Status::Locked:
    case Status::UnknownCommand:
      w.str(getl ? "LOCK_ERROR\r\n" : "UNLOCK_ERROR\r\n");
      return;
    default:
      w.str(ascii_status_line(req.op, false, r.status)).crlf();
      return;
  }
}

void AsciiClientCodec::encode_stats(const Request& req, ByteChain& out) {
  const Result& r = req_result(req, 0);
  if (r.status == Status::KeyNotFound && r.error_class == ErrorClass::None) {
    // A binary backend's answer to an unknown stats group; memcached's ascii
    // side says ERROR for it ("stats bogus", "stats noreply").
    out.append("ERROR\r\n", 7);
    return;
  }
  if (r.status != Status::Success || r.error_class != ErrorClass::None) {
    write_result_line(Op::Stats, false, r, out);
    return;
  }
  if (req.stats_args == "reset") {
    out.append("RESET\r\n", 7);
    return;
  }
  if (req.stats_args == "proxy reset") {  // the original's reply: the reset is asynchronous
    out.append("OK\r\n", 4);
    return;
  }
  wire::LineWriter w(out);
  for (const auto& [name, value] : req.stats) w.str("STAT ").str(name).ch(' ').str(value).crlf();
  w.str("END\r\n");
}

void AsciiClientCodec::encode(const Request& req, ByteChain& out) {
  if (req.noreply) return;
  if (req.meta.command != MetaCommand::None && req.op != Op::Invalid) {
    encode_meta_reply(req, out);
    return;
  }
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
    case Op::Passthrough:
      encode_locking(req, out);
      return;
    case Op::Quit:
    case Op::Noop:  // binary only; an ascii client never sends it
    case Op::Sasl:  // binary only
    case Op::ClusterConfig:  // the proxy's own request, never a client's
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

std::span<const AsciiCommandInfo> ascii_commands() { return kCommandInfos; }

std::unique_ptr<ClientCodec> make_ascii_client_codec(const Limits& limits) {
  return std::make_unique<AsciiClientCodec>(limits);
}

}  // namespace moxi::protocol
