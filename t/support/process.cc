#include "t/support/process.h"
#include "t/support/temp_dir.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cppunit/TestAssert.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace moxi::test {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

[[noreturn]] void throw_errno(const std::string& what, int err = errno) {
  throw std::runtime_error(what + ": " + errno_text(err));
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// argv[0] as an executable path: as given when it contains '/', else the
// first executable match in PATH (resolved before fork, so the child only
// calls execve).
std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::string::size_type start = 0;
  for (;;) {
    auto end = dirs.find(':', start);
    std::string dir = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  throw std::runtime_error("cannot start '" + name + "': not found in PATH");
}

// A file descriptor closed when it goes out of scope.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset(int f = -1) {
    if (fd >= 0) ::close(fd);
    fd = f;
  }
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

// Opens the child's end for an Output; for pipes also returns the parent's
// (read) end. Everything is O_CLOEXEC: dup2 in the child clears it.
void open_output(const Process::Output& out, Fd& child_end, Fd& parent_end) {
  switch (out.kind) {
    case Process::Output::Kind::Inherit:
      return;
    case Process::Output::Kind::Null:
      child_end.reset(::open("/dev/null", O_WRONLY | O_CLOEXEC));
      if (child_end.fd < 0) throw_errno("open /dev/null");
      return;
    case Process::Output::Kind::File: {
      int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (out.append ? O_APPEND : O_TRUNC);
      child_end.reset(::open(out.path.c_str(), flags, 0644));
      if (child_end.fd < 0) throw_errno("open " + out.path);
      return;
    }
    case Process::Output::Kind::Pipe: {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
      parent_end.reset(fds[0]);
      child_end.reset(fds[1]);
      return;
    }
  }
}

}  // namespace

Process::Process(std::vector<std::string> argv, Options options) : argv_(std::move(argv)) {
  if (argv_.empty()) throw std::invalid_argument("Process: empty argv");
  const std::string program = resolve_program(argv_[0]);

  // Everything the child needs is prepared here: after fork it may only make
  // async-signal-safe calls.
  std::vector<char*> args;
  for (auto& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);

  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& [k, v] : options.env) overridden = overridden || k == name;
    if (!overridden) env_strings.push_back(std::move(entry));
  }
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  Fd in_child, in_parent;
  if (options.stdin_pipe) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
    in_child.reset(fds[0]);
    in_parent.reset(fds[1]);
  } else {
    in_child.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (in_child.fd < 0) throw_errno("open /dev/null");
  }
  Fd out_child, out_parent, err_child, err_parent;
  open_output(options.out, out_child, out_parent);
  const bool shared_file = options.out.kind == Output::Kind::File && options.err.kind == Output::Kind::File &&
                           options.out.path == options.err.path;
  if (!shared_file) open_output(options.err, err_child, err_parent);
  const int out_target = out_child.fd;
  const int err_target = shared_file ? out_child.fd : err_child.fd;

  // The child reports a failed exec as its errno on this pipe; a successful
  // exec closes the pipe (O_CLOEXEC) and the parent reads EOF.
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) throw_errno("pipe2");
  Fd report_read(report[0]), report_write(report[1]);

  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    // Child. Die with the parent; if it already died, don't run at all.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    // Ignored dispositions and the signal mask survive exec; give the program
    // the defaults it expects (the test runner ignores SIGPIPE, for example).
    // glibc refuses to touch its reserved signals (32, 33); those fail harmlessly.
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
    }
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int err = 0;
    if (::dup2(in_child.fd, 0) < 0) err = errno;
    if (!err && out_target >= 0 && ::dup2(out_target, 1) < 0) err = errno;
    if (!err && err_target >= 0 && ::dup2(err_target, 2) < 0) err = errno;
    // Don't leak the test's descriptors (client sockets, ...) into the child.
    if (!err) ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    if (!err && cwd && ::chdir(cwd) != 0) err = errno;
    if (!err) {
      ::execve(program.c_str(), args.data(), envp.data());
      err = errno;
    }
    ssize_t ignored = ::write(report_write.fd, &err, sizeof err);
    (void)ignored;
    ::_exit(127);
  }

  pid_ = pid;
  report_write.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(report_read.fd, &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    throw std::runtime_error("cannot start '" + program + "': " + errno_text(child_errno));
  }
  pidfd_ = pidfd_open(pid_);
  if (pidfd_ < 0) {
    int err = errno;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    throw_errno("pidfd_open", err);
  }
  out_fd_ = out_parent.release();
  err_fd_ = err_parent.release();
  in_fd_ = in_parent.release();
}

Process::~Process() {
  if (pid_ > 0 && !status_) {
    try {
      stop();
    } catch (...) {
      // A destructor must not throw; stop() only throws on impossible errors.
    }
  }
  close_fds();
}

