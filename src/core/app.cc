#include "src/core/app.h"

#include <csignal>
#include <stdexcept>
#include <string>

#include "src/core/fd_limit.h"
#include "src/core/stdin_watch.h"
#include "src/util/log.h"
#include "src/util/timer.h"

#include "src/stats/admin_http.h"

namespace moxi {

App::App(AppSettings settings) : settings_(std::move(settings)), base_(event_base_new()) {
  if (!base_) throw std::runtime_error("event_base_new failed");
  budget_.max = settings_.max_connections;
  budget_.buffers.max = settings_.proxy.buffer_max;
  settings_.proxy.started_us = monotonic_us();
  notify_ = std::make_unique<net::NotifyQueue>(base_);
  std::signal(SIGPIPE, SIG_IGN);
  // Handled from here on (queued until run() dispatches them), so that a
  // signal sent as soon as the port file exists never takes its default action.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) {
    event* ev = evsignal_new(base_, sig, &App::on_signal, this);
    event_add(ev, nullptr);
    signal_events_.push_back(ev);
  }
}

App::~App() {
  for (auto& w : workers_) w->stop();
  for (auto& w : workers_) w->join();
  workers_.clear();
  for (event* ev : signal_events_) event_free(ev);
  // Freeing the events gave the signals their default action back: a
  // SIGTERM from a supervisor impatient with the last steps of an exit
  // (joining threads, and under ASan the leak check) would turn a clean
  // exit 0 into a death by signal. The process is ending: ignore them.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) std::signal(sig, SIG_IGN);
  if (drain_timer_) event_free(drain_timer_);
  stdin_.reset();
  admin_.reset();
  notify_.reset();
  event_base_free(base_);
}

bool App::start(std::shared_ptr<const Snapshot> snapshot, std::string& error) {
  const int nworkers = settings_.workers < 1 ? 1 : settings_.workers;
  std::vector<net::ListenGroup> groups;
  auto fail = [&groups, this] {
    workers_.clear();
    groups.clear();  // closes the sockets no worker took
    return false;
  };
  for (const PortBinding& binding : snapshot->ports) {
    net::ListenGroup group;
    if (!net::open_listeners(settings_.listen_address, binding.port, nworkers, settings_.reuse_port, group, error))
      return fail();
    bound_ports_.push_back(group.port);
    groups.push_back(std::move(group));
  }
  // The TLS port serves what the first port serves (its snapshot index 0).
  int tls_port = -1;
  if (settings_.tls_port && !groups.empty()) {
    net::ListenGroup group;
    if (!net::open_listeners(settings_.listen_address, *settings_.tls_port, nworkers, settings_.reuse_port, group, error,
                        true))
      return fail();
    tls_port = group.port;
    groups.push_back(std::move(group));
  }
  // Every worker exists (and knows its peers, for stats proxy) before any starts.
  for (int w = 0; w < nworkers; ++w) workers_.push_back(std::make_unique<Worker>(w, settings_.proxy, budget_));
  std::vector<Worker*> peers;
  for (auto& w : workers_) peers.push_back(w.get());
  for (auto& w : workers_) {
    w->set_peers(peers);
    w->set_config_offers([this](ConfigOffer offer) {
      post([this, offer = std::move(offer)] {
        if (offers_) offers_(offer);
      });
    });
  }
  int admin_port = -1;
  if (settings_.admin_port) {
    admin_ = std::make_unique<AdminServer>(
        base_, AdminContext{std::vector<MetricsOwner*>(peers.begin(), peers.end()), [this](std::function<void()> task) { post(std::move(task)); },
                            [this] { return current_; },
                            [this] {
                              ProcessFigures f = workers_.front()->process_figures();
                              f.draining = draining_;
                              return f;
                            },
                            settings_.ready_rule});
    if (!admin_->listen(settings_.listen_address, *settings_.admin_port, error)) return fail();
    admin_port = admin_->port();
  }
  if (settings_.exit_on_stdin_end) {
    stdin_ = std::make_unique<StdinWatch>(base_, [this](const std::string& what) {
      if (draining_) {  // a supervisor that sent SIGTERM, then went: the drain goes on
        log::info(what + " during the drain");
        return;
      }
      log::warning(what + ". Exiting");  // always shown, as the original printed it
      begin_drain("stdin");
    });
    if (!stdin_->start(error)) return fail();
  }
  // Before the port file: whoever waits for it finds the ports logged too.
  for (int port : bound_ports_) log::info("listening on port " + std::to_string(port));
  if (tls_port >= 0) log::info("listening on port " + std::to_string(tls_port) + " (TLS, serving port " +
                               std::to_string(bound_ports_.front()) + "'s configuration)");
  if (!settings_.port_file.empty() && !net::write_port_file(settings_.port_file, bound_ports_, admin_port, error, tls_port))
    return fail();
  current_ = snapshot;
  for (int w = 0; w < nworkers; ++w) {
    Worker::ListenFds fds;
    for (size_t p = 0; p < groups.size(); ++p)
      for (auto& socket : groups[p].per_worker[static_cast<size_t>(w)])
        fds.emplace_back(socket, p < bound_ports_.size() ? p : 0);  // the TLS group: port 0's
    workers_[static_cast<size_t>(w)]->start(snapshot, std::move(fds));
  }
  return true;
}

