// The normalized request/response model. Every client protocol decodes into
// a Request and every backend protocol is encoded from one, so any client
// protocol reaches any backend protocol without per-pair code.
//
// Ownership: a Request belongs to the worker thread that decoded it. It is
// reused from a per-worker pool, so its vectors and strings keep their
// capacity and steady-state traffic allocates nothing per request.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/protocol/value_bytes.h"

namespace moxi::protocol {

// A wire protocol: a client's (Ascii, Binary) or a backend's (all three).
enum class Protocol : uint8_t { Ascii, Binary, Meta };

// What the client asked for, independent of the wire format.
enum class Op : uint8_t {
  Get,        // ascii get/gets (one or many keys); binary GET/GETQ/GETK/GETKQ
  Gat,        // ascii gat/gats; binary GAT/GATQ/GATK/GATKQ (exptime)
  Set,        // ascii set, and ascii cas (cas != 0); binary SET/SETQ
  Add,
  Replace,
  Append,
  Prepend,
  Incr,
  Decr,
  Delete,
  Touch,
  Flush,      // broadcast to every server of the bucket
  Stats,      // broadcast, answers merged
  Version,    // answered locally
  Verbosity,  // answered locally
  Noop,       // answered locally, in order (binary)
  Quit,       // answered locally: close after earlier replies are written
  Sasl,       // binary SASL_LIST_MECHS/SASL_AUTH/SASL_STEP (opcode says which): answered by the
              // client's connection, which chooses its bucket; mechanism = key(0), data = value
  Passthrough,  // binary: a keyed opcode the proxy does not know (GETL, GET_REPLICA, GET_META, ...),
                // sent unchanged to the key's server and its response relayed (binary backends only)
  ClusterConfig,  // the proxy's own GET_CLUSTER_CONFIG (no key, extras or value) to a Couchbase data
                  // node after an empty NOT_MY_VBUCKET; the config JSON lands in results[0].message.
                  // Never decoded from a client (binary backends only)
  Invalid,    // a decode error to answer in order (error_* fields)
};

// The op's lower-case name ("get", "set", ... "flush", "invalid"), for
// descriptions and the command label of the latency metrics.
constexpr std::string_view op_name(Op op) {
  switch (op) {
    case Op::Get: return "get";
    case Op::Gat: return "gat";
    case Op::Set: return "set";
    case Op::Add: return "add";
    case Op::Replace: return "replace";
    case Op::Append: return "append";
    case Op::Prepend: return "prepend";
    case Op::Incr: return "incr";
    case Op::Decr: return "decr";
    case Op::Delete: return "delete";
    case Op::Touch: return "touch";
    case Op::Flush: return "flush";
    case Op::Stats: return "stats";
    case Op::Version: return "version";
    case Op::Verbosity: return "verbosity";
    case Op::Noop: return "noop";
    case Op::Quit: return "quit";
    case Op::Sasl: return "sasl";
    case Op::Passthrough: return "passthrough";
    case Op::ClusterConfig: return "cluster_config";
    case Op::Invalid: return "invalid";
  }
  return "invalid";
}

// memcached binary protocol status codes; also the normalized outcome of an
// operation whatever protocol the backend spoke.
enum class Status : uint16_t {
  Success = 0x0000,
  KeyNotFound = 0x0001,
  KeyExists = 0x0002,
  TooLarge = 0x0003,
  InvalidArguments = 0x0004,
  NotStored = 0x0005,
  DeltaBadValue = 0x0006,
  NotMyVbucket = 0x0007,
  Locked = 0x0009,  // Couchbase (XERROR): the item is locked by GETL
  AuthError = 0x0020,
  AuthContinue = 0x0021,
  UnknownCommand = 0x0081,
  OutOfMemory = 0x0082,
  NotSupported = 0x0083,
  InternalError = 0x0084,
  Busy = 0x0085,
  TemporaryFailure = 0x0086,
};

// How an ascii client is told about a failure that has no memcached status
// of its own (the proxy's own errors, or an ascii backend's error line).
enum class ErrorClass : uint8_t {
  None,         // use the status
  Error,        // "ERROR"
  ClientError,  // "CLIENT_ERROR <message>"
  ServerError,  // "SERVER_ERROR <message>"
  Line,         // the message is the whole reply line (ascii Op::Invalid only: a fixed
                // local answer such as "MN" or "ERROR: shutdown not enabled")
};

// Which limit (struct Limits) a request was refused at, if any: the core
// counts each (limit_*_total metrics).
// Memory: refused because the total buffer budget stayed full (the core's
// own refusal, never a decoder's).
enum class Limit : uint8_t { None, KeyLength, ValueSize, LineLength, Memory };

// The memcached meta protocol (mg, ms, md, ma, me) as a client sent it. A
// meta command decodes into the op it maps to (mg -> Get, or Gat with T;
// ms -> Set/Add/Replace/Append/Prepend by its M mode; md -> Delete; ma ->
// Incr/Decr; me -> Get, a meta backend's only), with its one key, so routing
// and every backend carry what that op can express. A meta backend relays
// `line` itself and hands the server's reply back verbatim (Result::
// meta_reply); for the other backends the client codec builds the reply from
// the op's result. What only memcached's meta semantics can do is refused
// for them (meta_needs_meta_backend). ("mn" is answered MN in order by the
// client codec, like any local reply.)
enum class MetaCommand : uint8_t { None, Get, Set, Delete, Arithmetic, Debug };

struct MetaRequest {
  // One flag as the client wrote it: its letter and the token after it
  // (empty for a bare flag such as 'v'). Kept in request order because
  // memcached's return flags come back in that order.
  struct Flag {
    char letter = 0;
    std::string token;
  };

