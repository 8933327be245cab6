// memcached binary protocol, client side (client -> proxy requests, proxy ->
// client responses).
//
// Framing checks follow memcached 1.6's try_read_command_binary and
// dispatch_bin_command, in the same order:
//  1. magic != 0x80: the stream is garbage -> DecodeStatus::Close.
//  2. once the header, extras and key are buffered:
//     key or key+extras longer than the body -> UnknownCommand, close after;
//     key longer than Limits::max_key_length -> InvalidArguments, close after;
//     extras/key/body lengths invalid for the opcode -> InvalidArguments,
//     close after (memcached closes on these too);
//     unknown opcode -> UnknownCommand, the body is swallowed, the connection
//     stays open (memcached swallows extras+key twice, which desyncs the
//     stream; we swallow exactly the frame);
//     body larger than max_value_length + key + extras -> TooLarge, the body
//     is swallowed, the connection stays open (memcached's E2BIG).
//  3. otherwise the whole frame is buffered, then decoded; the value is
//     moved out of the input with ByteChain::move_front_to.
//
// Where memcached leaves surplus body bytes of STAT/TOUCH/GAT frames in the
// stream (to be misread as the next header), we drop them with the frame.
//
// Responses mirror memcached's: the request's opcode and opaque are echoed,
// errors carry memcached's text bodies (or Result::message), quiet variants
// are silent on their "boring" outcome (a miss for GETQ/GETKQ/GATQ/GATKQ,
// success for the mutations, FLUSHQ, QUITQ) but always report errors. A GETK
// or GATK miss returns the key and no text, a GET miss "Not found", like
// memcached; a TOUCH hit returns the item's flags as 4 bytes of extras.
#include <algorithm>
#include <cstring>

#include "src/protocol/binary_format.h"
#include "src/protocol/client_codec.h"
#include "src/protocol/status_text.h"

