#include "src/core/config_follower.h"

#include <atomic>
#include <chrono>
#include <cstdio>

#include "vbucket/document_parse.h"
#include "conflate/http_stream_source.h"
#include "src/config/url_source_options.h"
#include "src/util/log.h"

namespace moxi {

ConfigFollower::ConfigFollower(App& app, const UrlSource& source, const Behaviors& behaviors, size_t port_index)
    : app_(app),
      port_index_(port_index),
      rules_(bucket_rules(behaviors).for_port(behaviors.port_listen)),
      network_(config_network(behaviors)) {
  sources_ = make_sources(source, behaviors);
}

std::vector<std::unique_ptr<conflate::ConfigSource>> ConfigFollower::make_sources(const UrlSource& source,
                                                                                  const Behaviors& behaviors) {
  const uint64_t epoch = source_epoch_;
  return conflate::make_sources(
      source, behaviors,
      [this, epoch](conflate::ConfigUpdate update) {
        // Source thread: hand over and return.
        auto shared = std::make_shared<const conflate::ConfigUpdate>(std::move(update));
        const auto arrived = std::chrono::steady_clock::now();
        app_.post([this, shared, arrived, epoch] {
          if (epoch == source_epoch_) apply(shared, arrived);
        });
      },
      [this, epoch](const conflate::SourceStatus& status) {
        app_.post([this, status, epoch] {
          if (epoch == source_epoch_) report(status);
        });
      });
}

void ConfigFollower::replace_source(const UrlSource& source, const Behaviors& behaviors) {
  stop();
  ++source_epoch_;
  sources_ = make_sources(source, behaviors);
  start();
}

ConfigFollower::~ConfigFollower() { stop(); }

void ConfigFollower::start() {
  for (auto& source : sources_) source->start();
}

void ConfigFollower::stop() {
  for (auto& source : sources_) source->stop();
}

void ConfigFollower::offer(const ConfigOffer& offer) {
  if (!last_) return;  // nothing followed yet: the stream's first map decides
  auto parsed = vbucket::parse_document(offer.document, {offer.peer, network_});
  if (!parsed || parsed.value().buckets.size() != 1) {
    log::warning("config in " + offer.source + " for bucket " + offer.bucket + " is not a bucket config: " +
                 (parsed ? std::string("it lists several buckets") : parsed.error()));
    return;
  }
  vbucket::NamedConfig arrived = std::move(parsed).value().buckets.front();
  if (!arrived.config->revision()) {
    if (log::enabled(log::Level::Debug)) log::debug("config in " + offer.source + " has no revision: ignored");
    return;
  }
  // The other buckets stay as they are: the offer replaces its own alone.
  auto update = std::make_shared<conflate::ConfigUpdate>(*last_);
  update->source = offer.source;
  update->from_cache = false;
  bool known = false;
  for (vbucket::NamedConfig& b : update->buckets) {
    if (b.name != offer.bucket) continue;
    b.config = arrived.config;
    known = true;
  }
  if (!known) return;
  apply(std::move(update), std::chrono::steady_clock::now());
}

void ConfigFollower::report(const conflate::SourceStatus& status) {
  using Kind = conflate::SourceStatus::Kind;
  // Problems are always worth a line; the happy path only when asked.
  const std::string line = "config " + std::string(conflate::to_string(status.kind)) + ": " + status.message;
  log::write(status.kind == Kind::connected || status.kind == Kind::using_cache ? log::Level::Info : log::Level::Warning,
             line);
}

namespace {

// `buckets` are the same buckets, with the same texts, as `port` serves now.
bool same_buckets(const PortBinding& port, const std::vector<vbucket::NamedConfig>& buckets) {
  if (port.buckets.size() != buckets.size()) return false;
  for (size_t i = 0; i < buckets.size(); ++i) {
    const Bucket& old = *port.buckets[i];
    if (old.name != buckets[i].name || !old.config->same_document(buckets[i].config->document())) return false;
  }
  return true;
}

std::string describe(const Bucket& b) {
  return "bucket " + b.name + ", " + std::to_string(b.config->num_servers()) + " servers, " +
         (b.vbucket_routing() ? std::to_string(b.config->num_vbuckets()) + " vBuckets" : std::string("ketama"));
}

}  // namespace

void ConfigFollower::apply(std::shared_ptr<const conflate::ConfigUpdate> shared,
                           std::chrono::steady_clock::time_point arrived) {
  const conflate::ConfigUpdate& update = *shared;
  const std::shared_ptr<const Snapshot>& current = app_.current();
  if (update.buckets.empty()) {
    log::warning("config from " + update.source + " has no bucket; keeping generation " +
                 std::to_string(current->generation));
    return;
  }
  if (log::enabled(log::Level::Debug))
    log::debug("config document from " + update.source + ": " + std::to_string(update.document.size()) + " bytes");
  // Revisions: a bucket whose arriving config is not newer than the one
  // served (by revEpoch, then rev) keeps the one served; configs without a
  // rev are applied as they come.
  const PortBinding& port = current->ports[port_index_];
  std::vector<vbucket::NamedConfig> buckets = update.buckets;
  for (vbucket::NamedConfig& b : buckets) {
    const auto* served = port.find(b.name);
    if (!served) continue;
    const auto& in_force = (*served)->config->revision();
    const auto order = vbucket::order_of(b.config->revision(), in_force);
    if (order != vbucket::RevisionOrder::Older && order != vbucket::RevisionOrder::Same) continue;
    if (order == vbucket::RevisionOrder::Older && !b.config->same_document((*served)->config->document())) {
      app_.count_stale_config();
      // Once per revision served: a lagging node may repeat itself.
      const std::string line = "config from " + update.source + " for bucket " + b.name + " is older (" +
                               vbucket::to_string(*b.config->revision()) + ") than the one served (" +
                               vbucket::to_string(*in_force) + "): ignored";
      if (stale_logged_[b.name] != *in_force) {
        stale_logged_[b.name] = *in_force;
        log::warning(line);
      } else if (log::enabled(log::Level::Debug)) {
        log::debug(line);
      }
    }
    b.config = (*served)->config;
  }
  if (same_buckets(port, buckets)) return;
  // What is served from now on (a SIGHUP rebuilds from it): the buckets
  // kept for their revisions included.
  auto applied = std::make_shared<conflate::ConfigUpdate>(update);
  applied->buckets = buckets;
  last_ = std::move(applied);
  // Build the whole snapshot first; workers see it only once it is complete.
  ServedBuckets served = serve_buckets(buckets, update.bucket_list, MapSource::ClusterManager, rules_, &port);
  std::string what;
  if (served.buckets.size() == 1 && !update.bucket_list) {
    what = describe(*served.buckets.front());
  } else {
    what = std::to_string(served.buckets.size()) + " buckets:";
    for (const auto& b : served.buckets) what += " " + b->name;
    what += "; new connections start on " + (served.start ? "bucket " + served.start->name : std::string("no bucket"));
  }
  SnapshotBuilder builder(*current);
  builder.set_source(update.source);
  builder.set_buckets(port_index_, std::move(served.buckets), std::move(served.start));
  std::shared_ptr<const Snapshot> next = builder.build();
  log::info("config generation " + std::to_string(next->generation) + " from " + update.source +
            (update.from_cache ? " (cached copy)" : "") + ": " + what);
  // The last worker to switch reports how long the swap took, from the
  // document's arrival to every worker serving it.
  const uint64_t generation = next->generation;
  auto remaining = std::make_shared<std::atomic<size_t>>(app_.worker_count());
  app_.publish(std::move(next), [remaining, arrived, generation] {
    if (remaining->fetch_sub(1) != 1 || !log::enabled(log::Level::Info)) return;
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - arrived).count();
    char line[128];
    std::snprintf(line, sizeof line, "config generation %llu live on every worker %.3f ms after it arrived",
                  static_cast<unsigned long long>(generation), static_cast<double>(us) / 1000.0);
    log::info(line);
  });
}

}  // namespace moxi
