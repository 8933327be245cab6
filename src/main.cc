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
#include "src/net/buffer_budget.h"
#include "src/core/check_config.h"
#include "src/core/config_follower.h"
#include "src/core/event_log.h"
#include "src/core/fd_limit.h"
#include "src/util/log.h"
#include "src/config/help.h"
#include "src/config/options.h"
#include "src/core/reload.h"
#include "src/core/static_config.h"
#include "src/stats/metrics.h"
#include "src/backend/resolver.h"
#include "src/backend/sasl_client.h"
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
  s.proxy.probe_interval_ms = static_cast<uint64_t>(b.probe_interval.count());
  moxi::parse_down_policy(b.down_policy, s.proxy.down_policy);  // checked by the parser
  s.proxy.dns_ttl_ms = static_cast<uint64_t>(b.dns_ttl.count());
  if (!b.dns_servers.empty()) moxi::backend::parse_dns_servers(b.dns_servers, s.proxy.dns_servers);  // checked by the parser
  s.proxy.downstream_timeout_ms = static_cast<uint64_t>(b.downstream_timeout.count());
  s.proxy.connect_timeout_ms = static_cast<uint64_t>(b.connect_timeout.count());
  s.proxy.downstream_retry = b.downstream_retry;
  s.proxy.nmv_max_retries = b.nmv_max_retries;
  s.proxy.backend_user = b.usr;
  s.proxy.backend_password = b.pwd;
  s.proxy.backend_bucket = b.bucket;
  s.proxy.auth_timeout_ms = static_cast<uint64_t>(b.auth_timeout.count());
  s.proxy.time_stats = b.time_stats;
  s.proxy.replica_reads = b.replica_reads;
  s.proxy.io_engine = b.io_engine == "uring" ? moxi::net::Engine::Uring : moxi::net::Engine::Epoll;
  s.proxy.config_network = moxi::config_network(b);
  s.proxy.item_size_max = b.item_size_max;
  s.proxy.max_client_output = b.client_buffer_max;
  s.proxy.buffer_max = b.buffer_max != 0 ? b.buffer_max : moxi::net::BufferBudget::default_max();
  s.proxy.buffer_wait_ms = static_cast<uint64_t>(b.buffer_wait.count());
  s.proxy.behavior_stats = moxi::behavior_values(b);
  s.admin_port = b.admin_port;
  s.tls_port = b.tls_port;
  s.proxy.tls_handshake_timeout_ms = static_cast<uint64_t>(b.tls_handshake_timeout.count());
  s.workers = static_cast<int>(options.workers);
  s.max_connections = options.max_connections;
  s.listen_address = options.listen_address;
  s.drain_timeout = b.drain_timeout;
  s.reuse_port = b.reuse_port;
  s.exit_on_stdin_end = options.exit_on_stdin_end;
  s.ready_rule = options.behaviors.ready_when == "map"   ? moxi::ReadyRule::Map
                 : options.behaviors.ready_when == "all" ? moxi::ReadyRule::AllUp
                                                         : moxi::ReadyRule::Reachable;
  if (const char* port_file = std::getenv("MOXI_PORT_FILENAME")) s.port_file = port_file;
  return s;
}

moxi::DescriptorInputs descriptor_inputs(const moxi::Options& options, size_t url_sources, uint64_t clients) {
  moxi::DescriptorInputs in;
  in.clients = clients;
  in.workers = options.workers;
  in.downstream_conn_max = options.behaviors.downstream_conn_max;
  in.reuse_port = options.behaviors.reuse_port;
  in.every_interface = options.listen_address.empty();
  in.url_sources = url_sources;
  in.admin = options.behaviors.admin_port.has_value();
  return in;
}