Process::Process(Process&& other) noexcept
    : argv_(std::move(other.argv_)),
      pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      out_fd_(std::exchange(other.out_fd_, -1)),
      err_fd_(std::exchange(other.err_fd_, -1)),
      in_fd_(std::exchange(other.in_fd_, -1)),
      status_(std::exchange(other.status_, std::nullopt)) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !status_) {
      try {
        stop();
      } catch (...) {
      }
    }
    close_fds();
    argv_ = std::move(other.argv_);
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    out_fd_ = std::exchange(other.out_fd_, -1);
    err_fd_ = std::exchange(other.err_fd_, -1);
    in_fd_ = std::exchange(other.in_fd_, -1);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

void Process::close_stdin() {
  if (in_fd_ >= 0) ::close(in_fd_);
  in_fd_ = -1;
}

void Process::close_fds() {
  for (int* fd : {&pidfd_, &out_fd_, &err_fd_, &in_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

std::string Process::describe() const {
  std::string name = argv_.empty() ? "?" : argv_[0];
  auto slash = name.rfind('/');
  if (slash != std::string::npos) name = name.substr(slash + 1);
  return "pid " + std::to_string(pid_) + " (" + name + ")";
}

void Process::reap(int status) {
  status_ = status;
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
}

bool Process::running() {
  if (pid_ <= 0 || status_) return false;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r < 0) throw_errno("waitpid " + describe());
  if (r == 0) return true;
  reap(status);
  return false;
}

std::optional<int> Process::wait_exit(Deadline deadline) {
  if (pid_ <= 0) throw std::logic_error("wait_exit: no child");
  for (;;) {
    if (!running()) return status_;
    pollfd p{pidfd_, POLLIN, 0};
    int r = ::poll(&p, 1, deadline.poll_timeout_ms());
    if (r < 0 && errno != EINTR) throw_errno("poll pidfd of " + describe());
    if (r == 0) return running() ? std::nullopt : status_;
  }
}

bool Process::wait_stopped() {
  if (pid_ <= 0 || status_) return false;
  siginfo_t info{};
  int r;
  do {
    r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WSTOPPED | WEXITED | WNOWAIT);
  } while (r < 0 && errno == EINTR);
  if (r < 0) throw_errno("waitid " + describe());
  return info.si_code == CLD_STOPPED;
}

int Process::stop(Deadline grace) {
  if (pid_ <= 0) throw std::logic_error("stop: no child");
  if (status_) return *status_;
  if (running()) {
    ::kill(pid_, SIGTERM);
    ::kill(pid_, SIGCONT);  // a stopped child only acts on SIGTERM once continued
    if (wait_exit(grace)) return *status_;
    ::kill(pid_, SIGKILL);
  }
  if (!status_) {
    // SIGKILL cannot be caught: this wait ends as soon as the kernel has torn
    // the child down.
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) {
      if (errno != EINTR) throw_errno("waitpid " + describe());
    }
    reap(status);
  }
  return *status_;
}

void Process::kill(int sig) {
  if (pid_ <= 0 || status_) throw std::logic_error("kill: " + describe() + " has already been reaped");
  if (::kill(pid_, sig) != 0) throw_errno("kill " + describe());
}

std::string Process::describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = ::strsignal(sig);
    return "killed by signal " + std::to_string(sig) + " (" + (name ? name : "?") + ")" +
           (WCOREDUMP(status) ? ", core dumped" : "");
  }
  return "wait status " + std::to_string(status);
}

namespace {

// Waits until fd is readable or the deadline passes; false on timeout.
bool wait_readable(int fd, Deadline deadline) {
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, deadline.poll_timeout_ms());
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) throw_errno("poll");
  }
}

}  // namespace

std::string read_line_from(int fd, Deadline deadline) {
  std::string line;
  for (;;) {
    if (!wait_readable(fd, deadline)) {
      throw std::runtime_error("timed out reading a line from fd " + std::to_string(fd) + "; read so far: '" + line +
                               "'");
    }
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw_errno("read fd " + std::to_string(fd));
    }
    if (n == 0) throw std::runtime_error("end of file before a complete line; read so far: '" + line + "'");
    if (c == '\n') return line;
    line.push_back(c);
  }
}

std::string read_all_from(int fd, Deadline deadline) {
  std::string data;
  char buf[4096];
  for (;;) {
    if (!wait_readable(fd, deadline)) {
      throw std::runtime_error("timed out waiting for end of file on fd " + std::to_string(fd) + "; read so far: '" +
                               data + "'");
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw_errno("read fd " + std::to_string(fd));
    }
    if (n == 0) return data;
    data.append(buf, static_cast<size_t>(n));
  }
}

ToolRun run_tool(const std::vector<std::string>& argv) {
  TempDir dir("moxi-tool");
  ProcessOptions options;
  options.out = ProcessOutput::file(dir.file("output"));
  options.err = options.out;
  Process tool(argv, options);
  const std::optional<int> status = tool.wait_exit(std::chrono::seconds(60));
  std::ifstream file(dir.file("output"));
  std::stringstream output;
  output << file.rdbuf();
  CPPUNIT_ASSERT_MESSAGE(argv.front() + " did not finish: " + output.str(), status.has_value());
  return {WIFEXITED(*status) ? WEXITSTATUS(*status) : -1, output.str()};
}

}  // namespace moxi::test
