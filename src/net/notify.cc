#include "src/net/notify.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

namespace moxi::net {

NotifyQueue::NotifyQueue(event_base* base) : efd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (efd_ < 0) throw std::runtime_error("eventfd failed");
  ev_ = event_new(base, efd_, EV_READ | EV_PERSIST, &NotifyQueue::on_event, this);
  event_add(ev_, nullptr);
}

NotifyQueue::~NotifyQueue() {
  event_free(ev_);
  ::close(efd_);
}

void NotifyQueue::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  uint64_t one = 1;
  // A full counter cannot happen (it saturates at 2^64-2); a failed write
  // still leaves the task queued for the next wake-up.
  [[maybe_unused]] ssize_t n = ::write(efd_, &one, sizeof one);
}

void NotifyQueue::on_event(evutil_socket_t fd, short, void* arg) {
  auto* self = static_cast<NotifyQueue*>(arg);
  uint64_t count;
  [[maybe_unused]] ssize_t n = ::read(fd, &count, sizeof count);
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    tasks.swap(self->tasks_);
  }
  for (auto& task : tasks) task();
}

}  // namespace moxi::net
