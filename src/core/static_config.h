// Turns the config sources of the command line into the first routing
// Snapshot: static sources (-z PORT=servers, -z PORT={json}, -z ./file.cfg)
// get their bucket now; a config URL gets its port (port_listen) with no
// bucket until its first map arrives. Parsing and validation are the
// vbucket library's; this module only assembles.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/config/options.h"
#include "src/core/served_buckets.h"
#include "src/routing/snapshot.h"

namespace moxi {

struct UrlPort {
  size_t port_index;       // in Snapshot::ports
  const UrlSource* source;  // points into the Options
};

// The buckets a static section serves (parsed, validated, servers
// resolved): one, or every bucket of a {"buckets":[...]} document. On
// failure returns nullopt and `error` names the port, the file and the reason.
std::optional<ServedBuckets> build_static_buckets(const StaticSection& section, const BucketRules& rules,
                                                  std::string& error);

// On failure returns null and `error` names the section (port, file) and the
// reason from the parser. `url_ports` receives the ports that follow a URL.
std::shared_ptr<const Snapshot> build_initial_snapshot(const Options& options, std::vector<UrlPort>& url_ports,
                                                       std::string& error);

}  // namespace moxi
