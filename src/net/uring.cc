#include "src/net/uring.h"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace moxi::net {

namespace {
constexpr uint16_t kBufferGroup = 0;
}  // namespace

std::unique_ptr<Uring> Uring::create(event_base* base, std::string& error) {
  std::unique_ptr<Uring> u(new Uring());
  int rc = io_uring_queue_init(kEntries, &u->ring_, 0);
  if (rc < 0) {
    error = std::string("io_uring_queue_init: ") + std::strerror(-rc);
    return nullptr;
  }
  u->ring_ready_ = true;
  io_uring_probe* probe = io_uring_get_probe_ring(&u->ring_);
  const bool ops = probe && io_uring_opcode_supported(probe, IORING_OP_RECV) &&
                   io_uring_opcode_supported(probe, IORING_OP_SENDMSG) &&
                   io_uring_opcode_supported(probe, IORING_OP_ASYNC_CANCEL) &&
                   io_uring_opcode_supported(probe, IORING_OP_ACCEPT);
  if (probe) io_uring_free_probe(probe);
  if (!ops) {
    error = "io_uring lacks recv, sendmsg, cancel or accept";
    return nullptr;
  }
  // stop_accept's synchronous cancel (kernel 6.0): with nothing to cancel,
  // a kernel that has it says -ENOENT.
  io_uring_sync_cancel_reg probe_cancel{};
  probe_cancel.addr = ~uint64_t{0};  // no operation's token
  probe_cancel.timeout.tv_sec = probe_cancel.timeout.tv_nsec = -1;
  rc = io_uring_register_sync_cancel(&u->ring_, &probe_cancel);
  if (rc != -ENOENT) {
    error = std::string("io_uring has no synchronous cancel (kernel before 6.0?): ") + std::strerror(-rc);
    return nullptr;
  }
  // The provided buffers: a ring the kernel takes receive buffers from.
  u->buf_ring_bytes_ = kBuffers * sizeof(io_uring_buf);
  void* ring = ::mmap(nullptr, u->buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ring == MAP_FAILED) {
    error = std::string("mmap of the buffer ring: ") + std::strerror(errno);
    return nullptr;
  }
  u->buf_ring_ = static_cast<io_uring_buf_ring*>(ring);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uintptr_t>(ring);
  reg.ring_entries = kBuffers;
  reg.bgid = kBufferGroup;
  rc = io_uring_register_buf_ring(&u->ring_, &reg, 0);
  if (rc < 0) {
    error = std::string("io_uring_register_buf_ring: ") + std::strerror(-rc) + " (kernel before 5.19?)";
    return nullptr;
  }
  io_uring_buf_ring_init(u->buf_ring_);
  u->buffers_ = std::make_unique<char[]>(size_t{kBuffers} * kBufferSize);
  for (uint32_t b = 0; b < kBuffers; ++b)
    io_uring_buf_ring_add(u->buf_ring_, u->buffers_.get() + size_t{b} * kBufferSize, kBufferSize,
                          static_cast<unsigned short>(b), io_uring_buf_ring_mask(kBuffers), static_cast<int>(b));
  io_uring_buf_ring_advance(u->buf_ring_, kBuffers);
  // Completions wake the loop through an eventfd on its libevent base.
  u->eventfd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (u->eventfd_ < 0 || io_uring_register_eventfd(&u->ring_, u->eventfd_) < 0) {
    error = std::string("io_uring eventfd: ") + std::strerror(errno);
    return nullptr;
  }
  u->eventfd_ev_ = event_new(base, u->eventfd_, EV_READ | EV_PERSIST, &Uring::eventfd_cb, u.get());
  if (!u->eventfd_ev_ || event_add(u->eventfd_ev_, nullptr) != 0) {
    error = "cannot watch the io_uring eventfd";
    return nullptr;
  }
  return u;
}

Uring::~Uring() {
  if (eventfd_ev_) event_free(eventfd_ev_);
  // The ring goes first: the kernel lets go of every buffer and slot it
  // still had (cancelled receives, sends in flight) before they are freed.
  if (ring_ready_) io_uring_queue_exit(&ring_);
  if (eventfd_ >= 0) ::close(eventfd_);
  if (buf_ring_) ::munmap(buf_ring_, buf_ring_bytes_);
}

uint32_t Uring::acquire(UringClient* client) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.push_back(std::make_unique<Slot>());
  }
  Slot& s = *slots_[slot];
  s.client = client;
  s.free = false;
  ++s.generation;
  return slot;
}

uint32_t Uring::acquire(UringAcceptor* acceptor) {
  const uint32_t slot = acquire(static_cast<UringClient*>(nullptr));
  slots_[slot]->acceptor = acceptor;
  return slot;
}

void Uring::release(uint32_t slot) {
  Slot& s = *slots_[slot];
  s.client = nullptr;
  s.acceptor = nullptr;
  settle(slot);
}

