// memcached 1.6's meta protocol, backend side (proxy -> memcached requests,
// memcached -> proxy replies).
//
// Requests (every keyed op is one meta command per key, each with a reply):
//  * get/gets: "mg <key> v f[ c]" per key, gat/gats the same with T<ttl>.
//    Not the quiet form ("q k" per key then "mn"): without q every key gets
//    a reply line in request order, so replies pair with keys by position and
//    the key need not be echoed (k), which costs more bytes per hit than the
//    4-byte "EN\r\n" of a miss for any key longer than 2 bytes, and saves
//    the key comparison per hit the ascii codec does. c only when the client
//    wants the cas (gets/gats, and binary clients, whose every response has it);
//  * touch: "mg <key> T<ttl>[ f c]" (HD/EN; f c for binary clients, whose TOUCH
//    reply has the flags and cas);
//  * storage: "ms <key> <len> F<flags> T<ttl> M<mode>[ C<cas>][ c]": a CAS on
//    any store (also append/prepend) is carried; c returns the new cas for
//    binary clients;
//  * incr/decr: "ma <key>[ MD] D<delta>[ N<ttl> J<initial>][ C<cas>] v[ c]";
//    a binary client's create is atomic here (ascii needs incr + add);
//  * delete: "md <key>[ C<cas>]".
//  A key that cannot go on a text line (a binary client's key with a space
//  or control byte) is sent base64 with the b flag (OpenSSL's EVP_EncodeBlock);
//  one memcached would refuse (see sendable()) is not sent: "mn" stands in
//  and the key gets InvalidArguments.
//  Keyless ops (flush_all, stats, version, verbosity), and what the ascii
//  backend answers without the server (Passthrough, ClusterConfig, Quit,
//  Invalid, keyed ops without keys), are the ascii codec's: memcached mixes
//  plain ascii commands with meta ones on a connection.
//
// A meta client's request (Request::meta) is relayed: its own line (the key
// as the client wrote it, base64 or not) and data block, and the reply line
// and data come back verbatim (Result::meta_reply), so every flag means
// what memcached makes of it, return flags included. A quiet mg, ms or md
// goes without its q: what q elides there (mg's EN, ms's and md's HD) is
// known from the reply, and the client codec drops it; so a run of quiet
// gets is answered with one send, as a multiget. A quiet ma keeps its q and
// is followed by an "mn": only the server knows whether N created the
// counter (then memcached answers despite q), and the MN marks where the
// possibly elided reply ends.
//
// Replies: VA <len> <flags> + data (hit / incr number), EN (miss), HD
// (success), NS (not stored: mapped as ascii NOT_STORED is), EX (cas
// mismatch: KeyExists), NF (not found); ERROR / CLIENT_ERROR / SERVER_ERROR
// lines map as in the ascii codec (parse_error_line). Anything else is a
// Desync.
#include <openssl/evp.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "src/protocol/ascii_numbers.h"
#include "src/protocol/backend_common.h"
#include "src/protocol/wire_util.h"

