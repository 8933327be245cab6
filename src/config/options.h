// moxi command line: argv (and the files that -z/-Z name) to a validated
// Options value. Parsing only: nothing here listens, connects, logs or exits.
//
//   argv ──▶ parse_options ──▶ ParseOutcome { Options | error + exit status }
//                 │  -Z text / -Z FILE ──▶ parse_behaviors ──▶ Behaviors
//                 │  -z text / -z FILE / URL argument ──▶ parse_cluster_config ──▶ ConfigSource…
//                 ▼
//            help_text() / version_text() (help.h), from the tables: the options
//            (option_table, options.cc) and the -Z keys (behavior_keys,
//            behavior_table.cc); the man page agrees with them
//
// Thread: any (pure functions; the only outside state read is the environment,
// through the EnvLookup that parse_options is given).
//
// The model is split by job: behaviors.h (-Z, with its key table in
// behavior_table.cc), cluster_source.h (-z and URL arguments), help.h
// (--help, --version); this header is the whole command line and includes
// the first two, so that a user of Options needs only it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "src/config/behaviors.h"
#include "src/config/cluster_source.h"

namespace moxi {

// Exit statuses (sysexits.h values) that main() must use.
inline constexpr int kExitOk = 0;         // success; also -h, --version, --describe-stats
inline constexpr int kExitFailure = 1;    // a run-time failure (cannot listen, cannot daemonize, ...)
inline constexpr int kExitUsage = 64;     // EX_USAGE: a bad option, -z or -Z value
inline constexpr int kExitDataErr = 65;   // EX_DATAERR: options parse but the cluster config is
                                          // invalid (bad JSON or map), also for --check-config
inline constexpr int kExitNoInput = 66;   // EX_NOINPUT: a file named by -z/-Z cannot be read

struct OptionInfo {
  std::string_view name;       // short form "-t", or "" when there is only a long form
  std::string_view long_name;  // "--version", or ""
  std::string_view argument;   // "NUM", "" for a flag
  Support support;
  std::string_view help;      // one line
};

// Every command-line option the parser knows.
std::span<const OptionInfo> option_table();

// Number of workers when -t is not given: the number of cores, at least 1.
unsigned default_workers();

struct Options {
  std::string listen_address;        // -l; "" = every interface
  unsigned workers = default_workers();  // -t
  unsigned max_connections = 1024;   // -c: simultaneous client connections
  bool max_connections_given = false;  // -c was on the command line (else the descriptor limit may lower it)
  bool daemonize = false;            // -d
  bool exit_on_stdin_end = false;    // -Y y: exit when standard input ends (stdin_watch.h)
  std::string pidfile;               // -P; "" = none
  int verbosity = 0;                 // -v/-vv/-vvv: 0..3
  std::string log_file;              // -o/-O; "" = stderr
  bool check_config = false;         // --check-config
  bool describe_stats = false;       // --describe-stats
  bool show_help = false;            // -h/--help
  bool show_version = false;         // -V/--version
  Behaviors behaviors;               // -Z, env MOXI_SASL_PLAIN_USR/PWD, -p (see help_text)
  std::vector<ConfigSource> sources; // -z and URL arguments, in order
  std::vector<std::string> behavior_files;  // -Z ./FILE or /FILE read (SIGHUP reads them again)
  std::vector<std::string> warnings; // whole lines ("moxi: warning: ..."); main prints each to stderr
};

struct ParseOutcome {
  std::optional<Options> options;  // set on success
  std::string error;               // on failure: one line "moxi: ..." without a newline
  int exit_status = kExitOk;       // on failure: kExitUsage or kExitNoInput
  bool ok() const { return options.has_value(); }
};

// Reads an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
// The process's own environment (getenv).
EnvLookup process_environment();

// `args` excludes the program name. Reads the files that -z and -Z name.
// When help, version or describe-stats is asked for, no configuration is required.
ParseOutcome parse_options(const std::vector<std::string>& args, const EnvLookup& env);
// argv[0] is skipped; the environment is read with getenv.
ParseOutcome parse_options(int argc, char** argv);

}  // namespace moxi