namespace moxi::protocol {
namespace {

using binary::Opcode;

// What an opcode means in the normalized model, and the frame it needs.
struct OpInfo {
  Op op = Op::Invalid;
  bool known = false;
  bool quiet = false;
  bool return_key = false;
};

OpInfo describe(uint8_t opcode) {
  switch (static_cast<Opcode>(opcode)) {
    case Opcode::Get: return {Op::Get, true, false, false};
    case Opcode::GetQ: return {Op::Get, true, true, false};
    case Opcode::GetK: return {Op::Get, true, false, true};
    case Opcode::GetKQ: return {Op::Get, true, true, true};
    case Opcode::Gat: return {Op::Gat, true, false, false};
    case Opcode::GatQ: return {Op::Gat, true, true, false};
    case Opcode::GatK: return {Op::Gat, true, false, true};
    case Opcode::GatKQ: return {Op::Gat, true, true, true};
    case Opcode::Touch: return {Op::Touch, true, false, false};
    case Opcode::Set: return {Op::Set, true, false, false};
    case Opcode::SetQ: return {Op::Set, true, true, false};
    case Opcode::Add: return {Op::Add, true, false, false};
    case Opcode::AddQ: return {Op::Add, true, true, false};
    case Opcode::Replace: return {Op::Replace, true, false, false};
    case Opcode::ReplaceQ: return {Op::Replace, true, true, false};
    case Opcode::Append: return {Op::Append, true, false, false};
    case Opcode::AppendQ: return {Op::Append, true, true, false};
    case Opcode::Prepend: return {Op::Prepend, true, false, false};
    case Opcode::PrependQ: return {Op::Prepend, true, true, false};
    case Opcode::Delete: return {Op::Delete, true, false, false};
    case Opcode::DeleteQ: return {Op::Delete, true, true, false};
    case Opcode::Increment: return {Op::Incr, true, false, false};
    case Opcode::IncrementQ: return {Op::Incr, true, true, false};
    case Opcode::Decrement: return {Op::Decr, true, false, false};
    case Opcode::DecrementQ: return {Op::Decr, true, true, false};
    case Opcode::Quit: return {Op::Quit, true, false, false};
    case Opcode::QuitQ: return {Op::Quit, true, true, false};
    case Opcode::Flush: return {Op::Flush, true, false, false};
    case Opcode::FlushQ: return {Op::Flush, true, true, false};
    case Opcode::Noop: return {Op::Noop, true, false, false};
    case Opcode::Version: return {Op::Version, true, false, false};
    case Opcode::Stat: return {Op::Stats, true, false, false};
    case Opcode::Verbosity: return {Op::Verbosity, true, false, false};
    case Opcode::SaslListMechs:
    case Opcode::SaslAuth:
    case Opcode::SaslStep: return {Op::Sasl, true, false, false};
    default: return {};
  }
}

// memcached's per-opcode frame validation (dispatch_bin_command).
bool frame_valid(Op op, const binary::Header& h) {
  const uint32_t ext = h.extras_length;
  const uint32_t key = h.key_length;
  const uint32_t body = h.body_length;
  switch (op) {
    case Op::Version:
    case Op::Noop:
    case Op::Quit: return ext == 0 && key == 0 && body == 0;
    case Op::Flush: return key == 0 && body == ext && (ext == 0 || ext == binary::kFlushExtras);
    case Op::Set:
    case Op::Add:
    case Op::Replace: return ext == binary::kStorageExtras && key != 0 && body >= key + ext;
    case Op::Get: return ext == 0 && body == key && key > 0;
    case Op::Delete: return key > 0 && ext == 0 && body == key;
    case Op::Incr:
    case Op::Decr: return key > 0 && ext == binary::kArithExtras && body == key + ext;
    case Op::Append:
    case Op::Prepend: return key > 0 && ext == 0;
    case Op::Stats: return ext == 0;
    case Op::Touch:
    case Op::Gat: return ext == binary::kTouchExtras && key != 0;
    case Op::Verbosity: return ext == binary::kVerbosityExtras && key == 0 && body == ext;
    case Op::Sasl:  // memcached: LIST_MECHS has no body; AUTH/STEP name the mechanism in the key
      return h.opcode == static_cast<uint8_t>(binary::Opcode::SaslListMechs) ? body == 0 : ext == 0 && key > 0;
    default: return false;
  }
}

// Couchbase data-node opcodes with a key, passed unchanged to the key's
// server of a vBucket bucket (the original moxi forwarded every keyed
// opcode it did not know). A list, not "any other opcode": an opcode the
// server does not know makes memcached drop the connection every client
// shares, and quiet or connection-level opcodes (HELLO, SASL,
// SELECT_BUCKET, DCP, *Q_WITH_META) would break the shared pipeline.
bool passes_through(uint8_t opcode) {
  switch (opcode) {
    case 0x83:  // GET_REPLICA
    case 0x94:  // GETL
    case 0x95:  // UNL
    case 0xa0:  // GET_META
    case 0xa2:  // SET_WITH_META
    case 0xa4:  // ADD_WITH_META
    case 0xa8:  // DEL_WITH_META
      return true;
    default:
      return opcode >= 0xc5 && opcode <= 0xd2;  // sub-document operations
  }
}

bool has_value(Op op) {
  return op == Op::Set || op == Op::Add || op == Op::Replace || op == Op::Append || op == Op::Prepend ||
         op == Op::Sasl;
}

class BinaryClientCodec final : public ClientCodec {
 public:
  explicit BinaryClientCodec(const Limits& limits) : limits_(limits) {}

  DecodeStatus decode(ByteChain& in, Request& req) override;
  void encode(const Request& req, ByteChain& out) override;
  void set_max_value_length(uint32_t bytes) override {
    // A lower limit applies to the request being read too: parse it again.
    if (bytes < limits_.max_value_length) need_ = 0;
    limits_.max_value_length = bytes;
  }

 private:
  // Fills req as an Op::Invalid answered with `status`; drains the header,
  // extras and key (the bytes memcached had read when it decided).
  DecodeStatus reject(ByteChain& in, const binary::Header& h, Request& req, Status status, bool close_after);

