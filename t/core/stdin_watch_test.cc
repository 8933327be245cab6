// -Y y's watch on standard input (stdin_watch.h) for each kind of
// descriptor: a pipe, a terminal, a regular file, /dev/null, a closed
// descriptor and a device that never ends. The end is always delivered by
// the loop, never inside start().
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <event2/event.h>
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "src/core/stdin_watch.h"
#include "t/support/temp_dir.h"

namespace moxi::test {
namespace {

// One event base and one watch on `fd`; records what ended it.
class Watched {
 public:
  explicit Watched(int fd)
      : base_(event_base_new()), watch_(base_.get(), [this](const std::string& what) { ends_.push_back(what); }, fd) {}
  ~Watched() = default;

  bool start(std::string& error) { return watch_.start(error); }
  // Runs the loop until the watch has ended it, at most 5 s.
  std::string wait_end() {
    event* limit = evtimer_new(base_.get(), [](evutil_socket_t, short, void* b) { event_base_loopbreak(static_cast<event_base*>(b)); }, base_.get());
    timeval five{5, 0};
    evtimer_add(limit, &five);
    while (ends_.empty() && evtimer_pending(limit, nullptr)) event_base_loop(base_.get(), EVLOOP_ONCE);
    event_free(limit);
    CPPUNIT_ASSERT_MESSAGE("the watch never ended", !ends_.empty());
    CPPUNIT_ASSERT_EQUAL(size_t{1}, ends_.size());
    return ends_.front();
  }
  // Runs what is ready now, without waiting.
  void run_ready() { event_base_loop(base_.get(), EVLOOP_NONBLOCK); }
  bool ended() const { return !ends_.empty(); }

 private:
  struct BaseFree {
    void operator()(event_base* b) const { event_base_free(b); }
  };
  std::unique_ptr<event_base, BaseFree> base_;
  std::vector<std::string> ends_;
  StdinWatch watch_;
};

void write_all(int fd, const std::string& bytes) {
  CPPUNIT_ASSERT_EQUAL(static_cast<ssize_t>(bytes.size()), ::write(fd, bytes.data(), bytes.size()));
}

class StdinWatchTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(StdinWatchTest);
  CPPUNIT_TEST(testPipeEndsAtANewlineNotBefore);
  CPPUNIT_TEST(testPipeEndsWhenTheWriterCloses);
  CPPUNIT_TEST(testTerminalEndsAtEnterOrCtrlD);
  CPPUNIT_TEST(testRegularFileEndsAtOnce);
  CPPUNIT_TEST(testDevNullEndsAtOnce);
  CPPUNIT_TEST(testClosedDescriptorEndsAtOnce);
  CPPUNIT_TEST(testEndlessDeviceCannotBeWatched);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testPipeEndsAtANewlineNotBefore() {
    int p[2];
    CPPUNIT_ASSERT_EQUAL(0, ::pipe(p));
    Watched w(p[0]);
    std::string error;
    CPPUNIT_ASSERT_MESSAGE(error, w.start(error));
    write_all(p[1], std::string(10000, 'x'));  // more than one read's worth, no newline
    for (int i = 0; i < 5; ++i) w.run_ready();
    CPPUNIT_ASSERT(!w.ended());
    write_all(p[1], "more\nafter");
    CPPUNIT_ASSERT_EQUAL(std::string("EOL on stdin"), w.wait_end());
    ::close(p[0]);
    ::close(p[1]);
  }

  void testPipeEndsWhenTheWriterCloses() {
    int p[2];
    CPPUNIT_ASSERT_EQUAL(0, ::pipe(p));
    Watched w(p[0]);
    std::string error;
    CPPUNIT_ASSERT_MESSAGE(error, w.start(error));
    write_all(p[1], "no newline");
    ::close(p[1]);
    CPPUNIT_ASSERT_EQUAL(std::string("EOF on stdin"), w.wait_end());
    ::close(p[0]);
  }

