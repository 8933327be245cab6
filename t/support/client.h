// A blocking memcached client for tests: ascii and binary protocol over one
// TCP connection to 127.0.0.1.
//
// Every call is bounded: it builds a Deadline from timeout() when it starts
// and waits with poll(), so a silent peer makes the call throw TimeoutError
// (with what was received so far) instead of hanging the test run. A peer
// that closes the connection makes reads throw PeerClosed.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "t/support/deadline.h"

namespace moxi::test {

class TimeoutError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PeerClosed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One binary protocol packet (request or response). The 24-byte header is
// big-endian on the wire.
struct BinaryPacket {
  uint8_t magic = 0x80;  // bin::kRequest or bin::kResponse
  uint8_t opcode = 0;
  uint16_t keylen = 0;
  uint8_t extlen = 0;
  uint8_t datatype = 0;
  uint16_t vbucket_or_status = 0;  // vbucket id in requests, status in responses
  uint32_t bodylen = 0;
  uint32_t opaque = 0;
  uint64_t cas = 0;
  std::string extras;
  std::string key;
  std::string value;

  uint16_t status() const { return vbucket_or_status; }
};

// Binary protocol constants (the subset tests commonly need).
namespace bin {
constexpr uint8_t kRequest = 0x80;
constexpr uint8_t kResponse = 0x81;

constexpr uint8_t kGet = 0x00;
constexpr uint8_t kSet = 0x01;
constexpr uint8_t kAdd = 0x02;
constexpr uint8_t kReplace = 0x03;
constexpr uint8_t kDelete = 0x04;
constexpr uint8_t kIncrement = 0x05;
constexpr uint8_t kDecrement = 0x06;
constexpr uint8_t kQuit = 0x07;
constexpr uint8_t kFlush = 0x08;
constexpr uint8_t kGetQ = 0x09;
constexpr uint8_t kNoop = 0x0a;
constexpr uint8_t kVersion = 0x0b;
constexpr uint8_t kGetK = 0x0c;
constexpr uint8_t kGetKQ = 0x0d;
constexpr uint8_t kAppend = 0x0e;
constexpr uint8_t kPrepend = 0x0f;
constexpr uint8_t kStat = 0x10;
constexpr uint8_t kSetQ = 0x11;

constexpr uint16_t kSuccess = 0x0000;
constexpr uint16_t kKeyNotFound = 0x0001;
constexpr uint16_t kKeyExists = 0x0002;
constexpr uint16_t kValueTooLarge = 0x0003;
constexpr uint16_t kInvalidArguments = 0x0004;
constexpr uint16_t kItemNotStored = 0x0005;
constexpr uint16_t kNonNumeric = 0x0006;
constexpr uint16_t kNotMyVbucket = 0x0007;
constexpr uint16_t kUnknownCommand = 0x0081;
constexpr uint16_t kOutOfMemory = 0x0082;

// A request with the given body; lengths are filled in by encode_binary.
BinaryPacket request(uint8_t opcode, std::string key = {}, std::string value = {}, std::string extras = {},
                     uint32_t opaque = 0, uint64_t cas = 0);
// The 8 extras bytes of SET/ADD/REPLACE: flags, then expiration.
std::string set_extras(uint32_t flags, uint32_t exptime);
}  // namespace bin

constexpr std::size_t kBinaryHeaderSize = 24;

// Header + extras + key + value. keylen, extlen and bodylen are computed from
// the strings (the struct's fields are ignored).
std::string encode_binary(const BinaryPacket& packet);
// Like encode_binary but writes every header field exactly as given, for
// tests that send deliberately inconsistent packets.
std::string encode_binary_raw(const BinaryPacket& packet);
// Parses exactly one packet: `bytes` must be 24 + bodylen long and
// extlen + keylen must fit in bodylen; throws std::runtime_error otherwise.
BinaryPacket decode_binary(std::string_view bytes);

// An item from an ascii retrieval reply ("VALUE <key> <flags> <bytes> [<cas>]").
struct AsciiItem {
  std::string key;
  std::string value;
  uint32_t flags = 0;
  std::optional<uint64_t> cas;  // present for gets
};

class TestClient {
 public:
  // Connects to 127.0.0.1:port within `timeout`, which also becomes the
  // per-call timeout. Throws std::runtime_error if the connection fails.
  explicit TestClient(int port, std::chrono::milliseconds timeout = std::chrono::seconds(2));
  // To another loopback address ("127.0.0.2"), e.g. a Memcached on it.
  TestClient(std::string host, int port, std::chrono::milliseconds timeout = std::chrono::seconds(2));
  ~TestClient();
  TestClient(TestClient&& other) noexcept;
  TestClient& operator=(TestClient&& other) noexcept;
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  int port() const { return port_; }
  int fd() const { return fd_; }
  bool connected() const { return fd_ >= 0; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

  // Closes and connects again to the same port; unread input is dropped.
  void reconnect();
  void close();

  // Raw I/O.
  void send(std::string_view bytes);
  // The next line without its CRLF (a bare LF does not end a line).
  std::string read_line();
  std::string read_exact(std::size_t n);
  // Waits until the peer closes (EOF or reset): true, or false at the deadline.
  // Data arriving first is kept for later reads.
  bool expect_closed(Deadline deadline);
  // Half-closes: shuts down the write side (the peer reads end of file) and
  // keeps reading. memcached answers every request it read, then closes.
  void shutdown_write();
  // Everything the peer sends until it closes (buffered input included);
  // throws TimeoutError if it has not closed within timeout().
  std::string read_until_closed();

  // Sends one ascii command (CRLF appended unless present) and returns the
  // one-line reply without CRLF.
  std::string request(std::string_view command);

  // Ascii helpers. set() returns the reply line ("STORED", ...).
  std::string set(std::string_view key, std::string_view value, uint32_t flags = 0, uint32_t exptime = 0);
  std::optional<std::string> get(std::string_view key);
  // (key, value) pairs in the order the server sent them; misses are absent.
  std::vector<std::pair<std::string, std::string>> get_multi(const std::vector<std::string>& keys);
  // Sends a retrieval command ("get a b", "gets a") and parses the VALUE
  // blocks up to END; throws on any other reply line.
  std::vector<AsciiItem> retrieve(std::string_view command);
  // The reply to a retrieval command sent earlier (pipelined): VALUE blocks
  // up to END; `command` only names it in errors.
  std::vector<AsciiItem> read_items(std::string_view command = "get");

  // Binary helpers.
  void send_binary(const BinaryPacket& packet);
  BinaryPacket read_binary();

 private:
  void connect_now(Deadline deadline);
  // Reads more into buf_; throws TimeoutError / PeerClosed naming `what`.
  void fill(Deadline deadline, std::string_view what);
  std::string read_line(Deadline deadline);
  std::string read_exact(std::size_t n, Deadline deadline);
  std::string where() const;

  std::string host_ = "127.0.0.1";
  int port_;
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buf_;  // received, not yet consumed
};

// The space-separated words of a line (runs of spaces are one separator),
// as memcached's ascii tokenizer splits them.
std::vector<std::string_view> split_words(std::string_view line);

// Printable form of bytes for failure messages: escapes CR, LF, non-printables
// and truncates long input.
std::string escape_bytes(std::string_view bytes, std::size_t max = 200);

}  // namespace moxi::test
