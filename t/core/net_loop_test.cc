// net::Loop and net::StreamConnection on their own, with no worker: a
// connection over a socketpair, driven turn by turn.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "src/net/buffer_budget.h"
#include "src/net/loop.h"
#include "src/net/stream.h"

namespace moxi::test {
namespace {

// Answers every complete line "X\n" with "got X\n"; records whether the
// peer could already read something while the replies were being made.
class LineEcho final : public net::StreamConnection {
 public:
  LineEcho(net::Loop& loop, int fd) : net::StreamConnection(loop, fd) { set_reading(true); }

  int peer = -1;
  bool peer_readable_during_turn = false;
  int lines = 0;
  bool saw_end = false;
  size_t buffered_after_read = 0;

  using net::StreamConnection::account;

  void on_readable() override {
    int r;
    while ((r = read_some()) > 0) {
    }
    if (r == 0) saw_end = true;
    buffered_after_read = in_.size();
    for (;;) {
      const ptrdiff_t eol = in_.find('\n');
      if (eol < 0) break;
      std::string line(static_cast<size_t>(eol), '\0');
      in_.remove(line.data(), line.size());
      in_.drain(1);
      out_.append("got " + line + "\n");
      mark_dirty();
      ++lines;
      pollfd p{peer, POLLIN, 0};
      if (::poll(&p, 1, 0) > 0) peer_readable_during_turn = true;
    }
    account();
  }
  void on_io_error(int) override {}
};

std::string read_all_now(int fd) {
  std::string got;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, 0) > 0) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

}  // namespace

// A connection that sends what it is given, reads as the test says, and
// keeps what arrives (for the uring engine's tests).
class Sink final : public net::StreamConnection {
 public:
  Sink(net::Loop& loop, int fd) : net::StreamConnection(loop, fd) { set_reading(true); }
  std::string got;
  int readable_calls = 0;
  bool saw_end = false;
  int error = 0;
  size_t drained = 0;
  void read(bool on) { set_reading(on); }
  void queue(const std::string& bytes) {
    out_.append(bytes);
    account();
    mark_dirty();
  }
  void close_now() { close_socket(); }
  bool in_socket() const { return input_in_socket(); }
  bool took_now() { return took_input_now(); }
  size_t held() const { return in_.size(); }
  void on_readable() override {
    ++readable_calls;
    int r;
    while ((r = read_some()) > 0) {
    }
    if (r == 0) saw_end = true;
    if (r == -1) error = errno;
    if (close_on_read) close_socket();
    const size_t n = in_.size();
    std::string chunk(n, '\0');
    in_.remove(chunk.data(), n);
    got += chunk;
    account();
  }
  bool close_on_read = false;  // closes itself inside its read callback
  void on_drained() override { ++drained; }
  void on_io_error(int err) override { error = err == 0 ? -1 : err; }
};

// Runs the peer side of a test: sends `out` (as the socket takes it) and
// reads what comes, without blocking.
struct Peer {
  Peer(int peer_fd, std::string to_send) : fd(peer_fd), out(std::move(to_send)) {}
  int fd;
  std::string out;
  size_t sent = 0;
  std::string in;
  bool ended = false;
  void pump() {
    while (sent < out.size()) {
      const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0) ended = true;
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
    }
  }
};

// A listening socket on 127.0.0.1, on a port of the OS's choice.
int listen_loopback(int* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 64) != 0) return -1;
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  *port = ntohs(sa.sin_port);
  return fd;
}

// A connected client of 127.0.0.1:port (the kernel completes the handshake
// from the backlog, with or without an accept).
int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return -1;
  return fd;
}

// Records what a multishot accept reports; owns the accepted descriptors.
struct Acceptor final : net::UringAcceptor {
  std::vector<int> accepted;
  std::vector<int> ends;  // res of each completion without "more"
  ~Acceptor() {
    for (int fd : accepted) ::close(fd);
  }
  void on_uring_accept(int res, bool more) override {
    if (res >= 0) accepted.push_back(res);
    if (!more) ends.push_back(res);
  }
};

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 997) % 26);
  return s;
}

class NetLoopTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(NetLoopTest);
  CPPUNIT_TEST(testRepliesOfOneTurnLeaveAtItsEnd);
  CPPUNIT_TEST(testBytesHeldAreCountedAndReleased);
  CPPUNIT_TEST(testPeerCloseIsReported);
  CPPUNIT_TEST(testUringEngineIsUsedHere);
  CPPUNIT_TEST(testUringCarriesBigStreamsBothWaysIntact);
  CPPUNIT_TEST(testUringStopsTakingBytesWhileNotReading);
  CPPUNIT_TEST(testUringSendInFlightOutlivesTheConnection);
  CPPUNIT_TEST(testUringPeerCloseIsReported);
  CPPUNIT_TEST(testUringConnectionsClosedInTheirCallbacksLeaveTheirSlotsOnce);
  CPPUNIT_TEST(testUringInputTakenByTheKernelIsFoundBeforeTheLoopTurns);
  CPPUNIT_TEST(testUringMultishotAcceptTakesEveryConnectionUntilStopped);
  CPPUNIT_TEST(testUringAcceptOfAReleasedSlotClosesWhatItTook);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    int fds[2];
    CPPUNIT_ASSERT_EQUAL(0, ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds));
    mine_ = fds[0];
    peer_ = fds[1];
    base_ = event_base_new();
    account_ = std::make_unique<net::BufferAccount>(budget_);
    loop_ = std::make_unique<net::Loop>(base_, *account_);
  }
  void tearDown() override {
    if (tick_) event_free(tick_);
    tick_ = nullptr;
    uring_loop_.reset();
    loop_.reset();
    account_.reset();
    if (peer_ >= 0) ::close(peer_);
    event_base_free(base_);
  }

  // Three requests in one segment: three replies made in one turn, none
  // written before the turn's callbacks are over, all there after it.
  void testRepliesOfOneTurnLeaveAtItsEnd() {
    auto conn = std::make_unique<LineEcho>(*loop_, mine_);
    conn->peer = peer_;
    const std::string requests = "a\nbb\nccc\n";
    CPPUNIT_ASSERT_EQUAL(static_cast<ssize_t>(requests.size()), ::send(peer_, requests.data(), requests.size(), 0));
    loop_->turn();
    CPPUNIT_ASSERT_EQUAL(3, conn->lines);
    CPPUNIT_ASSERT(!conn->peer_readable_during_turn);
    CPPUNIT_ASSERT_EQUAL(std::string("got a\ngot bb\ngot ccc\n"), read_all_now(peer_));
    CPPUNIT_ASSERT_EQUAL(size_t{0}, conn->output_size());
  }

  // A partial request stays in the connection and in the account; the
  // account is back to zero once the connection is gone.
  void testBytesHeldAreCountedAndReleased() {
    auto conn = std::make_unique<LineEcho>(*loop_, mine_);
    conn->peer = peer_;
    const std::string partial = "no newline yet";
    CPPUNIT_ASSERT_EQUAL(static_cast<ssize_t>(partial.size()), ::send(peer_, partial.data(), partial.size(), 0));
    loop_->turn();
    CPPUNIT_ASSERT_EQUAL(0, conn->lines);
    CPPUNIT_ASSERT_EQUAL(partial.size(), conn->buffered_after_read);
    CPPUNIT_ASSERT_EQUAL(static_cast<int64_t>(partial.size()), account_->buffered());
    conn.reset();
    CPPUNIT_ASSERT_EQUAL(int64_t{0}, account_->buffered());
  }

  // The peer's close wakes the connection, whose read says so.
  void testPeerCloseIsReported() {
    auto conn = std::make_unique<LineEcho>(*loop_, mine_);
    ::close(peer_);
    peer_ = -1;
    loop_->turn();
    CPPUNIT_ASSERT_EQUAL(0, conn->lines);
    CPPUNIT_ASSERT(conn->saw_end);  // read_some() said 0: what to do with it is the connection's
  }

  // ---- the uring engine (net/uring.h) ----

  // This machine's kernel has io_uring: the engine asked for is the one
  // that runs (elsewhere the loop falls back to epoll and says why).
  void testUringEngineIsUsedHere() {
    net::Loop& loop = uring_loop();
    CPPUNIT_ASSERT_EQUAL_MESSAGE(loop.engine_error(), net::Engine::Uring, loop.engine());
    CPPUNIT_ASSERT(loop.uring() != nullptr);
    CPPUNIT_ASSERT(loop_->engine() == net::Engine::Epoll);
  }

  // Megabytes each way at once, far more than the provided buffers and
  // the socket buffers hold: every byte arrives, in order; the output
  // counts what is in flight until its send completed, and the account is
  // back to zero once everything is drained and read.
  void testUringCarriesBigStreamsBothWaysIntact() {
    net::Loop& loop = uring_loop();
    auto conn = std::make_unique<Sink>(loop, mine_);
    Peer peer{peer_, pattern(3 << 20)};
    const std::string reply = pattern(2 << 20);
    conn->queue(reply);
    CPPUNIT_ASSERT_EQUAL(reply.size(), conn->output_size());
    turn_until(loop, [&] {
      peer.pump();
      return conn->got.size() == peer.out.size() && peer.in.size() == reply.size() && conn->output_size() == 0;
    });
    CPPUNIT_ASSERT(conn->got == peer.out);
    CPPUNIT_ASSERT(peer.in == reply);
    CPPUNIT_ASSERT(conn->drained >= 1);
    CPPUNIT_ASSERT_EQUAL(0, conn->error);
    CPPUNIT_ASSERT_EQUAL(int64_t{0}, account_->buffered());
  }

  // Back-pressure: once the connection stops reading, the kernel stops
  // taking its bytes (what was already taken waits in the connection, at
  // most a few receive buffers); reading again hands over the rest.
  void testUringStopsTakingBytesWhileNotReading() {
    net::Loop& loop = uring_loop();
    auto conn = std::make_unique<Sink>(loop, mine_);
    Peer peer{peer_, "first"};
    turn_until(loop, [&] {
      peer.pump();
      return conn->got == "first";
    });
    conn->read(false);
    const int calls = conn->readable_calls;
    peer.out += pattern(4 << 20);
    // Turns until the peer can send no more: the socket buffers are full
    // because nobody takes the bytes.
    size_t before = 0;
    int still = 0;
    turn_until(loop, [&] {
      peer.pump();
      still = peer.sent == before ? still + 1 : 0;
      before = peer.sent;
      return still >= 20;
    });
    CPPUNIT_ASSERT_MESSAGE("the whole stream was taken while not reading: held " + std::to_string(conn->held()),
                           peer.sent < peer.out.size());
    CPPUNIT_ASSERT_EQUAL(calls, conn->readable_calls);
    CPPUNIT_ASSERT(conn->held() <= 4 * net::Uring::kBufferSize);
    conn->read(true);
    turn_until(loop, [&] {
      peer.pump();
      return conn->got.size() == peer.out.size();
    });
    CPPUNIT_ASSERT(conn->got == peer.out);
  }

  // A connection closed with a big send in flight: the send finishes with
  // the bytes its slot keeps (what it had not taken is dropped, as a closed
  // epoll connection drops its unsent output), then the peer reads the end
  // of the stream; nothing freed is touched (the ASan build runs this too).
  void testUringSendInFlightOutlivesTheConnection() {
    net::Loop& loop = uring_loop();
    auto conn = std::make_unique<Sink>(loop, mine_);
    conn->read(false);
    const std::string reply = pattern(4 << 20);
    conn->queue(reply);
    loop.flush_dirty();  // the send goes to the kernel
    conn->close_now();
    conn.reset();
    Peer peer{peer_, ""};
    turn_until(loop, [&] {
      peer.pump();
      return peer.ended;
    });
    CPPUNIT_ASSERT(!peer.in.empty());
    CPPUNIT_ASSERT(peer.in.size() <= reply.size());
    CPPUNIT_ASSERT(reply.compare(0, peer.in.size(), peer.in) == 0);
  }

  void testUringPeerCloseIsReported() {
    net::Loop& loop = uring_loop();
    auto conn = std::make_unique<Sink>(loop, mine_);
    ::close(peer_);
    peer_ = -1;
    turn_until(loop, [&] { return conn->saw_end; });
    CPPUNIT_ASSERT_EQUAL(0, conn->readable_calls - 1);  // once, with the end
  }

  // A connection that closes inside its own completion frees its slot
  // once: the connections made after it each get a slot of their own, and
  // each receives its own bytes only.
  void testUringConnectionsClosedInTheirCallbacksLeaveTheirSlotsOnce() {
    net::Loop& loop = uring_loop();
    for (int round = 0; round < 3; ++round) {
      auto first = std::make_unique<Sink>(loop, mine_);
      first->close_on_read = true;
      CPPUNIT_ASSERT_EQUAL(ssize_t{4}, ::send(peer_, "bye\n", 4, 0));
      turn_until(loop, [&] { return first->readable_calls > 0; });
      ::close(peer_);
      int a[2], b[2];
      CPPUNIT_ASSERT_EQUAL(0, ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, a));
      CPPUNIT_ASSERT_EQUAL(0, ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, b));
      auto one = std::make_unique<Sink>(loop, a[0]);
      auto two = std::make_unique<Sink>(loop, b[0]);
      CPPUNIT_ASSERT_EQUAL(ssize_t{3}, ::send(a[1], "one", 3, 0));
      CPPUNIT_ASSERT_EQUAL(ssize_t{3}, ::send(b[1], "two", 3, 0));
      turn_until(loop, [&] { return one->got.size() >= 3 && two->got.size() >= 3; });
      CPPUNIT_ASSERT_EQUAL(std::string("one"), one->got);
      CPPUNIT_ASSERT_EQUAL(std::string("two"), two->got);
      one->queue("1");
      two->queue("2");
      Peer pa(a[1], ""), pb(b[1], "");
      turn_until(loop, [&] {
        pa.pump();
        pb.pump();
        return pa.in.size() >= 1 && pb.in.size() >= 1;
      });
      CPPUNIT_ASSERT_EQUAL(std::string("1"), pa.in);
      CPPUNIT_ASSERT_EQUAL(std::string("2"), pb.in);
      one.reset();
      two.reset();
      ::close(a[1]);
      ::close(b[1]);
      int fds[2];  // the next round's pair
      CPPUNIT_ASSERT_EQUAL(0, ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds));
      mine_ = fds[0];
      peer_ = fds[1];
    }
  }

  // What a drain asks before its half-close: bytes a receive in flight took
  // from the socket but whose completion the loop has not run are found
  // (and handed over) without a loop turn; with nothing sent, nothing is.
  void testUringInputTakenByTheKernelIsFoundBeforeTheLoopTurns() {
    net::Loop& loop = uring_loop();
    auto conn = std::make_unique<Sink>(loop, mine_);
    loop.flush_dirty();  // its receive goes to the kernel
    CPPUNIT_ASSERT(!conn->in_socket());
    CPPUNIT_ASSERT(!conn->took_now());
    CPPUNIT_ASSERT_EQUAL(ssize_t{5}, ::send(peer_, "hello", 5, 0));
    // Either still in the socket, or taken by the receive: never lost.
    if (!conn->in_socket()) {
      CPPUNIT_ASSERT(conn->took_now());
      CPPUNIT_ASSERT_EQUAL(std::string("hello"), conn->got);
    }
    turn_until(loop, [&] { return conn->got == "hello"; });
  }

  // One multishot accept takes connection after connection, non-blocking
  // ones, with no re-arming; once stopped it takes none (they wait in the
  // backlog for accept4) and its end is reported as cancelled.
  void testUringMultishotAcceptTakesEveryConnectionUntilStopped() {
    net::Loop& loop = uring_loop();
    int port = 0, lfd = -1;
    Acceptor acceptor;
    const uint32_t slot = accept_on_loopback(loop, acceptor, &lfd, &port);
    std::vector<int> clients;
    for (int i = 0; i < 5; ++i) {
      clients.push_back(connect_loopback(port));
      CPPUNIT_ASSERT(clients.back() >= 0);
    }
    turn_until(loop, [&] { return acceptor.accepted.size() == 5; });
    CPPUNIT_ASSERT(acceptor.ends.empty());
    for (int fd : acceptor.accepted) CPPUNIT_ASSERT(::fcntl(fd, F_GETFL) & O_NONBLOCK);
    // Each accepted socket is one of the clients: bytes sent on one arrive
    // on exactly one of them.
    CPPUNIT_ASSERT_EQUAL(ssize_t{2}, ::send(clients[0], "hi", 2, 0));
    std::vector<pollfd> accepted;
    for (int fd : acceptor.accepted) accepted.push_back({fd, POLLIN, 0});
    CPPUNIT_ASSERT_EQUAL(1, ::poll(accepted.data(), accepted.size(), 5000));

    loop.uring()->stop_accept(slot);
    const int late = connect_loopback(port);
    CPPUNIT_ASSERT(late >= 0);
    turn_until(loop, [&] { return acceptor.ends.size() == 1; });
    CPPUNIT_ASSERT_EQUAL(-ECANCELED, acceptor.ends[0]);
    for (int i = 0; i < 5; ++i) loop.turn();
    CPPUNIT_ASSERT_EQUAL(size_t{5}, acceptor.accepted.size());
    const int waiting = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);  // the late one, in the backlog
    CPPUNIT_ASSERT(waiting >= 0);
    ::close(waiting);
    loop.uring()->release(slot);
    ::close(late);
    for (int fd : clients) ::close(fd);
    ::close(lfd);
  }

  // The listener went (its slot released) with a connection accepted and
  // not yet reaped: the engine closes that connection, and the client
  // sees its end rather than a socket nobody owns.
  void testUringAcceptOfAReleasedSlotClosesWhatItTook() {
    net::Loop& loop = uring_loop();
    int port = 0, lfd = -1;
    Acceptor acceptor;
    const uint32_t slot = accept_on_loopback(loop, acceptor, &lfd, &port);
    const int client = connect_loopback(port);
    CPPUNIT_ASSERT(client >= 0);
    // Wait (without reaping) until the kernel accepted it: the listening
    // socket's backlog is empty. (No event says so; its readiness is looked
    // at every 5 ms, for at most 5 s.)
    pollfd p{lfd, POLLIN, 0};
    int waits = 0;
    while (::poll(&p, 1, 0) > 0 && waits++ < 1000) ::poll(nullptr, 0, 5);
    CPPUNIT_ASSERT_EQUAL(0, ::poll(&p, 1, 0));
    loop.uring()->stop_accept(slot);
    loop.uring()->release(slot);
    for (int i = 0; i < 5; ++i) loop.turn();
    CPPUNIT_ASSERT(acceptor.accepted.empty());
    pollfd c{client, POLLIN, 0};
    CPPUNIT_ASSERT_EQUAL(1, ::poll(&c, 1, 5000));
    char b;
    CPPUNIT_ASSERT(::recv(client, &b, 1, 0) <= 0);  // the end (0) or a reset
    ::close(client);
    ::close(lfd);
  }

 private:
  net::Loop& uring_loop() {
    uring_loop_ = std::make_unique<net::Loop>(base_, *account_, net::Engine::Uring);
    // A turn waits for an event; this tick bounds the wait.
    tick_ = event_new(base_, -1, EV_PERSIST, [](evutil_socket_t, short, void*) {}, nullptr);
    timeval tv{0, 5 * 1000};
    event_add(tick_, &tv);
    return *uring_loop_;
  }
  // A listening socket on 127.0.0.1 with a multishot accept of `loop`
  // armed on it for `acceptor`; the accept's slot.
  uint32_t accept_on_loopback(net::Loop& loop, Acceptor& acceptor, int* lfd, int* port) {
    *lfd = listen_loopback(port);
    CPPUNIT_ASSERT(*lfd >= 0);
    const uint32_t slot = loop.uring()->acquire(&acceptor);
    loop.uring()->arm_accept(slot, *lfd);
    return slot;
  }
  template <class Pred>
  void turn_until(net::Loop& loop, Pred done) {
    for (int i = 0; i < 20000 && !done(); ++i) loop.turn();
    CPPUNIT_ASSERT(done());
  }
  std::unique_ptr<net::Loop> uring_loop_;
  event* tick_ = nullptr;
  int mine_ = -1;
  int peer_ = -1;
  event_base* base_ = nullptr;
  net::BufferBudget budget_;
  std::unique_ptr<net::BufferAccount> account_;
  std::unique_ptr<net::Loop> loop_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(NetLoopTest);

}  // namespace moxi::test
