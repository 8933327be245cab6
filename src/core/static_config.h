// Turns the static config sources of the command line (-z PORT=servers,
// -z PORT={json}, -z ./file.cfg) into the first routing Snapshot. Parsing and
// validation are the vbucket library's; this module only assembles.
#pragma once

#include <memory>
#include <string>

#include "src/core/options.h"
#include "src/routing/snapshot.h"

namespace moxi {

// On failure returns null and `error` names the section (port, file) and the
// reason from the parser.
std::shared_ptr<const Snapshot> build_static_snapshot(const Options& options, std::string& error);

}  // namespace moxi
