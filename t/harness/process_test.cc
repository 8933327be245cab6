// Process: spawning, output capture, exit statuses, stopping (with
// escalation to SIGKILL), and the guarantee that no child outlives its owner
// -- neither the Process object nor the test process itself.
#include <cppunit/extensions/HelperMacros.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>
#include <string>

#include "t/harness/check.h"
#include "t/support/process.h"
#include "t/support/temp_dir.h"
#include "t/support/tsv.h"

namespace moxi::test {

using namespace std::chrono_literals;

class ProcessTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ProcessTest);
  CPPUNIT_TEST(reports_exit_status);
  CPPUNIT_TEST(unknown_program_throws_at_start);
  CPPUNIT_TEST(passes_env_and_captures_stdout_pipe);
  CPPUNIT_TEST(child_starts_with_default_signal_dispositions);
  CPPUNIT_TEST(captures_stdout_and_stderr_into_one_file);
  CPPUNIT_TEST(wait_exit_returns_nothing_at_deadline_while_running);
  CPPUNIT_TEST(stop_escalates_to_sigkill_when_sigterm_is_ignored);
  CPPUNIT_TEST(stop_terminates_a_stopped_child);
  CPPUNIT_TEST(destructor_reaps_child);
  CPPUNIT_TEST(destructor_reaps_child_when_a_test_throws);
  CPPUNIT_TEST(child_dies_with_its_parent);
  CPPUNIT_TEST_SUITE_END();

 public:
  void reports_exit_status() {
    Process p({"sh", "-c", "exit 3"});
    auto status = p.wait_exit(5s);
    CPPUNIT_ASSERT(status.has_value());
    CPPUNIT_ASSERT(WIFEXITED(*status));
    CPPUNIT_ASSERT_EQUAL(3, WEXITSTATUS(*status));
    CPPUNIT_ASSERT(!p.running());
    CPPUNIT_ASSERT_EQUAL(std::string("exited with status 3"), Process::describe_status(*status));
    // Stopping an exited process just returns its status.
    CPPUNIT_ASSERT_EQUAL(*status, p.stop());
  }

  void unknown_program_throws_at_start() {
    try {
      Process p({"/nonexistent/moxi-no-such-program"});
      CPPUNIT_FAIL("starting a missing program should throw");
    } catch (const std::runtime_error& e) {
      MOXI_ASSERT_CONTAINS(std::string(e.what()), "/nonexistent/moxi-no-such-program");
      MOXI_ASSERT_CONTAINS(std::string(e.what()), "No such file or directory");
    }
    CPPUNIT_ASSERT_THROW(Process({"moxi-no-such-program-in-path"}), std::runtime_error);
  }

  void passes_env_and_captures_stdout_pipe() {
    Process::Options o;
    o.env = {{"MOXI_HARNESS_VAR", "hello world"}, {"HOME", "/overridden"}};
    o.out = Process::Output::pipe();
    Process p({"sh", "-c", "printf '%s|%s\\n' \"$MOXI_HARNESS_VAR\" \"$HOME\""}, o);
    CPPUNIT_ASSERT(p.stdout_fd() >= 0);
    CPPUNIT_ASSERT_EQUAL(std::string("hello world|/overridden"), read_line_from(p.stdout_fd(), 5s));
    CPPUNIT_ASSERT_EQUAL(std::string(), read_all_from(p.stdout_fd(), 5s));
    auto status = p.wait_exit(5s);
    CPPUNIT_ASSERT(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  }

  void child_starts_with_default_signal_dispositions() {
    // The test runner ignores SIGPIPE; ignored signals survive exec, so the
    // child must have them reset (/proc/self/status here describes grep).
    // Signals 32 and 33 are reserved by glibc (it refuses to change them) and
    // are left as inherited.
    Process::Options o;
    o.out = Process::Output::pipe();
    Process p({"grep", "^SigIgn:", "/proc/self/status"}, o);
    const std::string line = read_line_from(p.stdout_fd(), 5s);
    CPPUNIT_ASSERT_EQUAL(std::string("SigIgn:\t"), line.substr(0, 8));
    const unsigned long long ignored = std::stoull(line.substr(8), nullptr, 16);
    const unsigned long long glibc_reserved = (1ull << (32 - 1)) | (1ull << (33 - 1));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(line, 0ull, ignored & ~glibc_reserved);
    // The parent really does ignore SIGPIPE, so the check above means something.
    struct sigaction current {};
    CPPUNIT_ASSERT_EQUAL(0, ::sigaction(SIGPIPE, nullptr, &current));
    CPPUNIT_ASSERT(current.sa_handler == SIG_IGN);
  }

  void captures_stdout_and_stderr_into_one_file() {
    TempDir dir;
    Process::Options o;
    o.out = o.err = Process::Output::file(dir.file("log"));
    o.cwd = dir.path();
    Process p({"sh", "-c", "echo out; echo err >&2; pwd"}, o);
    auto status = p.wait_exit(5s);
    CPPUNIT_ASSERT(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
    CPPUNIT_ASSERT_EQUAL("out\nerr\n" + dir.path() + "\n", read_file(dir.file("log")));
  }

  void wait_exit_returns_nothing_at_deadline_while_running() {
    Process p({"sleep", "1000"});
    CPPUNIT_ASSERT(!p.wait_exit(50ms).has_value());
    CPPUNIT_ASSERT(p.running());
    int status = p.stop();
    CPPUNIT_ASSERT(WIFSIGNALED(status));
    CPPUNIT_ASSERT_EQUAL(int(SIGTERM), WTERMSIG(status));
  }

  void stop_escalates_to_sigkill_when_sigterm_is_ignored() {
    Process::Options o;
    o.out = Process::Output::pipe();
    // "ready" is printed only after the trap is installed, so SIGTERM cannot
    // arrive before it.
    Process p({"sh", "-c", "trap '' TERM; echo ready; exec sleep 1000"}, o);
    CPPUNIT_ASSERT_EQUAL(std::string("ready"), read_line_from(p.stdout_fd(), 5s));
    int status = p.stop(200ms);
    CPPUNIT_ASSERT(WIFSIGNALED(status));
    CPPUNIT_ASSERT_EQUAL(int(SIGKILL), WTERMSIG(status));
  }

  void stop_terminates_a_stopped_child() {
    Process p({"sleep", "1000"});
    p.kill(SIGSTOP);
    CPPUNIT_ASSERT(p.wait_stopped());
    CPPUNIT_ASSERT(p.running());
    // SIGTERM alone would stay pending in a stopped process; stop() continues
    // it, so it dies of SIGTERM within the grace period, not of SIGKILL.
    int status = p.stop(5s);
    CPPUNIT_ASSERT(WIFSIGNALED(status));
    CPPUNIT_ASSERT_EQUAL(int(SIGTERM), WTERMSIG(status));
  }

  void destructor_reaps_child() {
    pid_t pid;
    {
      Process p({"sleep", "1000"});
      pid = p.pid();
      CPPUNIT_ASSERT_EQUAL(0, ::kill(pid, 0));
    }
    assert_gone(pid);
  }

  void destructor_reaps_child_when_a_test_throws() {
    pid_t pid = -1;
    try {
      Process p({"sleep", "1000"});
      pid = p.pid();
      p.kill(SIGSTOP);  // also stopped: the destructor must still get rid of it
      throw std::runtime_error("simulated assertion failure");
    } catch (const std::runtime_error&) {
    }
    assert_gone(pid);
  }

  void child_dies_with_its_parent() {
    // An intermediate process starts a Process and dies without running any
    // destructor. PR_SET_PDEATHSIG must then kill the grandchild; as a
    // subreaper we inherit the orphan and can see how it died.
    struct Subreaper {
      Subreaper() { CPPUNIT_ASSERT_EQUAL(0, ::prctl(PR_SET_CHILD_SUBREAPER, 1)); }
      ~Subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }
    } subreaper;
    int fds[2];
    CPPUNIT_ASSERT_EQUAL(0, ::pipe2(fds, O_CLOEXEC));
    pid_t middle = ::fork();
    CPPUNIT_ASSERT(middle >= 0);
    if (middle == 0) {
      ::close(fds[0]);
      try {
        Process p({"sleep", "1000"});
        pid_t grandchild = p.pid();
        if (::write(fds[1], &grandchild, sizeof grandchild) != sizeof grandchild) ::_exit(2);
        ::_exit(0);  // no destructors: the Process is abandoned
      } catch (...) {
        ::_exit(1);
      }
    }
    ::close(fds[1]);
    pid_t grandchild = -1;
    ssize_t n = ::read(fds[0], &grandchild, sizeof grandchild);
    ::close(fds[0]);
    int status = 0;
    CPPUNIT_ASSERT_EQUAL(middle, ::waitpid(middle, &status, 0));
    CPPUNIT_ASSERT_EQUAL(ssize_t(sizeof grandchild), n);
    CPPUNIT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    // The grandchild is our child now (even as a zombie), so pidfd_open
    // succeeds and becomes readable once it has died.
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, grandchild, 0));
    CPPUNIT_ASSERT(pidfd >= 0);
    pollfd p{pidfd, POLLIN, 0};
    int ready = ::poll(&p, 1, 5000);
    ::close(pidfd);
    if (ready != 1) {
      ::kill(grandchild, SIGKILL);
      ::waitpid(grandchild, &status, 0);
      CPPUNIT_FAIL("the grandchild survived its parent's death");
    }
    CPPUNIT_ASSERT_EQUAL(grandchild, ::waitpid(grandchild, &status, 0));
    CPPUNIT_ASSERT(WIFSIGNALED(status));
    CPPUNIT_ASSERT_EQUAL(int(SIGKILL), WTERMSIG(status));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ProcessTest);

}  // namespace moxi::test
