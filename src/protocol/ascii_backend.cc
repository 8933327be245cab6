// memcached ascii protocol, backend side (proxy -> memcached requests,
// memcached -> proxy replies).
//
// Requests:
//  * get/gets/gat/gats: one line with all the op's keys ("gets"/"gats" when
//    the client wants CAS, or is a binary client, whose responses always
//    carry it). memcached closes the connection on a gat line longer than
//    2048 bytes that arrives in pieces (only get/gets lines may be long), so
//    gat key lists are split into several lines of at most 2048 bytes;
//  * storage: "<verb> <key> <flags> <exptime> <bytes>[ <cas>]\r\n<data>\r\n",
//    "cas" whenever the request has a CAS (also a binary ADD/REPLACE with
//    CAS, which memcached treats as a CAS store); the value is referenced
//    (small pieces copied, see ByteChain::append_shared) and stays in the
//    request; a negative exptime is passed through (memcached: expired);
//  * incr/decr "<verb> <key> <delta>"; a binary client's incr with an
//    initial value (auto-create) is sent as "incr" followed by
//    "add <key> 0 <exptime> <len>\r\n<initial>": if the incr misses, the add
//    creates the item with the initial value, which is what memcached does
//    internally for binary incr (equally non-atomic);
//  * delete, touch, flush_all [delay], stats [args], version, verbosity;
//    a binary NOOP is sent as "version" (a cheap request with a reply).
// Requests ascii cannot express are not sent; a "version" stands in for them
// so the reply order is kept, and the keys get an error: a key containing a
// space, CR, LF or NUL, or longer than 250 bytes (InvalidArguments), CAS on
// incr/decr/delete/append/prepend (NotSupported), a binary opcode passed
// through or a GET_CLUSTER_CONFIG (UnknownCommand, as memcached answers an
// opcode it does not know).
//
// Replies: VALUE lines are matched to the op's keys in order (memcached
// answers hits in request order, a duplicated key at each occurrence); keys
// skipped before a VALUE or left at END are misses (KeyNotFound). Reply
// words map to statuses the way memcached's binary protocol would report the
// same outcome (add NOT_STORED -> KeyExists, replace NOT_STORED ->
// KeyNotFound), so a binary client sees what memcached would tell it.
// Error lines: "CLIENT_ERROR cannot increment or decrement non-numeric
// value" -> DeltaBadValue, "SERVER_ERROR object too large for cache" ->
// TooLarge, "SERVER_ERROR not my vbucket" -> NotMyVbucket, "SERVER_ERROR
// temporary failure" -> TemporaryFailure (plain statuses: each client
// protocol then prints its own canonical text, which for ascii is the same
// line); "SERVER_ERROR out of memory..." -> OutOfMemory keeping its class
// and text (memcached has several wordings); any other ERROR/CLIENT_ERROR/
// SERVER_ERROR line keeps its class and text (statuses UnknownCommand/
// InvalidArguments/InternalError).
// Anything else is a Desync.
#include <algorithm>
#include <cstring>
#include <string_view>

#include "src/protocol/ascii_numbers.h"
#include "src/protocol/backend_common.h"
#include "src/protocol/stats_merge.h"
#include "src/protocol/wire_util.h"

