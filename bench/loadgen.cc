// loadgen: a small memcached ascii load generator for comparing proxies.
//
// Every connection keeps --pipeline requests in flight; each request is a get
// (of --multiget keys) with probability --get-ratio, else a set of one key.
// Latency is measured per request, from the moment it is handed to the socket
// to the moment its whole reply has been read. Replies are parsed and checked:
// a get's VALUE lines must name keys it asked for, each once, with the value a
// set of that key writes (the key's bytes repeated), and must end with END; a
// set must answer STORED. Anything else counts as an error.
//
// It stops by itself: after --duration seconds (then waits for the replies in
// flight, at most --drain-timeout seconds), or after --requests requests
// (bounded by --max-time seconds all the same).
//
// Output: one JSON line on stdout, e.g.
//   {"ops_per_sec":..., "keys_per_sec":..., "p50_us":..., "p99_us":...,
//    "p999_us":..., "errors":0, "misses":0, ...}
// Exit status: 0 when it ran (errors are reported in the line, not in the
// status), 2 on bad options, 3 when it could not connect.
//
// --tls-ca FILE makes every connection (idle ones too) a TLS client: OpenSSL,
// the server's certificate verified against FILE and against --host (an IP
// address must be in the certificate's IP SANs). The handshake is done, with
// the socket still blocking, before any request is timed; without the option
// no TLS code runs on the request path.
//
// --protocol meta speaks memcached's meta commands instead: a get is
// "mg KEY v f k" (a miss answers EN), a multiget is "mg KEY v f k q" per key
// then "mn" (misses are silent, MN ends the reply), a set is
// "ms KEY LEN F0 T0" (HD). The k flag makes every hit name its key, so the
// same checks apply.
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

constexpr int kMaxMultiget = 1024;

struct Options {
  std::string host = "127.0.0.1";
  std::vector<int> ports;
  int connections = 50;
  int pipeline = 1;
  double get_ratio = 0.9;
  int key_size = 32;
  int value_size = 100;
  uint32_t keys = 10000;
  int multiget = 1;
  double duration = 5;
  uint64_t requests = 0;  // 0: run for --duration
  int threads = 1;
  bool warmup_set = false;
  double max_time = 300;
  double drain_timeout = 10;
  uint64_t seed = 1;
  std::string key_prefix = "lg:";
  int idle_connections = 0;  // opened first, never used, held until the end
  std::string tls_ca;        // non-empty: TLS to the server, verified with these CAs
  bool meta = false;         // --protocol meta: mg/ms/mn instead of get/set
};

[[noreturn]] void usage(const char* why) {
  if (why) std::fprintf(stderr, "loadgen: %s\n", why);
  std::fprintf(stderr,
               "Usage: loadgen [OPTIONS]\n"
               "  --host ADDR          server address (default 127.0.0.1)\n"
               "  --port P[,P...]      server port(s); connections are spread round-robin\n"
               "  --connections N      connections in all (default 50)\n"
               "  --pipeline D         requests in flight per connection (default 1)\n"
               "  --get-ratio R        share of requests that are gets (default 0.9)\n"
               "  --key-size B         key length in bytes (default 32)\n"
               "  --value-size B       value length in bytes (default 100)\n"
               "  --keys N             key space (default 10000)\n"
               "  --multiget K         keys per get (default 1; at most %d)\n"
               "  --duration S         run for S seconds (default 5)\n"
               "  --requests N         run for N requests instead of a duration\n"
               "  --max-time S         hard limit for --requests and --warmup-set (default 300)\n"
               "  --drain-timeout S    wait at most S s for replies after the end (default 10)\n"
               "  --threads T          event-loop threads (default 1)\n"
               "  --warmup-set         first set every key once (not measured)\n"
               "  --seed N             random seed (default 1)\n"
               "  --key-prefix S       keys are S + a zero-padded index (default lg:)\n"
               "  --idle-connections N also open N connections that send nothing and hold\n"
               "                       them until the end; with --connections 0, print one\n"
               "                       JSON line once they are open and hold them for\n"
               "                       --duration seconds (or until killed)\n"
               "  --protocol P         ascii (get/set, the default) or meta (mg/ms/mn)\n"
               "  --tls-ca FILE        speak TLS (verify the server against the PEM CAs in\n"
               "                       FILE and against --host); handshakes are not timed\n",
               kMaxMultiget);
  std::exit(2);
}

template <typename T>
T parse_num(const char* name, const char* s) {
  T v{};
  const char* end = s + std::strlen(s);
  auto [p, ec] = std::from_chars(s, end, v);
  if (ec != std::errc() || p != end) {
    std::fprintf(stderr, "loadgen: bad value for %s: %s\n", name, s);
    std::exit(2);
  }
  return v;
}

