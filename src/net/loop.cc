#include "src/net/loop.h"

#include "src/net/stream.h"

namespace moxi::net {

void Loop::turn() {
  event_base_loop(base_, EVLOOP_ONCE);
  flush_dirty();
}

void Loop::flush_dirty() {
  // flush() may make other connections dirty (a drained client resumes and
  // sends to a backend), so iterate by index over a growing list.
  for (size_t i = 0; i < dirty_.size(); ++i) {
    StreamConnection* conn = dirty_[i];
    conn->clear_dirty();
    conn->flush();
  }
  dirty_.clear();
}

}  // namespace moxi::net
