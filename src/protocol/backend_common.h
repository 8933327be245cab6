// Pieces shared by the ascii and binary backend codecs (internal to
// src/protocol/).
#pragma once

#include <cstdint>
#include <string_view>

#include "src/protocol/backend_codec.h"

namespace moxi::protocol::backend {

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

}  // namespace moxi::protocol::backend
