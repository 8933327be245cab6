#include "src/core/worker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>
#include <utility>

#include "src/core/client_connection.h"
#include "src/core/fd_limit.h"
#include "src/util/log.h"
#include "src/backend/server_group.h"

namespace moxi {

Worker::Worker(int id, ProxySettings settings, SharedLimits& budget)
    : id_(id), settings_(std::move(settings)), budget_(budget), buffers_(budget.buffers), base_(event_base_new()),
      loop_(base_, buffers_, settings_.io_engine) {
  if (!base_) throw std::runtime_error("event_base_new failed");
  if (settings_.io_engine == net::Engine::Uring && loop_.engine() != net::Engine::Uring) {
    // Keyed: the workers failing together write one line between them.
    log::write_keyed(log::Level::Warning, "io_uring unavailable",
                     "-Z io_engine=uring: " + loop_.engine_error() + "; the workers run on epoll");
  }
  notify_ = std::make_unique<net::NotifyQueue>(base_);
  resolver_ = std::make_unique<backend::Resolver>(base_, settings_.dns_servers);
  router_ = std::make_unique<RequestRouter>(*this, base_, settings_, metrics_);
  accept_retry_ = evtimer_new(base_, &Worker::accept_retry_cb, this);
  buffer_timer_ = evtimer_new(base_, &Worker::buffer_timer_cb, this);
}

Worker::~Worker() {
  if (thread_.joinable()) {
    stop();
    join();
  }
  // Order matters: connections free their events before the base goes.
  graveyard_.clear();
  clients_.clear();
  groups_.clear();
  router_.reset();
  resolver_.reset();
  for (auto& slot : listeners_) {
    if (slot->ev) {
      unwatch(*slot);  // io_uring: an armed accept would hold the socket open
      event_free(slot->ev);
    }
    if (net::Uring* uring = loop_.uring()) uring->release(slot->uring_slot);
  }
  listeners_.clear();  // the last worker holding a shared socket closes it
  notify_.reset();
  event_free(accept_retry_);
  event_free(buffer_timer_);
  event_base_free(base_);
}

void Worker::start(std::shared_ptr<const Snapshot> snapshot, ListenFds listen_fds) {
  snapshot_ = std::move(snapshot);
  for (auto& [socket, port_index] : listen_fds) {
    auto slot = std::make_unique<ListenerSlot>(this, port_index, std::move(socket));
    slot->ev = event_new(base_, slot->socket->fd(), EV_READ | EV_PERSIST, &Worker::accept_cb, slot.get());
    if (!slot->ev) throw std::runtime_error("cannot watch a listening socket");
    if (net::Uring* uring = loop_.uring()) {
      slot->uring_slot = uring->acquire(slot.get());  // armed by the worker's thread (run)
    } else if (!watch(*slot)) {
      throw std::runtime_error("cannot watch a listening socket");
    }
    listeners_.push_back(std::move(slot));
  }
  thread_ = std::thread([this] { run(); });
}

void Worker::post(std::function<void()> task) { notify_->post(std::move(task)); }

void Worker::stop() {
  post([this] {
    stopping_ = true;
    for (auto& slot : listeners_)
      if (slot->ev) unwatch(*slot);
  });
}

bool Worker::watch(ListenerSlot& slot) {
  net::Uring* uring = loop_.uring();
  if (!uring) return event_add(slot.ev, nullptr) == 0;
  if (!slot.uring_armed) {
    slot.uring_armed = true;
    uring->arm_accept(slot.uring_slot, slot.socket->fd());
  }
  return true;
}

void Worker::unwatch(ListenerSlot& slot) {
  if (net::Uring* uring = loop_.uring()) {
    if (!slot.uring_armed) return;
    slot.uring_armed = false;
    uring->stop_accept(slot.uring_slot);
  } else {
    event_del(slot.ev);
  }
}

void Worker::accepted_by_uring(ListenerSlot& slot, int res, bool more) {
  // -ECANCELED ends an accept unwatch() stopped (a later one may be armed
  // already); any other end is the armed accept's own.
  if (!more && res != -ECANCELED) slot.uring_armed = false;
  if (res >= 0) {
    take(slot, res);  // also one accepted just before a stop: drained if we drain
  } else if (res != -ECANCELED) {
    const int err = -res;
    // As accept_some: a client that gave up is nothing wrong with us; any
    // other error (out of descriptors) pauses this worker's accepting.
    if (!(err == EAGAIN || err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM)) {
      pause_accepting(err);
      return;
    }
  }
  // Any error ends a multishot accept, and so can a full completion queue:
  // it is armed again while this worker accepts.
  if (!slot.uring_armed && res != -ECANCELED && slot.ev && !accept_paused_ && !stopping_ && !draining_) watch(slot);
}

void Worker::take(ListenerSlot& slot, int fd) {
  if (slot.socket && slot.socket->shared() && peers_.size() > 1) {
    hand_off(fd, slot.port_index, slot.tls);
  } else {
    on_accept(fd, slot.port_index, slot.tls);
  }
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

uint64_t Worker::now_ms() const {
  timeval tv;
  event_base_gettimeofday_cached(base_, &tv);
  return static_cast<uint64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000;
}

void Worker::run() {
  // An io_uring request belongs to the thread that submitted it (its
  // completions run as that thread's task work, and they are cancelled when
  // it exits): the accepts are the worker's, not the starting thread's.
  if (loop_.uring())
    for (auto& slot : listeners_) watch(*slot);
  while (!stopping_) {
    loop_.turn();
    graveyard_.clear();  // connections closed during the turn, now unreferenced
  }
}

void Worker::accept_cb(evutil_socket_t, short, void* arg) {
  auto* slot = static_cast<ListenerSlot*>(arg);
  slot->worker->accept_some(*slot);
}

void Worker::accept_some(ListenerSlot& slot) {
  // Take what is queued, bounded so that one busy port cannot starve the loop.
  for (int i = 0; i < 64; ++i) {
    const int fd = ::accept4(slot.socket->fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      take(slot, fd);
      if (accept_paused_ || !slot.ev) return;  // on_accept may have drained or paused us
      continue;
    }
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) return;
    // The client gave up before we took it: nothing is wrong with us.
    if (err == ECONNABORTED || err == EPROTO || err == EPERM) continue;
    // EMFILE/ENFILE above all, but any error that leaves the socket
    // readable would make the next loop turn fail the same way.
    pause_accepting(err);
    return;
  }
}

void Worker::hand_off(int fd, size_t port_index, bool tls) {
  Worker* target = peers_[budget_.next_worker.fetch_add(1, std::memory_order_relaxed) % peers_.size()];
  if (target == this) {
    on_accept(fd, port_index, tls);
    return;
  }
  // A target that drained already closes it at once (on_accept drains
  // it): to the client, a refusal, as a closed listener would have been.
  target->post([target, fd, port_index, tls] { target->on_accept(fd, port_index, tls); });
}

void Worker::pause_accepting(int err) {
  if (accept_paused_) return;
  accept_paused_ = true;
  for (auto& slot : listeners_)
    if (slot->ev) unwatch(*slot);
  metrics_.inc(Metric::client_accept_paused_total);
  // Keyed, so that the workers hitting it together write one line per
  // log_interval between them.
  if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
    log::write_keyed(log::Level::Warning, "accept: out of descriptors",
                     "worker " + std::to_string(id_) + ": cannot accept a client connection: " + std::strerror(err) +
                         " (descriptor limit " + std::to_string(descriptor_limit()) + ", " +
                         std::to_string(budget_.current.load(std::memory_order_relaxed)) +
                         " client connections open): not accepting until a descriptor is freed; raise the limit "
                         "(ulimit -n, LimitNOFILE=) or lower -c");
  } else {
    log::write_keyed(log::Level::Error, "accept failed",
                     "worker " + std::to_string(id_) + ": cannot accept a client connection: " + std::strerror(err) +
                         "; retrying in " + std::to_string(kAcceptRetryMs) + " ms");
  }
  const timeval tv{0, kAcceptRetryMs * 1000};
  evtimer_add(accept_retry_, &tv);
}

