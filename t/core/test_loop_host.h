// TestLoopHost: the part of a BackendHost the core tests play themselves
// (backend_pool_test.cc, request_router_test.cc): an event base whose turns
// a 10 ms tick bounds (so that a test pumping the loop looks at its
// deadline; the events under test come from sockets and the groups' own
// timers), a loop on it, a resolver with the system's servers, the metrics
// and the monotonic clock. A subclass says what becomes of the ops handed
// back, and destroys what uses the loop (its groups) in its own destructor.
//
// Thread contract: the test's thread only.
#pragma once

#include <event2/event.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "src/backend/backend_host.h"
#include "src/backend/resolver.h"
#include "src/net/buffer_budget.h"
#include "src/net/loop.h"
#include "src/stats/metrics.h"
#include "src/util/clock.h"

namespace moxi::test {

class TestLoopHost : public backend::BackendHost {
 public:
  explicit TestLoopHost(std::string name)
      : name_(std::move(name)),
        base_(event_base_new()),
        account_(budget_),
        loop_(base_, account_),
        resolver_(std::make_unique<backend::Resolver>(base_, std::vector<std::string>{})) {
    tick_ = event_new(base_, -1, EV_PERSIST, [](evutil_socket_t, short, void*) {}, nullptr);
    timeval tv{0, 10 * 1000};
    event_add(tick_, &tv);
  }
  ~TestLoopHost() override {
    resolver_.reset();
    event_free(tick_);
    event_base_free(base_);
  }
  TestLoopHost(const TestLoopHost&) = delete;
  TestLoopHost& operator=(const TestLoopHost&) = delete;

  net::Loop& loop() override { return loop_; }
  uint64_t now_ms() const override { return monotonic_us() / 1000; }
  backend::Resolver& resolver() override { return *resolver_; }
  Metrics& metrics() override { return metrics_; }
  std::shared_ptr<const tls::Context> backend_tls() const override { return nullptr; }
  std::string name() const override { return name_; }
  event_base* base() const { return base_; }

 protected:
  Metrics metrics_;

 private:
  std::string name_;
  event_base* base_;
  net::BufferBudget budget_;
  net::BufferAccount account_;
  net::Loop loop_;
  std::unique_ptr<backend::Resolver> resolver_;
  event* tick_ = nullptr;
};

}  // namespace moxi::test
