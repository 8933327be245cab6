// NotifyQueue: the one channel by which other threads hand work to a worker
// (config swaps, shutdown). Posting takes a mutex and writes an eventfd; the
// worker runs the tasks on its own thread. Nothing on the request path uses it.
#pragma once

#include <event2/event.h>

#include <functional>
#include <mutex>
#include <vector>

namespace moxi::net {

class NotifyQueue {
 public:
  explicit NotifyQueue(event_base* base);
  ~NotifyQueue();
  NotifyQueue(const NotifyQueue&) = delete;
  NotifyQueue& operator=(const NotifyQueue&) = delete;

  // Thread-safe: runs `task` on the owning worker's thread, in posting order.
  void post(std::function<void()> task);

 private:
  static void on_event(evutil_socket_t fd, short, void* arg);

  int efd_;
  event* ev_;
  std::mutex mutex_;
  std::vector<std::function<void()>> tasks_;
};

}  // namespace moxi::net