namespace moxi::protocol {
namespace {

using backend_codec::all_digits;
using backend_codec::Line;
using backend_codec::set_result;
using backend_codec::starts_with;

// Whether a key can go on a meta line as it is: memcached's meta parser
// takes any byte above space except DEL.
bool plain_key(std::string_view key) {
  if (key.empty()) return false;
  for (unsigned char c : key) {
    if (c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

constexpr size_t kMaxMetaKey = 250;  // memcached's limit, on the key as written (base64 too)
constexpr std::string_view kUnsendableText = "key cannot be sent over the meta protocol";

size_t base64_length(size_t n) { return 4 * ((n + 2) / 3); }

// Whether memcached takes the key in some form. It checks the length of the
// token as written, so a base64 key may carry at most 187 bytes; and after
// refusing an ms line it reads the data as a command, so such a key must not
// be sent at all: an "mn" (answered MN) stands in for its command.
bool sendable(std::string_view key) {
  if (key.empty()) return false;
  return plain_key(key) ? key.size() <= kMaxMetaKey : base64_length(key.size()) <= kMaxMetaKey;
}

class MetaBackendCodec final : public BackendCodec {
 public:
  explicit MetaBackendCodec(uint32_t max_value_length)
      : ascii_(make_ascii_backend_codec(max_value_length)), max_value_length_(max_value_length) {}
  void encode(BackendOp& op, ByteChain& out) override;
  BackendDecode decode(BackendOp& op, ByteChain& in) override;

 private:
  // Ops the ascii codec handles (see the file comment).
  static bool for_ascii(const BackendOp& op) {
    const Request& req = *op.request;
    return !backend_codec::is_keyed(req.op) || req.op == Op::Passthrough || op.key_indexes.empty();
  }
  // Writes " <key>", or its base64 form and returns true: the caller adds
  // the b flag where flags go (for ms only after the data length).
  bool key(wire::LineWriter& w, std::string_view k);
  // One reply for the op's key at position `pos`.
  BackendDecode decode_one(BackendOp& op, uint32_t pos, ByteChain& in);
  // Done when `line` holds the next reply line (and the data block an
  // earlier VA announced, need_, is in too).
  BackendDecode next_line(ByteChain& in, std::string_view& line, size_t& consumed);
  // A meta client's request, relayed (see the file comment).
  static bool relayed(const BackendOp& op) { return op.request->meta.command != MetaCommand::None; }
  // A quiet request the server itself elides the reply of (followed by mn).
  static bool server_elides(const Request& req);
  void encode_relayed(const Request& req, ByteChain& out);
  BackendDecode decode_relayed(BackendOp& op, ByteChain& in);

  std::unique_ptr<BackendCodec> ascii_;  // keyless ops; same thread as this codec
  std::string b64_;                      // scratch for base64 keys
  size_t need_ = 0;                      // bytes the pending VA needs before it can be read
  uint32_t max_value_length_;            // a longer VA is a Desync
};

bool MetaBackendCodec::key(wire::LineWriter& w, std::string_view k) {
  w.ch(' ');
  if (plain_key(k)) {
    w.str(k);
    return false;
  }
  b64_.resize(base64_length(k.size()) + 1);
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64_.data()), reinterpret_cast<const unsigned char*>(k.data()),
                          static_cast<int>(k.size()));
  w.str(std::string_view(b64_.data(), static_cast<size_t>(n)));
  return true;
}

void MetaBackendCodec::encode(BackendOp& op, ByteChain& out) {
  Request& req = backend_codec::prepare(op);
  if (for_ascii(op)) return ascii_->encode(op, out);
  if (relayed(op)) return encode_relayed(req, out);
  const bool binary = req.protocol == Protocol::Binary;
  wire::LineWriter w(out);
  if (req.op != Op::Get && req.op != Op::Gat && !sendable(req.key(op.key_indexes[0]))) {
    w.str("mn\r\n");
    return;
  }
  switch (req.op) {
    case Op::Get:
    case Op::Gat: {
      const bool cas = req.want_cas || binary;
      for (uint32_t idx : op.key_indexes) {
        if (!sendable(req.key(idx))) {
          w.str("mn\r\n");
          continue;
        }
        w.str("mg");
        if (key(w, req.key(idx))) w.str(" b");
        w.str(cas ? " v f c" : " v f");
        if (req.op == Op::Gat) w.str(" T").i64(backend_codec::ascii_exptime(req.exptime));
        w.crlf();
      }
      return;
    }
    case Op::Touch:
      w.str("mg");
      if (key(w, req.key(op.key_indexes[0]))) w.str(" b");
      w.str(" T").i64(backend_codec::ascii_exptime(req.exptime));
      if (binary) w.str(" f c");  // memcached's binary TOUCH answers the item's flags and cas
      w.crlf();
      return;
    case Op::Set:
    case Op::Add:
    case Op::Replace:
    case Op::Append:
    case Op::Prepend: {
      // memcached's binary ADD/REPLACE with a cas is a cas store (as ascii
      // "cas"): a missing key is NotFound, not an add.
      const bool cas_store = req.cas != 0 && (req.op == Op::Add || req.op == Op::Replace);
      char mode = cas_store                 ? 'S'
                  : req.op == Op::Add       ? 'E'
                  : req.op == Op::Replace ? 'R'
                  : req.op == Op::Append  ? 'A'
                  : req.op == Op::Prepend ? 'P'
                                          : 'S';
      w.str("ms");
      const bool b = key(w, req.key(op.key_indexes[0]));
      w.ch(' ').u64(req.value.size());
      if (b) w.str(" b");
      w.str(" F").u64(req.flags).str(" T").i64(backend_codec::ascii_exptime(req.exptime));
      w.str(" M").ch(mode);
      if (req.cas != 0) w.str(" C").u64(req.cas);
      if (binary) w.str(" c");
      backend_codec::end_storage_line(w, out, req);
      return;
    }
    case Op::Incr:
    case Op::Decr:
      w.str("ma");
      if (key(w, req.key(op.key_indexes[0]))) w.str(" b");
      if (req.op == Op::Decr) w.str(" MD");
      w.str(" D").u64(req.delta);
      if (req.create) w.str(" N").i64(backend_codec::ascii_exptime(req.exptime)).str(" J").u64(req.initial);
      if (req.cas != 0) w.str(" C").u64(req.cas);
      w.str(binary ? " v c" : " v").crlf();
      return;
    case Op::Delete:
      w.str("md");
      if (key(w, req.key(op.key_indexes[0]))) w.str(" b");
      if (req.cas != 0) w.str(" C").u64(req.cas);
      w.crlf();
      return;
    default:  // for_ascii() took every other op
      return;
  }
}

BackendDecode MetaBackendCodec::decode(BackendOp& op, ByteChain& in) {
  if (for_ascii(op)) return ascii_->decode(op, in);
  if (relayed(op)) return decode_relayed(op, in);
  const uint32_t n = static_cast<uint32_t>(op.key_indexes.size());
  while (op.cursor < n) {
    BackendDecode d = decode_one(op, op.cursor, in);
    if (d != BackendDecode::Done) return d;
    ++op.cursor;
  }
  return BackendDecode::Done;
}

BackendDecode MetaBackendCodec::next_line(ByteChain& in, std::string_view& line, size_t& consumed) {
  if (need_ > 0 && in.size() < need_) return BackendDecode::NeedMore;
  switch (backend_codec::peek_reply_line(in, line, consumed)) {
    case Line::NeedMore: return BackendDecode::NeedMore;
    case Line::Desync: return BackendDecode::Desync;
    case Line::Ready: break;
  }
  return BackendDecode::Done;
}

BackendDecode MetaBackendCodec::decode_one(BackendOp& op, uint32_t pos, ByteChain& in) {
  Request& req = *op.request;
  std::string_view line;
  size_t consumed = 0;
  if (BackendDecode d = next_line(in, line, consumed); d != BackendDecode::Done) return d;
  Result& r = backend_codec::result_for(op, pos);
  const std::string_view code = line.substr(0, 2);
  const bool word_end = line.size() == 2 || (line.size() > 2 && line[2] == ' ');
  const bool is_get = req.op == Op::Get || req.op == Op::Gat;
  const bool is_arith = req.op == Op::Incr || req.op == Op::Decr;

  Status status;
  ErrorClass cls;
  std::string_view message;
  if (!word_end || code == "ER" || code == "CL" || code == "SE") {
    if (!backend_codec::parse_error_line(line, status, cls, message)) return BackendDecode::Desync;
    set_result(r, status, cls, message);
    in.drain(consumed);
    return BackendDecode::Done;
  }

  // Return flags: f<flags>, c<cas> (others, e.g. b or k, are ignored).
  uint64_t flags = 0;
  uint64_t cas = 0;
  uint64_t length = 0;
  std::string_view rest = line.size() > 3 ? line.substr(3) : std::string_view();
  bool first = true;
  const bool is_va = code == "VA";
  while (!rest.empty()) {
    size_t sp = rest.find(' ');
    std::string_view tok = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    if (tok.empty()) return BackendDecode::Desync;
    if (first && is_va) {
      if (!all_digits(tok) || !parse_u64(tok, length) || length > max_value_length_) return BackendDecode::Desync;
    } else if (tok[0] == 'f') {
      if (!all_digits(tok.substr(1)) || !parse_u64(tok.substr(1), flags) || flags > UINT32_MAX) return BackendDecode::Desync;
    } else if (tok[0] == 'c') {
      if (!all_digits(tok.substr(1)) || !parse_u64(tok.substr(1), cas)) return BackendDecode::Desync;
    }
    first = false;
  }
  if (is_va && first) return BackendDecode::Desync;  // VA without a length

  if (is_va) {
    if (!is_get && !is_arith) return BackendDecode::Desync;
    if (!backend_codec::reply_block_buffered(in, consumed, length, need_)) return BackendDecode::NeedMore;
    r.reset();
    r.cas = cas;
    in.drain(consumed);
    if (is_get) {
      r.hit = true;
      r.flags = static_cast<uint32_t>(flags);
      r.value.take(in, static_cast<size_t>(length));
    } else {
      char digits[24];
      if (length == 0 || length > 20) return BackendDecode::Desync;
      in.remove(digits, static_cast<size_t>(length));
      uint64_t number = 0;
      std::string_view text(digits, static_cast<size_t>(length));
      if (!all_digits(text) || !parse_u64(text, number)) return BackendDecode::Desync;
      r.number = number;
    }
    char crlf[2];
    in.remove(crlf, 2);
    if (crlf[0] != '\r' || crlf[1] != '\n') return BackendDecode::Desync;
    return BackendDecode::Done;
  }

  if (code == "MN" && line.size() == 2) {
    if (sendable(req.key(op.key_indexes[pos]))) return BackendDecode::Desync;
    set_result(r, Status::InvalidArguments, ErrorClass::ClientError, kUnsendableText);
  } else if (code == "HD") {
    if (is_get) return BackendDecode::Desync;  // a get always asks for the value
    set_result(r, Status::Success);
    r.cas = cas;
    r.flags = static_cast<uint32_t>(flags);
  } else if (code == "EN") {
    if (!is_get && req.op != Op::Touch) return BackendDecode::Desync;
    set_result(r, Status::KeyNotFound);
  } else if (code == "NS") {
    if (is_get || req.op == Op::Touch || req.op == Op::Delete) return BackendDecode::Desync;
    set_result(r, is_arith ? Status::NotStored : backend_codec::not_stored_status(req.op));
  } else if (code == "EX") {
    if (is_get || req.op == Op::Touch) return BackendDecode::Desync;
    set_result(r, Status::KeyExists);
  } else if (code == "NF") {
    if (is_get || req.op == Op::Touch) return BackendDecode::Desync;
    set_result(r, Status::KeyNotFound);
  } else {
    return BackendDecode::Desync;
  }
  in.drain(consumed);
  return BackendDecode::Done;
}

bool MetaBackendCodec::server_elides(const Request& req) {
  return req.meta.quiet && req.meta.command == MetaCommand::Arithmetic;
}

void MetaBackendCodec::encode_relayed(const Request& req, ByteChain& out) {
  wire::LineWriter w(out);
  if (req.meta.quiet && !server_elides(req)) {
    // The line without its q token (tokens are what memcached reads: the
    // spacing need not be kept).
    bool first = true;
    for (size_t at = 0; at < req.meta.line.size();) {
      const size_t end = std::min(req.meta.line.find(' ', at), req.meta.line.size());
      const std::string_view token = std::string_view(req.meta.line).substr(at, end - at);
      if (!token.empty() && token != "q") {
        if (!first) w.ch(' ');
        w.str(token);
        first = false;
      }
      at = end + 1;
    }
  } else {
    w.str(req.meta.line);
  }
  if (req.meta.command == MetaCommand::Set) {
    backend_codec::end_storage_line(w, out, req);
  } else {
    w.crlf();
  }
  if (server_elides(req)) w.str("mn\r\n");
}

// Whether q elides the reply `line` of mg, ms or md: its code (the flags
// after it go with it).
bool elided_by_quiet(const Request& req, std::string_view line) {
  if (line.size() > 2 && line[2] != ' ') return false;
  const std::string_view code = line.substr(0, 2);
  switch (req.meta.command) {
    case MetaCommand::Get: return code == "EN";
    case MetaCommand::Set:
    case MetaCommand::Delete: return code == "HD";
    default: return false;
  }
}

// op.phase: 0 = the reply (or, for a quiet ma, the MN standing for none)
// is due; 1 = the MN after a quiet ma's reply.
BackendDecode MetaBackendCodec::decode_relayed(BackendOp& op, ByteChain& in) {
  const Request& req = *op.request;
  std::string_view line;
  size_t consumed = 0;
  if (BackendDecode d = next_line(in, line, consumed); d != BackendDecode::Done) return d;
  const bool mn = line == "MN";
  if (op.phase == 1) {
    if (!mn) return BackendDecode::Desync;
    in.drain(consumed);
    return BackendDecode::Done;
  }
  Result& r = backend_codec::result_for(op, 0);
  r.reset();
  r.meta_reply = true;
  if (mn) {  // q elided the reply: the boring outcome
    if (!server_elides(req)) return BackendDecode::Desync;
    r.status = req.meta.command == MetaCommand::Get ? Status::KeyNotFound : Status::Success;
    in.drain(consumed);
    return BackendDecode::Done;
  }
  const std::string_view code = line.substr(0, 2);
  if (code == "VA") {
    const std::string_view rest = line.substr(std::min<size_t>(3, line.size()));
    const std::string_view digits = rest.substr(0, rest.find(' '));
    uint64_t length = 0;
    if (line.size() < 4 || line[2] != ' ' || !all_digits(digits) || !parse_u64(digits, length) ||
        length > max_value_length_)
      return BackendDecode::Desync;
    if (!backend_codec::reply_block_buffered(in, consumed, length, need_)) return BackendDecode::NeedMore;
    r.message.assign(line);
    in.drain(consumed);
    r.value.take(in, static_cast<size_t>(length));
    char crlf[2];
    in.remove(crlf, 2);
    if (crlf[0] != '\r' || crlf[1] != '\n') return BackendDecode::Desync;
    r.hit = req.meta.command == MetaCommand::Get;
  } else {
    // The status counts the outcome (metrics); the line is what the client reads.
    if (code == "EN" || code == "NF") {
      r.status = Status::KeyNotFound;
    } else if (code == "EX") {
      r.status = Status::KeyExists;
    } else if (code == "NS") {
      r.status = Status::NotStored;
    } else if (code != "HD" && code != "ME") {
      Status status;
      ErrorClass cls;
      std::string_view message;
      if (!backend_codec::parse_error_line(line, status, cls, message)) return BackendDecode::Desync;
      r.status = status;
    }
    r.hit = code == "ME";
    if (!(req.meta.quiet && elided_by_quiet(req, line))) r.message.assign(line);
    in.drain(consumed);
  }
  if (!server_elides(req)) return BackendDecode::Done;
  op.phase = 1;
  return decode_relayed(op, in);
}

}  // namespace

std::unique_ptr<BackendCodec> make_meta_backend_codec(uint32_t max_value_length) {
  return std::make_unique<MetaBackendCodec>(max_value_length);
}

}  // namespace moxi::protocol
