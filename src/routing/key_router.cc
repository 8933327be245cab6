#include "src/routing/key_router.h"

namespace moxi::routing {

LiveRing build_live_ring(const vbucket::Config& config, const std::vector<bool>& ejected) {
  LiveRing live;
  std::vector<vbucket::KetamaRing::Member> members;
  const auto& servers = config.servers();
  for (size_t i = 0; i < servers.size(); ++i) {
    if (i < ejected.size() && ejected[i]) continue;
    members.push_back({servers[i].host, servers[i].port, servers[i].weight});
    live.servers.push_back(static_cast<int>(i));
  }
  if (members.size() == servers.size() || members.empty()) {
    live.servers.clear();
    return live;
  }
  auto ring = vbucket::KetamaRing::build(members);
  if (ring) {
    live.ring = std::move(ring).value();
  } else {
    live.servers.clear();
    live.error = ring.error();
  }
  return live;
}

int KeyRouter::server_for(std::string_view key, uint16_t* vbucket) const {
  if (view_) {
    const int vb = config_.vbucket_for_key(key);
    *vbucket = static_cast<uint16_t>(vb);
    return view_->master(vb);
  }
  if (!live_) return config_.server_for_key(key);
  const int member = live_->ring->server_for_key(key);
  return member >= 0 && static_cast<size_t>(member) < live_->servers.size() ? live_->servers[static_cast<size_t>(member)]
                                                                            : -1;
}

int next_replica(const vbucket::Config& config, int vb, int after, bool after_is_replica,
                 const std::function<bool(int server)>& down) {
  int r = 0;
  if (after_is_replica) {
    while (r < config.num_replicas() && config.replica(vb, r) != after) ++r;
    ++r;
  }
  for (; r < config.num_replicas(); ++r) {
    const int s = config.replica(vb, r);
    if (s >= 0 && s != after && s < config.num_servers() && !down(s)) return s;
  }
  return -1;
}

int nmv_next_server(vbucket::VBucketView& view, int node_master, int refused_by, int vb, size_t servers) {
  int next = node_master >= 0 ? node_master : view.master(vb);
  if (next == refused_by) next = view.found_incorrect_master(vb, refused_by);
  return next >= 0 && static_cast<size_t>(next) < servers ? next : -1;
}

}  // namespace moxi::routing