  MetaCommand command = MetaCommand::None;  // None: not a meta request
  std::vector<Flag> flags;  // every flag after the key (ms: after the length), in request order
  bool quiet = false;       // q: no reply on the command's "boring" outcome, as memcached 1.6.18:
                            // mg: EN; ms: HD; md: HD; ma: HD, and VA on an existing counter (a
                            // counter created by N is still answered). NF, NS, EX and errors are sent
  bool base64_key = false;  // b: the client's key was base64; the Request's key holds the decoded bytes
  char mode = 0;            // M: ms E/A/P/R/S, ma I/+/D/- (0: the default, set / increment)
  std::string line;         // the command line as received (cut at a NUL, without its line end),
                            // for a meta backend to relay; ms's data block is Request::value

  bool has(char letter) const { return find(letter) != nullptr; }
  const Flag* find(char letter) const {
    for (const auto& f : flags)
      if (f.letter == letter) return &f;
    return nullptr;
  }
  void reset() {
    command = MetaCommand::None;
    flags.clear();
    quiet = base64_key = false;
    mode = 0;
    line.clear();
  }
};

// What of `meta` a backend speaking `backend` cannot carry, for the client's
// "CLIENT_ERROR meta flag 'N' needs a meta backend" (or "meta command me
// ..."): "" when everything maps to a plain op. A meta backend carries all;
// binary and ascii backends carry get, gat, set/add/replace/append/prepend
// (with cas), delete (with cas), incr/decr (with create, initial and its
// ttl), and the flags b c f k O q s v P L and T (a gat) on mg. Refused for
// them: vivify N on mg and ms, recache R, invalidate I, h, l, t, u,
// ma's T (a ttl update of an existing counter), and me. The ascii backend
// compares a cas only on a set ("cas"; ms C in mode R is one too, and mode
// E ignores it), has none on incr/decr/delete and returns none after a
// store, so it also refuses ms c, ms C with a non-zero cas in mode A or P
// (append and prepend compare it), md C and ma C/c.
inline std::string_view meta_needs_meta_backend(const MetaRequest& meta, Protocol backend) {
  if (backend == Protocol::Meta || meta.command == MetaCommand::None) return "";
  if (meta.command == MetaCommand::Debug) return "me";
  const bool ascii = backend == Protocol::Ascii;
  for (const auto& f : meta.flags) {
    switch (f.letter) {
      case 'N':  // ma's N is incr/decr's create; mg/ms's is vivify
        if (meta.command != MetaCommand::Arithmetic) return "N";
        break;
      case 'T':  // mg: gat; ms: the item's ttl; md: with I only; ma: updates an existing counter's ttl
        if (meta.command == MetaCommand::Arithmetic) return "T";
        break;
      case 'c':
        if (ascii && (meta.command == MetaCommand::Set || meta.command == MetaCommand::Arithmetic)) return "c";
        break;
      case 'C':
        if (ascii && (meta.command == MetaCommand::Delete || meta.command == MetaCommand::Arithmetic ||
                      (meta.command == MetaCommand::Set && (meta.mode == 'A' || meta.mode == 'P') &&
                       f.token.find_first_not_of('0') != std::string_view::npos)))
          return "C";
        break;
      case 'R': return "R";
      case 'I': return "I";
      case 'h': return "h";
      case 'l': return "l";
      case 't': return "t";
      case 'u': return "u";
      default:
        break;
    }
  }
  return "";
}

// The outcome for one key (or for the whole request when it has no key).
struct Result {
  Status status = Status::Success;
  ErrorClass error_class = ErrorClass::None;
  std::string message;  // text after CLIENT_ERROR/SERVER_ERROR, or a binary error body;
                        // for a successful Op::Version, the version text
  bool hit = false;     // get/gat: a value was found
  uint32_t flags = 0;
  uint64_t cas = 0;
  uint64_t number = 0;  // incr/decr: the new value
  ValueBytes value;     // get/gat hit: the value bytes (small ones copied, big ones moved);
                        // Op::Passthrough: the backend's whole response frame

