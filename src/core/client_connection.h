// A client connection: detects the protocol from the first byte
// (0x80 = binary), decodes pipelined requests, hands each to the worker for
// routing, and writes the replies strictly in request order.
//
// Memory bound, in bytes: the replies a client has in moxi — unsent output
// plus the results of requests answered behind an earlier one — are held
// to settings.max_client_output (-Z client_buffer_max). Requests are only
// sent to the backends while there is room for their replies: the number
// in flight is the room left divided by the connection's mean reply size
// (4 before the first reply, at least 1, at most max_client_inflight).
// Past the budget the connection stops reading and sends nothing more until
// the client drains; a single reply larger than the budget still goes
// through. A client that never reads thus holds about the budget plus what
// its first 4 requests bring.
//
// The total of all connections is bounded too (buffer_budget.h): while it
// is full this connection decodes nothing, sends nothing to the backends
// and stops reading; the worker resumes it, oldest pause first, when there
// is room. Resumed after buffer_wait with the budget still full, it reads
// again but answers each request that would reach a backend "SERVER_ERROR
// out of memory" (binary: Out of memory) until there is room, so no client
// waits for ever; a set's value is then swallowed unbuffered, and the old
// value of a refused set is unlinked, as memcached does.
//
// Buckets (see src/routing/bucket_access.h): a connection starts on its
// port's start bucket, bound by name once the port has a map, and a binary
// client may choose another with SASL PLAIN. It never moves to another
// bucket because the map changed: if its bucket leaves the map, or it has
// none (the start bucket is none, or an authentication failed), its data
// commands are refused as the null bucket's ("SERVER_ERROR unauthorized,
// null bucket"; binary AUTH_ERROR) and reach no server.
//
// Thread contract: owned by its worker, used only on the worker thread.
#pragma once

#include <memory>

#include "src/core/exchange.h"
#include "src/net/stream.h"
#include "src/protocol/client_codec.h"
#include "src/routing/snapshot.h"
#include "src/util/fifo.h"

namespace moxi {

class Worker;

class ClientConnection final : public net::StreamConnection {
 public:
  ClientConnection(Worker& worker, int fd, size_t port_index, uint64_t id);
  ~ClientConnection() override;

  // An exchange of this connection completed: write what is now in order.
  void on_exchange_complete(Exchange* ex);
  size_t port_index() const { return port_index_; }
  // A TLS port's client: the handshake with `context` comes first (within
  // tls_handshake_timeout); a null context (none configured) closes it.
  void begin_tls(std::shared_ptr<const tls::Context> context);
  uint64_t id() const { return id_; }
  // Paused for the total buffer budget (Worker::wait_for_buffers), since when.
  bool waiting_for_buffers() const { return waiting_for_buffers_; }
  uint64_t buffer_wait_started_ms() const { return buffer_wait_started_ms_; }
  // The worker's turn for this paused client: serve on, or (`refuse`: the
  // budget is still full after buffer_wait) refuse until there is room.
  void resume_after_buffer_wait(bool refuse);
  // Reply bytes held for this client: unsent output plus answered results
  // waiting behind an earlier reply (what the client budget bounds).
  size_t buffered_bytes() const { return output_size() + held_bytes_; }
  // A SASL request of this connection (RequestRouter::answer_locally): fills its
  // result and, for a successful SASL_AUTH, switches the connection to the
  // bucket it authenticated for; a failed one leaves it on no bucket.
  void answer_sasl(protocol::Request& req);
  // The worker is draining (shutdown): keep serving what the client sends,
  // and once it is idle (nothing in flight, every reply written, nothing
  // more to read) send FIN (shutdown SHUT_WR) so the client reads every
  // reply and then end of file; the socket closes when the client closes
  // its side. What arrives after the FIN is discarded unanswered.
  void drain();

