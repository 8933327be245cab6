// Port files: how a server started on an OS-chosen port tells the test which
// port it got.
//
// memcached (env MEMCACHED_PORT_FILENAME=F) and moxi (env MOXI_PORT_FILENAME=F)
// write one line per listening socket to "F.lck", e.g.
//     TCP INET: 40123
// and rename it to F once all sockets are bound. The helpers here wait for F
// with inotify on its directory (the rename shows up as IN_MOVED_TO; a writer
// that writes F directly is picked up on IN_CLOSE_WRITE), and give up early
// when the process that should write it exits first.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "t/support/deadline.h"

namespace moxi::test {

class Process;

// The ports of the "TCP INET: <port>" lines, in file order. Other lines
// (UDP, TCP INET6) are skipped; a malformed TCP INET line throws.
std::vector<int> parse_port_file(std::string_view contents);

// The port of moxi's "ADMIN HTTP: <port>" line (-Z admin_port), or -1 when
// there is none; a malformed one throws.
int parse_admin_port(std::string_view contents);
// The port of moxi's "TLS INET: <port>" line (-Z tls_port), or -1.
int parse_tls_port(std::string_view contents);

// Waits until the port file at `path` is complete and returns its TCP ports
// (at least one). The directory of `path` must exist; `path` itself should
// not exist yet (use a fresh name per start, or remove the old file), since an
// existing file with ports is returned at once.
//
// Throws std::runtime_error with a message naming the file when:
//  - the deadline passes first;
//  - `owner` (the process expected to write the file; may be null) exits
//    first -- this is noticed at once through its pidfd, and the message
//    gives its exit status;
//  - the file is renamed into place without any TCP INET line.
std::vector<int> wait_for_ports(const std::string& path, Deadline deadline, Process* owner = nullptr);

// wait_for_ports(...).front(): the first (usually only) TCP port.
int wait_for_port_file(const std::string& path, Deadline deadline, Process* owner = nullptr);

}  // namespace moxi::test
