// vbuckettool: "which vBucket and server own this key under this config?"
// The command-line tool's whole logic lives here so that tests can call it;
// vbuckettool_main.cc only forwards main()'s arguments. See
// man/vbuckettool.1 for the user documentation.
//
//   vbuckettool [--peer HOST] [--network NET] [--port N] [--bucket NAME] CONFIG [KEY...]
//
// For each KEY (or each line of `in` when no KEY is given; empty lines and a
// trailing "\r" are dropped) one tab-separated line goes to `out`:
//   key  vBucket (or "-" for ketama)  master host:port (or "-")  replicas
// where replicas are host:port, comma-separated in replica order, "-" for an
// unassigned replica, and the whole column is "-" when there are none.
//
// Exit status: 0 on success, 1 if the config cannot be loaded (the message
// on `err` names the file and the field), 2 for usage errors.
//
// Thread-safety: no shared state.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "vbucket/config.h"

namespace moxi::vbucket {

// The output line for one key, without the trailing newline. (noexcept:
// running out of memory terminates, as elsewhere in moxi.)
std::string describe_key(const Config& config, std::string_view key) noexcept;

// Runs the tool. `args` excludes the program name.
int run_vbuckettool(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                    std::ostream& err) noexcept;

}  // namespace moxi::vbucket
