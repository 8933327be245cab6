#include "t/diff/transport.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

#include "t/support/client.h"

namespace moxi::test::diff {

const char* to_string(Ending e) {
  switch (e) {
    case Ending::Complete:
      return "complete";
    case Ending::Closed:
      return "closed";
    case Ending::Timeout:
      return "timeout (hang)";
  }
  return "?";
}

namespace {

struct Sentinel {
  std::string request;
  std::string reply;  // the bytes that identify the reply
  std::size_t reply_size = 0;  // the bytes the reply occupies (binary: whole header)
};

Sentinel sentinel_for(Protocol protocol, uint64_t nonce, int segment) {
  Sentinel s;
  if (protocol == Protocol::Ascii) {
    std::string key = "__diff_sentinel_" + std::to_string(nonce) + "_" + std::to_string(segment);
    s.request = "set " + key + " 0 0 2 noreply\r\nok\r\nget " + key + "\r\n";
    s.reply = "VALUE " + key + " 0 2\r\nok\r\nEND\r\n";
    s.reply_size = s.reply.size();
  } else {
    // Stream commands use opaques below 0x80000000 (generator.cc), so the
    // high bit marks a sentinel; the rest tells runs and segments apart.
    uint32_t opaque = 0x80000000u | static_cast<uint32_t>((nonce & 0x7fff) << 16) | static_cast<uint32_t>(segment & 0xffff);
    s.request = encode_binary(bin::request(bin::kNoop, {}, {}, {}, opaque));
    std::string reply = s.request;
    reply[0] = static_cast<char>(bin::kResponse);
    // Match the header up to and including the opaque; the cas is not
    // part of the match so that a non-zero NOOP cas shows as a divergence
    // in the unit after it rather than as a hang.
    s.reply = reply.substr(0, 16);
    s.reply_size = kBinaryHeaderSize;
  }
  return s;
}

// Every occurrence of `from` in `bytes` replaced by `to` (same length).
void replace_all(std::string& bytes, const std::string& from, const std::string& to) {
  if (from.empty() || from == to) return;
  for (auto at = bytes.find(from); at != std::string::npos; at = bytes.find(from, at + to.size()))
    bytes.replace(at, from.size(), to);
}

// A key prefix of the same length as the stream's, unique to this run: a
// re-run of the same stream (classification, shrinking) must not see items a
// previous run left behind, and a proxy may apply a noreply write after its
// client has gone, i.e. after the flush that precedes the next run.
std::string run_prefix(const std::string& prefix, uint64_t nonce) {
  std::string out = prefix;
  static const char* hex = "0123456789abcdef";
  uint64_t h = nonce * 0x9e3779b97f4a7c15ull;
  for (std::size_t i = 1; i + 1 < out.size(); ++i, h = h >> 4 | h << 60) out[i] = hex[h & 0xf];
  return out;
}

// The bytes of commands [begin, end) with the cas placeholders filled from
// this side's classes and the key prefix made unique to the run.
std::string segment_bytes(const Stream& stream, std::size_t begin, std::size_t end, const CasBook& cas,
                          const std::string& prefix) {
  std::string out;
  for (std::size_t i = begin; i < end; ++i) {
    const Command& c = stream.commands[i];
    std::string bytes = c.bytes;
    if (c.cas_class >= 0) {
      uint64_t value = cas.value_of(c.cas_class);
      if (stream.protocol == Protocol::Ascii) {
        auto at = bytes.find(kCasMarker);
        if (at != std::string::npos) bytes.replace(at, std::strlen(kCasMarker), std::to_string(value));
      } else if (bytes.size() >= kBinaryHeaderSize) {
        for (int b = 0; b < 8; ++b) bytes[16 + static_cast<std::size_t>(b)] = static_cast<char>((value >> (56 - 8 * b)) & 0xff);
      }
    }
    replace_all(bytes, stream.prefix, prefix);
    out += bytes;
  }
  return out;
}

// Cut points for a segment: 1 to 4 random places, so that a command, a
// header or a data block is split across writes somewhere.
std::vector<std::size_t> cuts_for(std::size_t size, std::mt19937_64& rng) {
  std::vector<std::size_t> cuts;
  if (size < 2) return cuts;
  int n = static_cast<int>(rng() % 4) + 1;
  for (int i = 0; i < n; ++i) cuts.push_back(1 + rng() % (size - 1));
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  return cuts;
}

// One connection's duplex I/O: writes while draining replies, so neither
// side's buffers can fill up and stall the other.
class Connection {
 public:
  Connection(int port, Deadline deadline) : client_(port, std::chrono::milliseconds(std::max<long long>(1, deadline.remaining().count()))), deadline_(deadline) {}

  bool closed() const { return closed_; }
  bool timed_out() const { return timed_out_; }
  std::string& received() { return received_; }
  const std::string& note() const { return note_; }