  bool meta_reply = false;  // a meta client's request relayed to a meta backend: `message` is the
                           // server's reply line as sent (without its line end), `value` its data
                           // block; written back verbatim. An empty `message`: the server elided
                           // its reply (q), so nothing is written

  void reset() {
    status = Status::Success;
    error_class = ErrorClass::None;
    message.clear();
    hit = false;
    flags = 0;
    cas = 0;
    number = 0;
    value.clear();
    meta_reply = false;
  }
  // A proxy-side failure, e.g. server_error(Status::InternalError, "proxy downstream closed 127.0.0.1").
  void server_error(Status s, std::string_view text) {
    status = s;
    error_class = ErrorClass::ServerError;
    message.assign(text);
  }
};

// The per-key results of a request. Result objects (with the capacity of
// their strings and chains) outlive Request::reset, so a pooled request
// reuses them instead of constructing and destroying one per key per request
// (~150 instructions per request in the W1 profile). At most kKept stay
// after a reset, which bounds what an idle pooled request holds. Objects past
// size() are always blank.
class ResultList {
 public:
  static constexpr size_t kKept = 16;

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  Result& operator[](size_t i) { return store_[i]; }
  const Result& operator[](size_t i) const { return store_[i]; }
  Result* begin() { return store_.data(); }
  Result* end() { return store_.data() + count_; }
  const Result* begin() const { return store_.data(); }
  const Result* end() const { return store_.data() + count_; }

  // n results: the first min(n, size()) keep their content, the others are blank.
  void resize(size_t n) {
    for (size_t i = n; i < count_; ++i) store_[i].reset();
    if (store_.size() < n) store_.resize(n);
    count_ = n;
  }
  void clear() {
    for (size_t i = 0; i < count_; ++i) store_[i].reset();
    count_ = 0;
    if (store_.size() > kKept) store_.resize(kKept);
  }

 private:
  std::vector<Result> store_;
  size_t count_ = 0;
};

struct KeySpan {
  uint32_t offset;
  uint32_t length;
};

struct Request {
  Protocol protocol = Protocol::Ascii;
  Op op = Op::Invalid;

  // Client wire details needed to answer in the client's own format.
  uint8_t opcode = 0;        // binary: the request opcode, echoed in the response
  uint32_t opaque = 0;       // binary: echoed in the response
  bool quiet = false;        // binary quiet variant: no reply on the "boring" outcome
  bool return_key = false;   // binary GETK/GETKQ/GATK/GATKQ: the key is returned
  bool noreply = false;      // ascii noreply: no reply at all
  bool want_cas = false;     // ascii gets/gats: VALUE lines carry the cas
  bool get_part = false;      // ascii: one part of a get line decoded in parts (Limits::get_part_bytes)
  bool get_continues = false; // ... and more parts follow: its reply has no END

  // Arguments (only those the op uses are meaningful).
  std::string key_bytes;      // every key, concatenated
  std::vector<KeySpan> keys;  // one per key, in the client's order (duplicates kept)
  uint32_t flags = 0;
  int64_t exptime = 0;        // signed: a negative ascii exptime means "already expired"
  uint64_t cas = 0;           // compare-and-swap value; ascii "cas" is Op::Set with cas != 0
  uint64_t delta = 0;         // incr/decr
  uint64_t initial = 0;       // binary incr/decr initial value
  bool create = false;        // binary incr/decr: create with `initial` (expiration != 0xffffffff)
  bool has_exptime = false;   // flush_all with a delay
  uint32_t verbosity = 0;
  std::string stats_args;     // "stats ARGS" / binary STAT key
  std::string extras;         // Op::Passthrough: the request's extras, as sent
  uint8_t datatype = 0;       // Op::Passthrough: the request's datatype byte
  ByteChain value;            // storage commands: the value bytes, without the trailing CRLF
  MetaRequest meta;           // mg/ms/md/ma/me/mn: the meta details (command None otherwise)

