// StreamConnection: the non-blocking socket plumbing shared by client and
// backend connections — read into an input ByteChain, collect output in an
// output ByteChain, and write it once per event-loop turn.
//
// Why not bufferevent: a bufferevent writes from its own write callback,
// which costs an epoll_ctl per reply. Here a connection that has output is
// put on the loop's dirty list (loop.h) and written right after the loop turn's
// callbacks ran, so replies produced for many requests in one turn leave in
// one write(), and EV_WRITE is only armed when the kernel buffer is full.
//
// With the uring engine (loop.h, uring.h) a plain connection receives and
// sends through the loop's io_uring instead of recv and send: the same buffers, the same end-of-turn write, the same calls for
// the subclass (read_some, set_reading, on_readable, on_drained); only a
// send completes later, so output counts what is in flight until it did.
// A TLS connection stays on libevent.
//
// TLS (start_tls): the same buffers and the same end-of-turn write; the
// bytes go through OpenSSL on the socket (src/util/tls.h). The handshake
// runs inside read_some() and flush(): output queued before it finished
// waits in out_, and a handshake that does not finish within its timeout
// fails the connection (on_io_error(ETIMEDOUT)).
//
// Thread contract: owned and used only by its loop's thread.
#pragma once

#include <event2/event.h>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "src/net/uring.h"
#include "src/util/byte_chain.h"
#include "src/util/tls.h"

namespace moxi::net {

class Loop;

class StreamConnection : private UringClient {
 public:
  StreamConnection(const StreamConnection&) = delete;
  StreamConnection& operator=(const StreamConnection&) = delete;
  virtual ~StreamConnection();

  // Writes pending output now (called by the loop after each turn).
  // Returns false when the socket failed; the subclass was told via on_io_error.
  bool flush();
  bool dirty() const { return dirty_; }
  void clear_dirty() { dirty_ = false; }
  int fd() const { return fd_; }
  // Output not yet written, with what a uring send has in flight.
  size_t output_size() const { return out_.size() + sending_size(); }
  // The loop's turn for this connection's receive (Loop::flush_dirty):
  // a receive armed for a connection that reads, and input that arrived
  // while it did not read handed over once it reads again.
  void arm_uring_recv();
  void deliver_uring_input();

 protected:
  StreamConnection(Loop& loop, int fd);

  // Starts or stops read interest (stopping is how back-pressure works).
  void set_reading(bool on);
  bool reading() const { return reading_; }
  // Queues this connection for a write at the end of the loop turn.
  void mark_dirty();
  // Reads what the socket has into in_. Returns bytes read, 0 on EOF, -1 on
  // a socket error, -2 when nothing was available (EAGAIN). On the uring
  // engine it reports what completions brought: -2 may leave bytes in the
  // kernel that a receive in flight has not taken yet (input_waiting).
  int read_some();
  // To call once the input read_some() brought has been taken as far as it
  // can be (decoded, or left for later): what is left of it that still
  // views the loop's read slab is copied, so the slab serves the next read
  // and a half-sent message holds only a slab fitted to it.
  void release_read_slab();
  // For a connection about to decide it has read all there is (a drain's
  // half-close), on the uring engine, where read_some() reports only what
  // completions brought. input_in_socket: bytes (or the end of the stream)
  // wait in the socket for its receive, which will hand them over.
  // took_input_now: its receive had taken bytes already; the completion is
  // run now (with any others in the ring), so they were handed over, and
  // maybe answered, before it returns. Both always false on epoll, where
  // read_some() takes everything there is.
  bool input_in_socket() const;
  bool took_input_now();
  // Ends what this side sends and keeps reading (shutdown(SHUT_WR)); a TLS
  // connection sends its close_notify alert first.
  void shutdown_output();
  // Closes the socket (events removed, TLS session ended); the object stays valid.
  void close_socket();
  // Speaks TLS on the attached socket from now on (before any byte moved).
  // `timeout_ms` > 0 bounds the handshake.
  void start_tls(std::unique_ptr<tls::Session> session, uint64_t timeout_ms);
  // The TLS session, or null on a plain connection.
  const tls::Session* tls_session() const { return tls_.get(); }
  // What OpenSSL holds for a connection in its handshake (its record
  // buffers and handshake state), counted against the buffer budget until
  // the handshake is over: an estimate, OpenSSL does not say.
  static constexpr size_t kTlsHandshakeBytes = 48 * 1024;
  // Attaches a new socket (backend reconnect); events are re-created.
  void attach(int fd);
  // Tells the loop's buffer account (buffer_budget.h) what this
  // connection holds now: input, output and extra_buffered_bytes(). Called
  // wherever those change (reads, writes, decoding); cheap when nothing did.
  void account();
  // What a read added to in_, and a reservation made: counted without
  // asking the buffers (the next account() settles any difference).
  void count_read(size_t bytes) {
    accounted_ += bytes;
    buffers_add(static_cast<int64_t>(bytes), 0);
  }
  void count_reserved(size_t bytes) {
    accounted_ += bytes;
    accounted_reserved_ += bytes;
    buffers_add(static_cast<int64_t>(bytes), static_cast<int64_t>(bytes));
  }
  // Bytes held outside in_ and out_ that the total budget counts (a
  // client's results waiting behind an earlier reply), and of them the
  // part only reserved for replies still expected.
  virtual size_t extra_buffered_bytes() const { return 0; }
  virtual size_t reserved_bytes() const { return 0; }

