#include "t/support/port_file.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "t/support/process.h"

namespace moxi::test {

namespace {

constexpr std::string_view kTcpInet = "TCP INET: ";
constexpr std::string_view kAdminHttp = "ADMIN HTTP: ";
constexpr std::string_view kTlsInet = "TLS INET: ";

// The port after `prefix` on each line that starts with it, in file order.
std::vector<int> ports_after(std::string_view contents, std::string_view prefix) {
  std::vector<int> ports;
  while (!contents.empty()) {
    auto nl = contents.find('\n');
    std::string_view line = contents.substr(0, nl);
    contents = nl == std::string_view::npos ? std::string_view() : contents.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.substr(0, prefix.size()) != prefix) continue;
    std::string_view digits = line.substr(prefix.size());
    int port = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port <= 0 || port > 65535) {
      throw std::runtime_error("malformed port file line: '" + std::string(line) + "'");
    }
    ports.push_back(port);
  }
  return ports;
}

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct CloseFd {
  int fd;
  ~CloseFd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::vector<int> parse_port_file(std::string_view contents) { return ports_after(contents, kTcpInet); }

int parse_admin_port(std::string_view contents) {
  std::vector<int> ports = ports_after(contents, kAdminHttp);
  return ports.empty() ? -1 : ports.front();
}

int parse_tls_port(std::string_view contents) {
  std::vector<int> ports = ports_after(contents, kTlsInet);
  return ports.empty() ? -1 : ports.front();
}

std::vector<int> wait_for_ports(const std::string& path, Deadline deadline, Process* owner) {
  auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const std::string who = owner ? owner->describe() : std::string("the server");

  CloseFd in{::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)};
  if (in.fd < 0) throw_errno("inotify_init1");
  // The watch is in place before the first look at the file, so a rename
  // between the two cannot be missed.
  if (::inotify_add_watch(in.fd, dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    throw_errno("inotify_add_watch " + dir);
  }

  // Returns the ports if the file is there and lists some. `complete` means
  // the writer is done (renamed into place), so an empty list is an error.
  auto check = [&](bool complete) -> std::optional<std::vector<int>> {
    auto contents = slurp(path);
    if (!contents) return std::nullopt;
    auto ports = parse_port_file(*contents);
    if (!ports.empty()) return ports;
    if (complete) {
      throw std::runtime_error("port file " + path + " from " + who + " has no 'TCP INET: <port>' line; contents: '" +
                               *contents + "'");
    }
    return std::nullopt;
  };

  // A file already in place when the wait begins was renamed there (our
  // writers all write NAME.lck and rename it), so it is complete; without
  // this, a writer that finished before the watch existed left us waiting
  // for an event that never comes. An empty one may be a file written
  // directly that was just created: its IN_CLOSE_WRITE is still to come.
  const auto existing = slurp(path);
  const bool in_place = existing && !existing->empty() && ::access((path + ".lck").c_str(), F_OK) != 0;
  if (auto ports = check(in_place)) return *ports;
  if (owner && !owner->running()) {
    // Already gone (and reaped) before the wait began.
    if (auto ports = check(true)) return *ports;
    throw std::runtime_error(who + " " + Process::describe_status(*owner->exit_status()) +
                             " before writing port file " + path);
  }

  alignas(inotify_event) char buf[4096];
  for (;;) {
    pollfd fds[2] = {{in.fd, POLLIN, 0}, {owner ? owner->pidfd() : -1, POLLIN, 0}};
    int r = ::poll(fds, owner ? 2 : 1, deadline.poll_timeout_ms());
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    if (r == 0) {
      throw std::runtime_error("timed out waiting for port file " + path + " from " + who +
                               (owner && owner->running() ? " (still running)" : ""));
    }
    if (fds[0].revents & POLLIN) {
      ssize_t n;
      while ((n = ::read(in.fd, buf, sizeof buf)) > 0) {
        for (char* p = buf; p < buf + n;) {
          auto* ev = reinterpret_cast<inotify_event*>(p);
          p += sizeof(inotify_event) + ev->len;
          if (ev->len == 0 || name != ev->name) continue;
          if (auto ports = check((ev->mask & IN_MOVED_TO) != 0)) return *ports;
        }
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR) throw_errno("read inotify");
    }
    if (owner && (fds[1].revents & POLLIN)) {
      // Exited: it may still have written the file just before.
      if (auto ports = check(true)) return *ports;
      auto status = owner->wait_exit(deadline);
      throw std::runtime_error(who + " " + (status ? Process::describe_status(*status) : "exited") +
                               " before writing port file " + path);
    }
  }
}

int wait_for_port_file(const std::string& path, Deadline deadline, Process* owner) {
  return wait_for_ports(path, deadline, owner).front();
}

}  // namespace moxi::test
