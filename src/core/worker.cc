#include "src/core/worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>
#include <stdexcept>
#include <utility>

#include "src/core/client_connection.h"
#include "src/core/log.h"
#include "src/upstream/server_group.h"

namespace moxi {

Worker::Worker(int id, ProxySettings settings, ConnectionBudget& budget)
    : id_(id), settings_(std::move(settings)), budget_(budget), base_(event_base_new()) {
  if (!base_) throw std::runtime_error("event_base_new failed");
  notify_ = std::make_unique<NotifyQueue>(base_);
  wait_timer_ = evtimer_new(base_, &Worker::wait_timer_cb, this);
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
  for (auto& slot : listeners_)
    if (slot->listener) evconnlistener_free(slot->listener);
  listeners_.clear();
  notify_.reset();
  event_free(wait_timer_);
  event_base_free(base_);
}

void Worker::start(std::shared_ptr<const Snapshot> snapshot, std::vector<std::pair<int, size_t>> listen_fds) {
  snapshot_ = std::move(snapshot);
  for (auto [fd, port_index] : listen_fds) {
    auto slot = std::make_unique<ListenerSlot>(ListenerSlot{this, port_index, nullptr});
    slot->listener = evconnlistener_new(base_, &Worker::accept_cb, slot.get(), LEV_OPT_CLOSE_ON_FREE, -1, fd);
    if (!slot->listener) throw std::runtime_error("evconnlistener_new failed");
    listeners_.push_back(std::move(slot));
  }
  thread_ = std::thread([this] { run(); });
}

void Worker::post(std::function<void()> task) { notify_->post(std::move(task)); }

void Worker::stop() {
  post([this] {
    stopping_ = true;
    for (auto& slot : listeners_)
      if (slot->listener) evconnlistener_disable(slot->listener);
  });
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
  // One loop turn runs every ready callback, then writes what they produced:
  // many replies (or backend requests) leave in one write per connection.
  while (!stopping_) {
    event_base_loop(base_, EVLOOP_ONCE);
    flush_dirty();
  }
}

void Worker::flush_dirty() {
  // flush() may make other connections dirty (a drained client resumes and
  // sends to a backend), so iterate by index over a growing list.
  for (size_t i = 0; i < dirty_.size(); ++i) {
    StreamConnection* conn = dirty_[i];
    conn->clear_dirty();
    conn->flush();
  }
  dirty_.clear();
  graveyard_.clear();
}

void Worker::accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* arg) {
  auto* slot = static_cast<ListenerSlot*>(arg);
  slot->worker->on_accept(fd, slot->port_index);
}

void Worker::on_accept(int fd, size_t port_index) {
  if (budget_.current.fetch_add(1, std::memory_order_relaxed) >= budget_.max) {
    budget_.current.fetch_sub(1, std::memory_order_relaxed);
    metrics_.inc(Metric::client_connections_rejected_total);
    // As memcached does: say why, then close.
    static const char kTooMany[] = "ERROR Too many open connections\r\n";
    [[maybe_unused]] ssize_t n = ::send(fd, kTooMany, sizeof kTooMany - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    ::close(fd);
    return;
  }
  evutil_make_socket_nonblocking(fd);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  metrics_.inc(Metric::client_connections_total);
  metrics_.inc(Metric::client_connections_current);
  auto conn = std::make_unique<ClientConnection>(*this, fd, port_index, ++next_client_id_);
  ClientConnection* raw = conn.get();
  clients_.emplace(raw, std::move(conn));
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
  for (auto& slot : listeners_) {
    if (!slot->listener) continue;
    // The kernel completed these handshakes: to the client they are
    // connected, so serve them rather than reset them with the socket.
    const int lfd = evconnlistener_get_fd(slot->listener);
    for (;;) {
      const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) break;
      on_accept(fd, slot->port_index);
    }
    evconnlistener_free(slot->listener);  // LEV_OPT_CLOSE_ON_FREE: closes the socket
    slot->listener = nullptr;
  }
  // Set only now, so that a client closing while the queues are emptied
  // cannot report this worker drained before every listener is closed.
  drain_done_ = std::move(done);
  std::vector<ClientConnection*> open;
  for (const auto& [conn, owned] : clients_) open.push_back(conn);
  for (ClientConnection* conn : open)
    if (clients_.count(conn)) conn->drain();
  if (clients_.empty() && drain_done_) std::exchange(drain_done_, nullptr)();
}

void Worker::retire(ClientConnection* conn) {
  auto it = clients_.find(conn);
  if (it == clients_.end()) return;
  if (const size_t held = conn->buffered_bytes(); held > 0)
    budget_.released_bytes.fetch_add(held, std::memory_order_relaxed);
  graveyard_.push_back(std::move(it->second));
  clients_.erase(it);
  metrics_.dec(Metric::client_connections_current);
  budget_.current.fetch_sub(1, std::memory_order_relaxed);
  if (draining_ && clients_.empty() && drain_done_) std::exchange(drain_done_, nullptr)();
}

void Worker::install(std::shared_ptr<const Snapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  if (log::enabled(log::Level::Debug))
    log::debug("worker " + std::to_string(id_) + ": serving config generation " +
               std::to_string(snapshot_->generation));
  // Groups are keyed by server address, so servers that stay keep their
  // connections; the others close theirs as they become idle.
  std::set<std::pair<std::string, protocol::Protocol>> wanted;
  for (const auto& binding : snapshot_->ports)
    if (binding.bucket)
      for (const auto& server : binding.bucket->servers) wanted.emplace(server.address, binding.bucket->downstream_protocol);
  for (auto& [key, group] : groups_) group->set_retiring(wanted.count(key) == 0);
  std::vector<const Bucket*> stale;
  for (const auto& [bucket, state] : buckets_)
    if (!in_snapshot(bucket)) stale.push_back(bucket);
  for (const Bucket* bucket : stale) drop_if_retired(bucket);
}

ServerGroup& Worker::server_group(const BackendServer& server, protocol::Protocol protocol) {
  auto key = std::make_pair(server.address, protocol);
  auto it = groups_.find(key);
  if (it == groups_.end()) it = groups_.emplace(key, std::make_unique<ServerGroup>(*this, server, protocol)).first;
  return *it->second;
}

}  // namespace moxi
