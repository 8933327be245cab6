// File descriptors: what -c and the configuration need, and raising
// RLIMIT_NOFILE to it at start, as the original moxi and memcached did.
//
// Without this, "-c 1000" under a soft limit of 64 served ~50 clients and
// then failed accept() with EMFILE: the limit that held was the kernel's,
// not the one the operator gave. main() calls raise_descriptor_limit() with
// descriptor_need() before it binds; what happens when the need cannot be met
// is main's decision (see the LIMITS section of moxi.1).
//
// Thread: any (getrlimit/setrlimit are process-wide system calls).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "src/routing/snapshot.h"

namespace moxi {

struct DescriptorNeed {
  uint64_t clients = 0;    // -c
  uint64_t backends = 0;   // workers x distinct backend servers x downstream_conn_max
  uint64_t listeners = 0;  // listening sockets (per address family; per worker with reuse_port)
  uint64_t config = 0;     // config streams (each libcurl transfer and its wake-up descriptors)
  uint64_t other = 0;      // stdio, log, event loops, notify queues, admin listener, slack

  uint64_t total() const { return clients + backends + listeners + config + other; }
  uint64_t without_clients() const { return total() - clients; }
  // "1064 file descriptors (1024 client + 8 backend + 2 listening + 0 config + 30 other)"
  std::string describe() const;
};

struct DescriptorInputs {
  uint64_t clients = 1024;
  unsigned workers = 1;
  uint32_t downstream_conn_max = 1;  // 0 = 16, as the workers read it
  bool reuse_port = false;
  bool every_interface = true;  // -l not given: IPv4 and IPv6 listeners per port
  size_t url_sources = 0;
  bool admin = false;
};

// The estimate for `snapshot` (its ports and servers; a URL configuration
// without a map yet counts no servers: a later map is checked on arrival,
// see App::publish).
DescriptorNeed descriptor_need(const Snapshot& snapshot, const DescriptorInputs& in);

struct DescriptorLimit {
  uint64_t soft_before = 0, hard_before = 0;
  uint64_t soft = 0, hard = 0;  // in force after raise_descriptor_limit
  bool raised() const { return soft != soft_before; }
};

// Raises the soft RLIMIT_NOFILE to `need` when it is lower: up to the hard
// limit, and above it when the process may (CAP_SYS_RESOURCE, e.g. root,
// up to fs.nr_open). Never lowers a limit. Returns the limits before and after.
DescriptorLimit raise_descriptor_limit(uint64_t need);

// The soft RLIMIT_NOFILE now.
uint64_t descriptor_limit();

}  // namespace moxi