  Limits limits_;
  size_t swallow_ = 0;  // body bytes of a rejected frame still to discard
  size_t need_ = 0;     // bytes the pending frame needs before it can be decoded
};

DecodeStatus BinaryClientCodec::reject(ByteChain& in, const binary::Header& h, Request& req, Status status,
                                       bool close_after) {
  in.drain(binary::kHeaderSize + h.extras_length + h.key_length);
  req.protocol = Protocol::Binary;
  req.op = Op::Invalid;
  req.opcode = h.opcode;
  req.opaque = h.opaque;
  req.error_status = status;
  req.close_after = close_after;
  return DecodeStatus::Ready;
}

DecodeStatus BinaryClientCodec::decode(ByteChain& in, Request& req) {
  if (swallow_ > 0) {
    size_t n = std::min(swallow_, in.size());
    in.drain(n);
    swallow_ -= n;
    if (swallow_ > 0) return DecodeStatus::NeedMore;
  }
  const size_t avail = in.size();
  if (avail < binary::kHeaderSize || avail < need_) return DecodeStatus::NeedMore;

  uint8_t raw[binary::kHeaderSize];
  in.copy_out(raw, sizeof(raw));
  const binary::Header h = binary::decode_header(raw);
  if (h.magic != binary::kRequestMagic) return DecodeStatus::Close;

  const size_t ext_key = size_t{h.extras_length} + h.key_length;
  if (avail < binary::kHeaderSize + ext_key) {
    need_ = binary::kHeaderSize + ext_key;
    return DecodeStatus::NeedMore;
  }
  need_ = 0;
  if (h.key_length > h.body_length || ext_key > h.body_length) {
    return reject(in, h, req, Status::UnknownCommand, true);
  }
  if (h.key_length > limits_.max_key_length) {
    req.limit = Limit::KeyLength;
    return reject(in, h, req, Status::InvalidArguments, true);
  }

  const OpInfo info = describe(h.opcode);
  const size_t value_length = h.body_length - ext_key;
  if (!info.known && h.key_length > 0 && passes_through(h.opcode) && value_length <= limits_.max_value_length) {
    const size_t frame = binary::kHeaderSize + h.body_length;
    if (avail < frame) {
      need_ = frame;
      return DecodeStatus::NeedMore;
    }
    in.drain(binary::kHeaderSize);
    req.protocol = Protocol::Binary;
    req.op = Op::Passthrough;
    req.opcode = h.opcode;
    req.opaque = h.opaque;
    req.cas = h.cas;
    req.datatype = h.data_type;
    req.extras.resize(h.extras_length);
    in.remove(req.extras.data(), h.extras_length);
    req.add_key(std::string_view(in.contiguous(h.key_length), h.key_length));
    in.drain(h.key_length);
    in.move_front_to(req.value, value_length);
    return DecodeStatus::Ready;
  }
  if (!info.known) {
    DecodeStatus st = reject(in, h, req, Status::UnknownCommand, false);
    swallow_ = value_length;
    size_t now = std::min(swallow_, in.size());
    in.drain(now);
    swallow_ -= now;
    return st;
  }
  if (!frame_valid(info.op, h)) return reject(in, h, req, Status::InvalidArguments, true);
  if (value_length > limits_.max_value_length) {
    // As for ascii: keep a rejected SET's key so the core may unlink the
    // stale item like memcached does.
    if (info.op == Op::Set) {
      const char* p = in.contiguous(binary::kHeaderSize + ext_key);
      req.add_key(std::string_view(p + binary::kHeaderSize + h.extras_length, h.key_length));
    }
    DecodeStatus st = reject(in, h, req, Status::TooLarge, false);
    req.limit = Limit::ValueSize;
    swallow_ = value_length;
    size_t now = std::min(swallow_, in.size());
    in.drain(now);
    swallow_ -= now;
    return st;
  }
  const size_t frame = binary::kHeaderSize + h.body_length;
  if (avail < frame) {
    need_ = frame;
    return DecodeStatus::NeedMore;
  }

  // The whole frame is here: fill the request.
  in.drain(binary::kHeaderSize);
  uint8_t extras[32] = {};
  in.remove(extras, h.extras_length);  // validated: at most 20 bytes

  req.protocol = Protocol::Binary;
  req.op = info.op;
  req.opcode = h.opcode;
  req.opaque = h.opaque;
  req.quiet = info.quiet;
  req.return_key = info.return_key;
  req.cas = h.cas;

  if (h.key_length > 0) {
    const char* key = in.contiguous(h.key_length);
    std::string_view k(key, h.key_length);
    if (info.op == Op::Stats) {
      req.stats_args.assign(k);  // STAT's key is the stats group, not a key to route
    } else {
      req.add_key(k);
    }
    in.drain(h.key_length);
  }

  switch (info.op) {
    case Op::Set:
    case Op::Add:
    case Op::Replace:
      req.flags = binary::get32(extras);
      req.exptime = binary::get32(extras + 4);
      break;
    case Op::Incr:
    case Op::Decr: {
      req.delta = binary::get64(extras);
      req.initial = binary::get64(extras + 8);
      const uint32_t expiration = binary::get32(extras + 16);
      req.create = expiration != binary::kNoAutoCreate;
      req.exptime = req.create ? expiration : 0;
      break;
    }
    case Op::Touch:
    case Op::Gat:
      req.exptime = binary::get32(extras);
      break;
    case Op::Flush:
      req.has_exptime = h.extras_length == binary::kFlushExtras;
      req.exptime = req.has_exptime ? binary::get32(extras) : 0;
      break;
    case Op::Verbosity:
      req.verbosity = binary::get32(extras);
      break;
    case Op::Quit:
      req.close_after = true;
      break;
    default:
      break;
  }

  if (has_value(info.op)) {
    in.move_front_to(req.value, value_length);
  } else if (value_length > 0) {
    in.drain(value_length);  // surplus body of STAT/TOUCH/GAT: see the file comment
  }
  return DecodeStatus::Ready;
}

// ---------------------------------------------------------------------------
// Encoding


// Writes one response packet; `value` (optional) is moved, not copied.
void write_response(ByteChain& out, const Request& req, Status status, uint64_t cas, const void* extras,
                    uint8_t extras_length, std::string_view key, std::string_view body, ByteChain* value) {
  binary::Header h;
  h.magic = binary::kResponseMagic;
  h.opcode = req.opcode;
  h.key_length = static_cast<uint16_t>(key.size());
  h.extras_length = extras_length;
  h.vbucket_or_status = static_cast<uint16_t>(status);
  const size_t value_length = value ? value->size() : 0;
  h.body_length = static_cast<uint32_t>(extras_length + key.size() + body.size() + value_length);
  h.opaque = req.opaque;
  h.cas = cas;
  uint8_t raw[binary::kHeaderSize];
  binary::encode_header(h, raw);
  out.append(raw, sizeof(raw));
  if (extras_length > 0) out.append(extras, extras_length);
  if (!key.empty()) out.append(key);
  if (!body.empty()) out.append(body);
  if (value_length > 0) out.append_chain(*value);
}

bool failed(const Result& r) { return r.status != Status::Success || r.error_class != ErrorClass::None; }

// An error response: memcached's text for the status, or the message the
// proxy / backend gave.
void write_error(ByteChain& out, const Request& req, const Result& r) {
  Status status = r.status == Status::Success ? Status::InternalError : r.status;
  std::string_view body = r.message.empty() ? binary_status_text(status) : std::string_view(r.message);
  write_response(out, req, status, 0, nullptr, 0, {}, body, nullptr);
}

void encode_get(const Request& req, ByteChain& out) {
  const Result& r = req_result(req, 0);
  std::string_view key = req.key_count() > 0 ? req.key(0) : std::string_view();
  if (r.hit) {
    uint8_t flags[4];
    binary::put32(flags, r.flags);
    // A small value travels as the body (copied with the header), a big one
    // as segments.
    write_response(out, req, Status::Success, r.cas, flags, sizeof(flags), req.return_key ? key : std::string_view(),
                   r.value.is_small() ? r.value.small() : std::string_view(),
                   r.value.is_small() ? nullptr : &r.value.chain());
    return;
  }
  const bool miss = r.error_class == ErrorClass::None && (r.status == Status::KeyNotFound || r.status == Status::Success);
  if (!miss) {
    write_error(out, req, r);
    return;
  }
  if (req.quiet) return;
  if (req.return_key) {
    write_response(out, req, Status::KeyNotFound, 0, nullptr, 0, key, {}, nullptr);
  } else {
    write_response(out, req, Status::KeyNotFound, 0, nullptr, 0, {}, binary_status_text(Status::KeyNotFound), nullptr);
  }
}

void encode_stats(const Request& req, ByteChain& out) {
  const Result& r = req_result(req, 0);
  if (failed(r)) {
    write_error(out, req, r);
    return;
  }
  for (const auto& [name, value] : req.stats) {
    write_response(out, req, Status::Success, 0, nullptr, 0, name, value, nullptr);
  }
  write_response(out, req, Status::Success, 0, nullptr, 0, {}, {}, nullptr);  // terminator
}

void encode_response(const Request& req, ByteChain& out) {
  switch (req.op) {
    case Op::Invalid: {
      std::string_view body =
          req.error_text.empty() ? binary_status_text(req.error_status) : std::string_view(req.error_text);
      write_response(out, req, req.error_status, 0, nullptr, 0, {}, body, nullptr);
      return;
    }
    case Op::Get:
    case Op::Gat:
      encode_get(req, out);
      return;
    case Op::Stats:
      encode_stats(req, out);
      return;
    case Op::Quit:
      if (!req.quiet) write_response(out, req, Status::Success, 0, nullptr, 0, {}, {}, nullptr);
      return;
    case Op::Passthrough: {
      // The server's response frame as it came, with the client's opaque.
      const Result& r = req_result(req, 0);
      if (r.error_class != ErrorClass::None || r.value.size() < binary::kHeaderSize) {
        write_error(out, req, r);  // a proxy error (timeout, closed connection, ...)
        return;
      }
      uint8_t head[binary::kHeaderSize];
      if (r.value.is_small()) {
        std::memcpy(head, r.value.small().data(), sizeof(head));
      } else {
        r.value.chain().remove(head, sizeof(head));
      }
      binary::put32(head + 12, req.opaque);
      out.append(head, sizeof(head));
      if (r.value.is_small()) {
        out.append(r.value.small().data() + sizeof(head), r.value.size() - sizeof(head));
      } else {
        r.value.move_to(out);
      }
      return;
    }
    default:
      break;
  }
  const Result& r = req_result(req, 0);
  if (failed(r)) {
    write_error(out, req, r);  // quiet commands still report errors
    return;
  }
  if (req.quiet) return;
  switch (req.op) {
    case Op::Incr:
    case Op::Decr: {
      uint8_t number[8];
      binary::put64(number, r.number);
      write_response(out, req, Status::Success, r.cas, nullptr, 0, {},
                     std::string_view(reinterpret_cast<const char*>(number), sizeof(number)), nullptr);
      return;
    }
    case Op::Touch: {
      uint8_t flags[4];
      binary::put32(flags, r.flags);
      write_response(out, req, Status::Success, r.cas, flags, sizeof(flags), {}, {}, nullptr);
      return;
    }
    case Op::Version:
    case Op::Sasl:  // the mechanism list, or "Authenticated"
      write_response(out, req, Status::Success, 0, nullptr, 0, {}, r.message, nullptr);
      return;
    default:  // storage, delete, flush, noop, verbosity: an empty success
      write_response(out, req, Status::Success, r.cas, nullptr, 0, {}, {}, nullptr);
      return;
  }
}

void BinaryClientCodec::encode(const Request& req, ByteChain& out) { encode_response(req, out); }

}  // namespace

std::unique_ptr<ClientCodec> make_binary_client_codec(const Limits& limits) {
  return std::make_unique<BinaryClientCodec>(limits);
}

}  // namespace moxi::protocol