  // Writes all of `bytes` (unless the peer closes), reading whatever comes
  // meanwhile. Returns false if writing became impossible or timed out.
  bool write(std::string_view bytes) {
    while (!bytes.empty() && !write_failed_) {
      if (!poll_once(true)) return false;
      ssize_t n = ::send(client_.fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        // The server closed (EPIPE/ECONNRESET): the replies it sent before
        // are still readable, so reading goes on until EOF.
        write_failed_ = true;
        note_ = std::string("send: ") + std::strerror(errno);
      }
    }
    return !write_failed_;
  }

  // Reads whatever is available now without waiting.
  void drain() {
    if (!closed_) read_some();
  }

  void shutdown_write() { ::shutdown(client_.fd(), SHUT_WR); }

  // Waits until more input or the close arrives. False when there can be
  // no more (already closed) or the deadline passed.
  bool read_more() {
    if (closed_) return false;
    return poll_once(false);
  }

 private:
  // One poll for input (and output if `for_write`), bounded by the deadline;
  // reads what is readable. False on deadline.
  bool poll_once(bool for_write) {
    for (;;) {
      short events = static_cast<short>((closed_ ? 0 : POLLIN) | (for_write ? POLLOUT : 0));
      if (events == 0) return false;
      pollfd p{client_.fd(), events, 0};
      int r = ::poll(&p, 1, deadline_.poll_timeout_ms());
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
      if (r == 0) {
        timed_out_ = true;
        return false;
      }
      if (p.revents & (POLLIN | POLLHUP | POLLERR)) read_some();
      return true;
    }
  }

  void read_some() {
    char chunk[65536];
    for (;;) {
      ssize_t n = ::recv(client_.fd(), chunk, sizeof chunk, 0);
      if (n > 0) {
        received_.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE))) {
        closed_ = true;
        return;
      }
      if (errno == EINTR) continue;
      return;  // EAGAIN: nothing more for now
    }
  }

  TestClient client_;
  Deadline deadline_;
  std::string received_;
  std::string note_;
  bool closed_ = false;
  bool timed_out_ = false;
  bool write_failed_ = false;
};

}  // namespace

Outcome run_stream(int port, const Stream& stream, uint64_t nonce, Deadline deadline) {
  Outcome out;
  Connection conn(port, deadline);
  ReplyFramer framer(stream.protocol);
  std::mt19937_64 rng(stream.chunk_seed);

  std::vector<std::size_t> starts{0};
  for (std::size_t i = 1; i < stream.commands.size(); ++i)
    if (stream.commands[i].sync_before) starts.push_back(i);

  const std::string prefix = run_prefix(stream.prefix, nonce);
  // Replies name keys with the run's prefix; the comparison wants the stream's.
  auto feed = [&](std::string bytes) {
    replace_all(bytes, prefix, stream.prefix);
    framer.feed(bytes);
  };
  auto finish = [&](Ending ending) {
    feed(conn.received());
    framer.finish();
    out.units = framer.units();
    out.ending = ending;
    out.note = conn.note();
    return out;
  };

  for (std::size_t seg = 0; seg < starts.size(); ++seg) {
    bool last = seg + 1 == starts.size();
    std::size_t end = last ? stream.commands.size() : starts[seg + 1];
    std::string bytes = segment_bytes(stream, starts[seg], end, framer.cas(), prefix);
    bool with_sentinel = !last || stream.end == EndMode::Sentinel;
    Sentinel sentinel;
    if (with_sentinel) {
      sentinel = sentinel_for(stream.protocol, nonce, static_cast<int>(seg));
      bytes += sentinel.request;
    }
    std::vector<std::size_t> cuts;
    if (stream.chunk_seed) cuts = cuts_for(bytes.size(), rng);
    std::size_t from = 0;
    cuts.push_back(bytes.size());
    for (std::size_t cut : cuts) {
      if (!conn.write(std::string_view(bytes).substr(from, cut - from))) break;
      // Not a wait: whatever replies are already there are taken now, which
      // makes the server see the next write as a separate read more often.
      conn.drain();
      from = cut;
    }
    if (conn.timed_out()) return finish(Ending::Timeout);
    if (last && stream.end == EndMode::HalfClose) conn.shutdown_write();

    if (!with_sentinel) {
      while (!conn.closed() && conn.read_more()) {
      }
      return finish(conn.closed() ? Ending::Closed : Ending::Timeout);
    }
    // Wait for this segment's sentinel reply.
    std::size_t searched = 0;
    for (;;) {
      std::string& raw = conn.received();
      auto at = raw.find(sentinel.reply, searched);
      if (at != std::string::npos && raw.size() >= at + sentinel.reply_size) {
        feed(raw.substr(0, at));
        raw.erase(0, at + sentinel.reply_size);
        ++out.segments_done;
        break;
      }
      searched = raw.size() > sentinel.reply.size() ? raw.size() - sentinel.reply.size() : 0;
      if (at != std::string::npos) searched = at;
      if (conn.closed()) return finish(Ending::Closed);
      if (!conn.read_more()) return finish(conn.closed() ? Ending::Closed : Ending::Timeout);
    }
  }
  // Sentinel end mode: every reply is in. Anything after the last sentinel
  // reply would be an extra, unrequested reply and is compared too.
  conn.drain();
  return finish(Ending::Complete);
}

}  // namespace moxi::test::diff
