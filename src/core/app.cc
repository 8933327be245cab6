#include "src/core/app.h"

#include <csignal>
#include <stdexcept>

namespace moxi {

App::App(AppSettings settings) : settings_(std::move(settings)), base_(event_base_new()) {
  if (!base_) throw std::runtime_error("event_base_new failed");
  budget_.max = settings_.max_connections;
  notify_ = std::make_unique<NotifyQueue>(base_);
  std::signal(SIGPIPE, SIG_IGN);
}

App::~App() {
  for (auto& w : workers_) w->stop();
  for (auto& w : workers_) w->join();
  workers_.clear();
  for (event* ev : signal_events_) event_free(ev);
  notify_.reset();
  event_base_free(base_);
}

bool App::start(std::shared_ptr<const Snapshot> snapshot, std::string& error) {
  const int nworkers = settings_.workers < 1 ? 1 : settings_.workers;
  std::vector<ListenGroup> groups;
  for (const PortBinding& binding : snapshot->ports) {
    ListenGroup group;
    if (!open_listeners(settings_.listen_address, binding.port, nworkers, group, error)) {
      for (auto& g : groups)
        for (auto& fds : g.per_worker)
          for (int fd : fds) evutil_closesocket(fd);
      return false;
    }
    bound_ports_.push_back(group.port);
    groups.push_back(std::move(group));
  }
  if (!settings_.port_file.empty() && !write_port_file(settings_.port_file, bound_ports_, error)) return false;
  current_ = snapshot;
  for (int w = 0; w < nworkers; ++w) {
    std::vector<std::pair<int, size_t>> fds;
    for (size_t p = 0; p < groups.size(); ++p)
      for (int fd : groups[p].per_worker[static_cast<size_t>(w)]) fds.emplace_back(fd, p);
    workers_.push_back(std::make_unique<Worker>(w, settings_.proxy, budget_));
    workers_.back()->start(snapshot, std::move(fds));
  }
  return true;
}

void App::post(std::function<void()> task) { notify_->post(std::move(task)); }

void App::publish(std::shared_ptr<const Snapshot> snapshot, std::function<void()> installed) {
  current_ = snapshot;
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->post([worker, snapshot, installed] {
      worker->install(snapshot);
      if (installed) installed();
    });
  }
}

void App::on_signal(evutil_socket_t, short, void* arg) { event_base_loopbreak(static_cast<App*>(arg)->base_); }

int App::run() {
  for (int sig : {SIGINT, SIGTERM}) {
    event* ev = evsignal_new(base_, sig, &App::on_signal, this);
    event_add(ev, nullptr);
    signal_events_.push_back(ev);
  }
  trimmer_ = std::make_unique<MemoryTrimmer>(base_, budget_.current);
  event_base_dispatch(base_);
  trimmer_.reset();
  for (auto& w : workers_) w->stop();
  for (auto& w : workers_) w->join();
  return 0;
}

}  // namespace moxi
