// ConfigFollower: follows a cluster's config from its config URLs (the
// streaming REST API, data nodes asked with GET_CLUSTER_CONFIG, or both;
// url_source_options.h) and hot-swaps each validated map into the workers.
// Where several sources speak of a bucket, the newer revision wins.
//
// Threads: the conflate source calls back on its own thread; the follower
// posts each update to the App's main thread, which builds the complete new
// snapshot (resolving server names) and only then publishes it, so a map
// that cannot be built changes nothing. Workers switch through their notify
// queues. start()/stop() belong to the main thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "conflate/config_source.h"
#include "src/core/app.h"
#include "src/core/config_offer.h"
#include "src/config/options.h"
#include "src/core/served_buckets.h"

namespace moxi {

class ConfigFollower {
 public:
  // `port_index` is the snapshot port (port_listen) that serves every
  // bucket of the followed document (one, or a gateway's several).
  ConfigFollower(App& app, const UrlSource& source, const Behaviors& behaviors, size_t port_index);
  ~ConfigFollower();
  ConfigFollower(const ConfigFollower&) = delete;
  ConfigFollower& operator=(const ConfigFollower&) = delete;

  void start();
  void stop();

  // Main thread (SIGHUP reload): follows `source` from now on (another URL
  // list, other credentials): the stream restarts; what the old one still
  // delivers is dropped.
  void replace_source(const UrlSource& source, const Behaviors& behaviors);
  // Main thread: a config of one of its buckets that a data node sent in a
  // NOT_MY_VBUCKET or GET_CLUSTER_CONFIG reply. Validated like a streamed
  // one and applied by the same rules (only if newer than the one served;
  // one without a revision is ignored, since nothing orders it against the
  // stream).
  void offer(const ConfigOffer& offer);
  // Main thread: the rules maps are served with from now on.
  void set_rules(BucketRules rules) { rules_ = std::move(rules); }
  const BucketRules& rules() const { return rules_; }
  // The last document applied; null before the first.
  const conflate::ConfigUpdate* last_update() const { return last_.get(); }
  size_t port_index() const { return port_index_; }

 private:
  std::vector<std::unique_ptr<conflate::ConfigSource>> make_sources(const UrlSource& source, const Behaviors& behaviors);
  // Main thread.
  void apply(std::shared_ptr<const conflate::ConfigUpdate> update, std::chrono::steady_clock::time_point arrived);
  void report(const conflate::SourceStatus& status);

  App& app_;
  size_t port_index_;
  BucketRules rules_;
  vbucket::Network network_;  // -Z network: which addresses offered terse configs name
  std::vector<std::unique_ptr<conflate::ConfigSource>> sources_;  // REST, data nodes, or both
  uint64_t source_epoch_ = 0;  // which source a posted update came from (replace_source counts up)
  std::shared_ptr<const conflate::ConfigUpdate> last_;
  std::map<std::string, vbucket::Revision> stale_logged_;  // by bucket: the revision served when we last said so
};

}  // namespace moxi