double parse_double(const char* name, const char* s) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0') {
    std::fprintf(stderr, "loadgen: bad value for %s: %s\n", name, s);
    std::exit(2);
  }
  return v;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") usage(nullptr);
    if (a == "--warmup-set") {
      o.warmup_set = true;
      continue;
    }
    if (i + 1 >= argc) usage("missing value");
    const char* v = argv[++i];
    if (a == "--host") {
      o.host = v;
    } else if (a == "--port") {
      std::string_view s = v;
      while (!s.empty()) {
        size_t comma = s.find(',');
        std::string one(s.substr(0, comma));
        o.ports.push_back(parse_num<int>("--port", one.c_str()));
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
      }
    } else if (a == "--connections") {
      o.connections = parse_num<int>("--connections", v);
    } else if (a == "--pipeline") {
      o.pipeline = parse_num<int>("--pipeline", v);
    } else if (a == "--get-ratio") {
      o.get_ratio = parse_double("--get-ratio", v);
    } else if (a == "--key-size") {
      o.key_size = parse_num<int>("--key-size", v);
    } else if (a == "--value-size") {
      o.value_size = parse_num<int>("--value-size", v);
    } else if (a == "--keys") {
      o.keys = parse_num<uint32_t>("--keys", v);
    } else if (a == "--multiget") {
      o.multiget = parse_num<int>("--multiget", v);
    } else if (a == "--duration") {
      o.duration = parse_double("--duration", v);
    } else if (a == "--requests") {
      o.requests = parse_num<uint64_t>("--requests", v);
    } else if (a == "--max-time") {
      o.max_time = parse_double("--max-time", v);
    } else if (a == "--drain-timeout") {
      o.drain_timeout = parse_double("--drain-timeout", v);
    } else if (a == "--threads") {
      o.threads = parse_num<int>("--threads", v);
    } else if (a == "--key-prefix") {
      o.key_prefix = v;
    } else if (a == "--idle-connections") {
      o.idle_connections = parse_num<int>("--idle-connections", v);
    } else if (a == "--protocol") {
      std::string_view p = v;
      if (p != "ascii" && p != "meta") usage("--protocol must be ascii or meta");
      o.meta = p == "meta";
    } else if (a == "--tls-ca") {
      o.tls_ca = v;
      if (o.tls_ca.empty()) usage("bad --tls-ca");
    } else if (a == "--seed") {
      o.seed = parse_num<uint64_t>("--seed", v);
    } else {
      usage("unknown option");
    }
  }
  if (o.ports.empty()) usage("--port is required");
  for (int p : o.ports)
    if (p <= 0 || p > 65535) usage("bad --port");
  if (o.idle_connections < 0) usage("bad --idle-connections");
  if (o.connections < (o.idle_connections > 0 ? 0 : 1)) usage("--connections must be at least 1");
  if (o.pipeline < 1) usage("--pipeline must be at least 1");
  if (o.get_ratio < 0 || o.get_ratio > 1) usage("--get-ratio must be within 0..1");
  if (o.keys < 1) usage("--keys must be at least 1");
  if (o.multiget < 1 || o.multiget > kMaxMultiget) usage("bad --multiget");
  if (static_cast<uint32_t>(o.multiget) > o.keys) usage("--multiget is larger than --keys");
  if (o.value_size < 0) usage("bad --value-size");
  if (o.duration <= 0 || o.max_time <= 0 || o.drain_timeout <= 0) usage("times must be positive");
  if (o.threads < 1) usage("--threads must be at least 1");
  if (o.threads > o.connections) o.threads = std::max(o.connections, 1);
  size_t digits = std::to_string(o.keys - 1).size();
  if (o.key_prefix.empty() || o.key_prefix.find_first_of(" \r\n") != std::string::npos)
    usage("bad --key-prefix");
  if (o.key_size < static_cast<int>(o.key_prefix.size() + digits) || o.key_size > 250)
    usage("--key-size too small for the key space (or above memcached's 250)");
  return o;
}

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

timeval to_timeval(double seconds) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(tv.tv_sec)) * 1e6);
  return tv;
}

