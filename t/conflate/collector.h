// Collector: records what a source delivers and reports, and lets a test
// wait for it. Waits are on a condition variable with a deadline; the
// deadline only bounds a failure, it never paces the test.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "conflate/config_source.h"
#include "t/support/deadline.h"

namespace moxi::conflate::test {

class Collector {
 public:
  UpdateCallback on_update() {
    return [this](ConfigUpdate update) {
      std::lock_guard lock(mutex_);
      thread_ = ::gettid();
      updates_.push_back(std::move(update));
      changed_.notify_all();
    };
  }
  StatusCallback on_status() {
    return [this](const SourceStatus& status) {
      std::lock_guard lock(mutex_);
      thread_ = ::gettid();
      statuses_.push_back(status);
      changed_.notify_all();
    };
  }

  // True once at least `n` updates arrived; false at the deadline.
  bool wait_updates(std::size_t n, moxi::test::Deadline deadline = std::chrono::seconds(5)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, deadline.when(), [&] { return updates_.size() >= n; });
  }

  // True once a status of `kind` arrived; false at the deadline.
  bool wait_status(SourceStatus::Kind kind, moxi::test::Deadline deadline = std::chrono::seconds(5)) {
    return wait_for([&] { return count_locked(kind) > 0; }, deadline);
  }

  // Waits for any condition on the recorded data (checked under the lock).
  bool wait_for(const std::function<bool()>& done, moxi::test::Deadline deadline = std::chrono::seconds(5)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, deadline.when(), done);
  }

  std::vector<ConfigUpdate> updates() const {
    std::lock_guard lock(mutex_);
    return updates_;
  }
  std::vector<SourceStatus> statuses() const {
    std::lock_guard lock(mutex_);
    return statuses_;
  }
  std::vector<SourceStatus> statuses(SourceStatus::Kind kind) const {
    std::lock_guard lock(mutex_);
    std::vector<SourceStatus> out;
    for (const auto& s : statuses_)
      if (s.kind == kind) out.push_back(s);
    return out;
  }
  std::size_t count(SourceStatus::Kind kind) const {
    std::lock_guard lock(mutex_);
    return count_locked(kind);
  }
  // The kernel thread id that ran the last callback (the source's thread).
  pid_t callback_thread() const {
    std::lock_guard lock(mutex_);
    return thread_;
  }

  // Every status, one per line, for assertion messages.
  std::string log() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& s : statuses_) out += std::string(to_string(s.kind)) + ": " + s.message + "\n";
    return out;
  }

 private:
  std::size_t count_locked(SourceStatus::Kind kind) const {
    std::size_t n = 0;
    for (const auto& s : statuses_) n += s.kind == kind;
    return n;
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<ConfigUpdate> updates_;
  std::vector<SourceStatus> statuses_;
  pid_t thread_ = 0;
};

}  // namespace moxi::conflate::test