namespace moxi::protocol {
namespace {

using backend_codec::kCasUnsupported;
using backend_codec::kNotForwarded;
using backend_codec::kUnsendableKey;
using backend_codec::all_digits;
using backend_codec::parse_error_line;
using backend_codec::set_result;
using backend_codec::starts_with;

constexpr size_t kMaxGatLine = 2048;         // memcached's limit for lines other than get/gets
constexpr size_t kMaxAsciiKey = 250;
constexpr std::string_view kUnsendableText = "key cannot be sent over the ascii protocol";
constexpr std::string_view kCasText = "CAS on this command needs a binary backend";
constexpr std::string_view kNotForwardedText = "command is answered by the proxy";

// Nonzero when some byte of `x` equals `c` (the classic zero-byte test on x ^ c...c).
constexpr uint64_t kOnes = 0x0101010101010101ull;
inline uint64_t has_byte(uint64_t x, uint8_t c) {
  const uint64_t y = x ^ (kOnes * c);
  return (y - kOnes) & ~y & (kOnes * 0x80);
}

// Whether a key can go on an ascii request line: no space, CR, LF or NUL.
// Checked 8 bytes at a time: it runs several times per get key.
bool sendable(std::string_view key) {
  if (key.empty() || key.size() > kMaxAsciiKey) return false;
  const char* p = key.data();
  size_t left = key.size();
  for (; left >= 8; p += 8, left -= 8) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    if (has_byte(x, ' ') | has_byte(x, '\r') | has_byte(x, '\n') | has_byte(x, 0)) return false;
  }
  for (; left > 0; ++p, --left) {
    const char c = *p;
    if (c == ' ' || c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

class AsciiBackendCodec final : public BackendCodec {
 public:
  explicit AsciiBackendCodec(uint32_t max_value_length) : max_value_length_(max_value_length) {}
  void encode(BackendOp& op, ByteChain& out) override;
  BackendDecode decode(BackendOp& op, ByteChain& in) override;

 private:
  using Line = backend_codec::Line;
  // Finds the next reply line (without CRLF); `consumed` counts its bytes
  // including the line end. The view is valid until `in` is modified.
  Line peek_line(ByteChain& in, std::string_view& line, size_t& consumed);

  void encode_get(BackendOp& op, ByteChain& out);
  void stand_in(BackendOp& op, uint8_t why, ByteChain& out);
  BackendDecode decode_get(BackendOp& op, ByteChain& in);
  BackendDecode decode_stats(BackendOp& op, ByteChain& in);
  BackendDecode decode_incr(BackendOp& op, std::string_view line);
  BackendDecode decode_single(BackendOp& op, std::string_view line);

  size_t need_ = 0;  // bytes the pending VALUE needs before it can be read
  uint32_t max_value_length_;  // a longer VALUE is a Desync (kDefaultBackendValueMax)
};

// ---------------------------------------------------------------------------
// Encoding

bool is_gat(const Request& req) { return req.op == Op::Gat; }

// The end (exclusive position in key_indexes) of the request line that
// starts at key position `start`, and whether it carries any key. get/gets
// lines carry every key; gat lines stop before passing kMaxGatLine bytes.
// Encoder and decoder both call this, so they agree on the batches.
uint32_t batch_end(const BackendOp& op, uint32_t start, bool* has_key) {
  const Request& req = *op.request;
  const uint32_t n = static_cast<uint32_t>(op.key_indexes.size());
  size_t length = 4 /* "gats" */ + 1 + 11 /* exptime */ + 2 /* CRLF */;
  bool any = false;
  uint32_t end = start;
  for (; end < n; ++end) {
    std::string_view k = req.key(op.key_indexes[end]);
    if (!sendable(k)) continue;
    if (any && is_gat(req) && length + 1 + k.size() > kMaxGatLine) break;
    length += 1 + k.size();
    any = true;
  }
  if (has_key) *has_key = any;
  return end;
}

void AsciiBackendCodec::stand_in(BackendOp& op, uint8_t why, ByteChain& out) {
  op.stand_in = why;
  out.append("version\r\n", 9);
}

void AsciiBackendCodec::encode_get(BackendOp& op, ByteChain& out) {
  const Request& req = *op.request;
  const bool cas = req.want_cas || req.protocol == Protocol::Binary;
  std::string_view verb = is_gat(req) ? (cas ? "gats" : "gat") : (cas ? "gets" : "get");
  const uint32_t n = static_cast<uint32_t>(op.key_indexes.size());
  bool has_key = false;
  op.batch_end = batch_end(op, 0, &has_key);
  if (!has_key) {
    stand_in(op, kUnsendableKey, out);
    return;
  }
  wire::LineWriter w(out);
  for (uint32_t start = 0; start < n;) {
    uint32_t end = start == 0 ? op.batch_end : batch_end(op, start, &has_key);
    if (has_key) {
      w.str(verb);
      if (is_gat(req)) w.ch(' ').i64(backend_codec::ascii_exptime(req.exptime));
      for (uint32_t pos = start; pos < end; ++pos) {
        std::string_view k = req.key(op.key_indexes[pos]);
        if (sendable(k)) w.ch(' ').str(k);
      }
      w.crlf();
    }
    start = end;
  }
}

void AsciiBackendCodec::encode(BackendOp& op, ByteChain& out) {
  Request& req = backend_codec::prepare(op);
  if (backend_codec::is_keyed(req.op) && op.key_indexes.empty()) return stand_in(op, backend_codec::kNoKeys, out);
  if (req.op == Op::Passthrough) return stand_in(op, backend_codec::kNoAsciiForm, out);
  if (backend_codec::is_keyed(req.op) && req.op != Op::Get && req.op != Op::Gat) {
    if (!sendable(req.key(op.key_indexes[0]))) return stand_in(op, kUnsendableKey, out);
  }
  wire::LineWriter w(out);
  switch (req.op) {
    case Op::Get:
    case Op::Gat:
      w.flush();
      encode_get(op, out);
      return;
    case Op::Set:
    case Op::Add:
    case Op::Replace:
    case Op::Append:
    case Op::Prepend: {
      std::string_view verb;
      switch (req.op) {
        case Op::Add: verb = "add"; break;
        case Op::Replace: verb = "replace"; break;
        case Op::Append: verb = "append"; break;
        case Op::Prepend: verb = "prepend"; break;
        default: verb = "set"; break;
      }
      if (req.cas != 0) {
        if (req.op == Op::Append || req.op == Op::Prepend) {
          w.flush();
          return stand_in(op, kCasUnsupported, out);
        }
        verb = "cas";
      }
      w.str(verb).ch(' ').str(req.key(op.key_indexes[0])).ch(' ').u64(req.flags).ch(' ');
      w.i64(backend_codec::ascii_exptime(req.exptime)).ch(' ').u64(req.value.size());
      if (req.cas != 0) w.ch(' ').u64(req.cas);
      backend_codec::end_storage_line(w, out, req);
      return;
    }
    case Op::Incr:
    case Op::Decr: {
      if (req.cas != 0) {
        w.flush();
        return stand_in(op, kCasUnsupported, out);
      }
      std::string_view key = req.key(op.key_indexes[0]);
      w.str(req.op == Op::Incr ? "incr " : "decr ").str(key).ch(' ').u64(req.delta).crlf();
      if (req.create) {
        char digits[24];
        size_t len = static_cast<size_t>(format_u64(req.initial, digits) - digits);
        w.str("add ").str(key).str(" 0 ").i64(backend_codec::ascii_exptime(req.exptime)).ch(' ').u64(len).crlf();
        w.str(std::string_view(digits, len)).crlf();
      }
      return;
    }
    case Op::Delete:
      if (req.cas != 0) {
        w.flush();
        return stand_in(op, kCasUnsupported, out);
      }
      w.str("delete ").str(req.key(op.key_indexes[0])).crlf();
      return;
    case Op::Touch:
      w.str("touch ").str(req.key(op.key_indexes[0])).ch(' ').i64(backend_codec::ascii_exptime(req.exptime)).crlf();
      return;
    case Op::Flush:
      w.str("flush_all");
      if (req.has_exptime) w.ch(' ').i64(backend_codec::ascii_exptime(req.exptime));
      w.crlf();
      return;
    case Op::Stats:
      if (req.stats_args.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        w.flush();
        return stand_in(op, kUnsendableKey, out);
      }
      w.str("stats");
      if (!req.stats_args.empty()) w.ch(' ').str(req.stats_args);
      w.crlf();
      return;
    case Op::Verbosity:
      w.str("verbosity ").u64(req.verbosity).crlf();
      return;
    case Op::Version:
    case Op::Noop:
      w.str("version\r\n");
      return;
    case Op::Quit:
    case Op::Sasl:  // answered by the proxy
    case Op::Invalid:
      w.flush();
      return stand_in(op, kNotForwarded, out);
    case Op::Passthrough:
    case Op::ClusterConfig:  // sent to Couchbase data nodes only
      w.flush();
      return stand_in(op, backend_codec::kNoAsciiForm, out);
  }
}

// ---------------------------------------------------------------------------
// Decoding

AsciiBackendCodec::Line AsciiBackendCodec::peek_line(ByteChain& in, std::string_view& line, size_t& consumed) {
  return backend_codec::peek_reply_line(in, line, consumed);
}

BackendDecode AsciiBackendCodec::decode(BackendOp& op, ByteChain& in) {
  Request& req = *op.request;
  if (req.op == Op::Get || req.op == Op::Gat) {
    if (op.stand_in == backend_codec::kNoStandIn) return decode_get(op, in);
  } else if (req.op == Op::Stats && op.stand_in == backend_codec::kNoStandIn) {
    return decode_stats(op, in);
  }

  for (;;) {
    std::string_view line;
    size_t consumed = 0;
    Line l = peek_line(in, line, consumed);
    if (l == Line::NeedMore) return BackendDecode::NeedMore;
    if (l == Line::Desync) return BackendDecode::Desync;

    BackendDecode d;
    if (op.stand_in != backend_codec::kNoStandIn) {
      if (!starts_with(line, "VERSION")) return BackendDecode::Desync;
      const uint8_t why = op.stand_in;
      std::string_view text = why == kUnsendableKey ? kUnsendableText : why == kCasUnsupported ? kCasText : kNotForwardedText;
      Status status = why == kUnsendableKey ? Status::InvalidArguments
                      : why == kCasUnsupported ? Status::NotSupported
                                               : Status::InternalError;
      ErrorClass cls = why == kUnsendableKey ? ErrorClass::ClientError : ErrorClass::ServerError;
      if (why == backend_codec::kNoKeys) {
        // nothing was asked
      } else if (why == backend_codec::kNoAsciiForm) {
        set_result(backend_codec::result_for(op, 0), Status::UnknownCommand);  // what memcached says to an unknown opcode
      } else if (op.key_indexes.empty()) {
        backend_codec::note_shared_error(backend_codec::keyless_result(op), status, cls, text);
      } else {
        for (size_t pos = 0; pos < op.key_indexes.size(); ++pos) set_result(backend_codec::result_for(op, pos), status, cls, text);
      }
      d = BackendDecode::Done;
    } else if (req.op == Op::Incr || req.op == Op::Decr) {
      d = decode_incr(op, line);
    } else {
      d = decode_single(op, line);
    }
    if (d == BackendDecode::Desync) return d;
    in.drain(consumed);
    if (d == BackendDecode::Done) return d;
  }
}

// One reply line for storage, delete, touch, flush, verbosity, version, noop.
BackendDecode AsciiBackendCodec::decode_single(BackendOp& op, std::string_view line) {
  Request& req = *op.request;
  Status status;
  ErrorClass cls;
  std::string_view message;
  const bool keyed = !op.key_indexes.empty();
  if (parse_error_line(line, status, cls, message)) {
    if (req.op == Op::Flush && line == "CLIENT_ERROR flush_all not allowed") {
      // memcached -F; a binary client is told what memcached's binary side says.
      status = Status::AuthError;
      cls = ErrorClass::None;
      message = {};
    }
    if (keyed) {
      set_result(backend_codec::result_for(op, 0), status, cls, message);
    } else {
      backend_codec::note_shared_error(backend_codec::keyless_result(op), status, cls, message);
    }
    return BackendDecode::Done;
  }
  switch (req.op) {
    case Op::Set:
    case Op::Add:
    case Op::Replace:
    case Op::Append:
    case Op::Prepend: {
      Result& r = backend_codec::result_for(op, 0);
      if (line == "STORED") {
        set_result(r, Status::Success);
      } else if (line == "NOT_STORED") {
        // What memcached's binary protocol says for the same outcome.
        set_result(r, backend_codec::not_stored_status(req.op));
      } else if (line == "EXISTS") {
        set_result(r, Status::KeyExists);
      } else if (line == "NOT_FOUND") {
        set_result(r, Status::KeyNotFound);
      } else {
        return BackendDecode::Desync;
      }
      return BackendDecode::Done;
    }
    case Op::Delete:
    case Op::Touch: {
      Result& r = backend_codec::result_for(op, 0);
      if (line == (req.op == Op::Delete ? "DELETED" : "TOUCHED")) {
        set_result(r, Status::Success);
      } else if (line == "NOT_FOUND") {
        set_result(r, Status::KeyNotFound);
      } else {
        return BackendDecode::Desync;
      }
      return BackendDecode::Done;
    }
    case Op::Flush:
    case Op::Verbosity:
      return line == "OK" ? BackendDecode::Done : BackendDecode::Desync;
    case Op::Version:
    case Op::Noop: {
      if (!starts_with(line, "VERSION")) return BackendDecode::Desync;
      Result& r = backend_codec::keyless_result(op);
      if (req.op == Op::Version && r.status == Status::Success && r.error_class == ErrorClass::None) {
        std::string_view v = line.substr(7);
        if (!v.empty() && v[0] == ' ') v.remove_prefix(1);
        r.message.assign(v);
      }
      return BackendDecode::Done;
    }
    default:
      return BackendDecode::Desync;
  }
}

BackendDecode AsciiBackendCodec::decode_incr(BackendOp& op, std::string_view line) {
  Request& req = *op.request;
  Result& r = backend_codec::result_for(op, 0);
  Status status;
  ErrorClass cls;
  std::string_view message;
  if (op.phase == 0) {
    uint64_t number = 0;
    if (all_digits(line) && parse_u64(line, number)) {
      set_result(r, Status::Success);
      r.number = number;
    } else if (line == "NOT_FOUND") {
      set_result(r, Status::KeyNotFound);
    } else if (parse_error_line(line, status, cls, message)) {
      set_result(r, status, cls, message);
    } else {
      return BackendDecode::Desync;
    }
    if (!req.create) return BackendDecode::Done;
    op.phase = 1;  // the add's reply follows
    return BackendDecode::NeedMore;
  }
  // The add that creates a missing counter: it only matters if the incr missed.
  const bool missed = r.status == Status::KeyNotFound && r.error_class == ErrorClass::None;
  if (line == "STORED") {
    if (missed) {
      set_result(r, Status::Success);
      r.number = req.initial;
    }
  } else if (line == "NOT_STORED" || line == "EXISTS" || line == "NOT_FOUND") {
    if (missed) set_result(r, Status::NotStored);  // created by someone else meanwhile, as memcached reports
  } else if (parse_error_line(line, status, cls, message)) {
    if (missed) set_result(r, status, cls, message);
  } else {
    return BackendDecode::Desync;
  }
  return BackendDecode::Done;
}

BackendDecode AsciiBackendCodec::decode_get(BackendOp& op, ByteChain& in) {
  Request& req = *op.request;
  const uint32_t n = static_cast<uint32_t>(op.key_indexes.size());

  // Closes the positions [cursor, upto) that got no VALUE: a miss, or the
  // error for keys that were never sent.
  auto close_positions = [&](uint32_t upto, bool error, Status st, ErrorClass cls, std::string_view msg) {
    for (; op.cursor < upto; ++op.cursor) {
      Result& r = backend_codec::result_for(op, op.cursor);
      if (!sendable(req.key(op.key_indexes[op.cursor]))) {
        set_result(r, Status::InvalidArguments, ErrorClass::ClientError, kUnsendableText);
      } else if (error) {
        set_result(r, st, cls, msg);
      } else {
        set_result(r, Status::KeyNotFound);
      }
    }
  };
  // After a batch's END (or error line): on to the next batch that was sent.
  auto next_batch = [&]() -> bool {
    while (op.cursor < n) {
      bool has_key = false;
      op.batch_end = batch_end(op, op.cursor, &has_key);
      if (has_key) return false;
      close_positions(op.batch_end, false, Status::Success, ErrorClass::None, {});
    }
    return true;  // all done
  };

  for (;;) {
    if (need_ > 0 && in.size() < need_) return BackendDecode::NeedMore;
    std::string_view line;
    size_t consumed = 0;
    Line l = peek_line(in, line, consumed);
    if (l == Line::NeedMore) return BackendDecode::NeedMore;
    if (l == Line::Desync) return BackendDecode::Desync;

    if (starts_with(line, "VALUE ")) {
      // VALUE <key> <flags> <bytes>[ <cas>]
      std::string_view f[5];
      size_t count = 0;
      std::string_view rest = line.substr(6);
      while (!rest.empty() && count < 5) {
        size_t sp = rest.find(' ');
        f[count++] = rest.substr(0, sp);
        rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
      }
      uint64_t flags = 0;
      uint64_t bytes = 0;
      uint64_t cas = 0;
      if (!rest.empty() || count < 3 || count > 4 || !all_digits(f[1]) || !all_digits(f[2]) ||
          !parse_u64(f[1], flags) || flags > UINT32_MAX || !parse_u64(f[2], bytes) || bytes > max_value_length_ ||
          (count == 4 && !(all_digits(f[3]) && parse_u64(f[3], cas)))) {
        return BackendDecode::Desync;
      }
      if (!backend_codec::reply_block_buffered(in, consumed, bytes, need_)) return BackendDecode::NeedMore;
      uint32_t pos = op.cursor;
      while (pos < op.batch_end && req.key(op.key_indexes[pos]) != f[0]) ++pos;
      if (pos == op.batch_end) return BackendDecode::Desync;  // a value we did not ask for (now)
      close_positions(pos, false, Status::Success, ErrorClass::None, {});
      Result& r = backend_codec::result_for(op, pos);
      r.reset();
      r.hit = true;
      r.flags = static_cast<uint32_t>(flags);
      r.cas = cas;
      in.drain(consumed);
      r.value.take(in, static_cast<size_t>(bytes));
      char crlf[2];
      in.remove(crlf, 2);
      if (crlf[0] != '\r' || crlf[1] != '\n') return BackendDecode::Desync;
      op.cursor = pos + 1;
      continue;
    }

    Status status;
    ErrorClass cls;
    std::string_view message;
    if (line == "END") {
      close_positions(op.batch_end, false, Status::Success, ErrorClass::None, {});
    } else if (parse_error_line(line, status, cls, message)) {
      close_positions(op.batch_end, true, status, cls, message);
    } else {
      return BackendDecode::Desync;
    }
    in.drain(consumed);
    if (next_batch()) return BackendDecode::Done;
  }
}

BackendDecode AsciiBackendCodec::decode_stats(BackendOp& op, ByteChain& in) {
  for (;;) {
    std::string_view line;
    size_t consumed = 0;
    Line l = peek_line(in, line, consumed);
    if (l == Line::NeedMore) return BackendDecode::NeedMore;
    if (l == Line::Desync) return BackendDecode::Desync;
    Status status;
    ErrorClass cls;
    std::string_view message;
    BackendDecode d = BackendDecode::NeedMore;
    if (starts_with(line, "STAT ")) {
      std::string_view rest = line.substr(5);
      size_t sp = rest.find(' ');
      std::string_view name = rest.substr(0, sp);
      std::string_view value = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
      backend_codec::collect_stat(op, name, value);
    } else if (line == "END" || line == "RESET" || line == "OK") {
      d = BackendDecode::Done;
    } else if (parse_error_line(line, status, cls, message)) {
      backend_codec::note_shared_error(backend_codec::keyless_result(op), status, cls, message);
      d = BackendDecode::Done;
    } else {
      return BackendDecode::Desync;
    }
    in.drain(consumed);
    if (d == BackendDecode::Done) return d;
  }
}

}  // namespace

std::unique_ptr<BackendCodec> make_ascii_backend_codec(uint32_t max_value_length) {
  return std::make_unique<AsciiBackendCodec>(max_value_length);
}

}  // namespace moxi::protocol
