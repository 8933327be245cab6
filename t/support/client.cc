#include "t/support/client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include "t/support/bytes.h"

namespace moxi::test {

namespace {

// Refuses a body this large in read_binary: a garbage header must not make
// the test allocate gigabytes.
constexpr uint32_t kMaxBinaryBody = 64u << 20;

std::string encode_header(const BinaryPacket& p, uint16_t keylen, uint8_t extlen, uint32_t bodylen) {
  std::string out;
  out.reserve(kBinaryHeaderSize + p.extras.size() + p.key.size() + p.value.size());
  out.push_back(static_cast<char>(p.magic));
  out.push_back(static_cast<char>(p.opcode));
  put16(out, keylen);
  out.push_back(static_cast<char>(extlen));
  out.push_back(static_cast<char>(p.datatype));
  put16(out, p.vbucket_or_status);
  put32(out, bodylen);
  put32(out, p.opaque);
  put64(out, p.cas);
  return out;
}

template <class T>
bool parse_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}


}  // namespace

namespace bin {

BinaryPacket request(uint8_t opcode, std::string key, std::string value, std::string extras, uint32_t opaque,
                     uint64_t cas) {
  BinaryPacket p;
  p.magic = kRequest;
  p.opcode = opcode;
  p.opaque = opaque;
  p.cas = cas;
  p.extras = std::move(extras);
  p.key = std::move(key);
  p.value = std::move(value);
  return p;
}

std::string set_extras(uint32_t flags, uint32_t exptime) {
  std::string out;
  put32(out, flags);
  put32(out, exptime);
  return out;
}

}  // namespace bin

std::string encode_binary(const BinaryPacket& p) {
  if (p.key.size() > 0xffff) throw std::invalid_argument("encode_binary: key longer than 65535 bytes");
  if (p.extras.size() > 0xff) throw std::invalid_argument("encode_binary: extras longer than 255 bytes");
  std::size_t body = p.extras.size() + p.key.size() + p.value.size();
  if (body > 0xffffffffu) throw std::invalid_argument("encode_binary: body too long");
  std::string out = encode_header(p, static_cast<uint16_t>(p.key.size()), static_cast<uint8_t>(p.extras.size()),
                                  static_cast<uint32_t>(body));
  out += p.extras;
  out += p.key;
  out += p.value;
  return out;
}

std::string encode_binary_raw(const BinaryPacket& p) {
  std::string out = encode_header(p, p.keylen, p.extlen, p.bodylen);
  out += p.extras;
  out += p.key;
  out += p.value;
  return out;
}

BinaryPacket decode_binary(std::string_view bytes) {
  if (bytes.size() < kBinaryHeaderSize) {
    throw std::runtime_error("binary packet shorter than its 24-byte header: " + escape_bytes(bytes));
  }
  BinaryPacket p;
  p.magic = get8(bytes, 0);
  p.opcode = get8(bytes, 1);
  p.keylen = get16(bytes, 2);
  p.extlen = get8(bytes, 4);
  p.datatype = get8(bytes, 5);
  p.vbucket_or_status = get16(bytes, 6);
  p.bodylen = get32(bytes, 8);
  p.opaque = get32(bytes, 12);
  p.cas = get64(bytes, 16);
  if (bytes.size() != kBinaryHeaderSize + p.bodylen) {
    throw std::runtime_error("binary packet is " + std::to_string(bytes.size()) + " bytes but its header says 24 + " +
                             std::to_string(p.bodylen));
  }
  if (static_cast<uint32_t>(p.extlen) + p.keylen > p.bodylen) {
    throw std::runtime_error("binary packet: extlen " + std::to_string(p.extlen) + " + keylen " +
                             std::to_string(p.keylen) + " exceed bodylen " + std::to_string(p.bodylen));
  }
  std::string_view body = bytes.substr(kBinaryHeaderSize);
  p.extras = body.substr(0, p.extlen);
  p.key = body.substr(p.extlen, p.keylen);
  p.value = body.substr(static_cast<std::size_t>(p.extlen) + p.keylen);
  return p;
}

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