void App::post(std::function<void()> task) { notify_->post(std::move(task)); }

void App::publish(std::shared_ptr<const Snapshot> snapshot, std::function<void()> installed) {
  current_ = snapshot;
  if (settings_.descriptor_need) {
    // A URL configuration's servers are known only now; more of them than
    // the limit allows would show as backend connects failing with EMFILE.
    const uint64_t need = settings_.descriptor_need(*snapshot), limit = descriptor_limit();
    if (need > limit)
      log::write_keyed(log::Level::Warning, "descriptor need of a map",
                       "config generation " + std::to_string(snapshot->generation) + " needs " +
                           std::to_string(need) + " file descriptors at -c " +
                           std::to_string(settings_.max_connections) + " but the limit is " + std::to_string(limit) +
                           ": clients or backend connections will fail when it runs out; raise it (ulimit -n " +
                           std::to_string(need) + ", LimitNOFILE=" + std::to_string(need) + ") and restart");
  }
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->post([worker, snapshot, installed] {
      worker->install(snapshot);
      if (installed) installed();
    });
  }
}

void App::on_signal(evutil_socket_t sig, short, void* arg) {
  auto* app = static_cast<App*>(arg);
  const int signo = static_cast<int>(sig);
  if (signo == SIGINT || signo == SIGTERM) {
    app->begin_drain(signo == SIGINT ? "SIGINT" : "SIGTERM");
  } else if (signo == SIGHUP) {
    if (app->reload_) {
      app->reload_();
    } else {
      log::warning("SIGHUP: nothing to reload (no -z file configuration; URL configurations update themselves)");
    }
  } else if (signo == SIGUSR1) {
    std::string error;
    if (!log::reopen(error)) {
      log::error("SIGUSR1: " + error);
    } else if (!log::path().empty()) {
      log::info("SIGUSR1: reopened log file " + log::path());
    }
  }
}

void App::begin_drain(const std::string& why) {
  if (draining_) {
    log::warning(why + " during the drain: exiting now");
    event_base_loopbreak(base_);
    return;
  }
  draining_ = true;
  const auto bound = settings_.drain_timeout.count();
  log::info(why + ": draining: listeners closed, finishing in-flight requests" +
            (bound > 0 ? " (at most " + std::to_string(bound) + " ms)" : std::string()));
  workers_draining_ = workers_.size();
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->post([this, worker] {
      worker->begin_drain([this] { post([this] { worker_drained(); }); });
    });
  }
  if (bound > 0) {
    drain_timer_ = evtimer_new(base_, &App::on_drain_timeout, this);
    arm_timer_ms(drain_timer_, static_cast<uint64_t>(bound));
  }
}

void App::worker_drained() {
  if (--workers_draining_ != 0) return;
  log::info("drained: every client connection is closed; exiting");
  event_base_loopbreak(base_);
}

void App::on_drain_timeout(evutil_socket_t, short, void* arg) {
  auto* app = static_cast<App*>(arg);
  log::warning("drain timeout (" + std::to_string(app->settings_.drain_timeout.count()) + " ms): " +
               std::to_string(app->workers_draining_) + " of " + std::to_string(app->workers_.size()) +
               " workers still had clients; exiting");
  event_base_loopbreak(app->base_);
}

int App::run() {
  trimmer_ = std::make_unique<MemoryTrimmer>(base_, budget_.current, budget_.released_bytes);
  event_base_dispatch(base_);
  trimmer_.reset();
  for (auto& w : workers_) w->stop();
  for (auto& w : workers_) w->join();
  return 0;
}

}  // namespace moxi
