// FileReloader: SIGHUP re-reads the file-based static configurations and
// hot-swaps what changed, through App::publish like a streamed config.
//
// Reloadable: every "-z ./FILE" (or /FILE) whose sections are static
// (PORT = servers, PORT = {json}, a bare {json}), and every
// "PORT = ./FILE" section. A file is parsed again exactly as the command
// line parsed it (parse_options), and must still describe the same ports:
// listeners are not opened or closed by a reload (restart moxi for that).
// All or nothing: if any file cannot be read, parsed, validated or built,
// the error is logged (naming the file, the port and the reason) and the
// current map stays in force. A -z file that holds a URL configuration is
// not re-read (the stream updates itself).
//
// Thread: main thread only (constructed before App::run, reload() from its
// SIGHUP handler). Server names are resolved there, as at start-up.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "src/core/app.h"
#include "src/core/options.h"
#include "src/core/served_buckets.h"

namespace moxi {

class FileReloader {
 public:
  // The snapshot's port i serves options.sources[i] (static_config.h).
  explicit FileReloader(const Options& options);

  bool empty() const { return files_.empty(); }
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

  std::vector<File> files_;
  std::vector<std::string> texts_;  // per snapshot port: the CONFIG text in force ("" = not a file port)
  BucketRules rules_;
  uint16_t port_listen_;
};

}  // namespace moxi
