// memcached binary protocol, backend side (proxy -> memcached requests,
// memcached -> proxy responses).
//
// Requests: GETK/GATK per key (not the quiet variants, so every key gets an
// answer and the reply count is known; GET_REPLICA for a replica read), SET/ADD/REPLACE with flags and
// expiration extras, APPEND/PREPEND, DELETE, INCREMENT/DECREMENT (an ascii
// client's incr never auto-creates: expiration 0xffffffff), TOUCH, FLUSH
// (with the delay as extras when given), STAT (key = the stats arguments),
// VERSION, NOOP, VERBOSITY, GET_CLUSTER_CONFIG (bare). CAS travels in the header; the vBucket id of a
// keyed request is request->vbuckets[key index] when the router filled
// vbuckets, else 0. A negative (ascii) exptime is sent as 30 days + 1 s, the
// absolute time memcached itself uses for "already expired" (see
// backend_common.h).
//
// Every frame carries an opaque from a per-connection counter; a response
// whose magic, opcode or opaque is not the one expected next is a Desync
// (the stream and our queue disagree, so nothing after it can be trusted).
// A GETK/GATK response must also echo the key that was asked for.
//
// With HELLO XERROR granted (set_extended_errors), statuses are folded back
// to the ones a client without it expects (extended_errors.h), in a relayed
// frame too.
//
// Responses: status 0 fills the result (a hit's value bytes go to
// Result::value: copied when small, segments moved when big, see ValueBytes); any other status lands as is in
// the key's Result with the response body as its message (e.g. 0x0007 ->
// Status::NotMyVbucket, which the core retries). STAT responses are merged
// until the empty terminator. A VERSION or GET_CLUSTER_CONFIG success puts
// its value (the version text, the config JSON as the server sent it) in
// the result's message.
#include <algorithm>
#include <cstring>
#include <string_view>

#include "src/protocol/backend_common.h"
#include "src/protocol/binary_format.h"
#include "src/protocol/extended_errors.h"
#include "src/protocol/stats_merge.h"
#include "src/protocol/wire_util.h"

namespace moxi::protocol {
namespace {

using binary::Opcode;

uint8_t opcode_for(Op op) {
  switch (op) {
    case Op::Get: return static_cast<uint8_t>(Opcode::GetK);
    case Op::Gat: return static_cast<uint8_t>(Opcode::GatK);
    case Op::Set: return static_cast<uint8_t>(Opcode::Set);
    case Op::Add: return static_cast<uint8_t>(Opcode::Add);
    case Op::Replace: return static_cast<uint8_t>(Opcode::Replace);
    case Op::Append: return static_cast<uint8_t>(Opcode::Append);
    case Op::Prepend: return static_cast<uint8_t>(Opcode::Prepend);
    case Op::Incr: return static_cast<uint8_t>(Opcode::Increment);
    case Op::Decr: return static_cast<uint8_t>(Opcode::Decrement);
    case Op::Delete: return static_cast<uint8_t>(Opcode::Delete);
    case Op::Touch: return static_cast<uint8_t>(Opcode::Touch);
    case Op::Flush: return static_cast<uint8_t>(Opcode::Flush);
    case Op::Stats: return static_cast<uint8_t>(Opcode::Stat);
    case Op::Version: return static_cast<uint8_t>(Opcode::Version);
    case Op::Verbosity: return static_cast<uint8_t>(Opcode::Verbosity);
    case Op::ClusterConfig: return static_cast<uint8_t>(Opcode::GetClusterConfig);
    default: return static_cast<uint8_t>(Opcode::Noop);  // Noop, and the stand-in for Quit/Invalid
  }
}

class BinaryBackendCodec final : public BackendCodec {
 public:
  explicit BinaryBackendCodec(uint32_t max_value_length) : max_value_length_(max_value_length) {}
  void encode(BackendOp& op, ByteChain& out) override;
  BackendDecode decode(BackendOp& op, ByteChain& in) override;
  void set_extended_errors(bool on) override { extended_errors_ = on; }

 private:
  void write_frame(ByteChain& out, uint8_t opcode, uint16_t vbucket, uint64_t cas, const uint8_t* extras,
                   uint8_t extras_length, std::string_view key, const ByteChain* value, uint8_t datatype = 0);

