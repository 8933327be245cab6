// The admin HTTP listener (-Z admin_port=PORT), libevent's evhttp on the
// main thread's event_base:
//   /healthz  200 while the process serves;
//   /readyz   200 when not draining, every port has a cluster map and the
//             backends are reachable by -Z ready_when (render.h), else 503
//             with the reason;
//   /metrics  Prometheus text format 0.0.4 (summed over the workers);
//   /config   the snapshot served, as JSON, passwords masked.
// /metrics and /readyz sum the workers' metrics through their notify queues
// (src/stats/gather.h); the reply is sent when the last copy arrives.
//
// Thread contract: constructed, used and destroyed on the main thread; the
// workers must outlive it.
#pragma once

#include <event2/event.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/routing/snapshot.h"
#include "src/stats/gather.h"
#include "src/stats/render.h"

struct evhttp;
struct evhttp_request;
struct evconnlistener;

namespace moxi {

struct AdminContext {
  std::vector<MetricsOwner*> workers;
  PostBack post_to_main;                                       // App::post
  std::function<std::shared_ptr<const Snapshot>()> snapshot;  // the one served now
  std::function<ProcessFigures()> figures;                    // read on the main thread at each scrape
  ReadyRule ready_rule = ReadyRule::Reachable;                 // -Z ready_when
};

class AdminServer {
 public:
  AdminServer(event_base* base, AdminContext context);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds `address` (empty: 127.0.0.1) on `port` (0: the OS chooses).
  // Returns false with `error` naming the address on failure.
  bool listen(const std::string& address, uint16_t port, std::string& error);
  int port() const { return port_; }

 private:
  static void on_request(evhttp_request* req, void* arg);
  void handle(evhttp_request* req);
  // accept() failed (EMFILE...): evhttp's listener would retry at once for
  // as long as the connection waits, a busy loop on the main thread; it
  // pauses for a moment instead (as the workers do, worker.h).
  static void on_accept_error(evconnlistener* listener, void*);

  AdminContext context_;
  evhttp* http_;
  int port_ = -1;
};

}  // namespace moxi
