// Client-side codecs: turn the bytes a client sends into Requests and
// Requests (with their results) into the bytes the client expects back.
//
// One codec instance per client connection; it keeps only the little state
// that must survive between reads (bytes still to swallow after a rejected
// value, how far the current line was already scanned). The connection code
// calls decode() once per request and encode() once per reply, so the
// virtual dispatch happens per request, never per byte.
//
//   ByteChain (socket) --decode--> Request --core/route/backends--> Request.results
//                                                                     |
//   ByteChain (socket) <--encode-----------------------------------------+
//
// Thread: a codec belongs to the worker thread owning its connection.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "src/protocol/request.h"
#include "src/util/byte_chain.h"

namespace moxi::protocol {

enum class DecodeStatus {
  NeedMore,  // no complete request yet; call again when more bytes arrived
  Ready,     // `req` holds one request (possibly Op::Invalid, to answer in order)
  Close,     // protocol garbage beyond recovery (e.g. bad binary magic): close now, write nothing
};

class ClientCodec {
 public:
  virtual ~ClientCodec() = default;

  // Decodes at most one request from the front of `in`, draining exactly its
  // bytes, into `req` (which the caller has reset). `req` is written only
  // when Ready is returned.
  //
  // Contract details:
  //  * NeedMore may still drain bytes that are known to be garbage (the rest
  //    of a value rejected as too large); nothing else is consumed until a
  //    whole request is buffered.
  //  * Decode errors are not failures of the call: they come back Ready as an
  //    Op::Invalid request whose reply (see encode) matches memcached's.
  //  * A request with close_after set (quit, an over-long ascii line, a
  //    binary frame memcached would close on) is the last one: write its reply
  //    (after the earlier replies), then close; do not call decode again.
  //  * Values are moved out of `in` (ByteChain::move_front_to): big ones
  //    as views, not copies.
  virtual DecodeStatus decode(ByteChain& in, Request& req) = 0;

  // Appends the reply for a completed request (results/stats filled) to
  // `out`; writes nothing where noreply/quiet says so. Result values are
  // moved into `out` (zero copy), so the results' value buffers are empty
  // afterwards.
  //
  // Result conventions the encoders rely on:
  //  * Get/Gat: results[i] belongs to key i. A hit has hit=true; anything
  //    else is a miss or a per-key failure. Ascii: hits are written in the
  //    client's key order (a duplicated key at each occurrence), then END;
  //    a key that failed (error_class ServerError, or an error status other
  //    than KeyNotFound) reads as a miss, EXCEPT when every key of the
  //    request failed: then the first key's error line (e.g. "SERVER_ERROR
  //    proxy downstream timeout") replaces the whole reply, so a get whose
  //    only server is down does not pass for a miss. Binary (one key per
  //    request): a miss is KeyNotFound (silent for the quiet opcodes), a
  //    failure is an error response.
  //  * Version: results[0].message holds the version text.
  //  * Stats: request.stats holds the merged pairs, in output order.
  //  * A Result with error_class != None is a proxy/backend error with its
  //    own text (Result::message); otherwise the status picks the text.
  virtual void encode(const Request& req, ByteChain& out) = 0;

  // The item size limit may differ per bucket (and change with the map):
  // the connection sets it before each batch of decodes. A lower limit
  // also applies to a request whose value is still arriving.
  virtual void set_max_value_length(uint32_t bytes) = 0;
};

// What moxi does with an ascii command memcached 1.6 accepts.
enum class CommandRoute : uint8_t {
  Keyed,      // sent to the server that owns the key (multigets: per server, answered in key order)
  Broadcast,  // sent to every server of the bucket, answers combined (stats_merge.h)
  Local,      // answered by moxi itself
  Refused,    // not carried through a proxy: answered with memcached's own text for it
};

struct AsciiCommandInfo {
  std::string_view name;
  CommandRoute route;
  std::string_view reply;  // Refused: the reply line (memcached's text when the feature is off)
  std::string_view note;   // one line for the man page's COMMANDS table
};

// Every command of memcached 1.6's ascii protocol, in the order of the man
// page's COMMANDS table. The decoder looks commands up here; anything else is
// an unknown command (ERROR, or a silent close for an HTTP request line).
std::span<const AsciiCommandInfo> ascii_commands();

// memcached's ascii ("text") protocol. See ascii_client.cc for the exact
// error behaviour; in short it answers malformed input byte for byte like
// memcached 1.6, except where noted there.
std::unique_ptr<ClientCodec> make_ascii_client_codec(const Limits& limits);

// memcached's binary protocol (request magic 0x80).
std::unique_ptr<ClientCodec> make_binary_client_codec(const Limits& limits);

}  // namespace moxi::protocol
