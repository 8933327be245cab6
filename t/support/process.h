// Child processes for integration tests (memcached, moxi, helper scripts).
//
// A Process owns its child: the destructor stops it (SIGTERM, then SIGKILL
// after a grace period) and reaps it, also during stack unwinding after a
// failed assertion. Children are also killed if the test process dies
// (PR_SET_PDEATHSIG), so a crashed test run leaves no orphans behind.
//
// Exit is observed through a pidfd (readable once the child has exited), so
// every wait is an event wait bounded by a Deadline; nothing sleeps.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "t/support/deadline.h"

namespace moxi::test {

// Where the child's stdout or stderr goes.
struct ProcessOutput {
  enum class Kind { Inherit, Null, File, Pipe };
  Kind kind = Kind::Inherit;
  std::string path;     // Kind::File only
  bool append = false;  // Kind::File only: append instead of truncating

  static ProcessOutput inherit() { return {}; }
  static ProcessOutput null() { return {Kind::Null, {}, false}; }
  static ProcessOutput file(std::string path, bool append = false) { return {Kind::File, std::move(path), append}; }
  static ProcessOutput pipe() { return {Kind::Pipe, {}, false}; }
};

struct ProcessOptions {
  // Set in the child's environment (overriding inherited values of the same name).
  std::vector<std::pair<std::string, std::string>> env;
  // stdout and stderr; when both are files with the same path they share one
  // file description (like 2>&1).
  ProcessOutput out = ProcessOutput::inherit();
  ProcessOutput err = ProcessOutput::inherit();
  // stdin is /dev/null, or with stdin_pipe a pipe whose write end the
  // Process holds (stdin_fd(); close_stdin() gives the child end of file).
  bool stdin_pipe = false;
  // Working directory of the child; empty keeps the current one.
  std::string cwd;
};

// A child process, stopped and reaped by the destructor.
class Process {
 public:
  using Output = ProcessOutput;
  using Options = ProcessOptions;

  // Starts argv[0] (searched in PATH when it has no '/') with argv. Throws
  // std::runtime_error naming the program if it cannot be started (not found,
  // not executable, ...): the exec error is reported back to the parent.
  explicit Process(std::vector<std::string> argv, Options options = {});
  ~Process();  // stop() and reap; never throws

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Readable (POLLIN) once the child has exited; -1 after reaping.
  int pidfd() const { return pidfd_; }
  const std::vector<std::string>& argv() const { return argv_; }
  // "pid 1234 (memcached)", for messages.
  std::string describe() const;

  // Read ends of the capture pipes (Output::pipe()), -1 otherwise. Owned by
  // the Process.
  int stdout_fd() const { return out_fd_; }
  int stderr_fd() const { return err_fd_; }
  // The write end of the child's stdin (Options::stdin_pipe), -1 otherwise
  // or once closed.
  int stdin_fd() const { return in_fd_; }
  void close_stdin();

  // True until the child has exited (a stopped child is running). Reaps the
  // child if it has exited.
  bool running();

  // Waits for the child to exit, at most until the deadline. Returns the raw
  // wait status (use WIFEXITED etc. or describe_status), or nullopt if the
  // child is still running at the deadline.
  std::optional<int> wait_exit(Deadline deadline);

  // Waits until the child is stopped (after SIGSTOP) or has exited; true if
  // stopped. Blocks on waitid(WSTOPPED|WEXITED), which a SIGSTOP satisfies at
  // once; it does not reap.
  bool wait_stopped();

  // SIGTERM (plus SIGCONT, so a stopped child sees it), wait up to `grace`,
  // then SIGKILL; reaps and returns the wait status. Returns the recorded
  // status if the child was already reaped.
  int stop(Deadline grace = std::chrono::seconds(2));

  // Sends a signal (SIGKILL, SIGSTOP, SIGCONT, ...). Throws if the child has
  // already been reaped (its pid may belong to someone else by now).
  void kill(int sig);

  // The wait status once reaped.
  std::optional<int> exit_status() const { return status_; }

  // "exited with status 71", "killed by signal 9 (Killed)".
  static std::string describe_status(int status);

 private:
  void reap(int status);
  void close_fds();

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  int in_fd_ = -1;
  std::optional<int> status_;
};

// Reads one '\n'-terminated line (returned without the '\n') from a pipe,
// byte by byte so nothing past the line is consumed. Throws on timeout or if
// the writer closes first, quoting what was read.
std::string read_line_from(int fd, Deadline deadline);

// Everything read from fd until EOF, at most until the deadline (then throws).
std::string read_all_from(int fd, Deadline deadline);

// A tool or client script run to completion: its exit status (-1 when a
// signal killed it) and what it wrote to stdout and stderr.
struct ToolRun {
  int status = -1;
  std::string output;
};
// Runs `argv` to completion, at most 60 s (then a failed assertion).
ToolRun run_tool(const std::vector<std::string>& argv);

}  // namespace moxi::test