  // The socket is readable (read interest on).
  virtual void on_readable() = 0;
  // A flush left no output queued (called after every complete flush).
  virtual void on_drained() {}
  // A read or write failed with errno `err`, or the peer closed (err = 0).
  // A TLS failure is EPROTO (ETIMEDOUT for a handshake timeout), the
  // reason in tls_session().
  virtual void on_io_error(int err) = 0;
  // The TLS handshake finished.
  virtual void on_tls_established() {}

  Loop& loop_;
  ByteChain in_;
  ByteChain out_;
  // Where bytes sent are added, if anywhere (a backend connection's
  // server counter, owned by the worker's Metrics, which outlives it).
  uint64_t* sent_counter_ = nullptr;

 private:
  void buffers_add(int64_t bytes, int64_t reserved);
  // ---- the uring engine ----
  static constexpr uint32_t kNoSlot = ~uint32_t{0};
  bool on_uring() const { return uring_slot_ != kNoSlot; }
  // Completions brought input read_some() has not reported: bytes, the
  // end of the stream, or an error.
  bool uring_input_pending() const { return uring_unreported_ > 0 || uring_ended_ || uring_error_ != 0; }
  size_t sending_size() const;
  void on_uring_recv(int res, const char* data) override;
  void on_uring_send(int res) override;
  bool uring_flush();
  void leave_uring();
  // One send of the front of out_ (up to 16 extents); the bytes sent, or -1
  // with errno set.
  ssize_t send_some();
  static void read_cb(evutil_socket_t, short, void* arg);
  static void write_cb(evutil_socket_t, short, void* arg);
  static void tls_timer_cb(evutil_socket_t, short, void* arg);
  // 1 when the handshake is over, -2 to wait for the socket, 0 when the
  // peer closed, -1 (errno EPROTO) when it failed.
  int advance_handshake();
  int tls_read();
  // Where a plain or TLS read into in_ lands, then what came (0: nothing);
  // see stream.cc.
  std::span<char> input_room();
  void input_took(size_t n);
  bool tls_flush();
  void wait_writable();
  void create_events();
  void free_events();

  int fd_ = -1;
  event* read_ev_ = nullptr;
  event* write_ev_ = nullptr;
  bool reading_ = false;
  bool writing_ = false;  // EV_WRITE armed: the kernel buffer was full
  bool dirty_ = false;
  size_t accounted_ = 0;           // what account() last told the loop's buffer account
  size_t accounted_reserved_ = 0;  // ... and of it, reserved
  std::unique_ptr<tls::Session> tls_;
  event* tls_timer_ = nullptr;  // the handshake's deadline, while it runs
  // The uring engine: the socket's slot in the loop's Uring (kNoSlot on
  // libevent), whether a receive is in the kernel, and what completions
  // brought that read_some has not reported yet.
  uint32_t uring_slot_ = kNoSlot;
  bool recv_armed_ = false;
  bool arm_queued_ = false;     // on the loop's list for arm_uring_recv
  bool deliver_queued_ = false; // on the loop's list for deliver_uring_input
  size_t uring_unreported_ = 0;
  bool uring_ended_ = false;
  int uring_error_ = 0;
};

}  // namespace moxi::net