std::string escape_bytes(std::string_view bytes, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (bytes.size() > max) out += "...(" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

TestClient::TestClient(int port, std::chrono::milliseconds timeout) : port_(port), timeout_(timeout) {
  connect_now(Deadline(timeout_));
}

TestClient::TestClient(std::string host, int port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {
  connect_now(Deadline(timeout_));
}

TestClient::~TestClient() { close(); }

TestClient::TestClient(TestClient&& other) noexcept
    : host_(other.host_),
      port_(other.port_),
      fd_(std::exchange(other.fd_, -1)),
      timeout_(other.timeout_),
      buf_(std::move(other.buf_)) {}

TestClient& TestClient::operator=(TestClient&& other) noexcept {
  if (this != &other) {
    close();
    host_ = other.host_;
    port_ = other.port_;
    fd_ = std::exchange(other.fd_, -1);
    timeout_ = other.timeout_;
    buf_ = std::move(other.buf_);
  }
  return *this;
}

std::string TestClient::where() const { return "TestClient " + host_ + ":" + std::to_string(port_); }

void TestClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buf_.clear();
}

void TestClient::reconnect() {
  close();
  connect_now(Deadline(timeout_));
}

void TestClient::connect_now(Deadline deadline) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(where() + ": socket: " + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  if (inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1) {
    ::close(fd);
    throw std::runtime_error(where() + ": not an IPv4 address");
  }
  int err = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int r;
      do {
        r = ::poll(&p, 1, deadline.poll_timeout_ms());
      } while (r < 0 && errno == EINTR);
      if (r < 0) {
        err = errno;
        ::close(fd);
        throw std::runtime_error(where() + ": poll: " + std::strerror(err));
      }
      if (r == 0) {
        ::close(fd);
        throw TimeoutError(where() + ": timed out connecting");
      }
      socklen_t len = sizeof err;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    }
  }
  if (err != 0) {
    ::close(fd);
    throw std::runtime_error(where() + ": connect: " + std::strerror(err));
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fd_ = fd;
}

void TestClient::send(std::string_view bytes) {
  if (fd_ < 0) throw std::logic_error(where() + ": send on a closed client");
  Deadline deadline(timeout_);
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      if (errno == EPIPE || errno == ECONNRESET) {
        throw PeerClosed(where() + ": peer closed the connection while sending (" + std::strerror(errno) + ")");
      }
      throw std::runtime_error(where() + ": send: " + std::strerror(errno));
    }
    pollfd p{fd_, POLLOUT, 0};
    int r = ::poll(&p, 1, deadline.poll_timeout_ms());
    if (r < 0 && errno != EINTR) throw std::runtime_error(where() + ": poll: " + std::strerror(errno));
    if (r == 0) {
      throw TimeoutError(where() + ": timed out after " + std::to_string(timeout_.count()) + " ms sending (" +
                         std::to_string(bytes.size()) + " bytes not sent)");
    }
  }
}

void TestClient::fill(Deadline deadline, std::string_view what) {
  if (fd_ < 0) throw std::logic_error(where() + ": read on a closed client");
  char chunk[16384];
  for (;;) {
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buf_.append(chunk, static_cast<std::size_t>(n));
      return;
    }
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      throw PeerClosed(where() + ": peer closed the connection while waiting for " + std::string(what) +
                       "; unconsumed input: '" + escape_bytes(buf_) + "'");
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      throw std::runtime_error(where() + ": recv: " + std::strerror(errno));
    }
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, deadline.poll_timeout_ms());
    if (r < 0 && errno != EINTR) throw std::runtime_error(where() + ": poll: " + std::strerror(errno));
    if (r == 0) {
      throw TimeoutError(where() + ": timed out after " + std::to_string(timeout_.count()) + " ms waiting for " +
                         std::string(what) + "; unconsumed input: '" + escape_bytes(buf_) + "'");
    }
  }
}

std::string TestClient::read_line() { return read_line(Deadline(timeout_)); }

std::string TestClient::read_line(Deadline deadline) {
  std::size_t searched = 0;
  for (;;) {
    auto pos = buf_.find("\r\n", searched);
    if (pos != std::string::npos) {
      std::string line = buf_.substr(0, pos);
      buf_.erase(0, pos + 2);
      return line;
    }
    searched = buf_.empty() ? 0 : buf_.size() - 1;
    fill(deadline, "a reply line");
  }
}

std::string TestClient::read_exact(std::size_t n) { return read_exact(n, Deadline(timeout_)); }

std::string TestClient::read_exact(std::size_t n, Deadline deadline) {
  while (buf_.size() < n) fill(deadline, std::to_string(n) + " bytes");
  std::string out = buf_.substr(0, n);
  buf_.erase(0, n);
  return out;
}

