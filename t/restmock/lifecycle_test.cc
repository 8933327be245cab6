// The RestMock fixture's process: a crash ends the streams, restart comes
// back on the same port with the last config, stop is graceful, the
// destructor leaves nothing behind, and a bad start reports the mock's own
// words.
#include <cppunit/extensions/HelperMacros.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "t/restmock/helpers.h"

namespace moxi::test {

using namespace std::chrono_literals;

class RestMockLifecycleTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RestMockLifecycleTest);
  CPPUNIT_TEST(kill_ends_streams_and_restart_keeps_port_and_config);
  CPPUNIT_TEST(stop_is_graceful_and_destructor_leaves_nothing);
  CPPUNIT_TEST(bad_config_file_is_reported_at_startup);
  CPPUNIT_TEST_SUITE_END();

 public:
  void kill_ends_streams_and_restart_keeps_port_and_config() {
    RestMock m;
    HttpStream s(m.url("/pools/default/bucketsStreaming/default"));
    s.next_config(5s);
    const std::vector<std::string> two = {"127.0.0.1:12001", "127.0.0.1:12002"};
    m.set_config(bucket_config("default", two));
    CPPUNIT_ASSERT(two == server_list(parse_json(s.next_config(5s))));

    const int port = m.port();
    const int status = m.kill();
    CPPUNIT_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CPPUNIT_ASSERT(!m.running());
    CPPUNIT_ASSERT_MESSAGE("a crash must not look like a clean end", !s.wait_end(5s));
    CPPUNIT_ASSERT_THROW(http_get(m.url("/pools")), std::runtime_error);  // connection refused

    m.restart();
    CPPUNIT_ASSERT_EQUAL(port, m.port());
    CPPUNIT_ASSERT(m.running());
    HttpStream again(m.url("/pools/default/bucketsStreaming/default"));
    CPPUNIT_ASSERT(two == server_list(parse_json(again.next_config(5s))));
    auto state = m.state();
    CPPUNIT_ASSERT_EQUAL(1L, state.streams_opened);  // a fresh process
    CPPUNIT_ASSERT_EQUAL(0L, state.config_version);
  }

  void stop_is_graceful_and_destructor_leaves_nothing() {
    pid_t first = -1, second = -1;
    std::string dir;
    {
      RestMock m;
      first = m.pid();
      dir = m.dir();
      HttpStream s(m.url("/pools/default/bucketsStreaming/default"));
      s.next_config(5s);
      const int status = m.stop();
      CPPUNIT_ASSERT_MESSAGE(Process::describe_status(status) + "\n" + m.log(),
                             WIFEXITED(status) && WEXITSTATUS(status) == 0);
      CPPUNIT_ASSERT_EQUAL(pid_t(-1), m.pid());
      s.wait_end(5s);
      CPPUNIT_ASSERT_THROW(m.stop(), std::logic_error);
      m.restart();
      second = m.pid();
      CPPUNIT_ASSERT(second > 0 && second != first);
    }
    for (pid_t pid : {first, second}) {
      errno = 0;
      CPPUNIT_ASSERT_EQUAL(-1, ::kill(pid, 0));
      CPPUNIT_ASSERT_EQUAL(ESRCH, errno);
    }
    CPPUNIT_ASSERT(!std::filesystem::exists(dir));
  }

  void bad_config_file_is_reported_at_startup() {
    RestMock::Options options;
    options.config_json = "{ this is not json";
    try {
      RestMock m(options);
      CPPUNIT_FAIL("the mock should not have started");
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      CPPUNIT_ASSERT_MESSAGE(what, what.find("config is not JSON") != std::string::npos);
    }
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RestMockLifecycleTest);

}  // namespace moxi::test
