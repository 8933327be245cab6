// What a down server means in a memcached (ketama) pool: -Z down_policy.
//
//   fail                       every pool: the server's keys fail at once (the default)
//   eject                      every pool: the server leaves the ring while it is down
//   PORT:POLICY|PORT:POLICY    per pool, by the port it is served on; pools not
//                              named fail
//
// vBucket buckets never rehash, whatever the policy (the cluster moves
// vBuckets through its maps).
//
// Pure: parsing and lookup only. Thread: a value, read-only once built.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moxi {

struct DownPolicy {
  bool eject_all = false;
  std::vector<int> eject_ports;  // with eject_all false: the pools that eject, by port

  bool ejects(int port) const;
};

// Parses `text` into `out`; an error message naming the bad item, else nullopt.
std::optional<std::string> parse_down_policy(std::string_view text, DownPolicy& out);

}  // namespace moxi
