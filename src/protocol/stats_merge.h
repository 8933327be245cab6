// Merging "stats" answers from several servers into one reply.
#pragma once

#include <string_view>

#include "src/protocol/request.h"

namespace moxi::protocol {

// Adds one (name, value) pair reported by a server to request.stats, merging
// it with the pair of the same name reported earlier by another server.
// New names are appended, so the reply lists stats in first-seen order.
//
// The rule is picked by the part of the name after its last ':' (so
// "items:1:age" merges like "age"):
//  * identity fields keep the first value: pid, version, libevent,
//    pointer_size, ep_dbname, ep_storage_type, ep_flusher_state,
//    ep_warmup_thread;
//  * per-server settings and clocks keep the maximum: uptime, time, threads,
//    accepting_conns, max_connections, hash_power_level, chunk_size,
//    chunk_per_page, age;
//  * everything else is summed when both values are numbers: unsigned
//    integers as uint64, otherwise (a '.' or '-', e.g. rusage_user
//    "0.123456") as double printed with 6 decimals like memcached's rusage;
//  * a value that is not a number keeps the first one seen.
// (The original moxi kept the maximum for limit_maxbytes; here it is summed,
// so bytes / limit_maxbytes stays the cluster's fill ratio.)
void merge_stat(Request& request, std::string_view name, std::string_view value);

}  // namespace moxi::protocol
