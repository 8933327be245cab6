#include "t/support/servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "t/support/port_file.h"

#ifndef MOXI_BUILDDIR
#error "MOXI_BUILDDIR must name the build tree"
#endif

namespace moxi::test {

namespace {

// A restart gives up after this many EADDRINUSE failures even if time is left:
// a port that stays taken will not come free by spawning more processes.
constexpr int kMaxBindAttempts = 50;

std::string read_from(const std::string& path, std::streamoff offset = 0) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(offset);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::streamoff file_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  return in ? static_cast<std::streamoff>(in.tellg()) : 0;
}

std::string memcached_binary() {
  const char* env = std::getenv("MOXI_TEST_MEMCACHED");
  return env && *env ? env : "memcached";
}

}  // namespace

// --- Memcached ---------------------------------------------------------------

Memcached::Memcached(std::vector<std::string> extra_args, Deadline startup) : extra_args_(std::move(extra_args)) {
  start(-1, startup);
}

Memcached::Memcached(std::string host, int port, std::vector<std::string> extra_args, Deadline startup)
    : host_(std::move(host)), extra_args_(std::move(extra_args)) {
  start(port, startup);
}

Memcached::Memcached(std::vector<std::string> extra_args, std::vector<std::pair<std::string, std::string>> env,
                     Deadline startup)
    : extra_args_(std::move(extra_args)), env_(std::move(env)) {
  start(-1, startup);
}

Memcached::~Memcached() {
  if (process_) {
    try {
      stop();
    } catch (...) {
      // process_'s own destructor still stops and reaps it.
    }
  }
}

std::string Memcached::address() const { return host_ + ":" + std::to_string(port_); }

pid_t Memcached::pid() const { return process_ ? process_->pid() : -1; }

bool Memcached::running() { return process_ && process_->running(); }

Process& Memcached::process() {
  if (!process_) throw std::logic_error("Memcached on " + address() + " is stopped");
  return *process_;
}

std::string Memcached::log() const { return read_from(dir_.file("memcached.log")); }

void Memcached::start(int port, Deadline deadline) {
  const std::string log_path = dir_.file("memcached.log");
  int bind_failures = 0;
  std::string bind_error;
  for (int attempt = 1;; ++attempt) {
    // A fresh port file name per start: a stale file can never be mistaken
    // for the new process's report.
    const std::string port_file = dir_.file("port." + std::to_string(++starts_));
    std::vector<std::string> argv = {memcached_binary()};
    if (::geteuid() == 0) argv.insert(argv.end(), {"-u", "root"});
    argv.insert(argv.end(), {"-l", host_, "-p", std::to_string(port), "-U", "0", "-t", "1"});
    argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());

    Process::Options options;
    options.env = {{"MEMCACHED_PORT_FILENAME", port_file}};
    options.env.insert(options.env.end(), env_.begin(), env_.end());
    options.out = options.err = Process::Output::file(log_path, /*append=*/true);
    options.cwd = dir_.path();
    const std::streamoff log_start = file_size(log_path);

    Process proc(argv, options);
    try {
      int got = wait_for_port_file(port_file, deadline, &proc);
      if (port > 0 && got != port) {
        throw std::runtime_error("memcached reported port " + std::to_string(got) + ", expected " +
                                 std::to_string(port));
      }
      port_ = got;
      process_.emplace(std::move(proc));
      return;
    } catch (const std::exception& e) {
      if (proc.running()) proc.kill(SIGKILL);
      proc.stop();
      const std::string output = read_from(log_path, log_start);
      if (port > 0 && output.find("Address already in use") != std::string::npos) {
        ++bind_failures;
        bind_error = output;
        if (attempt < kMaxBindAttempts && !deadline.expired()) continue;
      }
      // The last attempt may have been cut short by the deadline; the bind
      // failures before it are the real story, so they are reported too.
      std::string message = std::string("memcached did not start") +
                            (port > 0 ? " on port " + std::to_string(port) : std::string()) + " (attempt " +
                            std::to_string(attempt) + "): " + e.what() + "\n--- memcached output ---\n" + output;
      if (bind_failures > 0 && bind_error != output) {
        message += "\n--- " + std::to_string(bind_failures) + " earlier attempt(s) failed to bind; last output ---\n" +
                   bind_error;
      }
      throw std::runtime_error(message);
    }
  }
}

void Memcached::restart(Deadline deadline) {
  if (process_) stop();
  start(port_, deadline);
}

int Memcached::stop() {
  if (!process_) throw std::logic_error("Memcached on " + address() + " is already stopped");
  // memcached acts on SIGTERM only at its next once-a-second clock tick; it
  // keeps nothing worth flushing, so SIGKILL it and keep the tests fast.
  if (process_->running()) process_->kill(SIGKILL);
  int status = process_->stop();  // reaps; SIGKILL leaves no grace period to wait out
  process_.reset();
  return status;
}

void Memcached::kill(int sig) { process().kill(sig); }

void Memcached::pause() {
  process().kill(SIGSTOP);
  if (!process_->wait_stopped()) {
    throw std::runtime_error("memcached " + process_->describe() + " exited instead of stopping\n" + log());
  }
}

void Memcached::resume() { process().kill(SIGCONT); }

// --- Moxi --------------------------------------------------------------------

std::string Moxi::default_binary() { return MOXI_BUILDDIR "/src/moxi"; }

bool Moxi::available() { return ::access(default_binary().c_str(), X_OK) == 0; }

Process Moxi::spawn(const TempDir& dir, const std::vector<std::string>& args, const Options& options) {
  std::vector<std::string> argv = {options.binary.empty() ? default_binary() : options.binary};
  argv.insert(argv.end(), args.begin(), args.end());
  // MOXI_TEST_IO_ENGINE=uring runs every moxi of a suite on that engine:
  // script/test runs the proxy tests once per engine.
  if (const char* engine = std::getenv("MOXI_TEST_IO_ENGINE"); engine && *engine && options.binary.empty()) {
    argv.emplace_back("-Z");
    argv.emplace_back(std::string("io_engine=") + engine);
  }
  Process::Options popts;
  popts.env = options.env;
  popts.env.emplace_back("MOXI_PORT_FILENAME", dir.file("ports"));
  popts.err = Process::Output::file(dir.file("moxi.log"));
  popts.out = options.stdout_apart ? Process::Output::file(dir.file("moxi.out")) : popts.err;
  popts.stdin_pipe = options.stdin_pipe;
  popts.cwd = dir.path();
  return Process(argv, popts);
}

Moxi::Moxi(std::vector<std::string> args, Options options) : process_(spawn(dir_, args, options)) {
  try {
    ports_ = wait_for_ports(dir_.file("ports"), Deadline(options.startup), &process_);
    admin_port_ = parse_admin_port(read_from(dir_.file("ports")));
    tls_port_ = parse_tls_port(read_from(dir_.file("ports")));
  } catch (const std::exception& e) {
    process_.stop();
    throw std::runtime_error(std::string("moxi did not start: ") + e.what() + "\n--- moxi output ---\n" + log());
  }
}

Moxi::~Moxi() = default;

std::string Moxi::address() const { return "127.0.0.1:" + std::to_string(port()); }

std::string Moxi::log() const { return read_from(dir_.file("moxi.log")); }

std::string Moxi::out() const { return read_from(dir_.file("moxi.out")); }

int unused_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok) throw std::runtime_error("cannot bind a loopback port");
  return ntohs(addr.sin_port);
}

}  // namespace moxi::test