  // The slave side of a pseudo-terminal, in canonical mode as a shell leaves it.
  void testTerminalEndsAtEnterOrCtrlD() {
    for (const std::string& typed : {std::string("moxi\n"), std::string("\x04")}) {
      const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
      CPPUNIT_ASSERT(master >= 0);
      CPPUNIT_ASSERT_EQUAL(0, ::grantpt(master));
      CPPUNIT_ASSERT_EQUAL(0, ::unlockpt(master));
      const int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
      CPPUNIT_ASSERT(slave >= 0);
      termios t{};
      CPPUNIT_ASSERT_EQUAL(0, ::tcgetattr(slave, &t));
      CPPUNIT_ASSERT(t.c_lflag & ICANON);
      Watched w(slave);
      std::string error;
      CPPUNIT_ASSERT_MESSAGE(error, w.start(error));
      write_all(master, "typing");  // no line yet
      for (int i = 0; i < 5; ++i) w.run_ready();
      CPPUNIT_ASSERT(!w.ended());
      write_all(master, typed);
      // Ctrl-D after "typing" hands the line over; a second one is the end of file.
      if (typed == "\x04") write_all(master, typed);
      CPPUNIT_ASSERT_EQUAL(std::string(typed == "\x04" ? "EOF on stdin" : "EOL on stdin"), w.wait_end());
      ::close(slave);
      ::close(master);
    }
  }

  void testRegularFileEndsAtOnce() {
    TempDir dir("moxi-stdin");
    for (const std::string& contents : {std::string(), std::string("no newline"), std::string("line\nrest")}) {
      const std::string path = dir.file("stdin");
      const int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      write_all(out, contents);
      ::close(out);
      const int fd = ::open(path.c_str(), O_RDONLY);
      Watched w(fd);
      std::string error;
      CPPUNIT_ASSERT_MESSAGE(error, w.start(error));
      CPPUNIT_ASSERT(!w.ended());  // delivered by the loop
      const bool newline = contents.find('\n') != std::string::npos;
      CPPUNIT_ASSERT_EQUAL(std::string(newline ? "EOL on stdin" : "EOF on stdin"), w.wait_end());
      ::close(fd);
    }
  }

  void testDevNullEndsAtOnce() {
    const int fd = ::open("/dev/null", O_RDONLY);
    Watched w(fd);
    std::string error;
    CPPUNIT_ASSERT_MESSAGE(error, w.start(error));
    CPPUNIT_ASSERT(!w.ended());
    CPPUNIT_ASSERT_EQUAL(std::string("EOF on stdin"), w.wait_end());
    ::close(fd);
  }

  void testClosedDescriptorEndsAtOnce() {
    const int fd = 1000;  // far above what the test opens (a freed low number is soon reused)
    CPPUNIT_ASSERT(::fcntl(fd, F_GETFD) == -1 && errno == EBADF);
    Watched w(fd);
    std::string error;
    CPPUNIT_ASSERT_MESSAGE(error, w.start(error));
    CPPUNIT_ASSERT_EQUAL(std::string("EOF on stdin"), w.wait_end());
  }

  // /dev/zero gives bytes forever and epoll refuses it.
  void testEndlessDeviceCannotBeWatched() {
    const int fd = ::open("/dev/zero", O_RDONLY);
    event_set_log_callback([](int, const char*) {});  // libevent's own complaint about epoll
    {
      Watched w(fd);
      std::string error;
      CPPUNIT_ASSERT(!w.start(error));
      CPPUNIT_ASSERT_EQUAL(std::string("-Y y: standard input cannot be watched (it is neither a pipe, a socket, a "
                                       "terminal, a file nor /dev/null, and gives data without a newline)"),
                           error);
    }
    event_set_log_callback(nullptr);
    ::close(fd);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(StdinWatchTest);

}  // namespace
}  // namespace moxi::test
