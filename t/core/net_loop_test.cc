// net::Loop and net::StreamConnection on their own, with no worker: a
// connection over a socketpair, driven turn by turn.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

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
      size_t eol_len = 0;
      evbuffer_ptr eol = evbuffer_search_eol(in_.get(), nullptr, &eol_len, EVBUFFER_EOL_LF);
      if (eol.pos < 0) break;
      std::string line(static_cast<size_t>(eol.pos), '\0');
      evbuffer_remove(in_.get(), line.data(), line.size());
      evbuffer_drain(in_.get(), eol_len);
      const std::string reply = "got " + line + "\n";
      evbuffer_add(out_.get(), reply.data(), reply.size());
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

class NetLoopTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(NetLoopTest);
  CPPUNIT_TEST(testRepliesOfOneTurnLeaveAtItsEnd);
  CPPUNIT_TEST(testBytesHeldAreCountedAndReleased);
  CPPUNIT_TEST(testPeerCloseIsReported);
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

 private:
  int mine_ = -1;
  int peer_ = -1;
  event_base* base_ = nullptr;
  net::BufferBudget budget_;
  std::unique_ptr<net::BufferAccount> account_;
  std::unique_ptr<net::Loop> loop_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(NetLoopTest);

}  // namespace moxi::test
