#include "src/backend/data_node_config_source.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <utility>

#include "src/protocol/binary_format.h"
#include "src/backend/backend_login.h"

namespace moxi::backend {

namespace binary = protocol::binary;
using conflate::SourceStatus;
using Clock = std::chrono::steady_clock;

namespace {

std::uint64_t seed_from(std::uint64_t seed) {
  if (seed != 0) return seed;
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

std::string status_code(uint16_t status) {
  char code[8];
  std::snprintf(code, sizeof code, "0x%02x", status);
  return code;
}

// What a refused GET_CLUSTER_CONFIG means, for the message.
std::string refusal_reason(uint16_t status) {
  switch (status) {
    case 0x01: return " (the node has no config for the bucket yet)";
    case 0x08: return " (no bucket selected)";
    case 0x24: return " (no access: may the user read the bucket's config?)";
    case 0x81: return " (not a Couchbase data node: plain memcached has no cluster config)";
    default: return "";
  }
}

}  // namespace

DataNodeConfigSource::DataNodeConfigSource(DataNodeSourceOptions options, conflate::UpdateCallback on_update,
                                           conflate::StatusCallback on_status)
    : options_(std::move(options)),
      on_update_(std::move(on_update)),
      on_status_(std::move(on_status)),
      backoff_(options_.backoff_min, options_.backoff_max, seed_from(options_.random_seed)),
      filter_(options_.network),
      node_up_(options_.nodes.size(), false),
      node_last_failure_(options_.nodes.size()) {
  if (options_.nodes.empty()) throw std::invalid_argument("DataNodeConfigSource: no node");
  if (options_.bucket.empty()) throw std::invalid_argument("DataNodeConfigSource: no bucket");
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

DataNodeConfigSource::~DataNodeConfigSource() {
  stop();
  ::close(wake_fd_);
}

void DataNodeConfigSource::start() {
  if (thread_.joinable()) return;
  stopping_.store(false, std::memory_order_release);
  uint64_t drained;
  while (::read(wake_fd_, &drained, sizeof drained) > 0) {
  }
  thread_ = std::thread([this] { run(); });
}

void DataNodeConfigSource::stop() {
  stopping_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
  // Called from a callback (against the contract): the thread ends by itself.
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

DataNodeSourceStats DataNodeConfigSource::stats() const {
  DataNodeSourceStats s;
  s.requests = counters_.requests.load();
  s.documents_delivered = counters_.documents_delivered.load();
  s.documents_invalid = counters_.documents_invalid.load();
  s.documents_duplicate = counters_.documents_duplicate.load();
  s.failures = counters_.failures.load();
  s.auth_failures = counters_.auth_failures.load();
  return s;
}

std::string DataNodeConfigSource::shown(std::size_t index) const {
  const conflate::DataNodeUrl& node = options_.nodes[index];
  return "couchbase://" + node.host + ":" + std::to_string(node.port) + "/" + options_.bucket;
}

void DataNodeConfigSource::run() {
  std::size_t index = 0;
  while (!stopping()) {
    std::optional<Failure> failure;
    if (fd_ < 0) failure = open(index);
    if (!failure) failure = ask(index);
    if (stopping()) break;
    if (!failure) {
      report_connected(index);
      backoff_.reset();
      pause(options_.interval);
      continue;
    }
    counters_.failures.fetch_add(1);
    if (failure->kind == SourceStatus::Kind::auth_failure) counters_.auth_failures.fetch_add(1);
    report_failure(index, *failure);
    close_connection();
    index = (index + 1) % options_.nodes.size();
    pause(backoff_.next());
  }
  close_connection();
}

std::optional<DataNodeConfigSource::Failure> DataNodeConfigSource::open(std::size_t index) {
  const conflate::DataNodeUrl& node = options_.nodes[index];
  const std::string where = shown(index);
  std::string host = node.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(node.port).c_str(), &hints, &found);
  if (rc != 0) return Failure{SourceStatus::Kind::disconnected, "cannot resolve " + where + ": " + gai_strerror(rc)};
  std::string why = "no address";
  const auto deadline = Clock::now() + options_.connect_timeout;
  for (addrinfo* a = found; a && fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
      why = std::strerror(errno);
      ::close(fd);
      continue;
    }
    const Wait w = wait_for(fd, POLLOUT, deadline);
    int err = 0;
    socklen_t len = sizeof err;
    if (w == Wait::Ready && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
      fd_ = fd;
      break;
    }
    why = w == Wait::Timeout ? "no answer within connect_timeout (" + std::to_string(options_.connect_timeout.count()) +
                                   " ms)"
                             : std::string(std::strerror(err != 0 ? err : errno));
    ::close(fd);
    if (w == Wait::Stopped) break;
  }
  ::freeaddrinfo(found);
  if (fd_ < 0) return Failure{SourceStatus::Kind::disconnected, "cannot connect to " + where + ": " + why};

  BackendLogin login({options_.user, options_.password, options_.bucket, options_.agent, "check -Z usr and pwd"});
  std::string frames;
  login.start(frames);
  for (;;) {
    if (!write_all(frames, why)) return Failure{SourceStatus::Kind::disconnected, where + ": " + why};
    frames.clear();
    std::string header, body;
    if (!read_frame(header, body, why))
      return Failure{SourceStatus::Kind::disconnected,
                     where + ": " + why + " at " + login.step_name() +
                         (login.step() == BackendLogin::Step::SelectBucket
                              ? " (may user \"" + options_.user + "\" use bucket \"" + options_.bucket + "\"?)"
                              : "")};
    const binary::Header h = binary::decode_header(reinterpret_cast<const uint8_t*>(header.data()));
    const size_t skip = std::min<size_t>(body.size(), size_t{h.extras_length} + h.key_length);
    switch (login.on_reply(h.vbucket_or_status, std::string_view(body).substr(skip), frames)) {
      case BackendLogin::Progress::Continue:
        continue;
      case BackendLogin::Progress::Failed:
        return Failure{SourceStatus::Kind::auth_failure, "login to " + where + " failed: " + login.error()};
      case BackendLogin::Progress::Done:
        return std::nullopt;
    }
  }
}

std::optional<DataNodeConfigSource::Failure> DataNodeConfigSource::ask(std::size_t index) {
  const std::string where = shown(index);
  std::string request, why;
  BackendLogin::append_request(request, binary::Opcode::GetClusterConfig, "", "");
  counters_.requests.fetch_add(1);
  if (!write_all(request, why)) return Failure{SourceStatus::Kind::disconnected, where + ": " + why};
  std::string header, body;
  if (!read_frame(header, body, why))
    return Failure{SourceStatus::Kind::disconnected, where + ": " + why + " at GET_CLUSTER_CONFIG"};
  const binary::Header h = binary::decode_header(reinterpret_cast<const uint8_t*>(header.data()));
  if (h.opcode != static_cast<uint8_t>(binary::Opcode::GetClusterConfig))
    return Failure{SourceStatus::Kind::disconnected, where + ": a reply to another request than GET_CLUSTER_CONFIG"};
  if (h.vbucket_or_status != 0)
    return Failure{SourceStatus::Kind::http_error, where + ": GET_CLUSTER_CONFIG answered " +
                                                        status_code(h.vbucket_or_status) +
                                                        refusal_reason(h.vbucket_or_status)};
  const size_t skip = std::min<size_t>(body.size(), size_t{h.extras_length} + h.key_length);
  const std::string_view document = std::string_view(body).substr(skip);
  if (document.empty())
    return Failure{SourceStatus::Kind::http_error, where + ": GET_CLUSTER_CONFIG answered no config"};
  const conflate::DataNodeUrl& node = options_.nodes[index];
  conflate::DocumentFilter::Verdict verdict = filter_.check(document, node.host);
  switch (verdict.kind) {
    case conflate::DocumentFilter::Verdict::Kind::duplicate:
      counters_.documents_duplicate.fetch_add(1);
      return std::nullopt;
    case conflate::DocumentFilter::Verdict::Kind::invalid: {
      counters_.documents_invalid.fetch_add(1);
      const std::string message = "invalid config from " + where + ": " + verdict.error;
      if (filter_.first_report(message)) report(SourceStatus::Kind::invalid_document, where, message);
      return std::nullopt;  // the node answers: it stays; the last good config stays in force
    }
    case conflate::DocumentFilter::Verdict::Kind::deliver:
      break;
  }
  conflate::ConfigUpdate update;
  update.document.assign(document);
  update.buckets = std::move(verdict.buckets);
  update.bucket_list = verdict.bucket_list;
  update.source = where;
  counters_.documents_delivered.fetch_add(1);
  try {
    if (on_update_) on_update_(std::move(update));
  } catch (...) {
    // A callback must not throw; the source keeps running if one does.
  }
  return std::nullopt;
}

DataNodeConfigSource::Wait DataNodeConfigSource::wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    if (stopping()) return Wait::Stopped;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Wait::Timeout;
    pollfd fds[2] = {{fd, events, 0}, {wake_fd_, POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(std::min<long long>(left, 1000 * 1000)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Wait::Error;
    }
    if (fds[1].revents != 0) return Wait::Stopped;
    if (fds[0].revents != 0) return Wait::Ready;
  }
}

bool DataNodeConfigSource::write_all(const std::string& bytes, std::string& why) {
  const auto deadline = Clock::now() + options_.reply_timeout;
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const Wait w = wait_for(fd_, POLLOUT, deadline);
      if (w == Wait::Ready) continue;
      why = w == Wait::Timeout ? "cannot send within " + std::to_string(options_.reply_timeout.count()) + " ms"
                               : "stopped";
      return false;
    }
    why = std::string("send failed: ") + std::strerror(errno);
    return false;
  }
  return true;
}

