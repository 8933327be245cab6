// moxi --check-config: loads and validates every configuration source of the
// command line, as moxi would at start-up, and prints what would be served
// (per port: bucket, hashing, servers, vBuckets, replicas, vBuckets per
// server) or the precise error (what, where, which value).
//
// URL configurations are not fetched: the check is offline and fast, and a
// cluster's map is validated whenever it arrives anyway. The summary says so
// for each URL port, and checks the config_cache file if one is set.
//
// Exit status: 0 when everything is valid, 1 on any error (options included).
// Thread: any; reads files and resolves server names (getaddrinfo).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "src/core/options.h"

namespace moxi {

// True when the command line asks for --check-config (before any "--"),
// whether or not the rest of it parses.
bool check_config_requested(const std::vector<std::string>& args);

// Prints the summary of `parsed` to `out`, or its error to `err`; returns
// the exit status (0 or 1).
int check_config(const ParseOutcome& parsed, std::ostream& out, std::ostream& err);

}  // namespace moxi
