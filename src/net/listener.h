// Listening sockets.
//
// By default a port is ours alone: one socket per address family, bound
// without SO_REUSEPORT. Every worker watches that same socket, and the one
// that accepts a connection hands it to the next worker in turn
// (Worker::hand_off), so the workers share the clients evenly.
// A second moxi, or anything else, binding the port fails with "in use"
// instead of silently taking a share of our clients, as it did when every
// worker had its own SO_REUSEPORT copy: the kernel would have let any
// process of the same user join the group.
//
// -Z reuse_port=1 restores the copies: each worker its own SO_REUSEPORT
// socket (the kernel spreads connections by hash), and any process of the
// same user that also sets SO_REUSEPORT shares the port. That is what an
// upgrade hand-over needs (start the new moxi, then SIGTERM the old one;
// both must have been started with it), and the risk the default avoids.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace moxi::net {

// One listening socket, closed when the last worker using it lets go (so a
// drain closes a shared port only once every worker stopped watching it).
class ListenSocket {
 public:
  ListenSocket(int fd, bool shared, bool tls = false) : fd_(fd), shared_(shared), tls_(tls) {}
  ~ListenSocket();
  ListenSocket(const ListenSocket&) = delete;
  ListenSocket& operator=(const ListenSocket&) = delete;
  int fd() const { return fd_; }
  // Watched by every worker (no reuse_port): accepted connections are
  // dealt out round-robin.
  bool shared() const { return shared_; }
  // Its clients speak TLS (-Z tls_port).
  bool tls() const { return tls_; }

 private:
  int fd_;
  bool shared_;
  bool tls_;
};

struct ListenGroup {
  int port = 0;                 // the bound port (the OS's choice when 0 was asked)
  // [worker] -> one non-blocking socket per address family; without
  // reuse_port every worker holds the same sockets.
  std::vector<std::vector<std::shared_ptr<ListenSocket>>> per_worker;
  std::vector<std::string> bound;  // "127.0.0.1:11211" per address family, for logs
};

// Binds a socket per resolved address of `address` (empty = every
// interface) on `port` for `workers` workers: one shared socket, or with
// `reuse_port` one SO_REUSEPORT copy per worker. On failure returns false
// with `error` saying what, where and why, e.g. "cannot listen on
// 0.0.0.0:11211: port 11211 is in use ...".
// `tls`: the sockets are a TLS port's.
bool open_listeners(const std::string& address, int port, int workers, bool reuse_port, ListenGroup& out,
                    std::string& error, bool tls = false);

// Writes "TCP INET: <port>" lines (memcached's MEMCACHED_PORT_FILENAME
// format) to `path`.lck and renames it to `path`, so readers see it whole.
// `admin_port` >= 0 adds "ADMIN HTTP: <port>", `tls_port` >= 0 "TLS INET:
// <port>" (readers of the TCP lines skip them).
bool write_port_file(const std::string& path, const std::vector<int>& ports, int admin_port, std::string& error,
                     int tls_port = -1);

}  // namespace moxi::net