bool DataNodeConfigSource::read_frame(std::string& header, std::string& body, std::string& why) {
  const auto deadline = Clock::now() + options_.reply_timeout;
  auto read_exactly = [&](std::string& into, size_t count) {
    into.resize(count);
    size_t done = 0;
    while (done < count) {
      const ssize_t n = ::recv(fd_, into.data() + done, count - done, 0);
      if (n > 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (n == 0) {
        why = "the node closed the connection";
        return false;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        const Wait w = wait_for(fd_, POLLIN, deadline);
        if (w == Wait::Ready) continue;
        why = w == Wait::Timeout ? "no reply within " + std::to_string(options_.reply_timeout.count()) + " ms"
                                 : "stopped";
        return false;
      }
      why = std::string("receive failed: ") + std::strerror(errno);
      return false;
    }
    return true;
  };
  if (!read_exactly(header, binary::kHeaderSize)) return false;
  const binary::Header h = binary::decode_header(reinterpret_cast<const uint8_t*>(header.data()));
  if (h.magic != binary::kResponseMagic) {
    why = "the reply is not a binary memcached response";
    return false;
  }
  if (h.body_length > options_.max_document_bytes) {
    why = "a reply of " + std::to_string(h.body_length) + " bytes, over the " +
          std::to_string(options_.max_document_bytes) + " a config may have";
    return false;
  }
  return read_exactly(body, h.body_length);
}

void DataNodeConfigSource::pause(std::chrono::milliseconds delay) {
  // An idle connection stays open meanwhile: a node that closed it is found
  // at the next ask, and the next node is tried.
  pollfd fds[1] = {{wake_fd_, POLLIN, 0}};
  const auto deadline = Clock::now() + delay;
  while (!stopping()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return;
    if (::poll(fds, 1, static_cast<int>(left)) > 0 && fds[0].revents != 0) return;
  }
}

void DataNodeConfigSource::close_connection() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
}

void DataNodeConfigSource::report(SourceStatus::Kind kind, const std::string& source, const std::string& message) {
  if (!on_status_) return;
  SourceStatus s{kind, source, conflate::mask_secret(message, options_.password), 0};
  try {
    on_status_(s);
  } catch (...) {
    // See ask().
  }
}

void DataNodeConfigSource::report_failure(std::size_t index, const Failure& failure) {
  node_up_[index] = false;
  if (node_last_failure_[index] == failure.message) return;
  node_last_failure_[index] = failure.message;
  report(failure.kind, shown(index), failure.message);
}

void DataNodeConfigSource::report_connected(std::size_t index) {
  if (node_up_[index]) return;
  node_up_[index] = true;
  node_last_failure_[index].clear();
  report(SourceStatus::Kind::connected, shown(index), "config from data node " + shown(index));
}

}  // namespace moxi::backend
