#include "src/net/listener.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace moxi::net {

namespace {

std::string describe(const sockaddr* sa) {
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (getnameinfo(sa, sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in), host, sizeof host, serv,
                  sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "?";
  return sa->sa_family == AF_INET6 ? "[" + std::string(host) + "]:" + serv : std::string(host) + ":" + serv;
}

int bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -1;
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

}  // namespace

ListenSocket::~ListenSocket() {
  if (fd_ >= 0) ::close(fd_);
}

bool open_listeners(const std::string& address, int port, int workers, bool reuse_port, ListenGroup& out,
                    std::string& error, bool tls) {
  const int copies = reuse_port ? workers : 1;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string want = (address.empty() ? "*" : address) + ":" + std::to_string(port);
  int rc = getaddrinfo(address.empty() ? nullptr : address.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) {
    error = "cannot listen on " + want + ": " + gai_strerror(rc);
    return false;
  }
  out.port = port;
  out.per_worker.assign(static_cast<size_t>(workers), {});
  auto close_all = [&out] { out.per_worker.clear(); };
  bool any = false;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    for (int copy = 0; copy < copies; ++copy) {
      int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) continue;
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      // SO_REUSEADDR only lets us bind over connections in TIME_WAIT;
      // it never lets two listeners share a port (SO_REUSEPORT does).
      if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
      // Every accepted connection inherits these from the listening socket
      // (Linux copies the socket): no replies held back by Nagle, and
      // keepalive, as the original set it, so that a client whose host
      // vanished (no FIN, no RST) is found and its -c slot freed. Set here
      // once instead of twice per connection.
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
      // With port 0 the first socket picks the port; the other copies join it.
      if (out.port != 0) {
        if (ai->ai_family == AF_INET6) {
          reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_port = htons(static_cast<uint16_t>(out.port));
        } else {
          reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_port = htons(static_cast<uint16_t>(out.port));
        }
      }
      if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 1024) != 0) {
        int err = errno;
        ::close(fd);
        if (ai->ai_family == AF_INET6 && err == EAFNOSUPPORT) break;
        error = "cannot listen on " + describe(ai->ai_addr) + ": ";
        if (err == EADDRINUSE) {
          error += "port " + std::to_string(out.port) + " is in use by another process (" + std::strerror(err) +
                   "); stop it or choose another port" +
                   (reuse_port ? " (reuse_port=1 shares a port only with processes that also set it)"
                               : " (-Z reuse_port=1 shares it on purpose, see moxi(1))");
        } else {
          error += std::strerror(err);
        }
        close_all();
        freeaddrinfo(res);
        return false;
      }
      if (out.port == 0) out.port = bound_port(fd);
      if (copy == 0) out.bound.push_back(describe(ai->ai_addr));
      auto socket = std::make_shared<ListenSocket>(fd, !reuse_port && workers > 1, tls);
      if (reuse_port) {
        out.per_worker[static_cast<size_t>(copy)].push_back(std::move(socket));
      } else {
        for (auto& mine : out.per_worker) mine.push_back(socket);
      }
      any = true;
    }
  }
  freeaddrinfo(res);
  if (!any) {
    close_all();
    error = "cannot listen on " + want + ": no usable address";
    return false;
  }
  return true;
}

bool write_port_file(const std::string& path, const std::vector<int>& ports, int admin_port, std::string& error,
                     int tls_port) {
  const std::string tmp = path + ".lck";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) {
    error = "cannot write port file " + tmp + ": " + std::strerror(errno);
    return false;
  }
  for (int port : ports) std::fprintf(f, "TCP INET: %d\n", port);
  if (admin_port >= 0) std::fprintf(f, "ADMIN HTTP: %d\n", admin_port);
  if (tls_port >= 0) std::fprintf(f, "TLS INET: %d\n", tls_port);
  std::fclose(f);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace moxi::net
