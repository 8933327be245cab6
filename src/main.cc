// moxi: a vBucket-aware memcached proxy. main() only wires the library
// together: parse the command line, build the first snapshot, run the App.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "src/core/app.h"
#include "src/core/check_config.h"
#include "src/core/config_follower.h"
#include "src/core/event_log.h"
#include "src/core/log.h"
#include "src/core/options.h"
#include "src/core/reload.h"
#include "src/core/static_config.h"
#include "src/stats/metrics.h"
#include "src/util/event_alloc.h"

namespace {

moxi::AppSettings app_settings(const moxi::Options& options) {
  moxi::AppSettings s;
  const moxi::Behaviors& b = options.behaviors;
  s.proxy.downstream_conn_max = b.downstream_conn_max;
  s.proxy.downstream_max = b.downstream_max;
  s.proxy.wait_queue_timeout_ms = static_cast<uint64_t>(b.wait_queue_timeout.count());
  s.proxy.connect_max_errors = b.connect_max_errors;
  s.proxy.connect_retry_interval_ms = static_cast<uint64_t>(b.connect_retry_interval.count());
  s.proxy.downstream_timeout_ms = static_cast<uint64_t>(b.downstream_timeout.count());
  s.proxy.connect_timeout_ms = static_cast<uint64_t>(b.connect_timeout.count());
  s.proxy.downstream_retry = b.downstream_retry;
  s.proxy.nmv_max_retries = b.nmv_max_retries;
  s.proxy.time_stats = b.time_stats;
  s.proxy.behavior_stats = moxi::behavior_values(b);
  s.admin_port = b.admin_port;
  s.workers = static_cast<int>(options.workers);
  s.max_connections = options.max_connections;
  s.listen_address = options.listen_address;
  s.drain_timeout = b.drain_timeout;
  s.reuse_port = b.reuse_port;
  if (const char* port_file = std::getenv("MOXI_PORT_FILENAME")) s.port_file = port_file;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything touches libevent (see event_alloc.h).
  moxi::install_event_allocator();
  moxi::ParseOutcome parsed = moxi::parse_options(argc, argv);
  if (moxi::check_config_requested(std::vector<std::string>(argv + 1, argv + argc)))
    return moxi::check_config(parsed, std::cout, std::cerr);
  // Until the log is set up, errors go to stderr.
  if (!parsed.ok()) {
    std::cerr << parsed.error << "\n";
    return parsed.exit_status;
  }
  const moxi::Options& options = *parsed.options;
  for (const auto& warning : options.warnings) std::cerr << warning << "\n";
  if (options.show_help) {
    std::cout << moxi::help_text();
    return moxi::kExitOk;
  }
  if (options.show_version) {
    std::cout << moxi::version_text();
    return moxi::kExitOk;
  }
  if (options.describe_stats) {
    std::cout << moxi::describe_metrics();
    return moxi::kExitOk;
  }
  std::string error;
  if (!moxi::log::configure(options.verbosity, options.log_file, options.behaviors.log_interval, error)) {
    std::cerr << "moxi: " << error << "\n";
    return moxi::kExitFailure;
  }
  moxi::route_libevent_log();
  std::vector<moxi::UrlPort> url_ports;
  std::shared_ptr<const moxi::Snapshot> snapshot = moxi::build_initial_snapshot(options, url_ports, error);
  if (!snapshot) {
    std::cerr << "moxi: " << error << "\n";
    return moxi::kExitDataErr;
  }
  if (options.daemonize && daemon(1, 0) != 0) {
    std::perror("moxi: cannot daemonize");
    return moxi::kExitFailure;
  }
  if (!options.pidfile.empty()) {
    std::ofstream pid(options.pidfile);
    if (!pid) {
      std::cerr << "moxi: cannot write pid file " << options.pidfile << "\n";
      return moxi::kExitFailure;
    }
    pid << getpid() << "\n";
  }
  moxi::App app(app_settings(options));
  if (!app.start(snapshot, error)) {
    moxi::log::error(error);
    if (!moxi::log::path().empty()) std::cerr << "moxi: " << error << "\n";  // also where the operator looks
    return moxi::kExitFailure;
  }
  for (int port : app.bound_ports()) moxi::log::info("listening on port " + std::to_string(port));
  moxi::FileReloader reloader(options);
  if (!reloader.empty()) app.set_reload_handler([&reloader, &app] { reloader.reload(app); });
  std::vector<std::unique_ptr<moxi::ConfigFollower>> followers;
  for (const auto& url : url_ports) {
    followers.push_back(std::make_unique<moxi::ConfigFollower>(app, *url.source, options.behaviors, url.port_index));
    followers.back()->start();
  }
  int status = app.run();
  for (auto& follower : followers) follower->stop();
  if (!options.pidfile.empty()) ::unlink(options.pidfile.c_str());
  return status;
}
