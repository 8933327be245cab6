// Pieces shared by the ascii and binary backend codecs (internal to
// src/protocol/).
#pragma once

#include <cstdint>
#include <string_view>

#include "src/protocol/backend_codec.h"
#include "src/protocol/wire_util.h"

namespace moxi::protocol::backend_codec {

// Why a stand-in request replaced an op (BackendOp::stand_in).
enum StandIn : uint8_t {
  kNoStandIn = 0,
  kUnsendableKey,   // ascii: no key of the op can be written on an ascii line
  kCasUnsupported,  // ascii: CAS on incr/decr/delete/append/prepend
  kNotForwarded,    // Quit/Invalid: answered by the proxy, never sent
  kNoKeys,          // a keyed op without keys (e.g. "gat 10"): nothing to ask, nothing to fill
  kNoAsciiForm,     // ascii: a binary opcode passed through has no ascii form: unknown command
};

inline bool is_keyed(Op op) {
  switch (op) {
    case Op::Get:
    case Op::Gat:
    case Op::Set:
    case Op::Add:
    case Op::Replace:
    case Op::Append:
    case Op::Prepend:
    case Op::Incr:
    case Op::Decr:
    case Op::Delete:
    case Op::Touch:
    case Op::Passthrough: return true;
    default: return false;
  }
}

// Fills key_indexes for a keyed op that left it empty and sizes
// request->results (one per key, at least one) without touching existing
// entries: other servers of the same multiget may already have answered.
inline Request& prepare(BackendOp& op) {
  Request& req = *op.request;
  if (op.key_indexes.empty() && is_keyed(req.op)) {
    for (uint32_t i = 0; i < req.key_count(); ++i) op.key_indexes.push_back(i);
  }
  size_t want = req.keys.empty() ? 1 : req.keys.size();
  if (op.key_indexes.empty() && want <= op.slot) want = op.slot + 1;
  if (req.results.size() < want) req.results.resize(want);
  if (req.op == Op::Stats && req.server_stats.size() <= op.slot) req.server_stats.resize(op.slot + 1);
  op.cursor = 0;
  op.batch_end = 0;
  op.phase = 0;
  op.stand_in = kNoStandIn;
  return req;
}

// A decimal number as memcached writes one (no sign, at most 20 digits).
inline bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A per-key outcome, replacing whatever an earlier attempt left.
inline void set_result(Result& r, Status status, ErrorClass cls = ErrorClass::None, std::string_view message = {}) {
  r.reset();
  r.status = status;
  r.error_class = cls;
  r.message.assign(message);
}

inline bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// A reply line longer than this without a newline is not memcached talking.
inline constexpr size_t kMaxReplyLine = 64 * 1024;

enum class Line { Ready, NeedMore, Desync };

// Finds the next reply line (without CRLF); `consumed` counts its bytes
// including the line end. The view is valid until `in` is modified.
inline Line peek_reply_line(ByteChain& in, std::string_view& line, size_t& consumed) {
  const size_t avail = in.size();
  const ptrdiff_t nl = in.find('\n');
  if (nl < 0) return avail > kMaxReplyLine ? Line::Desync : Line::NeedMore;
  if (static_cast<size_t>(nl) > kMaxReplyLine) return Line::Desync;
  consumed = static_cast<size_t>(nl) + 1;
  const char* p = in.contiguous(consumed);
  size_t len = static_cast<size_t>(nl);
  if (len > 0 && p[len - 1] == '\r') --len;
  line = std::string_view(p, len);
  return Line::Ready;
}

// What memcached's binary protocol says when a store is not stored (ascii
// NOT_STORED, meta NS): an add finds the key (KeyExists), a replace misses
// it (KeyNotFound), append/prepend miss it (NotStored).
inline Status not_stored_status(Op op) {
  return op == Op::Add ? Status::KeyExists : op == Op::Replace ? Status::KeyNotFound : Status::NotStored;
}

// Maps an ERROR / CLIENT_ERROR / SERVER_ERROR line onto status + class +
// message. Returns false when the line is not an error line.
inline bool parse_error_line(std::string_view line, Status& status, ErrorClass& cls, std::string_view& message) {
  auto rest = [&](std::string_view prefix) {
    std::string_view r = line.substr(prefix.size());
    if (!r.empty() && r[0] == ' ') r.remove_prefix(1);
    return r;
  };
  if (line == "ERROR" || starts_with(line, "ERROR ")) {
    status = Status::UnknownCommand;
    cls = ErrorClass::Error;
    message = rest("ERROR");
    return true;
  }
  if (starts_with(line, "CLIENT_ERROR")) {
    message = rest("CLIENT_ERROR");
    if (message == "cannot increment or decrement non-numeric value") {
      status = Status::DeltaBadValue;
      cls = ErrorClass::None;
      message = {};
    } else {
      status = Status::InvalidArguments;
      cls = ErrorClass::ClientError;
    }
    return true;
  }
  if (starts_with(line, "SERVER_ERROR")) {
    message = rest("SERVER_ERROR");
    cls = ErrorClass::None;
    if (message == "object too large for cache") {
      status = Status::TooLarge;
    } else if (starts_with(message, "out of memory")) {
      // memcached has several of these ("... storing object", "... writing
      // get response"); keep the exact words for ascii clients.
      status = Status::OutOfMemory;
      cls = ErrorClass::ServerError;
      return true;
    } else if (message == "not my vbucket") {
      status = Status::NotMyVbucket;
    } else if (message == "temporary failure") {
      status = Status::TemporaryFailure;
    } else {
      status = Status::InternalError;
      cls = ErrorClass::ServerError;
      return true;
    }
    message = {};
    return true;
  }
  return false;
}

// The result of a keyless op: its own slot (a broadcast gives each server one).
inline Result& keyless_result(BackendOp& op) { return op.request->results[op.slot]; }

// The result of the op's pos-th key (keyless_result for keyless ops).
inline Result& result_for(BackendOp& op, size_t pos) {
  Request& req = *op.request;
  if (op.key_indexes.empty()) return keyless_result(op);
  return req.results[op.key_indexes[pos]];
}

// One stat a server sent, kept with that server's others; the core merges
// the servers' lists in server order once all answered (merge_stats).
inline void collect_stat(BackendOp& op, std::string_view name, std::string_view value) {
  op.request->server_stats[op.slot].emplace_back(std::string(name), std::string(value));
}

// Records an error in a result shared by several servers (broadcast ops):
// the first error reported wins, later successes do not hide it.
inline void note_shared_error(Result& r, Status status, ErrorClass cls, std::string_view message) {
  if (r.status != Status::Success || r.error_class != ErrorClass::None) return;
  r.status = status;
  r.error_class = cls;
  r.message.assign(message);
}

// Whether a reply line of `consumed` bytes and the data block of `length`
// bytes (and its CRLF) after it are all buffered. If not, `need` is set to
// that total, so the codec is not run again before it arrived; once they
// are, `need` is back to 0.
inline bool reply_block_buffered(const ByteChain& in, size_t consumed, uint64_t length, size_t& need) {
  const size_t total = consumed + static_cast<size_t>(length) + 2;
  if (in.size() < total) {
    need = total;
    return false;
  }
  need = 0;
  return true;
}

// Ends a storage command line and appends its data block: the value
// referenced (kept in the request for a retry), then CRLF.
inline void end_storage_line(wire::LineWriter& w, ByteChain& out, const Request& req) {
  w.crlf();
  w.flush();
  out.append_shared(req.value);
  out.append("\r\n", 2);
}

// Clamps an exptime to what a 32-bit signed ascii field can carry. memcached
// truncates a larger number to 32 bits, which could turn a far-future
// absolute time (a binary client's uint32 expiration beyond 2038) into a
// negative, "already expired" one; the largest int32 keeps it far in the
// future. Negative values stay negative (memcached: expired).
inline int64_t ascii_exptime(int64_t exptime) {
  if (exptime > INT32_MAX) return INT32_MAX;
  if (exptime < INT32_MIN) return -1;
  return exptime;
}

// The binary protocol's expiration is an unsigned 32-bit field, so an ascii
// client's negative exptime ("already expired") cannot be sent as is: cast
// to uint32 it becomes a far-future absolute time and the item would live
// forever. memcached's ascii path maps a negative exptime to
// REALTIME_MAXDELTA + 1 (30 days + 1 s), which it reads as an absolute unix
// time in 1970, before the server started, i.e. expired at once. We send the
// same number, so both backend protocols expire the item immediately.
inline constexpr uint32_t kExpiredAbsoluteTime = 60 * 60 * 24 * 30 + 1;

inline uint32_t binary_exptime(int64_t exptime) {
  if (exptime < 0) return kExpiredAbsoluteTime;
  if (exptime > UINT32_MAX) return UINT32_MAX;
  return static_cast<uint32_t>(exptime);
}

}  // namespace moxi::protocol::backend_codec
