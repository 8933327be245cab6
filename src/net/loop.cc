#include "src/net/loop.h"

#include "src/net/stream.h"

namespace moxi::net {

Loop::Loop(event_base* base, BufferAccount& buffers, Engine engine) : base_(base), buffers_(buffers) {
  if (engine == Engine::Uring) uring_ = Uring::create(base_, engine_error_);
}

Loop::~Loop() = default;

void Loop::forget(StreamConnection* conn) {
  for (auto* list : {&dirty_, &to_arm_, &to_deliver_})
    for (StreamConnection*& entry : *list)
      if (entry == conn) entry = nullptr;
}

void Loop::turn() {
  event_base_loop(base_, EVLOOP_ONCE);
  flush_dirty();
}

void Loop::flush_dirty() {
  // Input that waited for its connection to read again, first: it may
  // make replies and requests that leave below.
  for (size_t i = 0; i < to_deliver_.size(); ++i)
    if (to_deliver_[i]) to_deliver_[i]->deliver_uring_input();
  to_deliver_.clear();
  // flush() may make other connections dirty (a drained client resumes and
  // sends to a backend), so iterate by index over a growing list.
  for (size_t i = 0; i < dirty_.size(); ++i) {
    StreamConnection* conn = dirty_[i];
    if (!conn) continue;  // destroyed since it was queued
    conn->clear_dirty();
    conn->flush();
  }
  dirty_.clear();
  if (uring_) {
    // Receives are armed last: a connection that switched to TLS during
    // the turn must not have had its first bytes taken by io_uring.
    for (size_t i = 0; i < to_arm_.size(); ++i)
      if (to_arm_[i]) to_arm_[i]->arm_uring_recv();
    to_arm_.clear();
    uring_->submit();  // every send and receive of the turn: one system call
  }
}

}  // namespace moxi::net
