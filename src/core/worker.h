// Worker: one thread, one event_base. It accepts and owns its client
// connections, its backend connection groups (as their BackendHost), its
// request router (request_router.h: admission, routing, re-routing and
// completion, with the request pools; the worker is its RouterHost) and its
// counters; nothing it owns is touched by another thread. Other threads
// reach it only through post() (the notify queue).
#pragma once

#include <event2/event.h>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "src/core/config_offer.h"
#include "src/core/exchange.h"
#include "src/core/request_router.h"
#include "src/core/settings.h"
#include "src/net/buffer_budget.h"
#include "src/net/listener.h"
#include "src/net/loop.h"
#include "src/net/notify.h"
#include "src/routing/snapshot.h"
#include "src/stats/gather.h"
#include "src/stats/metrics.h"
#include "src/stats/render.h"
#include "src/backend/backend_host.h"
#include "src/backend/resolver.h"

namespace moxi {

class ClientConnection;
namespace backend {
class ServerGroup;
}  // namespace backend

// Shared by all workers: the -c limit is global, so it is one atomic touched
// only on accept and close, never per request; and the byte budget of all
// buffers (buffer_budget.h).
struct SharedLimits {
  net::BufferBudget buffers;
  std::atomic<int64_t> current{0};
  int64_t max = 1024;
  // Reply bytes that left with closed client connections (a slow reader's
  // budget): the memory trimmer gives them back to the OS.
  std::atomic<uint64_t> released_bytes{0};
  // Round-robin over the workers for connections accepted from a shared
  // listening socket (listener.h): whichever worker woke first took it.
  std::atomic<uint64_t> next_worker{0};
  // SIGHUP reloads that failed: the main thread adds, stats readers load.
  std::atomic<uint64_t> reload_failures{0};
  // Bucket configs a follower ignored as not newer than the one served.
  std::atomic<uint64_t> stale_configs{0};
};

class Worker final : public MetricsOwner, public backend::BackendHost, public RouterHost {
 public:
  Worker(int id, ProxySettings settings, SharedLimits& budget);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread. `listen_fds` pairs a listening socket (shared with
  // the other workers, or this worker's SO_REUSEPORT copy: listener.h) with
  // the port index in the snapshot it serves.
  using ListenFds = std::vector<std::pair<std::shared_ptr<net::ListenSocket>, size_t>>;
  void start(std::shared_ptr<const Snapshot> snapshot, ListenFds listen_fds);
  // Thread-safe: stops accepting and ends the loop; join() waits for it.
  void stop();
  void join();
  // Thread-safe: runs `task` on this worker's thread.
  void post(std::function<void()> task) override;
  // Where configs data nodes send (NOT_MY_VBUCKET bodies, GET_CLUSTER_CONFIG
  // replies) go (the App's main thread); called on this worker's thread. Set
  // once before start().
  void set_config_offers(std::function<void(ConfigOffer)> sink) { config_offers_ = std::move(sink); }
  // Every worker of the process (this one included), for `stats proxy` to
  // sum over. Set once before start(); read-only afterwards.
  void set_peers(std::vector<Worker*> peers) {
    peers_ = std::move(peers);
    peer_metrics_.assign(peers_.begin(), peers_.end());
  }
  const std::vector<Worker*>& peers() const { return peers_; }

  // ---- worker-thread only ----
  int id() const { return id_; }
  event_base* base() const { return base_; }
  // The event loop this worker's connections run on (net/loop.h).
  net::Loop& loop() override { return loop_; }
  uint64_t now_ms() const override;  // BackendHost and RouterHost
  const ProxySettings& settings() const { return settings_; }
  Metrics& metrics() override { return metrics_; }
  // This worker's part of the total buffer budget (buffer_budget.h).
  net::BufferAccount& buffers() { return buffers_; }
  // A moving mean of the reply sizes of all this worker's clients: what a
  // new client's requests are expected to bring before its own replies
  // show it (so a crowd of new clients cannot overrun the total budget
  // with their first requests). 0 before the first reply.
  size_t typical_reply_bytes() const { return typical_reply_bytes_; }
  void note_reply_bytes(size_t bytes) {
    typical_reply_bytes_ = typical_reply_bytes_ == 0 ? bytes : (typical_reply_bytes_ * 63 + bytes) / 64;
  }
  // `conn` stopped reading because the total buffer budget is full: it is
  // resumed, oldest first, when there is room again (or, past buffer_wait,
  // resumed to have its requests refused: see ClientConnection).
  void wait_for_buffers(ClientConnection* conn);
  // A copy of this worker's metrics with its per-server back-off state filled in.
  Metrics metrics_copy() override;
  void reset_metrics() override { metrics_.reset(); }
  // Thread-safe: what the process-scope gauges are read from (render.h).
  ProcessFigures process_figures() const;
  const Snapshot& snapshot() const override { return *snapshot_; }
  // Where this worker's requests are routed and finished (request_router.h).
  RequestRouter& router() { return *router_; }

  // This worker's DNS resolver for backend names (backend/resolver.h).
  backend::Resolver& resolver() override { return *resolver_; }
  // The rest of BackendHost (backend_host.h): what its server groups read.
  const backend::BackendSettings& backend_settings() const override { return settings_; }
  std::shared_ptr<const tls::Context> backend_tls() const override { return snapshot_->backend_tls; }
  std::string name() const override { return "worker " + std::to_string(id_); }
  backend::PendingOp* new_probe(protocol::Protocol protocol) override { return router_->new_probe(protocol); }
  // The group of connections to `server` in `protocol` authenticated as
  // `auth`: buckets of a gateway sharing a server each have their own.
  backend::ServerGroup& server_group(const BackendServer& server, protocol::Protocol protocol,
                                     const BackendAuth& auth) override;
  // A server group of this worker took `address` down (down) or found it
  // answering again: every other worker is told through its notify queue,
  // and its groups for that server follow (ServerGroup::on_peer_down /
  // on_peer_recovery), so one worker's finding spares the others a timeout
  // each.
  void on_server_health(const std::string& address, bool down) override;
  // A server group was ejected from its ring or came back (down_policy=eject):
  // the ketama buckets rebuild their live rings before their next request.
  void on_ejection_changed() override { router_->on_ejection_changed(); }
  // A closed client connection is destroyed after the current loop turn.
  // `held`: the reply bytes it held when it closed (for the memory trimmer).
  void retire(ClientConnection* conn, size_t held);
  // Graceful shutdown (posted by the main thread): takes the connections
  // already waiting in the accept queues, closes the listening sockets (new
  // connections are refused once every worker did), and lets each client
  // finish: what it has sent is answered, then it is closed once idle
  // (client_connection.h). `done` runs on this thread when the last client
  // is gone (at once when there are none).
  void begin_drain(std::function<void()> done);
  bool draining() const { return draining_; }
  // Switches to a new snapshot (posted by the main thread). Requests already
  // admitted finish on the bucket they started with; new ones use the new
  // map. Connections to servers still in the map are kept; those to removed
  // servers close once idle.
  void install(std::shared_ptr<const Snapshot> snapshot);
  // A backend answered (or failed) `op`: the router takes it.
  void on_op_done(backend::PendingOp* op) override { router_->on_op_done(op); }
  // The rest of RouterHost (request_router.h).
  void answer_by_worker(Exchange* exchange) override;
  void deliver(Exchange* exchange) override;
  void offer_config(ConfigOffer offer) override {
    if (config_offers_) config_offers_(std::move(offer));
  }

 private:
  void run();
  struct ListenerSlot;
  static void accept_cb(evutil_socket_t, short, void* arg);
  void accept_some(ListenerSlot& slot);
  // A connection taken from a shared socket goes to the next worker in
  // turn, as the original moxi dispatched them: whoever accepts, every
  // worker gets its share (a burst would otherwise land mostly on the
  // worker that woke first).
  void hand_off(int fd, size_t port_index, bool tls);
  // `tls`: it came to the TLS port; its handshake starts with the
  // snapshot's client context.
  void on_accept(int fd, size_t port_index, bool tls = false);
  // Out of descriptors (EMFILE/ENFILE), or any other accept() error:
  // accept() would fail at once every time the listening socket is
  // readable, a busy loop. Instead this worker stops watching its
  // listeners until a client of its own closes or kAcceptRetryMs pass
  // (descriptors freed elsewhere), as memcached does.
  static constexpr int kAcceptRetryMs = 50;
  void pause_accepting(int err);
  void resume_accepting();
  static void accept_retry_cb(evutil_socket_t, short, void* arg);
  void on_peer_server_health(const std::string& address, bool down);
  // "stats proxy [sub]" (src/core/stats_proxy.cc): sums over peers_ through
  // the notify queues; the exchange waits (in order) until all answered.
  void answer_stats_proxy(Exchange* exchange);
  // Resumes the clients waiting for buffer room (see wait_for_buffers);
  // runs every kBufferRetryMs while any waits: room is usually made by
  // another worker's clients, which this worker hears nothing of.
  static constexpr int kBufferRetryMs = 10;
  void resume_buffer_waiters();
  static void buffer_timer_cb(evutil_socket_t, short, void* arg);

  // A listening socket as this worker watches it: on epoll its readable
  // event runs accept_some; on io_uring a multishot accept of the loop's
  // ring takes the connections (one completion each, no accept4).
  struct ListenerSlot final : net::UringAcceptor {
    ListenerSlot(Worker* w, size_t index, std::shared_ptr<net::ListenSocket> s)
        : worker(w), port_index(index), tls(s->tls()), socket(std::move(s)) {}
    void on_uring_accept(int res, bool more) override { worker->accepted_by_uring(*this, res, more); }
    Worker* worker;
    size_t port_index;
    bool tls;  // the socket's, kept for connections reaped once it is gone
    std::shared_ptr<net::ListenSocket> socket;  // null once drained
    event* ev = nullptr;  // EV_READ|EV_PERSIST on socket's fd (added on epoll only); null once drained
    uint32_t uring_slot = 0;  // io_uring: the accept's slot, held until the worker goes
    bool uring_armed = false;  // io_uring: an accept is armed (watch) and has not ended
  };
  // Start and stop taking connections from a listening socket, on either
  // engine. watch is false when libevent could not add the event: an
  // error at start (afterwards the event was added once, and adding it
  // again does not fail).
  bool watch(ListenerSlot& slot);
  void unwatch(ListenerSlot& slot);
  // A completion of `slot`'s multishot accept (net::UringAcceptor).
  void accepted_by_uring(ListenerSlot& slot, int res, bool more);
  // A connection taken from `slot`'s socket goes to its worker.
  void take(ListenerSlot& slot, int fd);

  int id_;
  ProxySettings settings_;
  SharedLimits& budget_;
  net::BufferAccount buffers_;  // before every connection: they tell it what they hold until they go
  event_base* base_;
  net::Loop loop_;  // on base_ and buffers_; before every connection
  std::unique_ptr<net::NotifyQueue> notify_;
  std::unique_ptr<backend::Resolver> resolver_;  // after base_, and gone before it (after the groups that use it)
  // After base_ (its timers), and gone before it, after the connections
  // and groups that hold its exchanges and ops.
  std::unique_ptr<RequestRouter> router_;
  std::thread thread_;
  bool stopping_ = false;
  bool draining_ = false;
  bool accept_paused_ = false;  // pause_accepting: listeners not watched
  event* accept_retry_ = nullptr;
  std::function<void()> drain_done_;  // begin_drain's `done`, until it ran
  std::function<void(ConfigOffer)> config_offers_;  // set_config_offers

  std::vector<Worker*> peers_;
  std::vector<MetricsOwner*> peer_metrics_;  // the same, as stats gathering sees them
  std::shared_ptr<const Snapshot> snapshot_;
  std::vector<std::unique_ptr<ListenerSlot>> listeners_;
  std::unordered_map<ClientConnection*, std::unique_ptr<ClientConnection>> clients_;
  std::vector<std::unique_ptr<ClientConnection>> graveyard_;
  // By address, protocol, user, password, selected bucket, TLS.
  using GroupKey = std::tuple<std::string, protocol::Protocol, std::string, std::string, std::string, bool>;
  static GroupKey group_key(const BackendServer& server, protocol::Protocol protocol, const BackendAuth& auth) {
    return {server.address, protocol, auth.user, auth.password, auth.select_bucket, auth.tls};
  }
  std::map<GroupKey, std::unique_ptr<backend::ServerGroup>> groups_;
  std::set<std::string> down_at_peers_;  // servers another worker reported down, until it reports them back
  Metrics metrics_;
  // Clients paused for the total budget, in the order they paused, with the
  // id they had (a closed one is skipped: its pointer may be reused).
  std::deque<std::pair<ClientConnection*, uint64_t>> buffer_waiters_;
  event* buffer_timer_ = nullptr;
  size_t typical_reply_bytes_ = 0;
  uint64_t next_client_id_ = 0;  // client ids (not a metric: a reset must not reuse them)
};

}  // namespace moxi
