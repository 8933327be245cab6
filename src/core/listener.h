// Listening sockets. Each worker gets its own socket per port, all bound to
// the same address with SO_REUSEPORT, so the kernel spreads new connections
// over the workers and no thread hands sockets to another.
#pragma once

#include <string>
#include <vector>

namespace moxi {

struct ListenGroup {
  int port = 0;                 // the bound port (the OS's choice when 0 was asked)
  std::vector<std::vector<int>> per_worker;  // [worker] -> one non-blocking socket per address family
  std::vector<std::string> bound;  // "127.0.0.1:11211" per address family, for logs
};

// Binds `copies` sockets per resolved address of `address` (empty = every
// interface) on `port`. On failure returns false with `error` saying what,
// where and why (e.g. "cannot listen on 0.0.0.0:11211: Address already in use").
bool open_listeners(const std::string& address, int port, int copies, ListenGroup& out, std::string& error);

// Writes "TCP INET: <port>" lines (memcached's MEMCACHED_PORT_FILENAME
// format) to `path`.lck and renames it to `path`, so readers see it whole.
// `admin_port` >= 0 adds "ADMIN HTTP: <port>" (readers of the TCP lines skip it).
bool write_port_file(const std::string& path, const std::vector<int>& ports, int admin_port, std::string& error);

}  // namespace moxi
