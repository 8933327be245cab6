// The health of one backend server as one worker sees it: a state machine
// fed by what its connections observe (replies, connect failures, closed
// connections, garbage, refused logins, timeouts) and by active probes, so
// that a dead or stalled server is found once, then refuses requests at
// once instead of making each request pay the timeout, and is found again
// within a probe interval of its return.
//
//   Healthy  --failure-->                      Suspect
//   Suspect  --max_errors failures in a row--> Down
//   Healthy/Suspect --timeout-->               Down   (a server silent for downstream_timeout
//                                                      is stalled: waiting again costs every request;
//                                                      one still sending is busy, a plain failure)
//   Suspect  --max_errors replies in a row-->  Healthy
//   Down     --probe due-->                    Probing (the caller sends one probe)
//   Probing  --reply-->                        Suspect, on probation: max_errors replies make it
//                                              Healthy, one failure makes it Down again
//   Probing  --failure-->                      Down
//   Healthy/Suspect --a peer took it down-->   Down   (not counted as this worker's outage)
//   Down     --a peer found it answering-->    probe due at once
//
// Hysteresis: one failure never takes a healthy server down (unless it is a
// timeout), and a server coming back must answer max_errors times before it
// is healthy. Flapping is damped: each time a server goes down again soon
// after it came back (within kFlapWindow probe intervals of being healthy),
// its probe interval doubles, up to retry_max_ms; a long outage keeps the
// base interval, so a returning server is found within one interval
// however long it was away.
//
// Pure: no I/O; times are passed in (milliseconds of a monotonic clock).
// Thread: its worker's.
#pragma once

#include <cstdint>
#include <string_view>

namespace moxi::backend {

// In order of severity (backend_health reports the number).
enum class Health : uint8_t { Healthy, Suspect, Probing, Down };
std::string_view health_name(Health h);

struct HealthPolicy {
  uint32_t max_errors = 5;          // connect_max_errors; 0 = failures never take it down (timeouts still do)
  uint64_t probe_interval_ms = 1000;  // probe_interval: how often a down server is probed
  uint64_t retry_max_ms = 30000;    // connect_retry_interval: the longest a flapping server waits for a probe
};

class ServerHealth {
 public:
  // Timeout: the server sent nothing for the timeout (stalled); Slow: a
  // request timed out while the server kept sending (queued behind big
  // replies), counted like the others.
  enum class Failure : uint8_t { Connect, Closed, Garbage, Auth, Timeout, Slow };
  static constexpr uint32_t kFlapWindow = 10;  // probe intervals of health that forgive earlier flaps

  // `now_ms`: when the server's healthy state began (its first use).
  explicit ServerHealth(HealthPolicy policy = {}, uint64_t now_ms = 0)
      : policy_(policy), since_ms_(now_ms), healthy_since_ms_(now_ms) {}

  // Each returns true when the state changed.
  bool on_reply(uint64_t now_ms);
  bool on_failure(Failure kind, uint64_t now_ms);
  // Down and the probe is due: the state is Probing from now; the caller
  // sends the probe.
  bool start_probe(uint64_t now_ms);
  // What another worker found (workers share what they learn through their
  // notify queues, so a dead server costs one timeout, not one per worker).
  // A peer took the server down: a Healthy or Suspect server goes Down here
  // too (not counted in downs(): the outage is the peer's finding). Changes
  // nothing in any other state.
  bool on_peer_down(uint64_t now_ms);
  // A peer found it answering: a Down server is probed at once.
  bool on_peer_recovery(uint64_t now_ms);

  // Requests fail at once (Down or Probing): they would only wait or fail.
  bool refuses() const { return state_ == Health::Down || state_ == Health::Probing; }
  // When the next probe is due (Down only).
  uint64_t probe_at_ms() const { return probe_at_ms_; }
  uint64_t probe_delay_ms() const;

  Health state() const { return state_; }
  // Answering again after an outage, but not Healthy yet.
  bool on_probation() const { return probation_; }
  uint64_t since_ms() const { return since_ms_; }
  uint64_t downs() const { return downs_; }  // times it went down (not counting failed probes)

 private:
  void enter(Health next, uint64_t now_ms);
  void go_down(uint64_t now_ms, bool own = true);

  HealthPolicy policy_;
  Health state_ = Health::Healthy;
  uint64_t since_ms_ = 0;
  uint32_t failures_ = 0;     // in a row
  uint32_t replies_needed_ = 0;  // Suspect: replies in a row still needed to be Healthy
  uint32_t flaps_ = 0;        // downs soon after a recovery, for the probe back-off
  uint64_t healthy_since_ms_ = 0;
  uint64_t probe_at_ms_ = 0;
  uint64_t downs_ = 0;
  bool probation_ = false;    // came back from Down and not Healthy yet
};

}  // namespace moxi::backend
