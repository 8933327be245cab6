// libFuzzer target: the io_uring engine of net::Loop (src/net/uring.h) with
// a StreamConnection over a socketpair. Each input byte is a step: the peer
// sends or reads, the connection stops or resumes reading, queues output,
// closes and is replaced, or the loop turns. Checks what the engine
// promises: the connection receives a prefix of what its peer sent, in
// order, never more than a few buffers while it does not read, and the
// peer receives a prefix of what the connection queued; at the end, with
// reading on, everything sent arrives. Closing with operations in flight
// is part of the run (ASan sees any use of what was freed).
#include <event2/event.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "src/net/buffer_budget.h"
#include "src/net/loop.h"
#include "src/net/stream.h"
#include "t/fuzz/fuzz_util.h"

namespace {

using moxi::fuzz::fail;

class Sink final : public moxi::net::StreamConnection {
 public:
  Sink(moxi::net::Loop& loop, int fd) : moxi::net::StreamConnection(loop, fd) { set_reading(true); }
  std::string got;
  bool ended = false;
  bool failed = false;
  bool on = true;
  void read(bool yes) {
    on = yes;
    set_reading(yes);
  }
  void queue(const std::string& bytes) {
    out_.append(bytes);
    account();
    mark_dirty();
  }
  size_t held() const { return in_.size(); }
  void on_readable() override {
    int r;
    while ((r = read_some()) > 0) {
    }
    if (r == 0) ended = true;
    const size_t n = in_.size();
    std::string chunk(n, '\0');
    in_.remove(chunk.data(), n);
    got += chunk;
    account();
  }
  void on_io_error(int) override { failed = true; }
};

std::string pattern(size_t from, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + ((from + i) * 7 + (from + i) / 251) % 26);
  return s;
}

struct Pair {
  std::unique_ptr<Sink> conn;
  int peer = -1;
  size_t sent = 0;      // by the peer
  size_t queued = 0;    // by the connection
  std::string peer_got;
};

struct Engine {
  event_base* base = event_base_new();
  moxi::net::BufferBudget budget;
  moxi::net::BufferAccount account{budget};
  moxi::net::Loop loop{base, account, moxi::net::Engine::Uring};
  // One turn that does not wait: what a loop turn does, without blocking.
  void turn() {
    event_base_loop(base, EVLOOP_NONBLOCK);
    loop.flush_dirty();
  }
};

Engine& engine() {
  static Engine* e = new Engine();  // lives for the process: libFuzzer never returns
  return *e;
}

void open_pair(Pair& p) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) fail("socketpair");
  p = Pair{};
  p.conn = std::make_unique<Sink>(engine().loop, fds[0]);
  p.peer = fds[1];
}

void peer_read(Pair& p) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(p.peer, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) break;
    p.peer_got.append(buf, static_cast<size_t>(n));
  }
}

void check(const Pair& p) {
  if (p.conn->got.size() > p.sent || p.conn->got != pattern(0, p.conn->got.size()))
    fail("the connection received what its peer did not send, or out of order");
  if (p.peer_got.size() > p.queued || p.peer_got != pattern(1u << 20, p.peer_got.size()))
    fail("the peer received what the connection did not queue, or out of order");
  if (!p.conn->on && p.conn->held() > 4 * moxi::net::Uring::kBufferSize)
    fail("bytes taken while the connection did not read");
}

void close_pair(Pair& p) {
  p.conn.reset();  // with whatever it has in flight
  ::close(p.peer);
  p.peer = -1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Engine& e = engine();
  if (e.loop.engine() != moxi::net::Engine::Uring) return 0;  // no io_uring here: nothing to fuzz
  Pair p;
  open_pair(p);
  for (size_t i = 0; i < size && i < 256; ++i) {
    const uint8_t b = data[i];
    const size_t amount = size_t{1} + (size_t{b} >> 3) * 700;  // 1 .. ~22 KB
    switch (b & 7) {
      case 0:
      case 1: {
        const std::string bytes = pattern(p.sent, amount);
        const ssize_t n = ::send(p.peer, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) p.sent += static_cast<size_t>(n);
        break;
      }
      case 2: p.conn->read(!p.conn->on); break;
      case 3:
        p.conn->queue(pattern((1u << 20) + p.queued, amount));
        p.queued += amount;
        break;
      case 4: peer_read(p); break;
      case 5:
        if ((b >> 3) % 8 == 0) {  // now and then: close with whatever is in flight
          close_pair(p);
          e.turn();
          open_pair(p);
        }
        break;
      default: e.turn(); break;
    }
    check(p);
  }
  // Reading on, the loop turns until everything the peer sent arrived and
  // everything queued reached the peer.
  p.conn->read(true);
  for (int t = 0; t < 100000 && (p.conn->got.size() < p.sent || p.peer_got.size() < p.queued); ++t) {
    e.turn();
    peer_read(p);
    if (p.conn->failed) fail("the connection failed on a healthy socket");
  }
  check(p);
  if (p.conn->got.size() != p.sent) fail("bytes the peer sent never arrived");
  if (p.peer_got.size() != p.queued) fail("bytes the connection queued never left");
  close_pair(p);
  e.turn();
  return 0;
}
