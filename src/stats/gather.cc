#include "src/stats/gather.h"

#include <memory>

namespace moxi {

void gather_metrics(const std::vector<MetricsOwner*>& workers, PostBack post_back,
                    std::function<void(Metrics&)> done) {
  // Owned jointly by the posted tasks; touched only on the requester's thread.
  struct Sum {
    Metrics total;
    size_t remaining;
    std::function<void(Metrics&)> done;
  };
  auto sum = std::make_shared<Sum>(Sum{Metrics{}, workers.size(), std::move(done)});
  if (workers.empty()) {
    post_back([sum] { sum->done(sum->total); });
    return;
  }
  for (MetricsOwner* worker : workers) {
    worker->post([worker, sum, post_back] {
      auto copy = std::make_shared<const Metrics>(worker->metrics_copy());
      post_back([sum, copy] {
        sum->total += *copy;
        if (--sum->remaining == 0) sum->done(sum->total);
      });
    });
  }
}

void reset_metrics(const std::vector<MetricsOwner*>& workers) {
  for (MetricsOwner* worker : workers) worker->post([worker] { worker->reset_metrics(); });
}

}  // namespace moxi
