#include "t/conflate/script_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace moxi::conflate::test {
namespace {

std::string status_line(int status) {
  const char* reason = "Status";
  switch (status) {
    case 200: reason = "OK"; break;
    case 401: reason = "Unauthorized"; break;
    case 403: reason = "Forbidden"; break;
    case 404: reason = "Object Not Found"; break;
    case 500: reason = "Internal Server Error"; break;
    case 503: reason = "Service Unavailable"; break;
    default: break;
  }
  return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
}

// A socket bound to 127.0.0.1 on a port the OS picks.
int bound_socket(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + std::strerror(err));
  }
  port = ntohs(addr.sin_port);
  return fd;
}

std::string loopback_url(std::uint16_t port, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

// ---- Response ---------------------------------------------------------------

Response Response::stream(int status) {
  Response r;
  r.send(status_line(status) +
         "Content-Type: application/json; charset=utf-8\r\n"
         "Transfer-Encoding: chunked\r\n"
         "Cache-Control: no-cache\r\n\r\n");
  return r;
}

Response Response::plain(int status, std::string body, const std::vector<std::string>& headers) {
  std::string head = status_line(status) + "Content-Type: application/json\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\nConnection: close\r\n";
  for (const auto& h : headers) head += h + "\r\n";
  Response r;
  r.send(head + "\r\n" + body);
  r.close();
  return r;
}

Response Response::raw(std::string bytes) {
  Response r;
  r.send(std::move(bytes));
  return r;
}

Response& Response::chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return send(size + std::string(data) + "\r\n");
}

Response& Response::config(std::string_view json) {
  chunk(json);
  return heartbeat();
}

Response& Response::heartbeat() { return chunk("\n\n\n\n"); }

Response& Response::send(std::string bytes) {
  steps_.push_back(Step{Step::Kind::send, std::move(bytes), {}});
  return *this;
}

Response& Response::gate(std::string name) {
  steps_.push_back(Step{Step::Kind::gate, std::move(name), {}});
  return *this;
}

Response& Response::mark(std::string name) {
  steps_.push_back(Step{Step::Kind::mark, std::move(name), {}});
  return *this;
}

Response& Response::pause(std::chrono::milliseconds how_long) {
  steps_.push_back(Step{Step::Kind::pause, {}, how_long});
  return *this;
}

Response& Response::end() {
  send("0\r\n\r\n");
  return close();
}

Response& Response::close() {
  steps_.push_back(Step{Step::Kind::close, {}, {}});
  return *this;
}

Response& Response::hold() {
  steps_.push_back(Step{Step::Kind::hold, {}, {}});
  return *this;
}

// ---- ScriptServer -----------------------------------------------------------

ScriptServer::ScriptServer() {
  listen_fd_ = bound_socket(port_);
  if (::listen(listen_fd_, 64) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error(std::string("listen: ") + std::strerror(errno));
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    ::close(listen_fd_);
    throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  }
  acceptor_ = std::thread([this] { accept_loop(); });
}

ScriptServer::~ScriptServer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }
  changed_.notify_all();
  const std::uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);
  acceptor_.join();
  std::vector<std::thread> handlers;
  {
    std::lock_guard lock(mutex_);
    handlers.swap(handlers_);
  }
  for (auto& t : handlers) t.join();
  ::close(listen_fd_);
  ::close(stop_fd_);
}

std::string ScriptServer::url(std::string_view path) const { return loopback_url(port_, path); }

void ScriptServer::add(Response response) {
  std::lock_guard lock(mutex_);
  script_.push_back(std::move(response));
}

void ScriptServer::open(const std::string& gate) {
  std::lock_guard lock(mutex_);
  open_gates_.insert(gate);
  changed_.notify_all();
}

bool ScriptServer::wait_mark(const std::string& mark, moxi::test::Deadline deadline) {
  std::unique_lock lock(mutex_);
  return changed_.wait_until(lock, deadline.when(), [&] { return marks_.contains(mark); });
}

