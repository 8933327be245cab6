#include "src/core/stdin_watch.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace moxi {

namespace {

constexpr size_t kChunk = 4096;

}  // namespace

StdinWatch::StdinWatch(event_base* base, OnEnd on_end, int fd)
    : fd_(fd),
      on_end_(std::move(on_end)),
      read_event_(event_new(base, fd, EV_READ | EV_PERSIST, &StdinWatch::on_readable, this)),
      end_event_(event_new(base, -1, 0, &StdinWatch::on_ended, this)) {}

StdinWatch::~StdinWatch() {
  if (read_event_) event_free(read_event_);
  if (end_event_) event_free(end_event_);
}

bool StdinWatch::start(std::string& error) {
  if (!read_event_ || !end_event_) {
    error = "-Y y: cannot create the events that watch standard input";
    return false;
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {  // not open: nothing can ever arrive
    finish("EOF on stdin");
    return true;
  }
  if (S_ISREG(st.st_mode)) {
    // A file's reads never wait and it has an end: found now.
    for (;;) {
      if (auto end = consume(kChunk)) {
        finish(std::move(*end));
        return true;
      }
    }
  }
  if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode) && !::isatty(fd_)) {
    // A device such as /dev/null, which epoll may refuse: read it now when
    // it has something (the read does not wait then).
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) == 1) {
      if (auto end = consume(kChunk)) {
        finish(std::move(*end));
        return true;
      }
    }
  }
  if (event_add(read_event_, nullptr) != 0) {
    error = "-Y y: standard input cannot be watched (it is neither a pipe, a socket, a terminal, a file nor "
            "/dev/null, and gives data without a newline)";
    return false;
  }
  return true;
}

std::optional<std::string> StdinWatch::consume(size_t most) {
  char buf[kChunk];
  const ssize_t n = ::read(fd_, buf, std::min(most, sizeof buf));
  if (n == 0) return std::string("EOF on stdin");
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;  // the loop calls again
    return std::string("EOF on stdin (read failed: ") + std::strerror(errno) + ")";
  }
  if (std::memchr(buf, '\n', static_cast<size_t>(n)) != nullptr) return std::string("EOL on stdin");
  return std::nullopt;
}

void StdinWatch::on_readable(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<StdinWatch*>(arg);
  int available = 0;
  // 0 bytes while readable: end of file, which a read of 1 reports at once.
  if (::ioctl(self->fd_, FIONREAD, &available) != 0 || available < 1) available = 1;
  if (auto end = self->consume(static_cast<size_t>(available))) self->finish(std::move(*end));
}

void StdinWatch::finish(std::string what) {
  event_del(read_event_);
  what_ = std::move(what);
  event_active(end_event_, EV_TIMEOUT, 0);
}

void StdinWatch::on_ended(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<StdinWatch*>(arg);
  self->on_end_(self->what_);
}

}  // namespace moxi
