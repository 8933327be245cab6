// moxi --check-config: loads and validates every configuration source of the
// command line, as moxi would at start-up, and prints what would be served
// (per port: bucket, hashing, servers, vBuckets, replicas, vBuckets per
// server) or the precise error (what, where, which value).
//
// URL configurations are fetched: the first valid map the URLs serve (with
// failover and auth, as moxi follows them) is summarised; when every URL
// fails, or nothing valid arrives within kUrlFetchBound, the errors are
// printed and the check fails. The config_cache file is checked too when one
// is set, and never written.
//
// Exit status: 0 when everything is valid, 1 on any error (options included).
// Thread: any; reads files, fetches URLs (blocking, bounded) and resolves
// server names (evdns, on a private event loop, as the workers would).
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "src/config/options.h"

namespace moxi {

// How long --check-config waits for a URL's first map.
inline constexpr std::chrono::milliseconds kUrlFetchBound{10000};

// True when the command line asks for --check-config (before any "--"),
// whether or not the rest of it parses.
bool check_config_requested(const std::vector<std::string>& args);

// Prints the summary of `parsed` to `out`, or its error to `err`; returns
// the exit status (0 or 1).
int check_config(const ParseOutcome& parsed, std::ostream& out, std::ostream& err);

}  // namespace moxi
