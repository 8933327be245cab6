// A client (upstream) connection: detects the protocol from the first byte
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
// Thread contract: owned by its worker, used only on the worker thread.
#pragma once

#include <memory>

#include "src/core/exchange.h"
#include "src/core/stream.h"
#include "src/protocol/client_codec.h"
#include "src/routing/snapshot.h"
#include "src/util/fifo.h"

namespace moxi {

class ClientConnection final : public StreamConnection {
 public:
  ClientConnection(Worker& worker, int fd, size_t port_index, uint64_t id);
  ~ClientConnection() override;

  // An exchange of this connection completed: write what is now in order.
  void on_exchange_complete(Exchange* ex);
  size_t port_index() const { return port_index_; }
  // Reply bytes held for this client: unsent output plus answered results
  // waiting behind an earlier reply (what the client budget bounds).
  size_t buffered_bytes() const { return output_size() + held_bytes_; }
  // The worker is draining (shutdown): keep serving what the client sends,
  // and once it is idle (nothing in flight, every reply written, nothing
  // more to read) send FIN (shutdown SHUT_WR) so the client reads every
  // reply and then end of file; the socket closes when the client closes
  // its side. What arrives after the FIN is discarded unanswered.
  void drain();

 private:
  // Requests in flight before the first reply shows how big replies are
  // (one round trip later the window follows the mean reply size).
  static constexpr size_t kFirstWindow = 4;
  void on_readable() override;
  void on_drained() override;
  void on_io_error(int err) override;
  // Decodes and dispatches as many requests as the bounds allow.
  void process_input();
  // A request the decoder refused at a limit: its counter.
  void count_limit(protocol::Limit limit);
  void write_completed();
  void update_reading();
  // Requests that may be in flight now (see the file comment).
  size_t inflight_allowed() const;

  void close();
  // Draining: half-closes the connection when it is idle.
  void finish_if_idle();

  size_t port_index_;
  uint64_t id_;
  std::unique_ptr<protocol::ClientCodec> codec_;
  Fifo<Exchange*> inflight_;        // in request order; allocates nothing while idle
  size_t held_bytes_ = 0;           // sum of held_bytes of the complete exchanges behind the head
  bool paused_for_output_ = false;  // the last update_reading found the budget full
  size_t mean_reply_bytes_ = 0;     // moving mean of the bytes a reply took in the output; 0 = none yet
  bool closing_ = false;             // quit seen or fatal input: close once replies are written
  bool closed_ = false;
  bool stop_after_ = false;          // quit (or a request memcached closes after) decoded: read no further
  bool input_ended_ = false;         // the client shut down its write side: answer what it sent, then close
  bool in_process_ = false;          // process_input is on the stack: completions wait for it
  bool draining_ = false;            // drain() was called
  bool half_closed_ = false;         // draining: FIN sent; input is read and discarded
  bool in_finish_ = false;           // finish_if_idle is on the stack
};

}  // namespace moxi