// Raises RLIMIT_NOFILE to what -c and the first map need (fd_limit.h).
// Returns the -c to enforce, or 0 when moxi must not start (`error` says
// why and how to fix it). A -c given on the command line is a promise:
// moxi fails rather than break it at the 65th client. The default -c is
// not: moxi lowers it to what the limit leaves and warns loudly, so that a
// low limit still gives clients "ERROR Too many open connections" instead
// of accept() failing with EMFILE.
uint64_t settle_descriptor_limit(const moxi::Options& options, const moxi::Snapshot& snapshot, size_t url_sources,
                                 std::string& error) {
  const moxi::DescriptorNeed need =
      moxi::descriptor_need(snapshot, descriptor_inputs(options, url_sources, options.max_connections));
  const moxi::DescriptorLimit limit = moxi::raise_descriptor_limit(need.total());
  const std::string fix = "ulimit -n " + std::to_string(need.total()) + ", or LimitNOFILE=" +
                          std::to_string(need.total()) + " in the systemd unit";
  const std::string was = "the file descriptor limit (RLIMIT_NOFILE) is " + std::to_string(limit.soft) +
                          " (hard " + std::to_string(limit.hard) + ") and cannot be raised further";
  if (limit.soft >= need.total()) {
    if (limit.raised())
      moxi::log::info("raised the file descriptor limit from " + std::to_string(limit.soft_before) + " to " +
                      std::to_string(limit.soft) + " for -c " + std::to_string(options.max_connections) + ": need " +
                      need.describe());
    return options.max_connections;
  }
  if (options.max_connections_given) {
    error = "-c " + std::to_string(options.max_connections) + " needs " + need.describe() + ", but " + was + ": raise it (" + fix + ") or lower -c";
    return 0;
  }
  if (limit.soft <= need.without_clients()) {
    error = "moxi needs " + std::to_string(need.without_clients()) + " file descriptors before any client (of " +
            need.describe() + " at the default -c), but " + was + ": raise it (" + fix + ")";
    return 0;
  }
  const uint64_t clients = limit.soft - need.without_clients();
  moxi::log::warning("-c cannot be met: " + was + "; the default -c " + std::to_string(options.max_connections) +
                     " needs " + need.describe() + ": serving at most " + std::to_string(clients) +
                     " client connections (more are told ERROR Too many open connections); raise the limit (" + fix +
                     ") or give -c");
  return clients;
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
  // libsasl2's client side, once, before any worker thread starts: for
  // -Z usr, and for the buckets with a saslPassword any map may bring.
  if (!moxi::backend::init_sasl_library(error)) {
    if (!options.behaviors.usr.empty()) {
      std::cerr << "moxi: " << error << "\n";
      return moxi::kExitFailure;
    }
    moxi::log::warning(error + ": buckets with a password cannot be reached");
  }
  std::vector<moxi::UrlPort> url_ports;
  std::shared_ptr<const moxi::Snapshot> snapshot = moxi::build_initial_snapshot(options, url_ports, error);
  if (!snapshot) {
    std::cerr << "moxi: " << error << "\n";
    return moxi::kExitDataErr;
  }
  // Before daemon(): a failure here must reach the terminal.
  const uint64_t max_connections = settle_descriptor_limit(options, *snapshot, url_ports.size(), error);
  if (max_connections == 0) {
    moxi::log::error(error);
    if (!moxi::log::path().empty()) std::cerr << "moxi: " << error << "\n";
    return moxi::kExitFailure;
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
  moxi::AppSettings settings = app_settings(options);
  settings.max_connections = static_cast<int64_t>(max_connections);
  settings.descriptor_need = [&options, urls = url_ports.size(), max_connections](const moxi::Snapshot& s) {
    return moxi::descriptor_need(s, descriptor_inputs(options, urls, max_connections)).total();
  };
  moxi::App app(std::move(settings));
  if (!app.start(snapshot, error)) {
    moxi::log::error(error);
    if (!moxi::log::path().empty()) std::cerr << "moxi: " << error << "\n";  // also where the operator looks
    return moxi::kExitFailure;
  }
  moxi::FileReloader reloader(options, std::vector<std::string>(argv + 1, argv + argc), moxi::process_environment());
  if (!reloader.empty()) app.set_reload_handler([&reloader, &app] { reloader.reload(app); });
  std::vector<std::unique_ptr<moxi::ConfigFollower>> followers;
  for (const auto& url : url_ports) {
    followers.push_back(std::make_unique<moxi::ConfigFollower>(app, *url.source, options.behaviors, url.port_index));
    followers.back()->start();
    reloader.follow(*followers.back());
  }
  // Configs the data nodes send in NOT_MY_VBUCKET replies go to the
  // follower of their port.
  app.set_config_offer_handler([&followers](const moxi::ConfigOffer& offer) {
    for (auto& follower : followers)
      if (follower->port_index() == offer.port_index) follower->offer(offer);
  });
  int status = app.run();
  for (auto& follower : followers) follower->stop();
  if (!options.pidfile.empty()) ::unlink(options.pidfile.c_str());
  return status;
}
