// --help and --version texts. The option and behavior rows of --help are
// made from the tables (option_table(), behavior_keys()), so a new option or
// key shows up here by itself; t/options checks the man page against them.
//
// Thread: any (pure functions).
#pragma once

#include <string>

namespace moxi {

std::string help_text();     // for -h/--help, ends with a newline
std::string version_text();  // for -V/--version, ends with a newline

}  // namespace moxi
