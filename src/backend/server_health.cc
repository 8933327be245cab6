#include "src/backend/server_health.h"

#include <algorithm>

namespace moxi::backend {

std::string_view health_name(Health h) {
  switch (h) {
    case Health::Healthy: return "healthy";
    case Health::Suspect: return "suspect";
    case Health::Down: return "down";
    case Health::Probing: return "probing";
  }
  return "unknown";
}

void ServerHealth::enter(Health next, uint64_t now_ms) {
  if (next == Health::Healthy) healthy_since_ms_ = now_ms;
  state_ = next;
  since_ms_ = now_ms;
}

uint64_t ServerHealth::probe_delay_ms() const {
  const uint32_t shift = std::min<uint32_t>(flaps_ == 0 ? 0 : flaps_ - 1, 20);
  const uint64_t delay = policy_.probe_interval_ms << shift;
  return policy_.retry_max_ms > 0 ? std::min(delay, std::max(policy_.retry_max_ms, policy_.probe_interval_ms))
                                  : delay;
}

void ServerHealth::go_down(uint64_t now_ms, bool own) {
  if (state_ != Health::Probing) {
    // A new outage. Soon after a recovery it is a flap: probe less often.
    const bool flapping = probation_ || (healthy_since_ms_ != 0 &&
                                         now_ms - healthy_since_ms_ < kFlapWindow * policy_.probe_interval_ms &&
                                         downs_ > 0);
    flaps_ = flapping ? flaps_ + 1 : 1;
    if (own) ++downs_;
  }
  probation_ = false;
  failures_ = 0;
  enter(Health::Down, now_ms);
  probe_at_ms_ = now_ms + probe_delay_ms();
}

bool ServerHealth::on_reply(uint64_t now_ms) {
  switch (state_) {
    case Health::Healthy:
      failures_ = 0;
      return false;
    case Health::Suspect:
      failures_ = 0;
      if (replies_needed_ > 1) {
        --replies_needed_;
        return false;
      }
      probation_ = false;
      enter(Health::Healthy, now_ms);
      return true;
    case Health::Probing:
    case Health::Down:  // a reply on a connection opened before it went down
      probation_ = true;
      failures_ = 0;
      replies_needed_ = std::max<uint32_t>(policy_.max_errors, 1);
      if (replies_needed_ <= 1) {
        probation_ = false;
        enter(Health::Healthy, now_ms);
      } else {
        --replies_needed_;
        enter(Health::Suspect, now_ms);
      }
      return true;
  }
  return false;
}

bool ServerHealth::on_failure(Failure kind, uint64_t now_ms) {
  if (state_ == Health::Down) return false;  // already known
  if (state_ == Health::Probing || probation_ || kind == Failure::Timeout) {
    go_down(now_ms);
    return true;
  }
  ++failures_;
  if (policy_.max_errors != 0 && failures_ >= policy_.max_errors) {
    go_down(now_ms);
    return true;
  }
  replies_needed_ = std::max<uint32_t>(policy_.max_errors, 1);
  if (state_ == Health::Healthy) {
    enter(Health::Suspect, now_ms);
    return true;
  }
  return false;
}

bool ServerHealth::on_peer_down(uint64_t now_ms) {
  if (state_ != Health::Healthy && state_ != Health::Suspect) return false;
  go_down(now_ms, false);
  return true;
}

bool ServerHealth::on_peer_recovery(uint64_t now_ms) {
  if (state_ != Health::Down) return false;
  probe_at_ms_ = now_ms;
  return true;
}

bool ServerHealth::start_probe(uint64_t now_ms) {
  if (state_ != Health::Down || now_ms < probe_at_ms_) return false;
  enter(Health::Probing, now_ms);
  return true;
}

}  // namespace moxi::backend
