// Merging broadcast answers (flush_all, stats) from several servers into the
// one reply a client gets.
#pragma once

#include <cstddef>
#include <string_view>

#include "src/protocol/request.h"

namespace moxi::protocol {

// How one stat of several servers becomes one value.
enum class MergeRule : uint8_t {
  Sum,   // counters and gauges that add up (the default for numbers)
  Max,   // clocks and "worst case" levels: uptime, time, age, hash_power_level
  Min,   // all-or-nothing flags: accepting_conns is 1 only when every server accepts
  Same,  // settings and identities: the value when every server agrees, else "mixed"
};

// The rule for stat `name` of the stats group `group` ("" for plain
// "stats"). Every field of "stats settings" is a setting (Same); otherwise
// the table in stats_merge.cc is looked up by the part of the name after its
// last ':' (so "items:1:age" merges like "age"), and a name it does not list
// is summed. Non-numeric values of Sum/Max/Min stats merge as Same.
MergeRule merge_rule(std::string_view group, std::string_view name);

// Adds one (name, value) pair reported by a server to request.stats, merging
// it with the pair of the same name reported earlier by another server by
// merge_rule(request.stats_args, name). New names are appended, so the reply
// lists stats in the order the first server sent them. Unsigned integers
// add as uint64; other numbers (rusage_user "0.123456") as doubles printed
// with 6 decimals like memcached's rusage.
void merge_stat(Request& request, std::string_view name, std::string_view value);

// Folds a broadcast's per-server outcomes (results[s] and, for stats,
// server_stats[s], s in server order) into results[0] and `stats`:
//  * flush_all (and any other broadcast without stats): success when every
//    server succeeded, else the first failing server's result, in server
//    order (the servers that answered OK have been flushed);
//  * stats: the merged stats of the servers that answered, plus
//    "moxi_servers_missing N" when N servers did not; when none answered,
//    the first server's error.
// Returns the number of servers that failed. `servers` is how many there were.
size_t combine_broadcast(Request& request, size_t servers);

}  // namespace moxi::protocol
