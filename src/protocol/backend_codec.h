// Backend-side codecs: the proxy -> memcached direction. One codec instance
// per backend connection; the connection keeps a FIFO of outstanding
// BackendOps, encodes each one when it is queued and feeds reply bytes to
// decode() for the oldest one until it returns Done.
//
//   Request --(router: keys per server)--> BackendOp --encode--> ByteChain -> memcached
//   Request.results <--decode-- BackendOp (oldest outstanding) <-- ByteChain <- memcached
//
// Every op is sent in a form that gets a reply (never noreply/quiet), so
// replies pair with requests strictly in order and a lost pairing shows up
// as Desync instead of as a wrong answer.
//
// Thread: a codec and its ops belong to the worker owning the connection.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "src/protocol/request.h"
#include "src/util/byte_chain.h"

namespace moxi::protocol {

// One request, or the subset of a multiget's keys that live on one server,
// sent to one backend connection.
struct BackendOp {
  Request* request = nullptr;
  // Indexes into request->keys sent in this op; empty for keyless ops. For a
  // keyed op left empty, encode() fills in every key of the request.
  std::vector<uint32_t> key_indexes;
  // A keyless op's result is request->results[slot]; a broadcast gives each
  // server its own slot (the server index), and its stats
  // request->server_stats[slot], so the core can combine them in server order.
  uint32_t slot = 0;
  // A vBucket get sent to a replica: GET_REPLICA per key instead of GETK
  // (binary only; the core sets it for replica reads).
  bool replica = false;

  // --- codec-private progress; the caller only resets it ---
  uint32_t cursor = 0;       // position in key_indexes of the next key awaiting its reply
  uint32_t batch_end = 0;    // ascii gat: end of the key batch the current reply line covers
  uint32_t opaque_base = 0;  // binary: opaque of the op's first frame
  uint8_t phase = 0;         // ascii incr with create: 0 = incr reply due, 1 = add reply due
  uint8_t stand_in = 0;      // ascii/binary: a harmless request stands in for an op the
                             // backend protocol cannot express (see the codecs)

  // Blank, keeping capacity (ops are pooled per worker).
  void reset() {
    request = nullptr;
    key_indexes.clear();
    slot = 0;
    cursor = batch_end = opaque_base = 0;
    phase = stand_in = 0;
    replica = false;
  }
};

enum class BackendDecode {
  NeedMore,  // the op's reply is not complete yet
  Done,      // the op is answered; bytes after it belong to the next op
  Desync,    // the stream makes no sense; the caller closes the connection
};

class BackendCodec {
 public:
  virtual ~BackendCodec() = default;

  // Appends the request bytes for `op` to `out`. The request's value is
  // referenced, not copied, and stays in the request (a NOT_MY_VBUCKET
  // retry sends it again). Makes sure request->results has an entry per key
  // (or one for keyless ops) without disturbing existing ones.
  virtual void encode(BackendOp& op, ByteChain& out) = 0;

  // Consumes reply bytes for the OLDEST outstanding op and fills
  // op.request->results[key index] (for Stats: merges into request->stats
  // with merge_stat). Values are moved out of `in` into Result::value.
  //
  // Per-key results are reset before being filled, so a retried op
  // overwrites the outcome of the previous attempt. A keyless op fills
  // results[slot] (for Stats: appends to server_stats[slot]); a success
  // leaves the result untouched and the first error reported is kept.
  virtual BackendDecode decode(BackendOp& op, ByteChain& in) = 0;

  // The server granted HELLO XERROR: its extended statuses are folded back
  // into the ones a client without it expects (extended_errors.h). Binary only.
  virtual void set_extended_errors(bool) {}
};

// The largest value a backend reply may carry before the connection is
// taken for broken (Desync: closed, counted as backend_desyncs_total) rather
// than buffered: a server that sends a huge or endless value cannot make moxi
// hold it. The core passes the item size (-I, else Couchbase's 20 MiB).
inline constexpr uint32_t kDefaultBackendValueMax = 20 * 1024 * 1024;

// memcached's ascii protocol. A binary client's request that ascii cannot
// carry (a key with a space or control byte, CAS on incr/decr/delete/
// append/prepend) is answered NotSupported/InvalidArguments per key without
// reaching the server.
std::unique_ptr<BackendCodec> make_ascii_backend_codec(uint32_t max_value_length = kDefaultBackendValueMax);

// memcached 1.6's meta protocol (mg/ms/ma/md; keyless ops as ascii lines).
// Carries any key (base64 with the b flag) and CAS on every command.
std::unique_ptr<BackendCodec> make_meta_backend_codec(uint32_t max_value_length = kDefaultBackendValueMax);

// memcached's binary protocol.
std::unique_ptr<BackendCodec> make_binary_backend_codec(uint32_t max_value_length = kDefaultBackendValueMax);

}  // namespace moxi::protocol
