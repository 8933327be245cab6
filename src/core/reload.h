// FileReloader: SIGHUP re-reads the file-based static configurations and
// hot-swaps what changed, through App::publish like a streamed config.
//
// Reloadable: every "-z ./FILE" (or /FILE) whose sections are static
// (PORT = servers, PORT = {json}, a bare {json}), and every
// "PORT = ./FILE" section. A file is parsed again exactly as the command
// line parsed it (parse_options), and must still describe the same ports:
// listeners are not opened or closed by a reload (restart moxi for that).
// All or nothing: if any file cannot be read, parsed, validated or built,
// the error is logged (naming the file, the port and the reason), counted
// (config_reload_failures_total) and the current map stays in force.
//
// When the command line also read files for its behaviors (-Z ./FILE, -Z
// client_passwords=FILE) or its URLs (a -z file holding url=...), the whole
// command line is parsed again too: new credentials (usr, pwd, bucket,
// default_bucket_name, client passwords) rebuild every port's buckets,
// URL followers included (from the last map each received), in the same
// new generation; a new URL list or HTTP credential restarts that
// follower's stream. Other behaviors take effect only at a restart (a
// changed one is warned about).
//
// TLS: with -Z tls_port or downstream_tls, the certificate, key and CA
// files are read again too; when their bytes changed, new handshakes use
// the new ones (in a new generation) while established connections keep
// theirs. A file that fails to load keeps the ones in force (logged,
// counted like a failed reload); the maps reload regardless.
//
// Thread: main thread only (constructed before App::run, reload() from its
// SIGHUP handler). Server names are resolved there, as at start-up.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "src/core/app.h"
#include "src/core/config_follower.h"
#include "src/config/options.h"
#include "src/core/served_buckets.h"
#include "src/core/tls_setup.h"

namespace moxi {

class FileReloader {
 public:
  // The snapshot's port i serves options.sources[i] (static_config.h).
  // `args` and `env` are what `options` was parsed from (for a whole
  // re-parse; empty args: files only).
  explicit FileReloader(const Options& options, std::vector<std::string> args = {}, EnvLookup env = {});

  // The follower of URL source `port_index` (main, after it is made).
  void follow(ConfigFollower& follower) { followers_.push_back(&follower); }

  bool empty() const { return files_.empty() && !reparse_ && !tls_; }
  // Main thread: re-reads every file; publishes a new generation when a
  // bucket changed. Logs what happened.
  void reload(App& app);

 private:
  struct File {
    std::string path;
    uint16_t section_port = 0;        // "PORT = ./FILE": its PORT (section_file)
    bool section_file = false;        // PORT = ./FILE, else a whole -z FILE
    std::vector<size_t> port_index;   // snapshot ports it configures, in file order
    std::vector<uint16_t> ports;      // their declared ports (0 = OS-chosen)
  };
  // Parses `file` again; on success fills `sections` (one per port_index).
  bool parse(const File& file, std::vector<StaticSection>& sections, std::string& error) const;

  // The whole command line again: new rules and URL sources into
  // `builder`; false (with `error`) when it cannot be applied by a reload.
  bool reparse(App& app, SnapshotBuilder& builder, bool& changed, std::string& error);
  // Logs and counts (config_reload_failures_total) a reload that failed.
  void failed(App& app, const std::string& error);

  std::vector<File> files_;
  std::vector<std::string> texts_;  // per snapshot port: the CONFIG text in force ("" = not a file port)
  BucketRules rules_;
  uint16_t port_listen_;
  std::vector<std::string> args_;
  EnvLookup env_;
  bool reparse_ = false;                       // behaviors or URLs came from files
  std::vector<ConfigSource> sources_;          // as in force (the whole command line's)
  std::vector<std::string> behavior_values_;   // "key=value" of the behaviors in force
  std::vector<ConfigFollower*> followers_;
  // TLS files (tls_setup.h): the behaviors that name them, and their bytes
  // when the contexts in force were made.
  bool tls_ = false;
  Behaviors tls_behaviors_;
  std::string tls_files_;
  // New contexts into `builder` when the files changed; true when they did.
  bool reload_tls(App& app, SnapshotBuilder& builder);
  // Decided by reparse, applied once the new snapshot is published.
  std::optional<Options> pending_;
};

}  // namespace moxi
