// The TLS contexts the -Z tls_* and downstream_tls* behaviors ask for,
// made from their files: at start (an error stops moxi) and on SIGHUP (an
// error keeps the contexts in force). Snapshots carry them to the workers.
//
// Thread: main thread (reads files).
#pragma once

#include <memory>
#include <string>

#include "src/config/options.h"
#include "src/util/tls.h"

namespace moxi {

struct TlsContexts {
  std::shared_ptr<const tls::Context> clients;   // tls_port's; null without one
  std::shared_ptr<const tls::Context> backends;  // downstream_tls's; null without it
  bool wanted() const { return clients || backends; }
};

// False with `error` naming the behavior, the file and OpenSSL's reason.
bool make_tls_contexts(const Behaviors& behaviors, TlsContexts& out, std::string& error);

// The files the contexts are made from, read whole: a SIGHUP makes new
// contexts only when these bytes changed.
std::string tls_file_contents(const Behaviors& behaviors);

}  // namespace moxi
