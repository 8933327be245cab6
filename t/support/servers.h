// Real servers for integration tests: memcached backends and moxi itself.
//
// Each object owns its process (stopped and reaped by the destructor) and a
// private temp dir for its port file and log. Ports are chosen by the OS and
// learned from the port file (see port_file.h); nothing listens anywhere but
// 127.0.0.1.
//
// Typical end-to-end test:
//
//   Memcached a, b;
//   Moxi moxi({"-z", "0=" + a.address() + "," + b.address()});  // args illustrative
//   TestClient c(moxi.port());
//   CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), std::string("STORED"), c.set("k", "v"));
//   a.kill(SIGKILL);   // fault: backend crashes
//   ...
//   a.restart();       // same port, empty cache
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "t/support/deadline.h"
#include "t/support/process.h"
#include "t/support/temp_dir.h"

namespace moxi::test {

// memcached -l 127.0.0.1 (or the host given) -p <port> -U 0 -t 1 [extra args], where <port> is
// -1 (memcached 1.6's "any free port"; -p 0 would disable TCP) on first start
// and the previous port on restart(). Runs in its temp dir with stdout and
// stderr appended to log(). The binary is $MOXI_TEST_MEMCACHED if set, else
// "memcached" from PATH. When the tests run as root, "-u root" is added.
class Memcached {
 public:
  // Starts and waits for the port file; throws std::runtime_error with the
  // log if memcached does not come up before the deadline.
  explicit Memcached(std::vector<std::string> extra_args = {}, Deadline startup = std::chrono::seconds(5));
  // On another loopback address (`host`, e.g. "127.0.0.2") and a given
  // `port` (-1: any free one), e.g. a second server at another address
  // behind the same port, for a name that moves.
  Memcached(std::string host, int port, std::vector<std::string> extra_args = {},
            Deadline startup = std::chrono::seconds(5));
  // The same with more environment (e.g. SASL_CONF_PATH for memcached -S).
  Memcached(std::vector<std::string> extra_args, std::vector<std::pair<std::string, std::string>> env,
            Deadline startup = std::chrono::seconds(5));
  ~Memcached();  // stops and reaps; removes the temp dir

  Memcached(const Memcached&) = delete;
  Memcached& operator=(const Memcached&) = delete;

  int port() const { return port_; }
  const std::string& host() const { return host_; }
  std::string address() const;  // "127.0.0.1:PORT" (its host)
  pid_t pid() const;            // of the current process; -1 once stopped
  bool running();

  // Stops the current process if there is one, then starts a fresh memcached on
  // the SAME port (all data is gone). If the bind fails with EADDRINUSE (the
  // port was taken meanwhile) the exit is seen at once through the pidfd and
  // the start is retried, until the deadline.
  void restart(Deadline deadline = std::chrono::seconds(5));
  // Ends the process at once (SIGKILL: memcached only acts on SIGTERM at its
  // next once-a-second clock tick, and has nothing to flush) and reaps it;
  // returns the wait status. port() stays valid for restart().
  int stop();
  // Sends a signal, e.g. SIGKILL to simulate a crash (running() turns false
  // once it is dead; restart() brings it back on the same port).
  void kill(int sig);
  // SIGSTOP / SIGCONT: the process keeps its sockets but stops answering.
  // pause() returns once the process is actually stopped.
  void pause();
  void resume();

  // Everything memcached printed on stdout and stderr (all starts).
  std::string log() const;
  const std::string& dir() const { return dir_.path(); }
  Process& process();

 private:
  void start(int port, Deadline deadline);

  TempDir dir_{"moxi-memcached"};
  std::string host_ = "127.0.0.1";
  std::vector<std::string> extra_args_;
  std::vector<std::pair<std::string, std::string>> env_;
  std::optional<Process> process_;
  int port_ = 0;
  int starts_ = 0;
};

struct MoxiOptions {
  // Extra environment for moxi.
  std::vector<std::pair<std::string, std::string>> env;
  // Program to run; empty means default_binary().
  std::string binary;
  std::chrono::milliseconds startup = std::chrono::seconds(10);
  // stdin a pipe (process().close_stdin() ends it) instead of /dev/null.
  bool stdin_pipe = false;
  // stdout to its own file (out()), so that log() is stderr alone.
  bool stdout_apart = false;
};

// MOXI_BUILDDIR/src/moxi with the given args, MOXI_PORT_FILENAME set to a
// file in its temp dir, cwd = the temp dir, stdout+stderr captured to
// log() (stdout to out() with MoxiOptions::stdout_apart). Startup waits for the port file (one "TCP INET: <port>" line per
// listening port).
class Moxi {
 public:
  using Options = MoxiOptions;

  // Throws std::runtime_error with the log if moxi exits or does not report
  // its ports in time.
  explicit Moxi(std::vector<std::string> args, Options options = {});
  ~Moxi();

  Moxi(const Moxi&) = delete;
  Moxi& operator=(const Moxi&) = delete;

  static std::string default_binary();  // MOXI_BUILDDIR "/src/moxi"
  static bool available();              // default_binary() exists and is executable

  const std::vector<int>& ports() const { return ports_; }
  int port() const { return ports_.front(); }  // the first reported port
  // The admin HTTP port (-Z admin_port=0 lets the OS choose; moxi reports
  // it in the port file); -1 when moxi runs without one.
  int admin_port() const { return admin_port_; }
  // The TLS port (-Z tls_port), or -1 without one.
  int tls_port() const { return tls_port_; }
  std::string address() const;                 // "127.0.0.1:" + port()
  pid_t pid() const { return process_.pid(); }
  bool running() { return process_.running(); }
  int stop(Deadline grace = std::chrono::seconds(2)) { return process_.stop(grace); }
  Process& process() { return process_; }

  // Captured stdout+stderr so far (stderr alone with stdout_apart), for
  // failure messages.
  std::string log() const;
  // Captured stdout so far, with stdout_apart ("" otherwise).
  std::string out() const;
  const std::string& dir() const { return dir_.path(); }

 private:
  static Process spawn(const TempDir& dir, const std::vector<std::string>& args, const Options& options);

  TempDir dir_{"moxi-moxi"};
  Process process_;
  std::vector<int> ports_;
  int admin_port_ = -1;
  int tls_port_ = -1;
};

// A loopback TCP port that nothing listens on: bound by the OS, then
// released (for a server that must be told its port, or a dead address).
int unused_loopback_port();

}  // namespace moxi::test
