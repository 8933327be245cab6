// net::Uring: the io_uring engine of a worker's loop (loop.h, -Z
// io_engine=uring). Plain stream connections receive into a ring of
// provided buffers and send with sendmsg; what the callbacks of one loop
// turn queued (the sends of every connection with output, the receives of
// every connection that reads) goes to the kernel in one io_uring_enter at
// the end of the turn (Loop::flush_dirty). The ring's
// completions raise an eventfd that the loop's libevent base watches, so
// timers, the notify queue, connects and TLS connections stay on libevent
// and nothing waits twice. Listening sockets accept with one multishot
// accept each (arm_accept): a burst of connections costs no accept4 calls.
//
// Every submission names its connection by a slot and the slot's
// generation, never by pointer: a connection may be gone when its
// completion comes (a cancelled receive, a send still in flight when it
// closed). A slot also holds what the kernel reads until the send
// completes (the bytes, the msghdr and its iovecs), so closing a connection
// with a send in flight frees nothing the kernel still uses; the slot is
// reused once its last operation completed.
//
// Why one-shot receives and not multishot ones: a multishot receive keeps
// taking a socket's bytes into the shared buffers after the proxy decided
// to stop reading it (a client over its budget, the total budget full)
// until a cancellation lands, so a turn could take megabytes from clients
// the byte budgets had stopped. A one-shot receive takes at most one
// buffer (kBufferSize) and is armed again, in the turn's one submission,
// only while the connection reads: the same bound as epoll's one read per
// readable event, at the same number of system calls.
//
// Thread contract: one loop's thread, which alone calls every method and
// runs every client callback.
#pragma once

#include <event2/event.h>
#include <liburing.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "src/util/byte_chain.h"

namespace moxi::net {

// What a connection of the uring engine is told of its operations.
class UringClient {
 public:
  // A receive completed: `res` bytes at `data` (res > 0), the end of the
  // stream (0), or -errno (-ECANCELED after cancel_all, -ENOBUFS when the
  // buffer ring ran dry).
  virtual void on_uring_recv(int res, const char* data) = 0;
  // The send of the slot's `sending` bytes completed: `res` bytes went
  // (the caller drains them), or -errno.
  virtual void on_uring_send(int res) = 0;

 protected:
  // Never deleted through this interface. Trivial, so that destroying a
  // connection calls nothing of it: UBSan's first check of a type needs a
  // descriptor, which a connection closing while moxi is out of them lacks.
  ~UringClient() = default;
};

// What a listening socket of the uring engine is told of its accept.
class UringAcceptor {
 public:
  // A connection was accepted: `res` is its descriptor (non-blocking,
  // close-on-exec), or -errno (-ECANCELED after stop_accept). `more`
  // false: the accept ended (any error ends it) and takes no connection
  // until arm_accept() again.
  virtual void on_uring_accept(int res, bool more) = 0;

 protected:
  ~UringAcceptor() = default;  // as UringClient's
};

class Uring {
 public:
  // The engine on `base`, or null with `error` saying why io_uring cannot
  // be used here (an old kernel, io_uring disabled, a seccomp filter).
  static std::unique_ptr<Uring> create(event_base* base, std::string& error);
  ~Uring();
  Uring(const Uring&) = delete;
  Uring& operator=(const Uring&) = delete;

  // A slot for `client`'s socket; its operations complete to it until
  // release().
  uint32_t acquire(UringClient* client);
  // A slot for a listening socket's accept.
  uint32_t acquire(UringAcceptor* acceptor);
  // The client is gone: completions still to come for the slot are
  // dropped (their buffers recycled, the bytes of a send in flight freed
  // with it), and the slot is reused after the last one.
  void release(uint32_t slot);
  // The bytes of the slot's send, untouched by anyone else while it is in
  // flight: output moves here (ByteChain::append_chain) and is sent from here.
  ByteChain& sending(uint32_t slot) { return slots_[slot]->sending; }
  bool send_in_flight(uint32_t slot) const { return slots_[slot]->send_in_flight; }

  // Queued for the next submit(): a receive on `fd` into a provided
  // buffer, and a send of the front of sending(slot).
  void arm_recv(uint32_t slot, int fd);
  void send(uint32_t slot, int fd);
  // The socket `fd` is closing: every operation on it is cancelled, at
  // once, so that the kernel lets go of it (a send to a client that does
  // not read would otherwise hold it open for ever).
  void cancel_all(uint32_t slot, int fd);
  // A multishot accept on the listening socket `fd`: every connection the
  // kernel completes is accepted and reported, with no system call of
  // ours, until an error or stop_accept ends it. Submitted at once. The
  // caller arms one at a time (each arm is one more accept). A connection
  // accepted for a released slot is closed.
  void arm_accept(uint32_t slot, int fd);
  // Ends the slot's accepts before it returns (a synchronous cancel): from
  // then on the socket's connections wait in its backlog, and closing it
  // closes it (an armed accept holds the socket open). Connections accepted
  // before still complete to the acceptor, then each accept's -ECANCELED.
  void stop_accept(uint32_t slot);
  // Hands everything queued to the kernel (one io_uring_enter); the loop
  // calls it at the end of every turn.
  void submit();
  // Completions waiting, run now (the loop's eventfd callback does this).
  void reap();

  // The provided buffers: kBuffers of kBufferSize bytes.
  static constexpr uint32_t kBuffers = 64;
  static constexpr uint32_t kBufferSize = 16 * 1024;
  static constexpr unsigned kEntries = 1024;  // submission queue

 private:
  Uring() = default;
  enum class Kind : uint8_t { Accept = 0, Recv = 1, Send = 2, Cancel = 3 };
  struct Slot {
    UringClient* client = nullptr;      // null: released, or free
    UringAcceptor* acceptor = nullptr;  // or, for an accept's slot, this
    uint32_t generation = 0;
    uint32_t outstanding = 0;  // operations in the kernel (cancels included)
    bool free = false;         // on free_slots_ (once: settle() is called again and again)
    bool send_in_flight = false;
    ByteChain sending;
    msghdr msg{};
    static constexpr size_t kMaxExtents = 16;
    iovec iov[kMaxExtents];
  };
  static uint64_t token(Kind kind, uint32_t slot, uint32_t generation) {
    return (static_cast<uint64_t>(kind) << 62) | (static_cast<uint64_t>(generation & 0x3fffffffu) << 32) | slot;
  }
  io_uring_sqe* next_sqe();
  void recycle_buffer(uint16_t bid);
  void settle(uint32_t slot);
  static void eventfd_cb(evutil_socket_t, short, void* arg);

  io_uring ring_{};
  bool ring_ready_ = false;
  int eventfd_ = -1;
  event* eventfd_ev_ = nullptr;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  std::unique_ptr<char[]> buffers_;
  // Each slot on the heap: it never moves (the kernel reads its msghdr), and
  // finding one is two loads (a deque of elements this big is a block each,
  // and its indexing cost ~20 instructions per call on the request path).
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<uint32_t> free_slots_;
  unsigned queued_ = 0;  // SQEs prepared since the last submit
};

}  // namespace moxi::net