  // Op::Invalid: how to answer. Ascii uses error_class/error_text (e.g.
  // ClientError "bad command line format"); binary uses error_status.
  ErrorClass error_class = ErrorClass::Error;
  std::string error_text;
  Status error_status = Status::UnknownCommand;
  bool close_after = false;   // close the connection once this reply is written
  // The core turned a refused too-large SET (Op::Invalid with its key) into
  // the delete memcached does so no stale value is read after a failed
  // write: it travels as Op::Delete, and the client is answered the refusal.
  bool unlink_after_refusal = false;
  Limit limit = Limit::None;  // set by the decoder when a limit refused the request

  // Routing, filled by the router: the vBucket id of each key (0 for ketama).
  std::vector<uint16_t> vbuckets;

  // One result per key, or a single one for keyless ops.
  ResultList results;

  // Broadcast stats: merged (name, value) pairs in first-seen order.
  std::vector<std::pair<std::string, std::string>> stats;
  // What each server of a broadcast stats sent, by server index, until the
  // core merges them into `stats` (merge_stats).
  std::vector<std::vector<std::pair<std::string, std::string>>> server_stats;

  std::string_view key(size_t i) const {
    return std::string_view(key_bytes).substr(keys[i].offset, keys[i].length);
  }
  size_t key_count() const { return keys.size(); }
  void add_key(std::string_view k) {
    keys.push_back(KeySpan{static_cast<uint32_t>(key_bytes.size()), static_cast<uint32_t>(k.size())});
    key_bytes.append(k);
  }
  // Sizes `results` to one per key (at least one), each reset.
  void prepare_results() {
    results.resize(keys.empty() ? 1 : keys.size());
    for (auto& r : results) r.reset();
  }

  // This request becomes an Op::Invalid one answered with `text` in class
  // `cls` (noreply: answered with nothing), its keys and meta details
  // dropped: a decoder's error, or the core's refusal.
  void make_invalid(ErrorClass cls, std::string_view text, bool no_reply = false) {
    op = Op::Invalid;
    error_class = cls;
    error_text.assign(text);
    noreply = no_reply;
    keys.clear();
    key_bytes.clear();
    meta.reset();
  }

  // Back to a blank request, keeping allocated capacity.
  void reset() {
    protocol = Protocol::Ascii;
    op = Op::Invalid;
    opcode = 0;
    opaque = 0;
    quiet = return_key = noreply = want_cas = false;
    get_part = get_continues = false;
    key_bytes.clear();
    keys.clear();
    flags = 0;
    exptime = 0;
    cas = delta = initial = 0;
    create = has_exptime = false;
    verbosity = 0;
    stats_args.clear();
    extras.clear();
    datatype = 0;
    value.clear();
    meta.reset();
    error_class = ErrorClass::Error;
    error_text.clear();
    error_status = Status::UnknownCommand;
    close_after = false;
    unlink_after_refusal = false;
    limit = Limit::None;
    vbuckets.clear();
    results.clear();  // keeps the Result objects for the next request
    stats.clear();
    server_stats.clear();
  }
};

// A command the proxy answers itself, never sent to a backend: version,
// verbosity, noop, quit, SASL and "stats proxy [...]" (decode errors aside).
inline bool answered_by_proxy(const Request& req) {
  switch (req.op) {
    case Op::Version:
    case Op::Verbosity:
    case Op::Noop:
    case Op::Quit:
    case Op::Sasl:
      return true;
    case Op::Stats:
      return req.stats_args == "proxy" || req.stats_args.starts_with("proxy ");
    default:
      return false;
  }
}

// The result of key `i` (or of the keyless op); a request the core left
// without results reads as a proxy error rather than crashing an encoder.
inline const Result& req_result(const Request& req, size_t i) {
  static const Result missing = [] {
    Result r;
    r.server_error(Status::InternalError, "proxy produced no result");
    return r;
  }();
  return i < req.results.size() ? req.results[i] : missing;
}

// Limits the decoders enforce (memcached's defaults).
struct Limits {
  uint32_t max_key_length = 250;
  uint32_t max_value_length = 1024 * 1024;  // the backend's item size limit
  uint32_t max_line_length = 2048;          // ascii command line, except get/gets/gat/gats
  // An ascii get line longer than this (memcached takes any length) is
  // decoded in parts of at most this many bytes, each a request of its own
  // answered in order, so a huge multiget streams through bounded memory.
  uint32_t get_part_bytes = 64 * 1024;
};

}  // namespace moxi::protocol
