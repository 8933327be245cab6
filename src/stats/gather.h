// Summing metrics over workers through their notify queues, with no shared
// mutable state: the requester posts a copy request to every worker; each
// copies its own Metrics on its own thread and posts the copy back; the
// requester adds the copies on its thread and, once all arrived, calls
// `done` there.
//
// Thread contract: call gather_metrics() on the requester's thread; `post_back`
// must run a task on that same thread (Worker::post or App::post of the
// requester). `done` runs there, exactly once, after every worker answered.
// The workers must outlive the gather (App stops and joins all of them
// before destroying any).
#pragma once

#include <functional>
#include <vector>

#include "src/stats/metrics.h"

namespace moxi {

// A thread that owns a Metrics (a worker), as the gathering sees it: the
// stats layer knows nothing more of workers.
class MetricsOwner {
 public:
  // Thread-safe: runs `task` on the owner's thread.
  virtual void post(std::function<void()> task) = 0;
  // On the owner's thread: a copy of its metrics, and zeroing them.
  virtual Metrics metrics_copy() = 0;
  virtual void reset_metrics() = 0;

 protected:
  ~MetricsOwner() = default;
};

using PostBack = std::function<void(std::function<void()>)>;

void gather_metrics(const std::vector<MetricsOwner*>& owners, PostBack post_back,
                    std::function<void(Metrics&)> done);

// Asks every owner to zero its counters and histograms (asynchronous: each
// does it when it reads its queue).
void reset_metrics(const std::vector<MetricsOwner*>& owners);

}  // namespace moxi
