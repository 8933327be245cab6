// App: the main thread. Binds the listening sockets, starts the workers with
// the first snapshot, and handles the signals:
//   SIGTERM, SIGINT  drain: every worker closes its listeners and lets its
//                    clients finish (worker.h begin_drain); run() returns 0
//                    when the last client is gone or after drain_timeout,
//                    whichever comes first. A second one returns at once.
//   SIGHUP           runs the reload handler (file configs), if any.
//   SIGUSR1          reopens the log file (log.h).
// With exit_on_stdin_end (-Y y), the end of standard input (stdin_watch.h)
// is logged ("EOF on stdin. Exiting") and drains like SIGTERM.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/core/config_offer.h"
#include "src/net/listener.h"
#include "src/core/memory_trim.h"
#include "src/net/notify.h"
#include "src/core/settings.h"
#include "src/core/worker.h"
#include "src/routing/snapshot.h"
#include "src/stats/render.h"

namespace moxi {

class AdminServer;
class StdinWatch;

struct AppSettings {
  ProxySettings proxy;
  int workers = 1;
  int64_t max_connections = 1024;
  std::string listen_address;  // empty: every interface
  std::string port_file;       // MOXI_PORT_FILENAME: report bound ports there
  std::chrono::milliseconds drain_timeout{5000};  // bound on a drain; 0 = none
  std::optional<uint16_t> admin_port;  // -Z admin_port: the admin HTTP listener (0: the OS chooses)
  std::optional<uint16_t> tls_port;    // -Z tls_port: TLS clients of the first port (0: the OS chooses)
  bool reuse_port = false;             // -Z reuse_port: SO_REUSEPORT copies per worker (listener.h)
  bool exit_on_stdin_end = false;      // -Y y: drain and exit when standard input ends
  ReadyRule ready_rule = ReadyRule::Reachable;  // -Z ready_when: what /readyz calls ready (render.h)
  // When set, publish() warns if a new map needs more descriptors than the
  // limit allows (fd_limit.h): -c was checked against the first map only.
  std::function<uint64_t(const Snapshot&)> descriptor_need;
};

class App {
 public:
  explicit App(AppSettings settings);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Binds every port of `snapshot` (port 0: the OS chooses) and the admin
  // port (if any), and starts the workers. On failure nothing is left running and `error` says why.
  bool start(std::shared_ptr<const Snapshot> snapshot, std::string& error);
  // Serves until SIGINT or SIGTERM has drained the workers (see above), then
  // stops them. Returns the exit status.
  int run();
  // Main thread, before run(): what SIGHUP does. Without one, SIGHUP logs
  // that nothing is reloadable.
  void set_reload_handler(std::function<void()> handler) { reload_ = std::move(handler); }
  // Main thread, before run(): what a config a worker got from a data node
  // (a NOT_MY_VBUCKET or GET_CLUSTER_CONFIG reply) goes to (on the main
  // thread). Without one it is dropped (static maps follow nothing).
  void set_config_offer_handler(std::function<void(const ConfigOffer&)> handler) { offers_ = std::move(handler); }
  // Thread-safe: runs `task` on the main thread (config sources post here).
  void post(std::function<void()> task);
  // Main thread: gives every worker `snapshot` (its generation must be the
  // next one). Workers switch through their notify queues; each then calls
  // `installed` (if given) on its own thread, so it must be thread-safe.
  void publish(std::shared_ptr<const Snapshot> snapshot, std::function<void()> installed = {});
  size_t worker_count() const { return workers_.size(); }
  // Main thread: the snapshot most recently published.
  const std::shared_ptr<const Snapshot>& current() const { return current_; }
  const std::vector<int>& bound_ports() const { return bound_ports_; }
  // Main thread: counts a failed SIGHUP reload (config_reload_failures_total).
  void count_reload_failure() { budget_.reload_failures.fetch_add(1, std::memory_order_relaxed); }
  // Main thread: counts a bucket config ignored as not newer (config_stale_ignored_total).
  void count_stale_config() { budget_.stale_configs.fetch_add(1, std::memory_order_relaxed); }

 private:
  static void on_signal(evutil_socket_t sig, short, void* arg);
  static void on_drain_timeout(evutil_socket_t, short, void* arg);
  // `why` names the cause in the log: "SIGTERM", "SIGINT", "stdin".
  void begin_drain(const std::string& why);
  void worker_drained();

  AppSettings settings_;
  event_base* base_;
  std::vector<event*> signal_events_;
  SharedLimits budget_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<int> bound_ports_;
  std::unique_ptr<net::NotifyQueue> notify_;
  std::unique_ptr<MemoryTrimmer> trimmer_;  // while run() serves
  std::shared_ptr<const Snapshot> current_;
  std::function<void()> reload_;
  std::function<void(const ConfigOffer&)> offers_;
  bool draining_ = false;
  size_t workers_draining_ = 0;
  event* drain_timer_ = nullptr;
  std::unique_ptr<AdminServer> admin_;  // -Z admin_port; main thread
  std::unique_ptr<StdinWatch> stdin_;   // -Y y; main thread
};

}  // namespace moxi