 private:
  Worker& worker_;  // its worker, whose loop it runs on (first: other members' initializers use it)
  // Requests in flight before the first reply shows how big replies are
  // (one round trip later the window follows the mean reply size).
  static constexpr size_t kFirstWindow = 4;
  void on_readable() override;
  void on_drained() override;
  void on_io_error(int err) override;
  void on_tls_established() override;
  // Held results, and the replies expected for the requests still at the
  // backends (at this connection's mean reply size, or before its first
  // reply the worker's): the total budget counts what is coming, so that
  // many clients do not all take the same room. (A reply being received is
  // counted twice until it is whole: by this and by the backend
  // connection's input; the budget errs on the safe side.)
  size_t extra_buffered_bytes() const override { return held_bytes_ + reserved_bytes(); }
  size_t reserved_bytes() const override;
  size_t expected_reply_bytes() const;  // of one request in flight
  // Total budget full past buffer_wait: `req`, if it would reach a backend,
  // becomes the out-of-memory refusal (see the file comment).
  void refuse_for_buffers(protocol::Request& req);
  // Decodes and dispatches as many requests as the bounds allow.
  void process_input();
  // A request the decoder refused at a limit: its counter.
  void count_limit(protocol::Limit limit);
  // Writes the replies now in order; true when it wrote any.
  bool write_completed();
  // Reading on or off by the bounds; `allowed`: the window, when the caller
  // knows it is unchanged.
  static constexpr size_t kRecompute = ~size_t{0};
  void update_reading(size_t allowed = kRecompute);
  // Requests that may be in flight now (see the file comment).
  size_t inflight_allowed() const;

  // The bucket requests decoded now go to; null when none (why_no_bucket_).
  // Looked up again only when the worker's snapshot changed: one compare
  // per request.
  const std::shared_ptr<const Bucket>& current_bucket();
  const std::shared_ptr<const Bucket>& resolve_bucket();
  void choose_bucket(std::string name);

  void close();
  // Draining: half-closes the connection when it is idle.
  void finish_if_idle();

  size_t port_index_;
  uint64_t id_;
  // Which bucket: the port's start bucket until the port has a map, then
  // the bucket named bucket_name_, or none.
  enum class BucketChoice : uint8_t { PortStart, Named, None };
  BucketChoice choice_ = BucketChoice::PortStart;
  std::string bucket_name_;
  static constexpr uint64_t kUnresolved = ~uint64_t{0};
  uint64_t bucket_generation_ = kUnresolved;  // snapshot generation bucket_ was looked up in
  std::shared_ptr<const Bucket> bucket_;
  NoBucket why_no_bucket_ = NoBucket::AwaitingMap;
  std::unique_ptr<protocol::ClientCodec> codec_;
  Fifo<Exchange*> inflight_;        // in request order; allocates nothing while idle
  size_t held_bytes_ = 0;           // sum of held_bytes of the complete exchanges behind the head
  size_t awaiting_ = 0;             // exchanges of inflight_ not complete yet
  bool paused_for_output_ = false;  // the last update_reading found the budget full
  size_t mean_reply_bytes_ = 0;     // moving mean of the bytes a reply took in the output; 0 = none yet
  // Where the connection is in its life. It only moves on: Serving, then
  // Closing or (draining, idle) HalfClosed, then Closed.
  enum class Phase : uint8_t {
    Serving,     // reading, decoding and answering
    Closing,     // quit (or a request memcached closes after), fatal input, or the
                 // input's end decoded: nothing more is read; close once answered
    HalfClosed,  // draining and idle: FIN sent; input is read and discarded until the client closes
    Closed,
  };
  Phase phase_ = Phase::Serving;
  bool tls_ = false;                 // counted in tls_connections_current
  bool input_ended_ = false;         // the client shut down its write side: answer what it sent, then close
  bool in_process_ = false;          // process_input is on the stack: completions wait for it
  bool draining_ = false;            // drain() was called
  bool in_finish_ = false;           // finish_if_idle is on the stack
  bool waiting_for_buffers_ = false;  // paused for the total budget, queued at the worker
  uint64_t buffer_wait_started_ms_ = 0;
  bool refusing_ = false;             // answering out of memory (see the file comment)
  uint32_t value_limit_ = ~uint32_t{0};  // the decoder's value limit as last set (set again only on a change)
  bool refusing_get_line_ = false;    // a get line decoded in parts was refused: refuse its other parts silently
};

}  // namespace moxi