void Worker::resume_accepting() {
  if (!accept_paused_ || stopping_ || draining_) return;
  accept_paused_ = false;
  evtimer_del(accept_retry_);
  // Level-triggered: a connection that waited in the backlog is taken on
  // the next loop turn; if descriptors are still short, that accept pauses
  // us again (one failed accept per retry, not a busy loop).
  for (auto& slot : listeners_)
    if (slot->ev) watch(*slot);
}

void Worker::accept_retry_cb(evutil_socket_t, short, void* arg) { static_cast<Worker*>(arg)->resume_accepting(); }

void Worker::on_accept(int fd, size_t port_index, bool tls) {
  if (budget_.current.fetch_add(1, std::memory_order_relaxed) >= budget_.max) {
    budget_.current.fetch_sub(1, std::memory_order_relaxed);
    metrics_.inc(Metric::client_connections_rejected_total);
    // As memcached does: say why, then close (a TLS client could not read it).
    static const char kTooMany[] = "ERROR Too many open connections\r\n";
    if (!tls) {
      [[maybe_unused]] ssize_t n = ::send(fd, kTooMany, sizeof kTooMany - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    ::close(fd);
    return;
  }
  // Non-blocking already (accept4, or io_uring's accept with the same
  // flags); TCP_NODELAY and SO_KEEPALIVE come from the listening socket
  // (net::open_listeners).
  metrics_.inc(Metric::client_connections_total);
  metrics_.inc(Metric::client_connections_current);
  auto conn = std::make_unique<ClientConnection>(*this, fd, port_index, ++next_client_id_);
  ClientConnection* raw = conn.get();
  clients_.emplace(raw, std::move(conn));
  if (tls) raw->begin_tls(snapshot_->client_tls);
  if (log::enabled(log::Level::Trace))
    log::trace("worker " + std::to_string(id_) + ": client connection " +
               std::to_string(next_client_id_) + " accepted (" + std::to_string(clients_.size()) +
               " open)");
  if (draining_) raw->drain();
}

void Worker::begin_drain(std::function<void()> done) {
  draining_ = true;
  if (log::enabled(log::Level::Debug))
    log::debug("worker " + std::to_string(id_) + ": draining " + std::to_string(clients_.size()) + " client connections");
  evtimer_del(accept_retry_);
  for (auto& slot : listeners_) {
    if (!slot->ev) continue;
    // The kernel completed these handshakes: to the client they are
    // connected, so serve them rather than reset them with the socket.
    // (Of a shared socket, the other workers take their share the same way.)
    unwatch(*slot);  // io_uring: its accept ends now, or it would hold the socket open
    const int lfd = slot->socket->fd();
    for (;;) {
      const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) break;
      on_accept(fd, slot->port_index, slot->tls);
    }
    event_free(slot->ev);
    slot->ev = nullptr;
    slot->socket.reset();  // the last worker to let go closes it: new connections are refused
  }
  // io_uring: connections its accepts took before they ended are still
  // completions to reap; they are served and drained like the others.
  if (net::Uring* uring = loop_.uring()) uring->reap();
  // Set only now, so that a client closing while the queues are emptied
  // cannot report this worker drained before every listener is closed.
  drain_done_ = std::move(done);
  std::vector<ClientConnection*> open;
  for (const auto& [conn, owned] : clients_) open.push_back(conn);
  for (ClientConnection* conn : open)
    if (clients_.count(conn)) conn->drain();
  if (clients_.empty() && drain_done_) std::exchange(drain_done_, nullptr)();
}

void Worker::retire(ClientConnection* conn, size_t held) {
  auto it = clients_.find(conn);
  if (it == clients_.end()) return;
  if (held > 0) budget_.released_bytes.fetch_add(held, std::memory_order_relaxed);
  graveyard_.push_back(std::move(it->second));
  clients_.erase(it);
  metrics_.dec(Metric::client_connections_current);
  budget_.current.fetch_sub(1, std::memory_order_relaxed);
  // The connection's descriptor is closed by now (or at the end of this
  // loop turn, before the listeners are next polled).
  if (accept_paused_) resume_accepting();
  if (draining_ && clients_.empty() && drain_done_) std::exchange(drain_done_, nullptr)();
}

void Worker::wait_for_buffers(ClientConnection* conn) {
  buffer_waiters_.emplace_back(conn, conn->id());
  if (!evtimer_pending(buffer_timer_, nullptr)) {
    const timeval tv{0, kBufferRetryMs * 1000};
    evtimer_add(buffer_timer_, &tv);
  }
}

void Worker::buffer_timer_cb(evutil_socket_t, short, void* arg) { static_cast<Worker*>(arg)->resume_buffer_waiters(); }

void Worker::resume_buffer_waiters() {
  const uint64_t now = now_ms();
  // Taken out first: a resumed client may pause again and queue itself
  // behind the others (its turn came).
  std::deque<std::pair<ClientConnection*, uint64_t>> waiters;
  waiters.swap(buffer_waiters_);
  while (!waiters.empty()) {
    auto [conn, id] = waiters.front();
    auto it = clients_.find(conn);
    if (it == clients_.end() || conn->id() != id || !conn->waiting_for_buffers()) {
      waiters.pop_front();
      continue;
    }
    // Oldest first: while the budget is full nobody behind the front can
    // have waited longer than it.
    const bool full = buffers_.full();
    if (full && now - conn->buffer_wait_started_ms() < settings_.buffer_wait_ms) break;
    waiters.pop_front();
    conn->resume_after_buffer_wait(full);
  }
  // Those still waiting go before any that paused while we resumed.
  for (auto& w : buffer_waiters_) waiters.push_back(w);
  buffer_waiters_.swap(waiters);
  if (!buffer_waiters_.empty() && !evtimer_pending(buffer_timer_, nullptr)) {
    const timeval tv{0, kBufferRetryMs * 1000};
    evtimer_add(buffer_timer_, &tv);
  }
}

void Worker::install(std::shared_ptr<const Snapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  if (log::enabled(log::Level::Debug))
    log::debug("worker " + std::to_string(id_) + ": serving config generation " +
               std::to_string(snapshot_->generation));
  // Groups are keyed by server address, so servers that stay keep their
  // connections; the others close theirs as they become idle.
  std::set<GroupKey> wanted;
  for (const auto& binding : snapshot_->ports)
    for (const auto& bucket : binding.buckets)
      for (const auto& server : bucket->servers)
        wanted.insert(group_key(server, bucket->downstream_protocol, bucket->backend_auth));
  for (auto& [key, group] : groups_) group->set_retiring(wanted.count(key) == 0);
  router_->on_snapshot();
}

void Worker::answer_by_worker(Exchange* ex) {
  if (ex->request.op == protocol::Op::Stats) {
    answer_stats_proxy(ex);
    return;
  }
  if (ex->client) ex->client->answer_sasl(ex->request);  // Op::Sasl
  router_->finish(ex);
}

void Worker::deliver(Exchange* ex) {
  if (ex->client) {
    ex->client->on_exchange_complete(ex);
  } else {
    router_->exchanges().put(ex);
  }
}

backend::ServerGroup& Worker::server_group(const BackendServer& server, protocol::Protocol protocol, const BackendAuth& auth) {
  GroupKey key = group_key(server, protocol, auth);
  auto it = groups_.find(key);
  if (it == groups_.end()) {
    it = groups_.emplace(std::move(key), std::make_unique<backend::ServerGroup>(*this, server, protocol, auth)).first;
    if (down_at_peers_.count(server.address)) it->second->on_peer_down();
  }
  return *it->second;
}

void Worker::on_server_health(const std::string& address, bool down) {
  for (Worker* peer : peers_)
    if (peer != this) peer->post([peer, address, down] { peer->on_peer_server_health(address, down); });
}

void Worker::on_peer_server_health(const std::string& address, bool down) {
  // Remembered for groups made later (a worker makes a server's group on
  // its first request for it).
  if (down) {
    down_at_peers_.insert(address);
  } else {
    down_at_peers_.erase(address);
  }
  // Every group of that server (a gateway's buckets may each have one),
  // whatever protocol or login: the finding is about the server process.
  for (auto it = groups_.lower_bound(GroupKey{address, protocol::Protocol{}, {}, {}, {}, false});
       it != groups_.end() && std::get<0>(it->first) == address; ++it) {
    if (down) {
      it->second->on_peer_down();
    } else {
      it->second->on_peer_recovery();
    }
  }
}

}  // namespace moxi
