// App: the main thread. Binds the listening sockets, starts the workers with
// the first snapshot, and waits for a signal to stop.
#pragma once

#include <event2/event.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/core/counters.h"
#include "src/core/listener.h"
#include "src/core/memory_trim.h"
#include "src/core/notify.h"
#include "src/core/settings.h"
#include "src/core/worker.h"
#include "src/routing/snapshot.h"

namespace moxi {

struct AppSettings {
  ProxySettings proxy;
  int workers = 1;
  int64_t max_connections = 1024;
  std::string listen_address;  // empty: every interface
  std::string port_file;       // MOXI_PORT_FILENAME: report bound ports there
};

class App {
 public:
  explicit App(AppSettings settings);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Binds every port of `snapshot` (port 0: the OS chooses) and starts the
  // workers. On failure nothing is left running and `error` says why.
  bool start(std::shared_ptr<const Snapshot> snapshot, std::string& error);
  // Serves until SIGINT or SIGTERM, then stops the workers. Returns the exit status.
  int run();
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

 private:
  static void on_signal(evutil_socket_t, short, void* arg);

  AppSettings settings_;
  event_base* base_;
  std::vector<event*> signal_events_;
  ConnectionBudget budget_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<int> bound_ports_;
  std::unique_ptr<NotifyQueue> notify_;
  std::unique_ptr<MemoryTrimmer> trimmer_;  // while run() serves
  std::shared_ptr<const Snapshot> current_;
};

}  // namespace moxi