bool ScriptServer::wait_connections(std::size_t n, moxi::test::Deadline deadline) {
  std::unique_lock lock(mutex_);
  return changed_.wait_until(lock, deadline.when(), [&] { return connections_ >= n; });
}

bool ScriptServer::wait_idle(moxi::test::Deadline deadline) {
  std::unique_lock lock(mutex_);
  return changed_.wait_until(lock, deadline.when(), [&] { return finished_ == connections_; });
}

std::size_t ScriptServer::connections() const {
  std::lock_guard lock(mutex_);
  return connections_;
}

std::vector<std::string> ScriptServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

bool ScriptServer::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void ScriptServer::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    fds_.insert(fd);
    const std::size_t number = connections_++;
    handlers_.emplace_back([this, fd, number] { serve(fd, number); });
    changed_.notify_all();
  }
}

bool ScriptServer::read_head(int fd, std::string& head) {
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[1].revents != 0) return false;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    head.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

bool ScriptServer::wait_gate(const std::string& name) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return stopping_ || open_gates_.contains(name); });
  return !stopping_;
}

void ScriptServer::hold(int fd) {
  // Until the client closes (readable with EOF or an error) or the server stops.
  char buf[512];
  for (;;) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
  }
}

void ScriptServer::serve(int fd, std::size_t number) {
  (void)number;
  std::string head;
  if (read_head(fd, head)) {
    Response response;
    bool scripted = false;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(head.substr(0, head.find("\r\n\r\n") + 2));
      if (!script_.empty()) {
        response = std::move(script_.front());
        script_.pop_front();
        scripted = true;
      }
      changed_.notify_all();
    }
    if (!scripted) response = Response::plain(503, "no script");
    for (const auto& step : response.steps()) {
      bool go_on = true;
      switch (step.kind) {
        case Response::Step::Kind::send:
          go_on = send_all(fd, step.text);
          break;
        case Response::Step::Kind::gate:
          go_on = wait_gate(step.text);
          break;
        case Response::Step::Kind::mark: {
          std::lock_guard lock(mutex_);
          marks_.insert(step.text);
          changed_.notify_all();
          break;
        }
        case Response::Step::Kind::pause: {
          std::unique_lock lock(mutex_);
          go_on = !changed_.wait_for(lock, step.pause, [&] { return stopping_; });
          break;
        }
        case Response::Step::Kind::hold:
          hold(fd);
          go_on = false;
          break;
        case Response::Step::Kind::close:
          go_on = false;
          break;
      }
      if (!go_on) break;
    }
  }
  std::lock_guard lock(mutex_);
  fds_.erase(fd);
  ::close(fd);
  ++finished_;
  changed_.notify_all();
}

// ---- RefusingPort, BlackholePort ---------------------------------------------

RefusingPort::RefusingPort() { fd_ = bound_socket(port_); }
RefusingPort::~RefusingPort() { ::close(fd_); }
std::string RefusingPort::url(std::string_view path) const { return loopback_url(port_, path); }

BlackholePort::BlackholePort() {
  fd_ = bound_socket(port_);
  if (::listen(fd_, 0) != 0) {
    ::close(fd_);
    throw std::runtime_error(std::string("listen: ") + std::strerror(errno));
  }
  // One established connection fills a backlog of zero; a second,
  // non-blocking one makes sure of it. Neither is ever accepted.
  for (int i = 0; i < 2; ++i) {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (i == 0 ? 0 : SOCK_NONBLOCK), 0);
    if (c < 0) continue;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port_);
    (void)::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers_.push_back(c);
  }
}

BlackholePort::~BlackholePort() {
  for (int c : fillers_) ::close(c);
  ::close(fd_);
}

std::string BlackholePort::url(std::string_view path) const { return loopback_url(port_, path); }

}  // namespace moxi::conflate::test
