#include "src/net/stream.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include <cerrno>
#include <cstring>

#include "src/net/loop.h"

namespace moxi::net {

namespace {
// One read takes at most this much; bounds the input buffer growth per event.
constexpr int kReadChunk = static_cast<int>(Loop::kReadSlabBlock);
// A read goes into the input's last slab while that has this much room,
// else into a new slab of a whole 64 KiB block.
constexpr size_t kReadAtLeast = kReadChunk / 4;
constexpr size_t kReadSlab = kReadChunk - ByteChain::kSlabOverhead;
}  // namespace

StreamConnection::StreamConnection(Loop& loop, int fd) : loop_(loop) {
  if (fd >= 0) attach(fd);
}

StreamConnection::~StreamConnection() {
  // Still queued for the end of the turn (a connection its owner destroys
  // at once rather than after the turn): the loop must not reach it.
  if (dirty_ || arm_queued_ || deliver_queued_) loop_.forget(this);
  close_socket();
  loop_.buffers().add(-static_cast<int64_t>(accounted_), -static_cast<int64_t>(accounted_reserved_));
}

void StreamConnection::buffers_add(int64_t bytes, int64_t reserved) { loop_.buffers().add(bytes, reserved); }

void StreamConnection::account() {
  const size_t now = in_.size() + out_.size() + sending_size() + extra_buffered_bytes() +
                     (tls_ && tls_->handshaking() ? kTlsHandshakeBytes : 0);
  const size_t reserved = reserved_bytes();
  if (now == accounted_ && reserved == accounted_reserved_) return;
  loop_.buffers().add(static_cast<int64_t>(now) - static_cast<int64_t>(accounted_),
                        static_cast<int64_t>(reserved) - static_cast<int64_t>(accounted_reserved_));
  accounted_ = now;
  accounted_reserved_ = reserved;
}

void StreamConnection::attach(int fd) {
  close_socket();
  fd_ = fd;
  if (Uring* uring = loop_.uring()) {
    uring_slot_ = uring->acquire(this);
    reading_ = writing_ = false;
    return;
  }
  create_events();
}

bool StreamConnection::input_in_socket() const {
  if (!on_uring() || fd_ < 0) return false;
  char byte;
  return ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;  // data, or the end (0)
}

bool StreamConnection::took_input_now() {
  if (!on_uring() || !recv_armed_) return false;
  // A receive that took bytes before input_in_socket looked has its
  // completion in the ring by now: the kernel posts it before returning
  // from that system call.
  loop_.uring()->reap();
  return !recv_armed_;
}

size_t StreamConnection::sending_size() const {
  return on_uring() ? loop_.uring()->sending(uring_slot_).size() : 0;
}

void StreamConnection::leave_uring() {
  Uring& uring = *loop_.uring();
  // The kernel lets go of the socket once what it holds for it is
  // cancelled; the slot keeps the bytes of a send until it completed.
  if (recv_armed_ || uring.send_in_flight(uring_slot_)) uring.cancel_all(uring_slot_, fd_);
  uring.release(uring_slot_);
  uring_slot_ = kNoSlot;
  recv_armed_ = false;
  uring_unreported_ = 0;
  uring_ended_ = false;
  uring_error_ = 0;
}

void StreamConnection::arm_uring_recv() {
  arm_queued_ = false;
  if (!on_uring() || !reading_ || recv_armed_ || uring_ended_ || uring_error_ != 0) return;
  loop_.uring()->arm_recv(uring_slot_, fd_);
  recv_armed_ = true;
}

void StreamConnection::deliver_uring_input() {
  deliver_queued_ = false;
  if (on_uring() && reading_ && uring_input_pending()) on_readable();
}

void StreamConnection::on_uring_recv(int res, const char* data) {
  recv_armed_ = false;
  if (res > 0 && data) {
    const auto n = static_cast<size_t>(res);
    // Copied out of the provided buffer, which goes back to the ring. An
    // append fills the last slab's room before it takes a new one, so a
    // big value's receives make few full slabs, not one half-used slab
    // per receive buffer.
    in_.append(data, n);
    count_read(n);
    uring_unreported_ += n;
  } else if (res == 0) {
    uring_ended_ = true;
  } else if (res != -ECANCELED && res != -ENOBUFS && res != -EINTR && res != -EAGAIN) {
    uring_error_ = -res;
  }
  // The next receive, armed at the end of the turn, while the connection
  // reads (a receive that found the buffer ring dry tries again then too).
  if (!recv_armed_ && reading_ && !uring_ended_ && uring_error_ == 0 && !arm_queued_) {
    arm_queued_ = true;
    loop_.add_arm(this);
  }
  if (reading_ && uring_input_pending()) on_readable();
}

bool StreamConnection::uring_flush() {
  Uring& uring = *loop_.uring();
  if (uring.send_in_flight(uring_slot_)) return true;  // its completion sends what came since
  ByteChain& sending = uring.sending(uring_slot_);
  sending.append_chain(out_);  // segments move, bytes stay
  if (sending.size() == 0) {
    account();
    on_drained();
    return true;
  }
  uring.send(uring_slot_, fd_);
  account();
  return true;
}

void StreamConnection::on_uring_send(int res) {
  if (res < 0 && res != -EINTR && res != -EAGAIN) {
    on_io_error(-res);
    return;
  }
  ByteChain& sending = loop_.uring()->sending(uring_slot_);
  if (res > 0) {
    if (sent_counter_) *sent_counter_ += static_cast<uint64_t>(res);
    sending.drain(static_cast<size_t>(res));
  }
  uring_flush();  // the rest, and what was added meanwhile; or drained
}

void StreamConnection::create_events() {
  read_ev_ = event_new(loop_.base(), fd_, EV_READ | EV_PERSIST, &StreamConnection::read_cb, this);
  // write_ev_ is made the first time the kernel buffer is full: most
  // connections never need it (one event less per idle connection).
  reading_ = writing_ = false;
}

void StreamConnection::free_events() {
  if (read_ev_) event_free(read_ev_);
  if (write_ev_) event_free(write_ev_);
  read_ev_ = write_ev_ = nullptr;
  reading_ = writing_ = false;
}

void StreamConnection::shutdown_output() {
  if (fd_ < 0) return;
  if (tls_) tls_->notify_close();
  ::shutdown(fd_, SHUT_WR);
}

void StreamConnection::close_socket() {
  free_events();
  if (on_uring()) leave_uring();
  if (tls_timer_) {
    event_free(tls_timer_);
    tls_timer_ = nullptr;
  }
  if (tls_ && fd_ >= 0) tls_->notify_close();
  tls_.reset();  // before the descriptor it uses
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void StreamConnection::set_reading(bool on) {
  if (on_uring()) {
    if (on == reading_) return;
    reading_ = on;
    if (on) {
      // Armed at the end of the turn; what arrived meanwhile (a receive
      // still in the kernel when reading stopped) is handed over then too.
      if (!recv_armed_ && !arm_queued_) {
        arm_queued_ = true;
        loop_.add_arm(this);
      }
      if (uring_input_pending() && !deliver_queued_) {
        deliver_queued_ = true;
        loop_.add_delivery(this);
      }
    }
    // Stopping needs nothing: no receive is armed again until it reads;
    // one still in the kernel takes at most one buffer.
    return;
  }
  if (!read_ev_ || on == reading_) return;
  if (on) {
    event_add(read_ev_, nullptr);
  } else {
    event_del(read_ev_);
  }
  reading_ = on;
}

void StreamConnection::mark_dirty() {
  if (dirty_ || fd_ < 0) return;
  dirty_ = true;
  loop_.add_dirty(this);
}

int StreamConnection::read_some() {
  if (tls_) return tls_read();
  if (on_uring()) {
    // The completions appended to in_ already (on_uring_recv).
    if (uring_unreported_ > 0) {
      const size_t n = std::exchange(uring_unreported_, 0);
      return static_cast<int>(n);
    }
    if (uring_ended_) return 0;
    if (uring_error_ != 0) {
      errno = uring_error_;
      return -1;
    }
    return -2;
  }
  // recv, not read: the socket call path is shorter (no file-position
  // lock, no vfs layer). Not evbuffer_read's way either, which asks the
  // kernel first how much is waiting (ioctl FIONREAD): one more system call
  // per read, and system calls are what a proxy's CPU goes to.
  const std::span<char> room = input_room();
  const ssize_t n = ::recv(fd_, room.data(), room.size(), 0);
  const int err = errno;
  input_took(n > 0 ? static_cast<size_t>(n) : 0);
  if (n > 0) {
    count_read(static_cast<size_t>(n));
    return static_cast<int>(n);
  }
  if (n == 0) return 0;
  errno = err;
  return (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) ? -2 : -1;
}

// With nothing buffered (the usual case: requests and replies arrive
// whole, or start), a read lands in the loop's read slab: the bytes that
// came become the input as a view, and once the owner has decoded them the
// slab is free for the next connection's read. What the owner leaves (a
// message half sent) it copies to a slab fitted to it (release_read_slab):
// a stalled message then pins a small slab, not a 64 KiB one the byte
// budget would count as a few bytes. Bytes that continue a buffered
// message (a big value) land in the input's free room. Nothing may touch
// in_ between input_room and input_took.
std::span<char> StreamConnection::input_room() {
  const std::span<char> room = in_.empty() ? loop_.read_slab().room() : in_.reserve(kReadAtLeast, kReadSlab);
  return room.first(std::min(room.size(), static_cast<size_t>(kReadChunk)));
}

void StreamConnection::input_took(size_t n) {
  if (in_.empty()) {
    loop_.read_slab().hand(in_, n);
  } else {
    in_.commit(n);
  }
}

void StreamConnection::release_read_slab() { in_.detach(loop_.read_slab()); }

bool StreamConnection::flush() {
  if (fd_ < 0) return false;
  if (writing_) return true;  // EV_WRITE is armed; write_cb continues
  if (tls_) return tls_flush();
  if (on_uring()) return uring_flush();
  // Only this loop takes from out_: count down as it sends.
  size_t left = out_.size();
  while (left > 0) {
    const ssize_t n = send_some();
    if (n > 0) {
      if (sent_counter_) *sent_counter_ += static_cast<uint64_t>(n);
      out_.drain(static_cast<size_t>(n));
      left -= std::min(left, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!write_ev_) write_ev_ = event_new(loop_.base(), fd_, EV_WRITE, &StreamConnection::write_cb, this);
      writing_ = true;
      event_add(write_ev_, nullptr);
      account();
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    on_io_error(n < 0 ? errno : 0);
    return false;
  }
  account();
  on_drained();
  return true;
}

ssize_t StreamConnection::send_some() {
  // send/sendmsg rather than writev: the socket call path is
  // shorter (no file-position lock, no vfs layer), and MSG_NOSIGNAL makes a
  // closed peer an EPIPE error, whatever the process's SIGPIPE disposition.
  constexpr size_t kMaxExtents = 16;
  iovec iov[kMaxExtents];
  const size_t nvec = out_.peek(iov, kMaxExtents);
  if (nvec == 0) return 0;
  if (nvec == 1) return ::send(fd_, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = nvec;
  return ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
}

void StreamConnection::wait_writable() {
  if (!write_ev_) write_ev_ = event_new(loop_.base(), fd_, EV_WRITE, &StreamConnection::write_cb, this);
  writing_ = true;
  event_add(write_ev_, nullptr);
}

void StreamConnection::start_tls(std::unique_ptr<tls::Session> session, uint64_t timeout_ms) {
  if (on_uring()) {
    // TLS runs on libevent. The receive is armed only at the end of a turn,
    // and TLS starts in the turn the socket was attached or connected in,
    // so io_uring took none of the handshake's bytes.
    const bool was_reading = reading_;
    leave_uring();
    create_events();
    if (was_reading) set_reading(true);
  }
  tls_ = std::move(session);
  if (timeout_ms > 0) {
    if (!tls_timer_) tls_timer_ = evtimer_new(loop_.base(), &StreamConnection::tls_timer_cb, this);
    const timeval tv{static_cast<time_t>(timeout_ms / 1000), static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};
    evtimer_add(tls_timer_, &tv);
  }
  account();
}

void StreamConnection::tls_timer_cb(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<StreamConnection*>(arg);
  if (!self->tls_ || !self->tls_->handshaking()) return;
  self->tls_->fail_timeout();
  self->on_io_error(ETIMEDOUT);
}

int StreamConnection::advance_handshake() {
  switch (tls_->handshake()) {
    case tls::Session::Io::Done:
      if (tls_timer_) evtimer_del(tls_timer_);
      account();  // the handshake's estimate goes
      on_tls_established();
      if (out_.size() > 0) mark_dirty();  // what waited for it
      return 1;
    case tls::Session::Io::WantRead:
      return -2;  // the read event (on while a handshake runs) brings us back
    case tls::Session::Io::WantWrite:
      wait_writable();
      return -2;
    case tls::Session::Io::Closed:
      return 0;
    case tls::Session::Io::Failed:
      break;
  }
  errno = EPROTO;
  return -1;
}

int StreamConnection::tls_read() {
  if (tls_->handshaking()) {
    if (writing_) return -2;  // the handshake waits to write; write_cb goes on with it
    const int r = advance_handshake();
    if (r != 1) return r;
  }
  // Record by record into the input, as read_some's recv (input_room), up
  // to one chunk per event.
  size_t total = 0;
  bool ended = false, failed = false;
  // With read-ahead, OpenSSL's buffer holds what the socket had: once it is
  // empty, asking again would only be a recv answering EAGAIN (the event is
  // level-triggered and comes back when more arrives).
  bool chunk_full = false;
  while (true) {
    size_t got = 0;
    const std::span<char> room = input_room();
    const tls::Session::Io io = tls_->read(room.data(), room.size(), got);
    input_took(io == tls::Session::Io::Done ? got : 0);
    if (io == tls::Session::Io::Done) {
      count_read(got);
      total += got;
      if (!tls_->buffered()) break;
      chunk_full = total >= static_cast<size_t>(kReadChunk);
      if (chunk_full) break;
      continue;
    }
    if (io == tls::Session::Io::WantWrite) wait_writable();  // a key update to answer
    ended = io == tls::Session::Io::Closed;
    failed = io == tls::Session::Io::Failed;
    break;
  }
  // Whole records left in OpenSSL after a full chunk raise no event: come
  // back for them. (After WantRead what is left is part of a record, which
  // the socket completes with an event of its own.)
  if (chunk_full && read_ev_) event_active(read_ev_, EV_READ, 1);
  // A write that needed a read (a renegotiation-like exchange) goes on.
  if (out_.size() > 0 && !writing_) mark_dirty();
  if (total > 0) return static_cast<int>(total);
  if (ended) return 0;
  if (failed) {
    errno = EPROTO;
    return -1;
  }
  return -2;
}

bool StreamConnection::tls_flush() {
  if (tls_->handshaking()) {
    const int r = advance_handshake();
    if (r == -2) return true;
    if (r != 1) {
      on_io_error(r == 0 ? 0 : EPROTO);
      return false;
    }
  }
  while (out_.size() > 0) {
    const std::string_view first = out_.front();
    size_t put = 0;
    switch (tls_->write(first.data(), first.size(), put)) {
      case tls::Session::Io::Done:
        if (sent_counter_) *sent_counter_ += put;
        out_.drain(put);
        continue;
      case tls::Session::Io::WantWrite:
        wait_writable();
        account();
        return true;
      case tls::Session::Io::WantRead:
        account();  // tls_read marks the connection dirty again once it read
        return true;
      case tls::Session::Io::Closed:
        on_io_error(EPIPE);
        return false;
      case tls::Session::Io::Failed:
        on_io_error(EPROTO);
        return false;
    }
  }
  account();
  on_drained();
  return true;
}

void StreamConnection::read_cb(evutil_socket_t, short, void* arg) {
  static_cast<StreamConnection*>(arg)->on_readable();
}

void StreamConnection::write_cb(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<StreamConnection*>(arg);
  self->writing_ = false;
  self->flush();
}

}  // namespace moxi::net