// Keys are --key-prefix ("lg:") + the zero-padded index, key_size bytes long; all of them
// live in one buffer. A key's value is its bytes repeated to value_size.
class KeySpace {
 public:
  KeySpace(uint32_t n, int key_size, std::string prefix)
      : n_(n), size_(static_cast<size_t>(key_size)), prefix_(std::move(prefix)), buf_(n * size_) {
    for (uint32_t i = 0; i < n; ++i) {
      char* k = &buf_[i * size_];
      std::memset(k, '0', size_);
      std::memcpy(k, prefix_.data(), prefix_.size());
      std::string digits = std::to_string(i);
      std::memcpy(k + size_ - digits.size(), digits.data(), digits.size());
    }
  }
  std::string_view key(uint32_t i) const { return {&buf_[i * size_], size_}; }
  // The index of a key this space made, or -1.
  int64_t index_of(std::string_view k) const {
    if (k.size() != size_ || k.substr(0, prefix_.size()) != prefix_) return -1;
    uint64_t v = 0;
    for (char c : k.substr(prefix_.size())) {
      if (c < '0' || c > '9') return -1;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return v < n_ ? static_cast<int64_t>(v) : -1;
  }
  bool value_matches(uint32_t i, const char* v, size_t len) const {
    std::string_view k = key(i);
    for (size_t j = 0; j < len; ++j)
      if (v[j] != k[j % size_]) return false;
    return true;
  }
  void append_value(uint32_t i, std::string& out, size_t len) const {
    std::string_view k = key(i);
    while (len >= size_) {
      out.append(k);
      len -= size_;
    }
    out.append(k.substr(0, len));
  }

 private:
  uint32_t n_;
  size_t size_;
  std::string prefix_;
  std::vector<char> buf_;
};

struct Rng {
  uint64_t s;
  uint64_t next() {  // splitmix64
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>((next() >> 32) * n >> 32); }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

struct Stats {
  uint64_t requests = 0, gets = 0, sets = 0, keys = 0, hits = 0, misses = 0;
  uint64_t errors = 0, timeouts = 0, conn_errors = 0;
  uint64_t first_ns = UINT64_MAX, last_ns = 0;
  std::vector<uint32_t> lat_ns;  // saturates at ~4.29 s
  void add(const Stats& o) {
    requests += o.requests, gets += o.gets, sets += o.sets, keys += o.keys, hits += o.hits;
    misses += o.misses, errors += o.errors, timeouts += o.timeouts, conn_errors += o.conn_errors;
    first_ns = std::min(first_ns, o.first_ns), last_ns = std::max(last_ns, o.last_ns);
    lat_ns.insert(lat_ns.end(), o.lat_ns.begin(), o.lat_ns.end());
  }
};

enum class Phase { kWarmup, kMeasure };

struct Shared {
  const Options& opt;
  const KeySpace& ks;
  std::atomic<uint64_t> issued{0};     // --requests budget
  std::atomic<uint32_t> warm_next{0};  // next key to set in the warm-up
};

class Thread;

// One request in flight. Its keys live in Conn::slot_keys_.
struct Slot {
  uint64_t sent_ns = 0;
  bool is_get = false;
  bool failed = false;  // an error reply or a bad VALUE: counted once
  uint16_t nkeys = 0;
  uint16_t hits = 0;
};

class Conn {
 public:
  // SSL: null for plain TCP, else a TLS connection over FD with its handshake done (Conn owns it).
  Conn(Thread* t, int fd, SSL* ssl, int depth, int multiget)
      : t_(t), fd_(fd), ssl_(ssl), depth_(depth), k_(multiget), slots_(depth), slot_keys_(depth * multiget),
        found_(depth * multiget) {}
  ~Conn() { close_fd(); }
  bool start(event_base* base);
  int outstanding() const { return count_; }
  bool alive() const { return fd_ >= 0; }
  void fill(uint64_t now);  // issue requests until the pipeline is full (or the run ends)
  void flush();
  void fail_all(bool timeout);  // give up on what is in flight and close

 private:
  static void on_read(evutil_socket_t, short, void* arg) { static_cast<Conn*>(arg)->readable(); }
  static void on_write(evutil_socket_t, short, void* arg) { static_cast<Conn*>(arg)->writable(); }
  void readable();
  void writable();
  void make_room();
  // The TLS halves of readable() and flush(); the plain path never reaches them.
  void readable_tls();
  void flush_tls();
  // Parses replies for the oldest requests; returns false on a protocol error.
  bool parse(uint64_t now);
  void complete(uint64_t now);
  void close_fd();

  Thread* t_;
  int fd_;
  SSL* ssl_;
  bool read_wants_write_ = false;  // SSL_read asked for writability: retry it when the socket is writable
  bool write_wants_read_ = false;  // SSL_write asked for readability: retry it after the next read
  int depth_, k_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> slot_keys_;
  std::vector<char> found_;
  int head_ = 0, count_ = 0;
  std::vector<char> in_ = std::vector<char>(1 << 16);
  size_t in_start_ = 0, in_end_ = 0;
  std::string out_;
  size_t out_start_ = 0;
  event* rev_ = nullptr;
  event* wev_ = nullptr;
};

class Thread {
 public:
  Thread(Shared& sh, uint64_t seed) : sh_(sh), rng_{seed} {}
  ~Thread() {
    conns_.clear();
    if (timer_) event_free(timer_);
    if (base_) event_base_free(base_);
  }
  bool connect_all(const std::vector<int>& ports, int first, int n, int stride);
  void run(Phase phase);
  Stats& stats() { return stats_; }
  Stats& warm_stats() { return warm_stats_; }

  // For Conn.
  Shared& sh() { return sh_; }
  Rng& rng() { return rng_; }
  Phase phase() const { return phase_; }
  Stats& cur() { return phase_ == Phase::kMeasure ? stats_ : warm_stats_; }
  bool may_issue_warm(uint32_t* key);
  bool may_issue();
  void changed(int delta_outstanding);