  uint32_t next_opaque_ = 1;
  uint32_t max_value_length_;  // a longer response body is a Desync (kDefaultBackendValueMax)
  size_t need_ = 0;  // bytes the pending response frame needs
  bool extended_errors_ = false;  // HELLO XERROR granted: statuses are folded back
};

void BinaryBackendCodec::write_frame(ByteChain& out, uint8_t opcode, uint16_t vbucket, uint64_t cas,
                                     const uint8_t* extras, uint8_t extras_length, std::string_view key,
                                     const ByteChain* value, uint8_t datatype) {
  const size_t value_length = value ? value->size() : 0;
  binary::Header h;
  h.magic = binary::kRequestMagic;
  h.opcode = opcode;
  h.key_length = static_cast<uint16_t>(key.size());
  h.extras_length = extras_length;
  h.data_type = datatype;
  h.vbucket_or_status = vbucket;
  h.body_length = static_cast<uint32_t>(extras_length + key.size() + value_length);
  h.opaque = next_opaque_++;
  h.cas = cas;
  // Header, extras and key in one append (keys are at most 250 bytes
  // here; a longer stats argument goes apart).
  uint8_t raw[binary::kHeaderSize + 255 + 256];
  binary::encode_header(h, raw);
  if (extras_length > 0) std::memcpy(raw + binary::kHeaderSize, extras, extras_length);
  size_t used = binary::kHeaderSize + extras_length;
  if (key.size() <= sizeof(raw) - used) {
    if (!key.empty()) std::memcpy(raw + used, key.data(), key.size());
    out.append(raw, used + key.size());
  } else {
    out.append(raw, used);
    out.append(key);
  }
  if (value_length > 0) out.append_shared(*value);  // kept in the request for a retry
}

void BinaryBackendCodec::encode(BackendOp& op, ByteChain& out) {
  Request& req = backend_codec::prepare(op);
  op.opaque_base = next_opaque_;
  const uint8_t opcode = op.replica && req.op == Op::Get ? static_cast<uint8_t>(Opcode::GetReplica) : opcode_for(req.op);
  auto vbucket_of = [&](size_t pos) -> uint16_t {
    uint32_t i = op.key_indexes[pos];
    return i < req.vbuckets.size() ? req.vbuckets[i] : 0;
  };
  uint8_t extras[20];
  if (backend_codec::is_keyed(req.op) && op.key_indexes.empty()) {
    op.stand_in = backend_codec::kNoKeys;
    write_frame(out, static_cast<uint8_t>(Opcode::Noop), 0, 0, nullptr, 0, {}, nullptr);
    return;
  }
  switch (req.op) {
    case Op::Get:
      for (size_t pos = 0; pos < op.key_indexes.size(); ++pos) {
        write_frame(out, opcode, vbucket_of(pos), 0, nullptr, 0, req.key(op.key_indexes[pos]), nullptr);
      }
      return;
    case Op::Gat:
      binary::put32(extras, backend_codec::binary_exptime(req.exptime));
      for (size_t pos = 0; pos < op.key_indexes.size(); ++pos) {
        write_frame(out, opcode, vbucket_of(pos), 0, extras, binary::kTouchExtras, req.key(op.key_indexes[pos]),
                    nullptr);
      }
      return;
    case Op::Set:
    case Op::Add:
    case Op::Replace:
      binary::put32(extras, req.flags);
      binary::put32(extras + 4, backend_codec::binary_exptime(req.exptime));
      write_frame(out, opcode, vbucket_of(0), req.cas, extras, binary::kStorageExtras, req.key(op.key_indexes[0]),
                  &req.value);
      return;
    case Op::Append:
    case Op::Prepend:
      write_frame(out, opcode, vbucket_of(0), req.cas, nullptr, 0, req.key(op.key_indexes[0]), &req.value);
      return;
    case Op::Incr:
    case Op::Decr:
      binary::put64(extras, req.delta);
      binary::put64(extras + 8, req.initial);
      binary::put32(extras + 16, req.create ? backend_codec::binary_exptime(req.exptime) : binary::kNoAutoCreate);
      write_frame(out, opcode, vbucket_of(0), req.cas, extras, binary::kArithExtras, req.key(op.key_indexes[0]),
                  nullptr);
      return;
    case Op::Delete:
      write_frame(out, opcode, vbucket_of(0), req.cas, nullptr, 0, req.key(op.key_indexes[0]), nullptr);
      return;
    case Op::Touch:
      binary::put32(extras, backend_codec::binary_exptime(req.exptime));
      write_frame(out, opcode, vbucket_of(0), 0, extras, binary::kTouchExtras, req.key(op.key_indexes[0]), nullptr);
      return;
    case Op::Flush:
      if (req.has_exptime) {
        // memcached flushes at once for a delay <= 0.
        binary::put32(extras, req.exptime > 0 ? backend_codec::binary_exptime(req.exptime) : 0);
        write_frame(out, opcode, 0, 0, extras, binary::kFlushExtras, {}, nullptr);
      } else {
        write_frame(out, opcode, 0, 0, nullptr, 0, {}, nullptr);
      }
      return;
    case Op::Stats:
      write_frame(out, opcode, 0, 0, nullptr, 0, req.stats_args, nullptr);
      return;
    case Op::Verbosity:
      binary::put32(extras, req.verbosity);
      write_frame(out, opcode, 0, 0, extras, binary::kVerbosityExtras, {}, nullptr);
      return;
    case Op::Version:
    case Op::Noop:
    case Op::ClusterConfig:  // no extras (servers before 7.6 refuse the known-version form), key or value
      write_frame(out, opcode, 0, 0, nullptr, 0, {}, nullptr);
      return;
    case Op::Passthrough:
      write_frame(out, req.opcode, vbucket_of(0), req.cas, reinterpret_cast<const uint8_t*>(req.extras.data()),
                  static_cast<uint8_t>(req.extras.size()), req.key(op.key_indexes[0]), &req.value, req.datatype);
      return;
    case Op::Quit:
    case Op::Sasl:  // answered by the proxy
    case Op::Invalid:
      // Never forwarded (QUIT would close the shared connection): a NOOP
      // keeps the reply order and the result says why.
      op.stand_in = backend_codec::kNotForwarded;
      write_frame(out, opcode, 0, 0, nullptr, 0, {}, nullptr);
      return;
  }
}

void fill_error(Result& r, Status status, ByteChain& body, size_t length) {
  r.reset();
  r.status = status;
  if (length > 0) {
    r.message.resize(length);
    body.remove(r.message.data(), length);
  }
}

BackendDecode BinaryBackendCodec::decode(BackendOp& op, ByteChain& in) {
  Request& req = *op.request;
  const bool multi = req.op == Op::Get || req.op == Op::Gat;
  const uint8_t expected_opcode = op.stand_in != backend_codec::kNoStandIn ? static_cast<uint8_t>(Opcode::Noop)
                                  : req.op == Op::Passthrough     ? req.opcode
                                  : op.replica && req.op == Op::Get ? static_cast<uint8_t>(Opcode::GetReplica)
                                                                  : opcode_for(req.op);
  for (;;) {
    const size_t avail = in.size();
    if (avail < binary::kHeaderSize || avail < need_) return BackendDecode::NeedMore;
    // Read in place: usually the whole frame is in the first segment, and
    // nothing is copied (contiguous copies only when the header straddles
    // segments).
    const auto* raw = reinterpret_cast<const uint8_t*>(in.contiguous(binary::kHeaderSize));
    const binary::Header h = binary::decode_header(raw);
    const uint32_t expected_opaque = op.opaque_base + (multi ? op.cursor : 0);
    if (h.magic != binary::kResponseMagic || h.opcode != expected_opcode || h.opaque != expected_opaque ||
        size_t{h.extras_length} + h.key_length > h.body_length ||
        h.body_length > size_t{max_value_length_} + 255 + 65535) {  // the value plus the largest extras and key
      return BackendDecode::Desync;
    }
    const size_t frame = binary::kHeaderSize + h.body_length;
    if (avail < frame) {
      need_ = frame;
      return BackendDecode::NeedMore;
    }
    need_ = 0;
    const uint16_t wire_status =
        extended_errors_ ? status_without_extended_errors(h.opcode, h.vbucket_or_status) : h.vbucket_or_status;
    const Status status = static_cast<Status>(wire_status);
    const size_t value_length = h.body_length - h.extras_length - h.key_length;

    if (op.stand_in != backend_codec::kNoStandIn) {
      in.drain(frame);
      if (op.stand_in == backend_codec::kNotForwarded) {
        backend_codec::note_shared_error(backend_codec::keyless_result(op), Status::InternalError, ErrorClass::ServerError,
                                   "command is answered by the proxy");
      }
      return BackendDecode::Done;
    }

    if (req.op == Op::Passthrough) {
      // Relayed as it came (the client codec puts the client's opaque back);
      // the status is noted so NOT_MY_VBUCKET is retried like any keyed op.
      Result& r = backend_codec::result_for(op, 0);
      r.reset();
      r.status = status;
      r.cas = h.cas;
      if (wire_status != h.vbucket_or_status) {
        // The frame goes to the client as it is: its status too. A chain's
        // bytes never change once written (other chains may view them), so
        // the header is rewritten in a copy, with the rest of the frame
        // behind it.
        uint8_t header[binary::kHeaderSize];
        in.remove(header, sizeof(header));
        header[6] = static_cast<uint8_t>(wire_status >> 8);
        header[7] = static_cast<uint8_t>(wire_status & 0xff);
        ByteChain patched;
        patched.append(header, sizeof(header));
        in.move_front_to(patched, frame - binary::kHeaderSize);
        r.value.take(patched, frame);
      } else {
        r.value.take(in, frame);
      }
      return BackendDecode::Done;
    }

    // Header, extras and key, contiguous: read in place, then one drain.
    const size_t prefix = binary::kHeaderSize + h.extras_length + h.key_length;
    const bool whole_frame_in_place = in.front().size() >= frame;
    const auto* head = reinterpret_cast<const uint8_t*>(in.contiguous(prefix));
    uint8_t extras[4] = {};
    const size_t extras_read = std::min<size_t>(h.extras_length, sizeof(extras));
    if (extras_read == sizeof(extras)) {
      std::memcpy(extras, head + binary::kHeaderSize, sizeof(extras));  // the usual case: a fixed-size copy
    } else {
      std::memcpy(extras, head + binary::kHeaderSize, extras_read);
    }
    const std::string_view key(reinterpret_cast<const char*>(head) + binary::kHeaderSize + h.extras_length,
                               h.key_length);

    if (multi) {
      Result& r = backend_codec::result_for(op, op.cursor);
      std::string_view asked = req.key(op.key_indexes[op.cursor]);
      if (h.key_length > 0 && key != asked) return BackendDecode::Desync;
      if (status == Status::Success) {
        r.reset();
        r.hit = true;
        r.flags = binary::get32(extras);
        r.cas = h.cas;
        if (whole_frame_in_place && value_length <= ValueBytes::kInlineMax) {
          r.value.assign(reinterpret_cast<const char*>(head) + prefix, value_length);
          in.drain(frame);
        } else {
          in.drain(prefix);
          r.value.take(in, value_length);
        }
      } else {
        in.drain(prefix);
        fill_error(r, status, in, value_length);
      }
      if (++op.cursor < op.key_indexes.size()) continue;
      return BackendDecode::Done;
    }

    in.drain(binary::kHeaderSize);  // the paths below read extras and key themselves
    if (req.op == Op::Stats) {
      if (status != Status::Success) {
        std::string body(value_length, '\0');
        in.drain(h.extras_length + h.key_length);
        in.remove(body.data(), value_length);
        backend_codec::note_shared_error(backend_codec::keyless_result(op), status, ErrorClass::None, body);
        return BackendDecode::Done;
      }
      if (h.key_length == 0 && h.body_length == 0) return BackendDecode::Done;  // terminator
      in.drain(h.extras_length);
      const char* kv = in.contiguous(h.key_length + value_length);
      backend_codec::collect_stat(op, std::string_view(kv, h.key_length), std::string_view(kv + h.key_length, value_length));
      in.drain(h.key_length + value_length);
      continue;
    }

    if (op.key_indexes.empty()) {
      // Keyless: flush, version, noop, verbosity, cluster config.
      in.drain(h.extras_length + h.key_length);
      Result& r = backend_codec::keyless_result(op);
      if (status != Status::Success) {
        std::string body(value_length, '\0');
        in.remove(body.data(), value_length);
        backend_codec::note_shared_error(r, status, ErrorClass::None, body);
      } else if ((req.op == Op::Version || req.op == Op::ClusterConfig) && r.status == Status::Success &&
                 r.error_class == ErrorClass::None) {
        r.message.resize(value_length);
        in.remove(r.message.data(), value_length);
      } else {
        in.drain(value_length);
      }
      return BackendDecode::Done;
    }

    // One keyed reply: storage, delete, incr/decr, touch.
    Result& r = backend_codec::result_for(op, 0);
    in.drain(h.extras_length + h.key_length);
    if (status != Status::Success) {
      fill_error(r, status, in, value_length);
      return BackendDecode::Done;
    }
    r.reset();
    r.cas = h.cas;
    if (req.op == Op::Incr || req.op == Op::Decr) {
      if (value_length != 8) return BackendDecode::Desync;
      uint8_t number[8];
      in.remove(number, sizeof(number));
      r.number = binary::get64(number);
      return BackendDecode::Done;
    }
    if (req.op == Op::Touch && extras_read == 4) r.flags = binary::get32(extras);
    in.drain(value_length);
    return BackendDecode::Done;
  }
}

}  // namespace

std::unique_ptr<BackendCodec> make_binary_backend_codec(uint32_t max_value_length) {
  return std::make_unique<BinaryBackendCodec>(max_value_length);
}

}  // namespace moxi::protocol