bool TestClient::expect_closed(Deadline deadline) {
  if (fd_ < 0) throw std::logic_error(where() + ": expect_closed on a closed client");
  try {
    for (;;) fill(deadline, "the peer to close");
  } catch (const PeerClosed&) {
    return true;
  } catch (const TimeoutError&) {
    return false;
  }
}

void TestClient::shutdown_write() {
  if (fd_ < 0) throw std::logic_error(where() + ": shutdown_write on a closed client");
  if (::shutdown(fd_, SHUT_WR) != 0) throw std::runtime_error(where() + ": shutdown: " + std::strerror(errno));
}

std::string TestClient::read_until_closed() {
  Deadline deadline(timeout_);
  try {
    for (;;) fill(deadline, "the peer to close");
  } catch (const PeerClosed&) {
  }
  return std::exchange(buf_, std::string());
}

std::string TestClient::request(std::string_view command) {
  Deadline deadline(timeout_);
  std::string line(command);
  if (line.size() < 2 || line.compare(line.size() - 2, 2, "\r\n") != 0) line += "\r\n";
  send(line);
  return read_line(deadline);
}

std::string TestClient::set(std::string_view key, std::string_view value, uint32_t flags, uint32_t exptime) {
  Deadline deadline(timeout_);
  std::string cmd = "set " + std::string(key) + " " + std::to_string(flags) + " " + std::to_string(exptime) + " " +
                    std::to_string(value.size()) + "\r\n";
  cmd += value;
  cmd += "\r\n";
  send(cmd);
  return read_line(deadline);
}

std::vector<AsciiItem> TestClient::retrieve(std::string_view command) {
  send(std::string(command) + "\r\n");
  return read_items(command);
}

std::vector<AsciiItem> TestClient::read_items(std::string_view command) {
  Deadline deadline(timeout_);
  const std::string cmd(command);
  std::vector<AsciiItem> items;
  for (;;) {
    std::string line = read_line(deadline);
    if (line == "END") return items;
    auto words = split_words(line);
    AsciiItem item;
    std::size_t bytes = 0;
    bool ok = (words.size() == 4 || words.size() == 5) && words[0] == "VALUE" && parse_number(words[2], item.flags) &&
              parse_number(words[3], bytes);
    if (ok && words.size() == 5) {
      uint64_t cas = 0;
      ok = parse_number(words[4], cas);
      item.cas = cas;
    }
    if (!ok) {
      throw std::runtime_error(where() + ": unexpected reply to '" + cmd + "': '" + escape_bytes(line) + "'");
    }
    item.key = std::string(words[1]);
    std::string data = read_exact(bytes + 2, deadline);
    if (data.compare(bytes, 2, "\r\n") != 0) {
      throw std::runtime_error(where() + ": value of " + item.key + " (" + std::to_string(bytes) +
                               " bytes) not followed by CRLF: '" + escape_bytes(data) + "'");
    }
    data.resize(bytes);
    item.value = std::move(data);
    items.push_back(std::move(item));
  }
}

std::optional<std::string> TestClient::get(std::string_view key) {
  auto items = retrieve("get " + std::string(key));
  if (items.empty()) return std::nullopt;
  if (items.size() != 1 || items[0].key != key) {
    throw std::runtime_error(where() + ": 'get " + std::string(key) + "' returned " + std::to_string(items.size()) +
                             " item(s), first key '" + items[0].key + "'");
  }
  return std::move(items[0].value);
}

std::vector<std::pair<std::string, std::string>> TestClient::get_multi(const std::vector<std::string>& keys) {
  std::string cmd = "get";
  for (const auto& k : keys) cmd += " " + k;
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& item : retrieve(cmd)) out.emplace_back(std::move(item.key), std::move(item.value));
  return out;
}

void TestClient::send_binary(const BinaryPacket& packet) { send(encode_binary(packet)); }

BinaryPacket TestClient::read_binary() {
  Deadline deadline(timeout_);
  std::string header = read_exact(kBinaryHeaderSize, deadline);
  uint32_t bodylen = get32(header, 8);
  if (bodylen > kMaxBinaryBody) {
    throw std::runtime_error(where() + ": binary header claims a " + std::to_string(bodylen) +
                             "-byte body: " + escape_bytes(header));
  }
  return decode_binary(header + read_exact(bodylen, deadline));
}

}  // namespace moxi::test
