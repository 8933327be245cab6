// A FIFO queue on a std::vector: nothing allocated until the first push,
// and the storage is reused once it has grown (std::deque allocates a 512-byte
// block and its map on construction, and frees and reallocates blocks as a
// queue drains and refills). Meant for short queues of small values, such as
// a connection's requests in flight (bounded by max_client_inflight).
//
// Thread contract: none of its own; owned by one thread like its owner.
#pragma once

#include <cstddef>
#include <vector>

namespace moxi {

template <typename T>
class Fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  T& front() { return items_[head_]; }
  void push_back(T v) {
    if (head_ > 0 && head_ == items_.size()) {
      items_.clear();  // drained: start over at the front, keeping the capacity
      head_ = 0;
    } else if (head_ >= 32 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));  // compact
      head_ = 0;
    }
    items_.push_back(std::move(v));
  }
  void pop_front() {
    if (++head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    }
  }
  auto begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() { return items_.end(); }

 private:
  std::vector<T> items_;
  size_t head_ = 0;
};

}  // namespace moxi