void Uring::settle(uint32_t slot) {
  Slot& s = *slots_[slot];
  if (s.client || s.acceptor || s.outstanding != 0 || s.free) return;
  s.free = true;
  s.sending.clear();
  s.send_in_flight = false;
  ++s.generation;  // a late completion of the old user can never match
  free_slots_.push_back(slot);
}

io_uring_sqe* Uring::next_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {  // the queue is full: hand it over now
    submit();
    sqe = io_uring_get_sqe(&ring_);
  }
  ++queued_;
  return sqe;
}

void Uring::arm_recv(uint32_t slot, int fd) {
  Slot& s = *slots_[slot];
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_recv(sqe, fd, nullptr, kBufferSize, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(sqe, token(Kind::Recv, slot, s.generation));
  ++s.outstanding;
}

void Uring::arm_accept(uint32_t slot, int fd) {
  Slot& s = *slots_[slot];
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, token(Kind::Accept, slot, s.generation));
  ++s.outstanding;
  submit();
}

void Uring::stop_accept(uint32_t slot) {
  Slot& s = *slots_[slot];
  submit();  // an accept still queued is in the kernel's hands before it is cancelled
  io_uring_sync_cancel_reg reg{};
  reg.addr = token(Kind::Accept, slot, s.generation);
  reg.flags = IORING_ASYNC_CANCEL_ALL;
  reg.timeout.tv_sec = -1;  // no timeout: cancelling a waiting accept cannot block
  reg.timeout.tv_nsec = -1;
  // -ENOENT: it had ended already, its last completion not yet reaped.
  // (create() made sure the kernel has synchronous cancels.)
  io_uring_register_sync_cancel(&ring_, &reg);
}

void Uring::cancel_all(uint32_t slot, int fd) {
  Slot& s = *slots_[slot];
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, token(Kind::Cancel, slot, s.generation));
  ++s.outstanding;
  submit();  // before the descriptor is closed and its number reused
}

void Uring::send(uint32_t slot, int fd) {
  Slot& s = *slots_[slot];
  const size_t n = s.sending.peek(s.iov, Slot::kMaxExtents);
  if (n == 0) return;
  s.msg = msghdr{};
  s.msg.msg_iov = s.iov;
  s.msg.msg_iovlen = n;
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_sendmsg(sqe, fd, &s.msg, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, token(Kind::Send, slot, s.generation));
  s.send_in_flight = true;
  ++s.outstanding;
}

void Uring::submit() {
  if (queued_ == 0) return;
  queued_ = 0;
  io_uring_submit(&ring_);
}

void Uring::recycle_buffer(uint16_t bid) {
  io_uring_buf_ring_add(buf_ring_, buffers_.get() + size_t{bid} * kBufferSize, kBufferSize, bid,
                        io_uring_buf_ring_mask(kBuffers), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
}

void Uring::eventfd_cb(evutil_socket_t fd, short, void* arg) {
  uint64_t count;
  [[maybe_unused]] ssize_t n = ::read(fd, &count, sizeof count);
  static_cast<Uring*>(arg)->reap();
}

void Uring::reap() {
  // One completion at a time: a client callback may queue submissions and
  // release slots, which must not disturb the walk.
  io_uring_cqe* cqe;
  while (io_uring_peek_cqe(&ring_, &cqe) == 0 && cqe) {
    const uint64_t data = io_uring_cqe_get_data64(cqe);
    const int res = cqe->res;
    const unsigned flags = cqe->flags;
    io_uring_cqe_seen(&ring_, cqe);
    const auto kind = static_cast<Kind>(data >> 62);
    const auto slot = static_cast<uint32_t>(data);
    const auto generation = static_cast<uint32_t>(data >> 32) & 0x3fffffffu;
    const bool has_buffer = (flags & IORING_CQE_F_BUFFER) != 0;
    const auto bid = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    if (slot >= slots_.size()) continue;
    Slot& s = *slots_[slot];
    const bool current = (s.generation & 0x3fffffffu) == generation;
    if (kind == Kind::Accept) {
      const bool more = (flags & IORING_CQE_F_MORE) != 0;
      if (current && !more) --s.outstanding;
      if (current && s.acceptor) {
        s.acceptor->on_uring_accept(res, more);
      } else if (res >= 0) {
        ::close(res);  // accepted for a listener that is gone
      }
    } else if (kind == Kind::Recv) {
      if (current) {
        --s.outstanding;
        if (s.client) s.client->on_uring_recv(res, has_buffer ? buffers_.get() + size_t{bid} * kBufferSize : nullptr);
      }
      if (has_buffer) recycle_buffer(bid);
    } else if (kind == Kind::Send) {
      if (current) {
        --s.outstanding;
        s.send_in_flight = false;
        if (s.client) s.client->on_uring_send(res);
      }
    } else if (current) {
      --s.outstanding;  // a cancel's own completion
    }
    if (current) settle(slot);
  }
}

}  // namespace moxi::net