 private:
  static void on_timer(evutil_socket_t, short, void* arg) { static_cast<Thread*>(arg)->timer(); }
  void timer();
  void arm(double seconds);

  Shared& sh_;
  Rng rng_;
  event_base* base_ = nullptr;
  event* timer_ = nullptr;
  std::vector<std::unique_ptr<Conn>> conns_;
  Phase phase_ = Phase::kWarmup;
  bool stopping_ = false;  // no new requests; the timer now bounds the wait for replies
  int outstanding_ = 0;
  Stats stats_, warm_stats_;
};

bool Conn::start(event_base* base) {
  rev_ = event_new(base, fd_, EV_READ | EV_PERSIST, &Conn::on_read, this);
  wev_ = event_new(base, fd_, EV_WRITE, &Conn::on_write, this);
  return rev_ && wev_ && event_add(rev_, nullptr) == 0;
}

void Conn::close_fd() {
  if (rev_) event_free(rev_), rev_ = nullptr;
  if (wev_) event_free(wev_), wev_ = nullptr;
  if (ssl_) {
    SSL_shutdown(ssl_);  // one close_notify, not waited for (the socket is non-blocking)
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) ::close(fd_), fd_ = -1;
}

// The reason of a TLS failure on stderr, for the first few only (50 connections failing
// alike would bury the cause).
void tls_report(const char* what, int ssl_error) {
  static std::atomic<int> reported{0};
  if (reported.fetch_add(1) >= 3) {
    ERR_clear_error();
    return;
  }
  unsigned long e = ERR_get_error();
  char buf[256] = "";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  std::fprintf(stderr, "loadgen: TLS %s failed (SSL_get_error %d%s%s%s)\n", what, ssl_error, e ? ": " : "", buf,
               ssl_error == SSL_ERROR_SYSCALL && errno ? std::strerror(errno) : "");
  ERR_clear_error();
}

void Conn::fail_all(bool timeout) {
  Stats& st = t_->cur();
  (timeout ? st.timeouts : st.errors) += static_cast<uint64_t>(count_);
  if (!timeout) ++st.conn_errors;
  int n = count_;
  count_ = 0;
  close_fd();
  t_->changed(-n);
}

void Conn::fill(uint64_t now) {
  if (!alive()) return;
  const Options& o = t_->sh().opt;
  const KeySpace& ks = t_->sh().ks;
  int issued = 0;
  while (count_ < depth_) {
    uint32_t warm_key = 0;
    bool is_get;
    if (t_->phase() == Phase::kWarmup) {
      if (!t_->may_issue_warm(&warm_key)) break;
      is_get = false;
    } else {
      if (!t_->may_issue()) break;
      is_get = t_->rng().unit() < o.get_ratio;
    }
    int idx = (head_ + count_) % depth_;
    Slot& s = slots_[idx];
    uint32_t* keys = &slot_keys_[static_cast<size_t>(idx) * k_];
    s.sent_ns = now;
    s.is_get = is_get;
    s.failed = false;
    s.hits = 0;
    if (is_get) {
      s.nkeys = static_cast<uint16_t>(o.multiget);
      std::memset(&found_[static_cast<size_t>(idx) * k_], 0, k_);
      if (!o.meta) out_.append("get");
      for (int i = 0; i < o.multiget; ++i) {
        uint32_t key;
        bool dup;
        do {  // distinct keys, so every key has exactly one answer
          key = t_->rng().below(o.keys);
          dup = std::find(keys, keys + i, key) != keys + i;
        } while (dup);
        keys[i] = key;
        if (o.meta) {
          out_.append("mg ");
          out_.append(ks.key(key));
          out_.append(o.multiget > 1 ? " v f k q\r\n" : " v f k\r\n");
        } else {
          out_.push_back(' ');
          out_.append(ks.key(key));
        }
      }
      out_.append(!o.meta ? "\r\n" : o.multiget > 1 ? "mn\r\n" : "");
    } else {
      s.nkeys = 1;
      uint32_t key = t_->phase() == Phase::kWarmup ? warm_key : t_->rng().below(o.keys);
      keys[0] = key;
      out_.append(o.meta ? "ms " : "set ");
      out_.append(ks.key(key));
      out_.append(o.meta ? " " : " 0 0 ");
      out_.append(std::to_string(o.value_size));
      out_.append(o.meta ? " F0 T0\r\n" : "\r\n");
      ks.append_value(key, out_, static_cast<size_t>(o.value_size));
      out_.append("\r\n");
    }
    ++count_;
    ++issued;
  }
  t_->changed(issued);  // also ends the loop when this was the last request
}

void Conn::writable() {
  if (read_wants_write_) {
    read_wants_write_ = false;
    readable();  // it flushes too
    return;
  }
  flush();
}

void Conn::flush() {
  if (!alive()) return;
  if (ssl_) {
    flush_tls();
    return;
  }
  while (out_start_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + out_start_, out_.size() - out_start_, MSG_NOSIGNAL);
    if (n > 0) {
      out_start_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      event_add(wev_, nullptr);
      return;
    }
    fail_all(false);
    return;
  }
  out_.clear();
  out_start_ = 0;
}

void Conn::flush_tls() {
  write_wants_read_ = false;
  while (out_start_ < out_.size()) {
    // Partial writes and a moving buffer are allowed (SSL_CTX modes): a retry after
    // WANT_WRITE passes the same unsent bytes, maybe at a new address and with more after them.
    size_t len = std::min<size_t>(out_.size() - out_start_, INT32_MAX);
    int n = SSL_write(ssl_, out_.data() + out_start_, static_cast<int>(len));
    if (n > 0) {
      out_start_ += static_cast<size_t>(n);
      continue;
    }
    int e = SSL_get_error(ssl_, n);
    if (e == SSL_ERROR_WANT_WRITE) {
      event_add(wev_, nullptr);
      return;
    }
    if (e == SSL_ERROR_WANT_READ) {  // the persistent read event calls readable_tls(), which flushes
      write_wants_read_ = true;
      return;
    }
    tls_report("write", e);
    fail_all(false);
    return;
  }
  out_.clear();
  out_start_ = 0;
}

void Conn::make_room() {
  if (in_end_ == in_.size()) {
    if (in_start_ > 0) {
      std::memmove(in_.data(), in_.data() + in_start_, in_end_ - in_start_);
      in_end_ -= in_start_;
      in_start_ = 0;
    } else {
      in_.resize(in_.size() * 2);
    }
  }
}

// SSL_read until OpenSSL holds nothing more (read-ahead may have buffered several records
// from one recv, and the socket would not wake us for those), then refill and flush.
void Conn::readable_tls() {
  uint64_t now = 0;
  for (;;) {
    make_room();
    size_t room = std::min<size_t>(in_.size() - in_end_, INT32_MAX);
    int n = SSL_read(ssl_, in_.data() + in_end_, static_cast<int>(room));
    if (n <= 0) {
      int e = SSL_get_error(ssl_, n);
      if (e == SSL_ERROR_WANT_READ) break;  // a partial record, or only a session ticket
      if (e == SSL_ERROR_WANT_WRITE) {
        read_wants_write_ = true;
        event_add(wev_, nullptr);
        break;
      }
      if (e != SSL_ERROR_ZERO_RETURN && !(e == SSL_ERROR_SYSCALL && errno == 0)) tls_report("read", e);
      fail_all(false);  // closed (close_notify or EOF) or broken
      return;
    }
    in_end_ += static_cast<size_t>(n);
    now = now_ns();
    if (!parse(now)) {
      fail_all(false);
      return;
    }
    if (in_start_ == in_end_) in_start_ = in_end_ = 0;
    if (!SSL_has_pending(ssl_)) break;
  }
  if (now) fill(now);
  if (now || write_wants_read_) flush();
}

void Conn::readable() {
  if (ssl_) {
    readable_tls();
    return;
  }
  make_room();
  ssize_t n = ::recv(fd_, in_.data() + in_end_, in_.size() - in_end_, 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (n <= 0) {
    fail_all(false);
    return;
  }
  in_end_ += static_cast<size_t>(n);
  uint64_t now = now_ns();
  if (!parse(now)) {
    fail_all(false);
    return;
  }
  if (in_start_ == in_end_) in_start_ = in_end_ = 0;
  fill(now);
  flush();
}

void Conn::complete(uint64_t now) {
  Slot& s = slots_[head_];
  Stats& st = t_->cur();
  ++st.requests;
  st.keys += s.nkeys;
  if (s.is_get) {
    ++st.gets;
    st.hits += s.hits;
    if (!s.failed) st.misses += static_cast<uint64_t>(s.nkeys - s.hits);
  } else {
    ++st.sets;
  }
  if (s.failed) ++st.errors;
  if (t_->phase() == Phase::kMeasure) {
    uint64_t lat = now - s.sent_ns;
    st.lat_ns.push_back(lat > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(lat));
    st.first_ns = std::min(st.first_ns, s.sent_ns);
    st.last_ns = std::max(st.last_ns, now);
  }
  head_ = (head_ + 1) % depth_;
  --count_;
  t_->changed(-1);
}

// Splits "A B C" on single spaces into at most max tokens; returns the count.
int tokens(std::string_view line, std::string_view* tok, int max) {
  int n = 0;
  while (!line.empty() && n < max) {
    size_t sp = line.find(' ');
    tok[n++] = line.substr(0, sp);
    if (sp == std::string_view::npos) break;
    line.remove_prefix(sp + 1);
  }
  return n;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool Conn::parse(uint64_t now) {
  const Options& o = t_->sh().opt;
  const KeySpace& ks = t_->sh().ks;
  // The lines that end a reply. A meta multiget ends at MN; a one-key mg at EN (a
  // miss) or after its VA's data block.
  const std::string_view stored = o.meta ? "HD" : "STORED";
  const std::string_view end = !o.meta ? "END" : o.multiget > 1 ? "MN" : "EN";
  const std::string_view value = o.meta ? "VA " : "VALUE ";
  while (count_ > 0 && in_start_ < in_end_) {
    const char* p = in_.data() + in_start_;
    size_t avail = in_end_ - in_start_;
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', avail));
    if (!nl) return avail < 4096;  // a line longer than that is not memcached
    if (nl == p || nl[-1] != '\r') return false;
    std::string_view line(p, static_cast<size_t>(nl - p - 1));
    size_t line_len = static_cast<size_t>(nl - p) + 1;
    Slot& s = slots_[head_];
    if (!s.is_get) {
      if (line != stored) s.failed = true;
      in_start_ += line_len;
      complete(now);
      continue;
    }
    // A meta status carries the request's return flags ("EN k<key>").
    if (line == end || (o.meta && line.substr(0, line.find(' ')) == end)) {
      in_start_ += line_len;
      complete(now);
      continue;
    }
    if (!starts_with(line, value)) {
      // ERROR, CLIENT_ERROR ..., SERVER_ERROR ...: the whole reply to a get, but for
      // one mg of a meta multiget, whose reply still ends with MN.
      s.failed = true;
      in_start_ += line_len;
      if (end != "MN") complete(now);
      continue;
    }
    // "VALUE key flags bytes [cas]" or "VA bytes flags...", whose k flag names the key.
    std::string_view tok[8];
    int nt = tokens(line, tok, 8);
    std::string_view key_tok, bytes_tok;
    if (o.meta) {
      if (nt < 2) return false;
      bytes_tok = tok[1];
      for (int i = 2; i < nt; ++i)
        if (tok[i].size() > 1 && tok[i][0] == 'k') key_tok = tok[i].substr(1);
    } else {
      if (nt < 4 || nt > 5) return false;
      key_tok = tok[1];
      bytes_tok = tok[3];
    }
    uint64_t bytes = 0;
    auto [bp, bec] = std::from_chars(bytes_tok.data(), bytes_tok.data() + bytes_tok.size(), bytes);
    if (bec != std::errc() || bp != bytes_tok.data() + bytes_tok.size() || bytes > (64u << 20)) return false;
    if (avail < line_len + bytes + 2) return true;  // wait for the data block
    const char* data = p + line_len;
    if (data[bytes] != '\r' || data[bytes + 1] != '\n') return false;
    int64_t key = ks.index_of(key_tok);
    int idx = head_;
    uint32_t* keys = &slot_keys_[static_cast<size_t>(idx) * k_];
    char* found = &found_[static_cast<size_t>(idx) * k_];
    int pos = -1;
    if (key >= 0)
      for (int i = 0; i < s.nkeys; ++i)
        if (keys[i] == static_cast<uint32_t>(key)) pos = i;
    if (pos < 0 || found[pos] || bytes != static_cast<uint64_t>(o.value_size) ||
        !ks.value_matches(static_cast<uint32_t>(key), data, bytes)) {
      s.failed = true;  // a key not asked for, twice, or a wrong value
    } else {
      found[pos] = 1;
      ++s.hits;
    }
    in_start_ += line_len + bytes + 2;
    if (o.meta && end == "EN") complete(now);  // a one-key mg's VA is its whole reply
  }
  // Bytes with no request to answer: the stream is out of step.
  return count_ > 0 || in_start_ == in_end_;
}

// A blocking TCP connection to host:port, or -1 (the reason on stderr).
int connect_to(const Options& o, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string ps = std::to_string(port);
  int rc = getaddrinfo(o.host.c_str(), ps.c_str(), &hints, &res);
  if (rc != 0) {
    std::fprintf(stderr, "loadgen: %s: %s\n", o.host.c_str(), gai_strerror(rc));
    return -1;
  }
  int fd = ::socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (fd < 0 || ::connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    std::fprintf(stderr, "loadgen: connect %s:%d: %s\n", o.host.c_str(), port, std::strerror(errno));
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

SSL_CTX* g_tls = nullptr;  // --tls-ca: the client context every connection is made from

// The client context for --tls-ca, or null (the reason on stderr).
SSL_CTX* make_tls_context(const Options& o) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_load_verify_locations(ctx, o.tls_ca.c_str(), nullptr) != 1) {
    std::fprintf(stderr, "loadgen: --tls-ca %s: no CA certificates could be read from it\n", o.tls_ca.c_str());
    SSL_CTX_free(ctx);
    return nullptr;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  // One recv fetches whatever has arrived, not a record header and then its body.
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);  // every connection does a full handshake
  return ctx;
}

// The TLS handshake on a connected, still blocking socket, bounded by 10 s each way;
// the verified session, or null (the reason on stderr).
SSL* tls_handshake(const Options& o, int fd, int port) {
  SSL* ssl = SSL_new(g_tls);
  if (!ssl) return nullptr;
  SSL_set_fd(ssl, fd);
  unsigned char addr[sizeof(in6_addr)];
  bool is_ip = inet_pton(AF_INET, o.host.c_str(), addr) == 1 || inet_pton(AF_INET6, o.host.c_str(), addr) == 1;
  if (is_ip) {  // the certificate must carry it as an IP SAN; no SNI for an address
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), o.host.c_str());
  } else {
    SSL_set1_host(ssl, o.host.c_str());
    SSL_set_tlsext_host_name(ssl, o.host.c_str());
  }
  timeval tv = {10, 0}, none = {0, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int rc = SSL_connect(ssl);
  if (rc != 1) {
    int e = SSL_get_error(ssl, rc);
    unsigned long err = ERR_get_error();
    char buf[256] = "";
    if (err) ERR_error_string_n(err, buf, sizeof buf);
    long vr = SSL_get_verify_result(ssl);
    std::fprintf(stderr, "loadgen: TLS handshake with %s:%d failed: %s%s%s\n", o.host.c_str(), port,
                 err ? buf : (e == SSL_ERROR_SYSCALL ? (errno ? std::strerror(errno) : "connection closed") : "error"),
                 vr != X509_V_OK ? "; certificate: " : "", vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "");
    ERR_clear_error();
    SSL_free(ssl);
    return nullptr;
  }
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
  return ssl;
}

// "TLSv1.3 TLS_AES_256_GCM_SHA384" of the first TLS connection, for the JSON line.
std::string g_tls_session;

bool Thread::connect_all(const std::vector<int>& ports, int first, int n, int stride) {
  base_ = event_base_new();
  if (!base_) return false;
  timer_ = evtimer_new(base_, &Thread::on_timer, this);
  const Options& o = sh_.opt;
  for (int c = first; c < n; c += stride) {
    int port = ports[static_cast<size_t>(c) % ports.size()];
    int fd = connect_to(o, port);
    if (fd < 0) return false;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SSL* ssl = nullptr;
    if (g_tls) {
      ssl = tls_handshake(o, fd, port);
      if (!ssl) {
        ::close(fd);
        return false;
      }
      if (g_tls_session.empty()) g_tls_session = std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
    }
    evutil_make_socket_nonblocking(fd);
    auto conn = std::make_unique<Conn>(this, fd, ssl, o.pipeline, o.multiget);
    if (!conn->start(base_)) return false;
    conns_.push_back(std::move(conn));
  }
  return true;
}

bool Thread::may_issue_warm(uint32_t* key) {
  if (stopping_) return false;
  uint32_t k = sh_.warm_next.fetch_add(1, std::memory_order_relaxed);
  if (k >= sh_.opt.keys) {
    stopping_ = true;
    return false;
  }
  *key = k;
  return true;
}

bool Thread::may_issue() {
  if (stopping_) return false;
  if (sh_.opt.requests && sh_.issued.fetch_add(1, std::memory_order_relaxed) >= sh_.opt.requests) {
    stopping_ = true;
    return false;
  }
  return true;
}

void Thread::changed(int delta) {
  outstanding_ += delta;
  if (stopping_ && outstanding_ == 0) event_base_loopbreak(base_);
}

void Thread::arm(double seconds) {
  timeval tv = to_timeval(seconds);
  evtimer_add(timer_, &tv);
}

void Thread::timer() {
  if (!stopping_) {  // the run's time is up: stop issuing, wait for replies
    stopping_ = true;
    if (outstanding_ == 0) {
      event_base_loopbreak(base_);
      return;
    }
    arm(sh_.opt.drain_timeout);
    return;
  }
  // Replies did not come in time: count them as timeouts and stop.
  for (auto& c : conns_)
    if (c->outstanding() > 0) c->fail_all(true);
  event_base_loopbreak(base_);
}

void Thread::run(Phase phase) {
  phase_ = phase;
  stopping_ = false;
  outstanding_ = 0;
  if (phase == Phase::kMeasure && sh_.opt.requests == 0) {
    arm(sh_.opt.duration);
  } else {
    arm(sh_.opt.max_time);
  }
  uint64_t now = now_ns();
  for (auto& c : conns_) {
    c->fill(now);
    c->flush();
  }
  bool any = false;
  for (auto& c : conns_) any = any || c->alive();
  if (outstanding_ > 0 && any) event_base_dispatch(base_);
  evtimer_del(timer_);
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

double percentile_us(std::vector<uint32_t>& v, double q) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(i), v.end());
  return v[i] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  rlimit nofile;  // thousands of connections: the soft limit up to the hard one
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  Options opt = parse_options(argc, argv);
  if (!opt.tls_ca.empty() && !(g_tls = make_tls_context(opt))) return 2;
  KeySpace ks(opt.keys, opt.key_size, opt.key_prefix);
  Shared sh{opt, ks};

  // Idle connections: opened before the load, spread round-robin over the
  // ports, never written to, closed only when the process exits.
  // With --tls-ca each one has done its handshake.
  std::vector<int> idle;
  std::vector<SSL*> idle_tls;
  for (int c = 0; c < opt.idle_connections; ++c) {
    int port = opt.ports[static_cast<size_t>(c) % opt.ports.size()];
    int fd = connect_to(opt, port);
    SSL* ssl = nullptr;
    if (fd >= 0 && g_tls && !(ssl = tls_handshake(opt, fd, port))) ::close(fd), fd = -1;
    if (fd < 0) {
      std::fprintf(stderr, "loadgen: %d of %d idle connections open\n", c, opt.idle_connections);
      return 3;
    }
    idle.push_back(fd);
    if (ssl) idle_tls.push_back(ssl);
  }
  if (opt.connections == 0) {  // only hold them
    std::printf("{\"idle_connections\": %zu}\n", idle.size());
    std::fflush(stdout);
    timespec ts = {static_cast<time_t>(opt.duration), 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    for (int fd : idle) ::close(fd);
    return 0;
  }

  std::vector<std::unique_ptr<Thread>> threads;
  for (int t = 0; t < opt.threads; ++t) {
    threads.push_back(std::make_unique<Thread>(sh, opt.seed * 1000003u + static_cast<uint64_t>(t)));
    if (!threads.back()->connect_all(opt.ports, t, opt.connections, opt.threads)) return 3;
  }

  rusage ru0;
  getrusage(RUSAGE_SELF, &ru0);
  std::barrier sync(opt.threads);
  auto body = [&](Thread* th) {
    if (opt.warmup_set) th->run(Phase::kWarmup);
    sync.arrive_and_wait();
    th->run(Phase::kMeasure);
  };
  std::vector<std::thread> workers;
  for (int t = 1; t < opt.threads; ++t) workers.emplace_back(body, threads[t].get());
  body(threads[0].get());
  for (auto& w : workers) w.join();
  rusage ru1;
  getrusage(RUSAGE_SELF, &ru1);

  Stats all, warm;
  for (auto& t : threads) {
    all.add(t->stats());
    warm.add(t->warm_stats());
  }
  double elapsed = all.last_ns > all.first_ns ? (all.last_ns - all.first_ns) / 1e9 : 0;
  double mean = 0;
  for (uint32_t l : all.lat_ns) mean += l;
  mean = all.lat_ns.empty() ? 0 : mean / static_cast<double>(all.lat_ns.size()) / 1000.0;
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  double cpu = tv(ru1.ru_utime) - tv(ru0.ru_utime) + tv(ru1.ru_stime) - tv(ru0.ru_stime);

  std::string j = "{";
  auto num = [&](const char* k, const std::string& v) {
    if (j.size() > 1) j += ", ";
    j += '"';
    j += k;
    j += "\": ";
    j += v;
  };
  auto u64 = [](uint64_t v) { return std::to_string(v); };
  num("ops_per_sec", fmt("%.1f", elapsed > 0 ? all.requests / elapsed : 0));
  num("keys_per_sec", fmt("%.1f", elapsed > 0 ? all.keys / elapsed : 0));
  num("p50_us", fmt("%.1f", percentile_us(all.lat_ns, 0.50)));
  num("p90_us", fmt("%.1f", percentile_us(all.lat_ns, 0.90)));
  num("p99_us", fmt("%.1f", percentile_us(all.lat_ns, 0.99)));
  num("p999_us", fmt("%.1f", percentile_us(all.lat_ns, 0.999)));
  num("max_us", fmt("%.1f", all.lat_ns.empty() ? 0 : *std::max_element(all.lat_ns.begin(), all.lat_ns.end()) / 1000.0));
  num("mean_us", fmt("%.1f", mean));
  num("requests", u64(all.requests));
  num("gets", u64(all.gets));
  num("sets", u64(all.sets));
  num("keys", u64(all.keys));
  num("hits", u64(all.hits));
  num("misses", u64(all.misses));
  num("errors", u64(all.errors));
  num("timeouts", u64(all.timeouts));
  num("conn_errors", u64(all.conn_errors));
  num("elapsed_s", fmt("%.3f", elapsed));
  num("loadgen_cpu_s", fmt("%.3f", cpu));
  num("warmup_sets", u64(warm.requests));
  num("warmup_errors", u64(warm.errors + warm.timeouts));
  num("connections", std::to_string(opt.connections));
  num("pipeline", std::to_string(opt.pipeline));
  num("multiget", std::to_string(opt.multiget));
  num("get_ratio", fmt("%g", opt.get_ratio));
  num("threads", std::to_string(opt.threads));
  num("idle_connections", std::to_string(idle.size()));
  if (g_tls) num("tls", '"' + g_tls_session + '"');
  j += "}";
  std::printf("%s\n", j.c_str());
  for (int fd : idle) ::close(fd);
  return 0;
}
