#include "t/support/vbucket_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "src/protocol/binary_format.h"
#include "t/support/oracle.h"

namespace moxi::test {

namespace {

namespace wire = moxi::protocol::binary;
using Op = wire::Opcode;

constexpr uint16_t kSuccess = 0x0000;
constexpr uint16_t kKeyNotFound = 0x0001;
constexpr uint16_t kKeyExists = 0x0002;
constexpr uint16_t kTooLarge = 0x0003;
constexpr uint16_t kInvalidArguments = 0x0004;
constexpr uint16_t kNotStored = 0x0005;
constexpr uint16_t kNonNumeric = 0x0006;
constexpr uint16_t kNotMyVbucket = 0x0007;
constexpr uint16_t kUnknownCommand = 0x0081;
constexpr uint16_t kTemporaryFailure = 0x0086;
// Couchbase mode's statuses and opcodes (couchbase-kv.md sections 2 and 4).
constexpr uint16_t kNoBucket = 0x0008;
constexpr uint16_t kAuthError = 0x0020;
constexpr uint16_t kAuthContinue = 0x0021;
constexpr uint16_t kNoAccess = 0x0024;
constexpr uint8_t kHello = 0x1f;
constexpr uint8_t kSaslListMechs = 0x20;
constexpr uint8_t kSaslAuth = 0x21;
constexpr uint8_t kSaslStep = 0x22;
constexpr uint8_t kSelectBucket = 0x89;
constexpr uint8_t kGetClusterConfig = 0xb5;
constexpr uint8_t kGetErrorMap = 0xfe;
constexpr uint16_t kFeatureTcpNoDelay = 0x03;
constexpr uint16_t kFeatureTcpDelay = 0x05;
constexpr uint16_t kFeatureXerror = 0x07;
constexpr uint16_t kFeatureSelectBucket = 0x08;
constexpr std::size_t kMaxUnauthenticatedFrame = 1024;  // 7.6: larger frames before a login close the connection
constexpr std::string_view kNoBucketName = "@no bucket@";

constexpr std::size_t kMaxKey = 250;              // memcached's KEY_MAX_LENGTH
constexpr uint32_t kMaxBody = 64u << 20;          // larger headers close the connection
constexpr std::size_t kOutHighWater = 4u << 20;   // stop reading while this much is unsent
constexpr std::size_t kReadChunk = 64u << 10;
constexpr std::size_t kReadPerWakeup = 1u << 20;  // fairness between connections
constexpr uint32_t kRelativeLimit = 60 * 60 * 24 * 30;  // memcached's REALTIME_MAXDELTA
constexpr int64_t kClockBaseMs = 1000;  // the clock never reads below this, so 1 is "the past"

std::atomic<uint32_t> g_next_id{1};

// memcached's texts for error statuses (write_bin_error).
const char* error_text(uint16_t status) {
  switch (status) {
    case kKeyNotFound: return "Not found";
    case kKeyExists: return "Data exists for key.";
    case kTooLarge: return "Too large.";
    case kInvalidArguments: return "Invalid arguments";
    case kNotStored: return "Not stored.";
    case kNonNumeric: return "Non-numeric server-side value for incr or decr";
    case kUnknownCommand: return "Unknown command";
    default: return "UNHANDLED ERROR";
  }
}

std::string be32(uint32_t v) {
  uint8_t b[4];
  wire::put32(b, v);
  return std::string(reinterpret_cast<const char*>(b), 4);
}
std::string be64(uint64_t v) {
  uint8_t b[8];
  wire::put64(b, v);
  return std::string(reinterpret_cast<const char*>(b), 8);
}
uint32_t get32(std::string_view s, std::size_t at) {
  return wire::get32(reinterpret_cast<const uint8_t*>(s.data()) + at);
}
uint64_t get64(std::string_view s, std::size_t at) {
  return wire::get64(reinterpret_cast<const uint8_t*>(s.data()) + at);
}

// memcached's safe_strtoull on an item's data (which ends in "\r\n"): leading
// blanks and a sign are allowed, the number must be followed by a blank or
// the end, and a negative number is refused.
bool parse_counter(std::string_view value, uint64_t& out) {
  if (value.empty()) return false;  // memcached: "can't delta zero byte values"
  std::string text(value);
  text += "\r\n";
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno == ERANGE) return false;
  if (!(std::isspace(static_cast<unsigned char>(*end)) || (*end == '\0' && end != text.c_str()))) return false;
  if (static_cast<long long>(v) < 0 && std::memchr(text.c_str(), '-', static_cast<std::size_t>(end - text.c_str()))) {
    return false;
  }
  out = v;
  return true;
}

// --- SCRAM (RFC 5802) on OpenSSL's primitives --------------------------------

enum class Hash { Sha1, Sha256, Sha512 };

const EVP_MD* md_of(Hash hash) {
  switch (hash) {
    case Hash::Sha1: return EVP_sha1();
    case Hash::Sha256: return EVP_sha256();
    case Hash::Sha512: return EVP_sha512();
  }
  return nullptr;
}

// Couchbase's spelling of the SCRAM mechanisms.
std::optional<Hash> scram_hash(std::string_view mechanism) {
  if (mechanism == "SCRAM-SHA1") return Hash::Sha1;
  if (mechanism == "SCRAM-SHA256") return Hash::Sha256;
  if (mechanism == "SCRAM-SHA512") return Hash::Sha512;
  return std::nullopt;
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string hmac(Hash hash, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!HMAC(md_of(hash), key.data(), static_cast<int>(key.size()), bytes(data), data.size(), out, &len)) {
    throw std::runtime_error("VBucketServer: HMAC failed");
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string digest(Hash hash, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!EVP_Digest(data.data(), data.size(), out, &len, md_of(hash), nullptr)) {
    throw std::runtime_error("VBucketServer: digest failed");
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string pbkdf2(Hash hash, std::string_view password, std::string_view salt, uint32_t iterations) {
  std::string out(static_cast<std::size_t>(EVP_MD_get_size(md_of(hash))), '\0');
  if (!PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), bytes(salt), static_cast<int>(salt.size()),
                         static_cast<int>(iterations), md_of(hash), static_cast<int>(out.size()),
                         reinterpret_cast<unsigned char*>(out.data()))) {
    throw std::runtime_error("VBucketServer: PBKDF2 failed");
  }
  return out;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("VBucketServer: RAND_bytes failed");
  }
  return out;
}

constexpr std::string_view kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, in.size() - i);
    uint32_t v = 0;
    for (std::size_t j = 0; j < 3; ++j) v = (v << 8) | (j < n ? static_cast<uint8_t>(in[i + j]) : 0);
    for (std::size_t j = 0; j < 4; ++j) out += j <= n ? kBase64[(v >> (18 - 6 * j)) & 63] : '=';
  }
  return out;
}

// Strict: whole quartets, padding only at the end.
std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char ch = in[i + j];
      std::size_t d = 0;
      if (ch == '=' && i + 4 == in.size() && j >= 2) {
        ++pad;
      } else if (pad != 0 || (d = kBase64.find(ch)) == std::string_view::npos) {
        return std::nullopt;
      }
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out += static_cast<char>(v >> 16);
    if (pad < 2) out += static_cast<char>((v >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(v & 0xff);
  }
  return out;
}

std::string hex(std::string_view in) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char ch : in) {
    out += kDigits[ch >> 4];
    out += kDigits[ch & 15];
  }
  return out;
}

// "k=v,k=v" (SCRAM attributes): false unless every item has that form.
bool scram_attributes(std::string_view text, std::vector<std::pair<char, std::string>>& out) {
  std::size_t i = 0;
  while (i <= text.size()) {
    std::size_t j = text.find(',', i);
    if (j == std::string_view::npos) j = text.size();
    const std::string_view item = text.substr(i, j - i);
    if (item.size() < 2 || item[1] != '=') return false;
    out.emplace_back(item[0], std::string(item.substr(2)));
    i = j + 1;
  }
  return true;
}

// RFC 5802's saslname: "=2C" is ',' and "=3D" is '='; any other '=' is an error.
std::optional<std::string> decode_saslname(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '=') {
      out += in[i];
    } else if (in.substr(i, 3) == "=2C") {
      out += ',';
      i += 2;
    } else if (in.substr(i, 3) == "=3D") {
      out += '=';
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// A user's SCRAM keys for one hash.
struct ScramKeys {
  std::string stored_key;
  std::string server_key;
};

ScramKeys scram_keys(Hash hash, std::string_view password, std::string_view salt, uint32_t iterations) {
  const std::string salted = pbkdf2(hash, password, salt, iterations);
  return {digest(hash, hmac(hash, salted, "Client Key")), hmac(hash, salted, "Server Key")};
}

// A SCRAM exchange waiting for its SASL_STEP.
struct ScramExchange {
  Hash hash = Hash::Sha512;
  std::string mechanism;
  std::string user;
  bool known = false;  // the user exists (else the exchange fails at its step)
  std::string client_first_bare;
  std::string server_first;
};

// A parsed request waiting to be executed (at once, or when the gate lets it).
struct Pending {
  enum class Kind { Request, Malformed, BadMagic };
  Kind kind = Kind::Request;
  wire::Header h;
  std::string body;
  uint64_t seq = 0;
  std::size_t log_index = SIZE_MAX;  // its entry in the request log
};

struct Conn {
  int fd = -1;
  std::string in;  // received, not yet parsed
  std::string out;  // replies not yet written
  std::size_t out_off = 0;
  std::deque<Pending> pending;
  bool parse_stopped = false;  // a fatal packet was queued: ignore further input
  bool closing = false;        // close once `out` is written (QUIT, protocol error)
  bool dead = false;           // close now
  // Couchbase mode.
  std::string user;    // logged in as; "" before a login
  std::string bucket;  // selected; "" for none
  bool xerror = false;  // HELLO granted XERROR
  std::optional<ScramExchange> scram;
  ~Conn() {
    if (fd >= 0) ::close(fd);
  }
};

struct StoredItem {
  std::string value;
  uint32_t flags = 0;
  uint64_t cas = 0;
  int64_t exp_ms = 0;   // 0 = never, else server clock ms at which it is gone
  int64_t time_ms = 0;  // last store (for a delayed flush)
};

// One key space: memcached mode has one, Couchbase mode one per bucket.
struct KeySpace {
  std::unordered_map<std::string, StoredItem> items;
  int64_t flush_at_ms = 0;
  std::optional<std::set<uint16_t>> owned;  // the bucket's own vBuckets; unset: the server's
};

// A Couchbase-mode user.
struct UserRecord {
  std::string password;
  std::set<std::string> buckets;
  std::string salt;
  std::map<Hash, ScramKeys> keys;  // made on first use
  bool admin() const { return buckets.count("*") != 0; }
  bool may_select(std::string_view bucket) const { return admin() || buckets.count(std::string(bucket)) != 0; }
};

bool is_quiet(uint8_t op, uint8_t& base) {
  switch (static_cast<Op>(op)) {
    case Op::GetQ: base = static_cast<uint8_t>(Op::Get); return true;
    case Op::GetKQ: base = static_cast<uint8_t>(Op::GetK); return true;
    case Op::SetQ: base = static_cast<uint8_t>(Op::Set); return true;
    case Op::AddQ: base = static_cast<uint8_t>(Op::Add); return true;
    case Op::ReplaceQ: base = static_cast<uint8_t>(Op::Replace); return true;
    case Op::DeleteQ: base = static_cast<uint8_t>(Op::Delete); return true;
    case Op::IncrementQ: base = static_cast<uint8_t>(Op::Increment); return true;
    case Op::DecrementQ: base = static_cast<uint8_t>(Op::Decrement); return true;
    case Op::QuitQ: base = static_cast<uint8_t>(Op::Quit); return true;
    case Op::FlushQ: base = static_cast<uint8_t>(Op::Flush); return true;
    case Op::AppendQ: base = static_cast<uint8_t>(Op::Append); return true;
    case Op::PrependQ: base = static_cast<uint8_t>(Op::Prepend); return true;
    case Op::GatQ: base = static_cast<uint8_t>(Op::Gat); return true;
    case Op::GatKQ: base = static_cast<uint8_t>(Op::GatK); return true;
    default: base = op; return false;
  }
}

}  // namespace

struct VBucketServer::State {
  explicit State(Options o) : options(std::move(o)) {
    if (!options.couchbase) {
      spaces[""];
      return;
    }
    const Couchbase& cb = *options.couchbase;
    couchbase = true;
    for (const std::string& bucket : cb.buckets) {
      if (bucket.empty() || bucket == kNoBucketName) {
        throw std::invalid_argument("VBucketServer: a bucket needs a name (not \"" + bucket + "\")");
      }
      spaces[bucket];
    }
    std::size_t at = 0;
    while (at < cb.mechanisms.size()) {
      std::size_t end = cb.mechanisms.find(' ', at);
      if (end == std::string::npos) end = cb.mechanisms.size();
      std::string name = cb.mechanisms.substr(at, end - at);
      if (!name.empty()) {
        if (name != "PLAIN" && !scram_hash(name)) {
          throw std::invalid_argument("VBucketServer: unknown SASL mechanism " + name);
        }
        mechanisms.push_back(std::move(name));
      }
      at = end + 1;
    }
    for (const User& u : cb.users) {
      UserRecord r{u.password, u.buckets, {}, {}};
      if (u.salt.empty()) {
        r.salt = random_bytes(16);
      } else if (auto salt = base64_decode(u.salt)) {
        r.salt = *salt;
      } else {
        throw std::invalid_argument("VBucketServer: the salt of " + u.name + " is not base64");
      }
      users[u.name] = std::move(r);
    }
    dummy_salt_key = random_bytes(32);
  }
  ~State() {
    if (listen_fd >= 0) ::close(listen_fd);
    if (wake_r >= 0) ::close(wake_r);
    if (wake_w >= 0) ::close(wake_w);
  }

  const Options options;
  uint32_t id = 0;  // the "pid" stat; set once before the thread starts
  int listen_fd = -1;
  int wake_r = -1;
  int wake_w = -1;
  const Clock::time_point start = Clock::now();
  const int64_t start_unix = static_cast<int64_t>(std::time(nullptr));

  std::mutex stop_mu;  // serialises stop()

  // Everything below is guarded by mu. The server thread holds it for each
  // whole round of accept/read/execute/write and only drops it in poll().
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  bool stopping = false;
  bool running = true;
  bool own_all = true;
  std::set<uint16_t> owned;
  std::set<uint16_t> replicas;  // vBuckets GET_REPLICA serves (every bucket's)
  uint64_t warming = 0;          // keyed requests still to answer ETMPFAIL (set_warming_up)
  uint32_t hash_vbuckets = 0;
  std::string nmv_body;
  std::string cluster_config;  // what GET_CLUSTER_CONFIG answers; empty: no config
  // memcached mode: the one key space ""; Couchbase mode: one per bucket.
  std::map<std::string, KeySpace, std::less<>> spaces;
  KeySpace no_space;  // what requests without a bucket see (never written)
  uint64_t next_cas = 1;
  int64_t offset_ms = 0;
  // Couchbase mode (set once before the thread starts, but the counters).
  bool couchbase = false;
  std::vector<std::string> mechanisms;
  std::map<std::string, UserRecord, std::less<>> users;
  std::string dummy_salt_key;  // unknown users get a stable made-up salt
  AuthCounters auth;
  uint64_t requests = 0;
  uint64_t nmv = 0;
  uint64_t bad_vbucket = 0;
  uint64_t cluster_config_requests = 0;
  uint64_t cmd_get = 0;
  uint64_t get_hits = 0;
  uint64_t get_misses = 0;
  uint64_t cmd_set = 0;
  uint64_t cmd_touch = 0;
  std::vector<Request> log;
  std::unordered_map<std::string, Fault> faults;
  uint64_t faults_served = 0;
  std::size_t open_conns = 0;
  uint64_t accepted = 0;
  bool gate_closed = false;
  std::size_t credits = 0;
  std::size_t pending_total = 0;
  uint64_t next_seq = 0;
  uint64_t close_requested = 0;
  uint64_t close_done = 0;
  std::vector<std::unique_ptr<Conn>> conns;  // touched by the server thread only

  // --- clock (server milliseconds; advance_time() moves it) ---
  int64_t now_ms() const {
    auto since = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    return kClockBaseMs + since + offset_ms;
  }
  int64_t unix_now() const { return start_unix + (now_ms() - kClockBaseMs) / 1000; }
  // memcached's realtime(): 0 never, <= 30 days relative, else a unix time.
  int64_t expiry(uint32_t exptime) const {
    if (exptime == 0) return 0;
    int64_t now = now_ms();
    if (exptime > kRelativeLimit) {
      int64_t unow = unix_now();
      if (static_cast<int64_t>(exptime) <= unow) return 1;  // already in the past
      return now + (static_cast<int64_t>(exptime) - unow) * 1000;
    }
    return now + static_cast<int64_t>(exptime) * 1000;
  }

  // --- store ---
  // memcached mode's key space (the bucketless accessors).
  KeySpace& plain_space() {
    if (couchbase) throw std::logic_error("VBucketServer: in Couchbase mode name the bucket");
    return spaces.begin()->second;
  }
  KeySpace& bucket_space(std::string_view bucket) {
    auto it = spaces.find(bucket);
    if (!couchbase || it == spaces.end()) {
      throw std::invalid_argument("VBucketServer: no bucket \"" + std::string(bucket) + "\" on this server");
    }
    return it->second;
  }
  // The key space a connection's requests use.
  KeySpace& space_of(const Conn& c) {
    if (!couchbase) return spaces.begin()->second;
    auto it = spaces.find(c.bucket);
    return it == spaces.end() ? no_space : it->second;
  }
  bool owned_in(const KeySpace& ks, uint16_t vb) const {
    if (ks.owned) return ks.owned->count(vb) != 0;
    return own_all || owned.count(vb) != 0;
  }
  void apply_delayed_flush(KeySpace& ks) {
    if (ks.flush_at_ms == 0 || now_ms() < ks.flush_at_ms) return;
    for (auto it = ks.items.begin(); it != ks.items.end();) {
      it = it->second.time_ms <= ks.flush_at_ms ? ks.items.erase(it) : std::next(it);
    }
    ks.flush_at_ms = 0;
  }
  StoredItem* lookup(KeySpace& ks, std::string_view key) {
    apply_delayed_flush(ks);
    auto it = ks.items.find(std::string(key));
    if (it == ks.items.end()) return nullptr;
    if (it->second.exp_ms != 0 && it->second.exp_ms <= now_ms()) {
      ks.items.erase(it);
      return nullptr;
    }
    return &it->second;
  }
  std::size_t live_items(KeySpace& ks) {
    apply_delayed_flush(ks);
    int64_t now = now_ms();
    for (auto it = ks.items.begin(); it != ks.items.end();) {
      it = (it->second.exp_ms != 0 && it->second.exp_ms <= now) ? ks.items.erase(it) : std::next(it);
    }
    return ks.items.size();
  }
  StoredItem& put(KeySpace& ks, std::string_view key, std::string value, uint32_t flags, int64_t exp_ms) {
    StoredItem& item = ks.items[std::string(key)];
    item.value = std::move(value);
    item.flags = flags;
    item.cas = next_cas++;
    item.exp_ms = exp_ms;
    item.time_ms = now_ms();
    return item;
  }

  void wake() const {
    char c = 1;
    // A full pipe already guarantees a wakeup.
    [[maybe_unused]] ssize_t n = ::write(wake_w, &c, 1);
  }

  // --- server thread ---
  void accept_all();
  void read_from(Conn& c);
  void parse(Conn& c);
  void execute_allowed();
  void execute(Conn& c, Pending& p);
  void write_to(Conn& c);
  void drop_pending(Conn& c);
  void close_conn(std::size_t i);
  void stats(Conn& c, const wire::Header& h, KeySpace& ks);
  void get_cluster_config(Conn& c, const wire::Header& h);
  // Couchbase mode.
  bool couchbase_gate(Conn& c, const Pending& p);
  bool refuse(Conn& c, const wire::Header& h, uint16_t status);
  void hello(Conn& c, const wire::Header& h, std::string_view value);
  void sasl_auth(Conn& c, const wire::Header& h, std::string_view mechanism, std::string_view data);
  void sasl_step(Conn& c, const wire::Header& h, std::string_view data);
  void scram_start(Conn& c, const wire::Header& h, const std::string& mechanism, Hash hash, std::string_view data);
  void sasl_refuse(Conn& c, const wire::Header& h, uint16_t status);
  void logged_in(Conn& c, const std::string& user, const std::string& mechanism);
  void select_bucket(Conn& c, const wire::Header& h, std::string_view name, std::string_view body);
  const ScramKeys& keys_of(const std::string& user, Hash hash);
};

namespace {

void respond(Conn& c, const wire::Header& req, uint16_t status, std::string_view extras, std::string_view key,
             std::string_view value, uint64_t cas) {
  wire::Header h;
  h.magic = wire::kResponseMagic;
  h.opcode = req.opcode;
  h.key_length = static_cast<uint16_t>(key.size());
  h.extras_length = static_cast<uint8_t>(extras.size());
  h.vbucket_or_status = status;
  h.body_length = static_cast<uint32_t>(extras.size() + key.size() + value.size());
  h.opaque = req.opaque;
  h.cas = cas;
  uint8_t header[wire::kHeaderSize];
  wire::encode_header(h, header);
  c.out.append(reinterpret_cast<const char*>(header), sizeof header);
  c.out.append(extras);
  c.out.append(key);
  c.out.append(value);
}

void error(Conn& c, const wire::Header& req, uint16_t status) { respond(c, req, status, {}, {}, error_text(status), 0); }

}  // namespace

void VBucketServer::State::accept_all() {
  for (;;) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error: poll reports the listener again
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<Conn>();
    c->fd = fd;
    conns.push_back(std::move(c));
    ++open_conns;
    ++accepted;
  }
}

void VBucketServer::State::read_from(Conn& c) {
  char buf[kReadChunk];
  std::size_t total = 0;
  while (total < kReadPerWakeup) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      if (!c.parse_stopped) c.in.append(buf, static_cast<std::size_t>(n));
      total += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    c.dead = true;  // EOF or error: the peer is gone, nobody reads replies
    return;
  }
}

// Cuts whole packets off c.in into c.pending, counting and logging each.
void VBucketServer::State::parse(Conn& c) {
  if (c.closing) {  // QUIT or a protocol error: nothing after it is served
    c.in.clear();
    return;
  }
  if (options.raw) {
    if (!c.in.empty() && options.raw(c.in, c.out)) c.closing = true;
    return;
  }
  std::size_t off = 0;
  while (!c.parse_stopped && off < c.in.size()) {
    Pending p;
    const std::size_t left = c.in.size() - off;
    if (static_cast<uint8_t>(c.in[off]) != wire::kRequestMagic) {
      // Decided on the first byte, as memcached does: ascii text may never
      // make up a whole header.
      p.kind = Pending::Kind::BadMagic;
      c.parse_stopped = true;
    } else if (left < wire::kHeaderSize) {
      break;
    } else {
      p.h = wire::decode_header(reinterpret_cast<const uint8_t*>(c.in.data()) + off);
      if (p.h.body_length > kMaxBody ||
          static_cast<uint32_t>(p.h.key_length) + p.h.extras_length > p.h.body_length) {
        p.kind = Pending::Kind::Malformed;
        c.parse_stopped = true;
      } else if (left - wire::kHeaderSize < p.h.body_length) {
        break;  // wait for the rest of the body
      } else {
        p.body = c.in.substr(off + wire::kHeaderSize, p.h.body_length);
        off += wire::kHeaderSize + p.h.body_length;
      }
    }
    if (p.kind != Pending::Kind::BadMagic) {
      ++requests;
      if (p.h.opcode == kGetClusterConfig) ++cluster_config_requests;
      Request r;
      r.opcode = p.h.opcode;
      r.vbucket = p.h.vbucket_or_status;
      r.opaque = p.h.opaque;
      if (p.kind == Pending::Kind::Request) r.key = p.body.substr(p.h.extras_length, p.h.key_length);
      p.log_index = log.size();
      log.push_back(std::move(r));
    }
    p.seq = next_seq++;
    c.pending.push_back(std::move(p));
    ++pending_total;
  }
  if (c.parse_stopped) {
    c.in.clear();
  } else {
    c.in.erase(0, off);
  }
}

void VBucketServer::State::drop_pending(Conn& c) {
  pending_total -= c.pending.size();
  c.pending.clear();
}

void VBucketServer::State::execute_allowed() {
  auto run_front = [this](Conn& c) {
    Pending p = std::move(c.pending.front());
    c.pending.pop_front();
    --pending_total;
    execute(c, p);
    if (c.closing) drop_pending(c);
  };
  if (!gate_closed) {
    for (auto& c : conns) {
      while (!c->pending.empty() && !c->closing && !c->dead) run_front(*c);
    }
    return;
  }
  // Gate closed: only `credits` requests, oldest first across connections.
  while (credits > 0) {
    Conn* oldest = nullptr;
    for (auto& c : conns) {
      if (c->pending.empty() || c->closing || c->dead) continue;
      if (oldest == nullptr || c->pending.front().seq < oldest->pending.front().seq) oldest = c.get();
    }
    if (oldest == nullptr) return;
    --credits;
    run_front(*oldest);
  }
}

void VBucketServer::State::write_to(Conn& c) {
  while (c.out_off < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_off += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    c.dead = true;
    return;
  }
  if (c.out_off == c.out.size()) {
    c.out.clear();
    c.out_off = 0;
  } else if (c.out_off > (1u << 20)) {
    c.out.erase(0, c.out_off);
    c.out_off = 0;
  }
}

void VBucketServer::State::close_conn(std::size_t i) {
  drop_pending(*conns[i]);
  conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(i));
  --open_conns;
}

void VBucketServer::State::stats(Conn& c, const wire::Header& h, KeySpace& ks) {
  auto stat = [&](std::string_view name, const std::string& value) { respond(c, h, kSuccess, {}, name, value, 0); };
  stat("pid", std::to_string(id));
  stat("uptime", std::to_string((now_ms() - kClockBaseMs) / 1000));
  stat("time", std::to_string(unix_now()));
  stat("version", options.version);
  stat("curr_connections", std::to_string(open_conns));
  stat("total_connections", std::to_string(accepted));
  stat("cmd_get", std::to_string(cmd_get));
  stat("cmd_set", std::to_string(cmd_set));
  stat("cmd_touch", std::to_string(cmd_touch));
  stat("get_hits", std::to_string(get_hits));
  stat("get_misses", std::to_string(get_misses));
  stat("curr_items", std::to_string(live_items(ks)));
  stat("requests", std::to_string(requests));
  stat("not_my_vbucket", std::to_string(nmv));
  stat("bad_vbucket", std::to_string(bad_vbucket));
  respond(c, h, kSuccess, {}, {}, {}, 0);  // the terminator: empty key and value
}

// GET_CLUSTER_CONFIG, as the file comment describes it; in Couchbase mode the
// gate let it through, so the connection is logged in.
void VBucketServer::State::get_cluster_config(Conn& c, const wire::Header& h) {
  if (!couchbase && cluster_config.empty()) return error(c, h, kUnknownCommand);  // plain memcached
  // Before 7.6: no extras, no key, no value, CAS 0.
  if (h.body_length != 0 || h.cas != 0) return respond(c, h, kInvalidArguments, {}, {}, {}, 0);
  if (couchbase && c.bucket.empty()) {
    refuse(c, h, kNoAccess);
    return;
  }
  if (cluster_config.empty()) return respond(c, h, kKeyNotFound, {}, {}, {}, 0);  // 7.x: no config yet
  respond(c, h, kSuccess, {}, {}, cluster_config, 0);
}

// --- Couchbase mode ------------------------------------------------------------

bool VBucketServer::State::couchbase_gate(Conn& c, const Pending& p) {
  const wire::Header& h = p.h;
  const std::string_view body = p.body;
  const std::string_view key = body.substr(h.extras_length, h.key_length);
  const std::string_view value = body.substr(static_cast<std::size_t>(h.extras_length) + h.key_length);
  const bool authenticated = !c.user.empty();
  if (!authenticated && wire::kHeaderSize + static_cast<std::size_t>(h.body_length) > kMaxUnauthenticatedFrame) {
    ++auth.unauthenticated;
    c.closing = true;
    return true;
  }
  switch (h.opcode) {
    case kHello:
      hello(c, h, value);
      return true;
    case kSaslListMechs: {
      std::string list;
      for (const std::string& m : mechanisms) list += (list.empty() ? "" : " ") + m;
      respond(c, h, kSuccess, {}, {}, list, 0);
      return true;
    }
    case kSaslAuth:
      sasl_auth(c, h, key, value);
      return true;
    case kSaslStep:
      sasl_step(c, h, value);
      return true;
    case kGetErrorMap:
      return false;  // allowed to anyone; not implemented (unknown command)
    default:
      break;
  }
  if (!authenticated) {
    // 7.1+: EACCESS, sent even without XERROR.
    ++auth.unauthenticated;
    respond(c, h, kNoAccess, {}, {}, {}, 0);
    return true;
  }
  if (h.opcode == kSelectBucket) {
    select_bucket(c, h, key, body);
    return true;
  }
  uint8_t base = 0;
  is_quiet(h.opcode, base);
  const bool admin = users.find(c.user)->second.admin();
  switch (static_cast<Op>(base)) {
    case Op::Flush:
      if (!admin) return refuse(c, h, kNoAccess);
      return c.bucket.empty() ? refuse(c, h, kNoBucket) : false;
    case Op::Verbosity:
      return admin ? false : refuse(c, h, kNoAccess);
    case Op::Get:
    case Op::GetK:
    case Op::Set:
    case Op::Add:
    case Op::Replace:
    case Op::Delete:
    case Op::Increment:
    case Op::Decrement:
    case Op::Append:
    case Op::Prepend:
    case Op::Touch:
    case Op::Gat:
    case Op::GatK:
      return c.bucket.empty() ? refuse(c, h, kNoBucket) : false;
    default:
      return false;
  }
}

// EACCESS or NO_BUCKET after a login: the status with XERROR, else the
// server closes the connection (remapErrorCode).
bool VBucketServer::State::refuse(Conn& c, const wire::Header& h, uint16_t status) {
  if (status == kNoBucket) ++auth.no_bucket;
  if (c.xerror) {
    respond(c, h, status, {}, {}, {}, 0);
  } else {
    c.closing = true;
  }
  return true;
}

void VBucketServer::State::hello(Conn& c, const wire::Header& h, std::string_view value) {
  c.xerror = false;  // every HELLO starts from nothing
  if (h.extras_length != 0 || value.size() % 2 != 0) {
    respond(c, h, kInvalidArguments, {}, {}, {}, 0);
    return;
  }
  std::set<uint16_t> asked;
  for (std::size_t i = 0; i < value.size(); i += 2) {
    asked.insert(static_cast<uint16_t>(static_cast<uint8_t>(value[i]) << 8 | static_cast<uint8_t>(value[i + 1])));
  }
  if (asked.count(kFeatureTcpNoDelay) && asked.count(kFeatureTcpDelay)) {
    respond(c, h, kInvalidArguments, {}, {}, {}, 0);
    return;
  }
  std::string granted;
  for (uint16_t f : asked) {  // ascending
    if (f != kFeatureTcpNoDelay && f != kFeatureTcpDelay && f != kFeatureXerror && f != kFeatureSelectBucket) continue;
    granted += static_cast<char>(f >> 8);
    granted += static_cast<char>(f & 0xff);
  }
  c.xerror = asked.count(kFeatureXerror) != 0;
  respond(c, h, kSuccess, {}, {}, granted, 0);
}

void VBucketServer::State::sasl_refuse(Conn& c, const wire::Header& h, uint16_t status) {
  ++auth.auth_failures;
  respond(c, h, status, {}, {}, {}, 0);
}

void VBucketServer::State::logged_in(Conn& c, const std::string& user, const std::string& mechanism) {
  c.user = user;
  ++auth.logins;
  ++auth.logins_by_mechanism[mechanism];
}

void VBucketServer::State::sasl_auth(Conn& c, const wire::Header& h, std::string_view mechanism,
                                     std::string_view data) {
  ++auth.sasl_auth;
  if (c.scram) return sasl_refuse(c, h, kInvalidArguments);  // an exchange waits for its step
  c.user.clear();
  c.bucket.clear();
  if (data.empty()) return sasl_refuse(c, h, kInvalidArguments);
  std::string mech(mechanism);
  for (char& ch : mech) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (std::find(mechanisms.begin(), mechanisms.end(), mech) == mechanisms.end()) {
    return sasl_refuse(c, h, kAuthError);
  }
  if (auto hash = scram_hash(mech)) return scram_start(c, h, mech, *hash, data);
  // PLAIN: [authzid] NUL user NUL password [NUL]
  const std::size_t first = data.find('\0');
  const std::size_t second = first == std::string_view::npos ? first : data.find('\0', first + 1);
  if (second == std::string_view::npos) return sasl_refuse(c, h, kInvalidArguments);
  const std::string user(data.substr(first + 1, second - first - 1));
  std::string_view password = data.substr(second + 1);
  if (password.ends_with('\0')) password.remove_suffix(1);
  auto u = users.find(user);
  if (user.empty() || u == users.end() || u->second.password != password) return sasl_refuse(c, h, kAuthError);
  logged_in(c, user, mech);
  respond(c, h, kSuccess, {}, {}, {}, 0);
}

void VBucketServer::State::scram_start(Conn& c, const wire::Header& h, const std::string& mechanism, Hash hash,
                                       std::string_view data) {
  // gs2-header "n," [authzid] "," then client-first-message-bare.
  if (!data.starts_with("n,")) return sasl_refuse(c, h, kInvalidArguments);
  const std::size_t comma = data.find(',', 2);
  if (comma == std::string_view::npos) return sasl_refuse(c, h, kInvalidArguments);
  ScramExchange x;
  x.hash = hash;
  x.mechanism = mechanism;
  x.client_first_bare = std::string(data.substr(comma + 1));
  std::vector<std::pair<char, std::string>> attributes;
  if (!scram_attributes(x.client_first_bare, attributes)) return sasl_refuse(c, h, kInvalidArguments);
  std::string name, client_nonce;
  for (auto& [k, v] : attributes) {
    if (k == 'n') {
      name = v;
    } else if (k == 'r') {
      client_nonce = v;
    } else {
      return sasl_refuse(c, h, kInvalidArguments);
    }
  }
  const std::optional<std::string> user = decode_saslname(name);
  if (name.empty() || client_nonce.empty() || !user) return sasl_refuse(c, h, kInvalidArguments);
  x.user = *user;
  auto u = users.find(x.user);
  x.known = u != users.end();
  // An unknown user is not told apart here: a made-up salt, the same each time.
  const std::string salt = x.known ? u->second.salt : hmac(Hash::Sha256, dummy_salt_key, x.user).substr(0, 16);
  const Couchbase& cb = *options.couchbase;
  const std::string server_nonce = cb.scram_server_nonce.empty() ? hex(random_bytes(8)) : cb.scram_server_nonce;
  x.server_first = "r=" + client_nonce + server_nonce + ",s=" + base64_encode(salt) +
                   ",i=" + std::to_string(cb.scram_iterations);
  respond(c, h, kAuthContinue, {}, {}, x.server_first, 0);
  c.scram = std::move(x);
}

const ScramKeys& VBucketServer::State::keys_of(const std::string& user, Hash hash) {
  UserRecord& u = users.find(user)->second;
  auto it = u.keys.find(hash);
  if (it == u.keys.end()) {
    it = u.keys.emplace(hash, scram_keys(hash, u.password, u.salt, options.couchbase->scram_iterations)).first;
  }
  return it->second;
}

void VBucketServer::State::sasl_step(Conn& c, const wire::Header& h, std::string_view data) {
  if (!c.scram) return sasl_refuse(c, h, kInvalidArguments);
  const ScramExchange x = std::move(*c.scram);
  c.scram.reset();  // a step ends the exchange, whatever its outcome
  std::vector<std::pair<char, std::string>> attributes;
  if (data.empty() || !scram_attributes(data, attributes)) return sasl_refuse(c, h, kInvalidArguments);
  std::optional<std::string> proof;
  for (auto& [k, v] : attributes)
    if (k == 'p') proof = base64_decode(v);
  const std::size_t at = data.find(",p=");
  if (!proof || at == std::string_view::npos) return sasl_refuse(c, h, kInvalidArguments);
  const std::string auth_message = x.client_first_bare + "," + x.server_first + "," + std::string(data.substr(0, at));
  // An unknown user is checked against keys nobody has.
  const ScramKeys keys = x.known ? keys_of(x.user, x.hash) : ScramKeys{random_bytes(proof->size()), {}};
  const std::string signature = hmac(x.hash, keys.stored_key, auth_message);
  if (signature.size() != proof->size()) return sasl_refuse(c, h, kInvalidArguments);
  std::string client_key(signature.size(), '\0');
  for (std::size_t i = 0; i < signature.size(); ++i) client_key[i] = static_cast<char>((*proof)[i] ^ signature[i]);
  if (!x.known || digest(x.hash, client_key) != keys.stored_key) return sasl_refuse(c, h, kAuthError);
  logged_in(c, x.user, x.mechanism);
  respond(c, h, kSuccess, {}, {}, "v=" + base64_encode(hmac(x.hash, keys.server_key, auth_message)), 0);
}

void VBucketServer::State::select_bucket(Conn& c, const wire::Header& h, std::string_view name,
                                         std::string_view body) {
  if (h.extras_length != 0 || name.empty() || body.size() != name.size()) {
    respond(c, h, kInvalidArguments, {}, {}, {}, 0);
    return;
  }
  if (name == kNoBucketName) {
    c.bucket.clear();
    respond(c, h, kSuccess, {}, {}, {}, 0);
    return;
  }
  if (!users.find(c.user)->second.may_select(name)) {
    ++auth.select_refusals;
    refuse(c, h, kNoAccess);
    return;
  }
  if (spaces.find(name) == spaces.end()) {
    ++auth.select_refusals;
    respond(c, h, kKeyNotFound, {}, {}, {}, 0);  // a code every client knows: sent as it is
    return;
  }
  c.bucket = std::string(name);
  ++auth.selects;
  respond(c, h, kSuccess, {}, {}, {}, 0);
}

void VBucketServer::State::execute(Conn& c, Pending& p) {
  const wire::Header& h = p.h;
  if (p.kind == Pending::Kind::BadMagic) {
    c.closing = true;
    return;
  }
  if (p.kind == Pending::Kind::Malformed) {
    error(c, h, kInvalidArguments);
    c.closing = true;
    return;
  }
  if (p.log_index < log.size()) log[p.log_index].bucket = c.bucket;
  if (couchbase && couchbase_gate(c, p)) return;
  KeySpace& ks = space_of(c);
  uint8_t base = 0;
  const bool quiet = is_quiet(h.opcode, base);
  const std::string_view body = p.body;
  const std::string_view ext = body.substr(0, h.extras_length);
  const std::string_view key = body.substr(h.extras_length, h.key_length);
  const std::string_view value = body.substr(static_cast<std::size_t>(h.extras_length) + h.key_length);
  const uint32_t extlen = h.extras_length;
  const uint32_t keylen = h.key_length;
  const uint32_t bodylen = h.body_length;
  if (h.opcode == kGetClusterConfig) return get_cluster_config(c, h);

  // Packet validation, as memcached's dispatch_bin_command.
  bool valid = false;
  bool keyed = false;
  switch (static_cast<Op>(base)) {
    case Op::Version:
    case Op::Noop:
    case Op::Quit:
      valid = extlen == 0 && keylen == 0 && bodylen == 0;
      break;
    case Op::Flush:
      valid = keylen == 0 && bodylen == extlen && (extlen == 0 || extlen == 4);
      break;
    case Op::Verbosity:
      valid = extlen == 4 && keylen == 0 && bodylen == 4;
      break;
    case Op::Stat:
      valid = extlen == 0 && bodylen == keylen;
      break;
    case Op::Set:
    case Op::Add:
    case Op::Replace:
      keyed = true;
      valid = extlen == 8 && keylen != 0;
      break;
    case Op::Get:
    case Op::GetK:
    case Op::GetReplica:
    case Op::Delete:
      keyed = true;
      valid = extlen == 0 && keylen != 0 && bodylen == keylen;
      break;
    case Op::Increment:
    case Op::Decrement:
      keyed = true;
      valid = extlen == 20 && keylen != 0 && bodylen == keylen + extlen;
      break;
    case Op::Append:
    case Op::Prepend:
      keyed = true;
      valid = extlen == 0 && keylen != 0;
      break;
    case Op::Touch:
    case Op::Gat:
    case Op::GatK:
      keyed = true;
      valid = extlen == 4 && keylen != 0 && bodylen == keylen + extlen;
      break;
    default:
      error(c, h, kUnknownCommand);
      return;
  }
  if (!valid || keylen > kMaxKey) {
    error(c, h, kInvalidArguments);
    c.closing = true;
    return;
  }

  if (keyed && !faults.empty()) {
    auto fault = faults.find(std::string(key));
    if (fault != faults.end()) {
      ++faults_served;
      c.out += fault->second.reply;
      if (fault->second.close) c.closing = true;
      return;
    }
  }
  if (keyed && warming > 0) {
    --warming;
    respond(c, h, kTemporaryFailure, {}, {}, "Temporary failure", 0);
    return;
  }
  if (keyed) {
    const uint16_t vb = h.vbucket_or_status;
    if (hash_vbuckets != 0) {
      const uint32_t expected = oracle::vbucket_of(key, hash_vbuckets);
      if (vb != expected) {
        ++bad_vbucket;
        respond(c, h, kInvalidArguments, {}, {},
                "vbucket mismatch: request has " + std::to_string(vb) + ", key hashes to " + std::to_string(expected),
                0);
        return;
      }
    }
    const bool replica_read = base == static_cast<uint8_t>(Op::GetReplica);
    if (replica_read ? replicas.count(vb) == 0 : !owned_in(ks, vb)) {
      ++nmv;
      respond(c, h, kNotMyVbucket, {}, {}, nmv_body, 0);
      return;
    }
  }

  switch (static_cast<Op>(base)) {
    case Op::Noop:
    case Op::Verbosity:
      respond(c, h, kSuccess, {}, {}, {}, 0);
      return;
    case Op::Version:
      respond(c, h, kSuccess, {}, {}, options.version, 0);
      return;
    case Op::Quit:
      if (!quiet) respond(c, h, kSuccess, {}, {}, {}, 0);
      c.closing = true;
      return;
    case Op::Flush: {
      const uint32_t delay = extlen == 4 ? get32(ext, 0) : 0;
      if (delay == 0) {
        ks.items.clear();
        ks.flush_at_ms = 0;
      } else {
        ks.flush_at_ms = expiry(delay);
      }
      if (!quiet) respond(c, h, kSuccess, {}, {}, {}, 0);
      return;
    }
    case Op::Stat:
      if (!key.empty()) {
        error(c, h, kKeyNotFound);
        return;
      }
      stats(c, h, ks);
      return;

    case Op::Get:
    case Op::GetK:
    case Op::GetReplica: {
      const bool with_key = base == static_cast<uint8_t>(Op::GetK);
      ++cmd_get;
      if (StoredItem* it = lookup(ks, key)) {
        ++get_hits;
        respond(c, h, kSuccess, be32(it->flags), with_key ? key : std::string_view(), it->value, it->cas);
      } else {
        ++get_misses;
        if (quiet) return;
        if (with_key) {
          respond(c, h, kKeyNotFound, {}, key, {}, 0);
        } else {
          error(c, h, kKeyNotFound);
        }
      }
      return;
    }
    case Op::Touch:
    case Op::Gat:
    case Op::GatK: {
      ++cmd_touch;
      const bool with_key = base == static_cast<uint8_t>(Op::GatK);
      const bool with_value = base != static_cast<uint8_t>(Op::Touch);
      if (StoredItem* it = lookup(ks, key)) {
        it->exp_ms = expiry(get32(ext, 0));
        respond(c, h, kSuccess, be32(it->flags), with_key ? key : std::string_view(),
                with_value ? std::string_view(it->value) : std::string_view(), it->cas);
      } else if (quiet) {
        return;
      } else if (with_key) {
        respond(c, h, kKeyNotFound, {}, key, {}, 0);
      } else {
        error(c, h, kKeyNotFound);
      }
      return;
    }

    case Op::Set:
    case Op::Add:
    case Op::Replace: {
      ++cmd_set;
      if (value.size() > options.max_value_size) {
        // memcached drops the old item on a failed SET so no stale value survives.
        if (base == static_cast<uint8_t>(Op::Set)) ks.items.erase(std::string(key));
        error(c, h, kTooLarge);
        return;
      }
      StoredItem* old = lookup(ks, key);
      if (h.cas != 0) {
        // Any storage command with a CAS is a compare-and-swap in memcached.
        if (old == nullptr) return error(c, h, kKeyNotFound);
        if (old->cas != h.cas) return error(c, h, kKeyExists);
      } else if (base == static_cast<uint8_t>(Op::Add) && old != nullptr) {
        return error(c, h, kKeyExists);
      } else if (base == static_cast<uint8_t>(Op::Replace) && old == nullptr) {
        return error(c, h, kKeyNotFound);
      }
      StoredItem& it = put(ks, key, std::string(value), get32(ext, 0), expiry(get32(ext, 4)));
      if (!quiet) respond(c, h, kSuccess, {}, {}, {}, it.cas);
      return;
    }
    case Op::Append:
    case Op::Prepend: {
      ++cmd_set;
      if (value.size() > options.max_value_size) return error(c, h, kTooLarge);
      StoredItem* old = lookup(ks, key);
      if (old == nullptr) return error(c, h, kNotStored);
      if (h.cas != 0 && old->cas != h.cas) return error(c, h, kKeyExists);
      if (old->value.size() + value.size() > options.max_value_size) return error(c, h, kNotStored);
      if (base == static_cast<uint8_t>(Op::Append)) {
        old->value.append(value);
      } else {
        old->value.insert(0, value);
      }
      old->cas = next_cas++;
      old->time_ms = now_ms();
      if (!quiet) respond(c, h, kSuccess, {}, {}, {}, old->cas);
      return;
    }
    case Op::Delete: {
      StoredItem* old = lookup(ks, key);
      if (old == nullptr) return error(c, h, kKeyNotFound);
      if (h.cas != 0 && old->cas != h.cas) return error(c, h, kKeyExists);
      ks.items.erase(std::string(key));
      if (!quiet) respond(c, h, kSuccess, {}, {}, {}, 0);
      return;
    }
    case Op::Increment:
    case Op::Decrement: {
      const bool incr = base == static_cast<uint8_t>(Op::Increment);
      const uint64_t delta = get64(ext, 0);
      const uint64_t initial = get64(ext, 8);
      const uint32_t exptime = get32(ext, 16);
      StoredItem* old = lookup(ks, key);
      if (old == nullptr) {
        if (exptime == wire::kNoAutoCreate) return error(c, h, kKeyNotFound);
        StoredItem& it = put(ks, key, std::to_string(initial), 0, expiry(exptime));
        if (!quiet) respond(c, h, kSuccess, {}, {}, be64(initial), it.cas);
        return;
      }
      if (h.cas != 0 && old->cas != h.cas) return error(c, h, kKeyExists);
      uint64_t current = 0;
      if (!parse_counter(old->value, current)) return error(c, h, kNonNumeric);
      const uint64_t next = incr ? current + delta : (delta > current ? 0 : current - delta);
      std::string text = std::to_string(next);
      if (text.size() <= old->value.size()) {
        // memcached rewrites the item in place, padding with blanks.
        text.append(old->value.size() - text.size(), ' ');
      } else {
        old->time_ms = now_ms();
      }
      old->value = std::move(text);
      old->cas = next_cas++;
      if (!quiet) respond(c, h, kSuccess, {}, {}, be64(next), old->cas);
      return;
    }
    default:
      error(c, h, kUnknownCommand);  // not reached: filtered above
      return;
  }
}

// --- the server thread -------------------------------------------------------

void VBucketServer::run() {
  State& s = *state_;
  std::vector<pollfd> fds;
  std::unique_lock<std::mutex> lock(s.mu);
  for (;;) {
    if (s.stopping) break;
    if (s.close_requested != s.close_done) {
      while (!s.conns.empty()) s.close_conn(s.conns.size() - 1);
      s.close_done = s.close_requested;
    }
    s.execute_allowed();
    for (std::size_t i = s.conns.size(); i-- > 0;) {
      Conn& c = *s.conns[i];
      if (!c.dead) s.write_to(c);
      if (c.dead || (c.closing && c.out.empty())) s.close_conn(i);
    }
    s.cv.notify_all();

    fds.clear();
    fds.push_back({s.wake_r, POLLIN, 0});
    fds.push_back({s.listen_fd, POLLIN, 0});
    for (auto& c : s.conns) {
      short events = 0;
      if (!c->closing && c->out.size() - c->out_off < kOutHighWater) events |= POLLIN;
      if (c->out_off < c->out.size()) events |= POLLOUT;
      fds.push_back({c->fd, events, 0});
    }
    lock.unlock();
    int r = ::poll(fds.data(), fds.size(), -1);
    int poll_errno = errno;
    lock.lock();
    if (r < 0) {
      if (poll_errno == EINTR) continue;
      break;  // cannot happen with valid fds; stop rather than spin
    }
    if (fds[0].revents != 0) {
      char buf[64];
      while (::read(s.wake_r, buf, sizeof buf) > 0) {
      }
    }
    // Connections accepted now are appended after the polled ones, so the
    // indexes below still match fds[2 + i].
    const std::size_t polled = fds.size() - 2;
    if (fds[1].revents & POLLIN) s.accept_all();
    for (std::size_t i = 0; i < polled; ++i) {
      Conn& c = *s.conns[i];
      const short rev = fds[2 + i].revents;
      if (rev & (POLLIN | POLLHUP | POLLERR)) s.read_from(c);
      if (c.dead) {
        s.drop_pending(c);
      } else {
        s.parse(c);
      }
    }
  }
  // Stopping: every connection and the listener go; connects are refused.
  while (!s.conns.empty()) s.close_conn(s.conns.size() - 1);
  ::close(s.listen_fd);
  s.listen_fd = -1;
  s.running = false;
  s.cv.notify_all();
}

// --- public interface ----------------------------------------------------------

VBucketServer::VBucketServer() : VBucketServer(Options{}) {}

VBucketServer::Options VBucketServer::data_node(std::vector<std::string> buckets, std::vector<User> users, int port) {
  Options o;
  o.port = port;
  Couchbase cb;
  cb.buckets = std::move(buckets);
  cb.users = std::move(users);
  o.couchbase = std::move(cb);
  return o;
}

VBucketServer::VBucketServer(Options options) : state_(std::make_unique<State>(std::move(options))) {
  State& s = *state_;
  id_ = g_next_id.fetch_add(1);
  s.id = id_;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("VBucketServer: pipe2: ") + std::strerror(errno));
  }
  s.wake_r = pipe_fds[0];
  s.wake_w = pipe_fds[1];
  s.listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.listen_fd < 0) throw std::runtime_error(std::string("VBucketServer: socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (s.options.port < 0 || s.options.port > 65535) {
    throw std::invalid_argument("VBucketServer: port " + std::to_string(s.options.port));
  }
  addr.sin_port = htons(static_cast<uint16_t>(s.options.port));  // 0: the OS picks
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // A restart on the port of a server just stopped (Options::port): the
  // connections it closed linger in TIME_WAIT, and Linux lets the port be
  // bound again only when both listeners set SO_REUSEADDR.
  int one = 1;
  ::setsockopt(s.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(s.listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s.listen_fd, 128) != 0) {
    throw std::runtime_error(std::string("VBucketServer: bind/listen on 127.0.0.1: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  if (::getsockname(s.listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error(std::string("VBucketServer: getsockname: ") + std::strerror(errno));
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

VBucketServer::~VBucketServer() { stop(); }

std::string VBucketServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

void VBucketServer::set_warming_up(uint64_t requests) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->warming = requests;
}

void VBucketServer::set_replicas(std::set<uint16_t> vbuckets) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->replicas = std::move(vbuckets);
}

void VBucketServer::set_owned(std::set<uint16_t> vbuckets) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->own_all = false;
  state_->owned = std::move(vbuckets);
  for (auto& [name, ks] : state_->spaces) ks.owned.reset();
}

void VBucketServer::own_all() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->own_all = true;
  state_->owned.clear();
  for (auto& [name, ks] : state_->spaces) ks.owned.reset();
}

void VBucketServer::set_owned(std::string_view bucket, std::set<uint16_t> vbuckets) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->bucket_space(bucket).owned = std::move(vbuckets);
}

void VBucketServer::inject_fault(std::string key, Fault fault) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->faults[std::move(key)] = std::move(fault);
}

void VBucketServer::clear_faults() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->faults.clear();
}

uint64_t VBucketServer::faults_served() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->faults_served;
}

bool VBucketServer::owns(uint16_t vbucket) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->own_all || state_->owned.count(vbucket) != 0;
}

void VBucketServer::check_vbucket_hash(uint32_t num_vbuckets) {
  if (num_vbuckets > 65536 || (num_vbuckets & (num_vbuckets - 1)) != 0) {
    throw std::invalid_argument("VBucketServer::check_vbucket_hash: " + std::to_string(num_vbuckets) +
                                " is not a power of two up to 65536");
  }
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->hash_vbuckets = num_vbuckets;
}

void VBucketServer::set_not_my_vbucket_body(std::string body) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->nmv_body = std::move(body);
}

void VBucketServer::set_cluster_config(std::string json) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->cluster_config = std::move(json);
}

std::size_t VBucketServer::item_count() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->live_items(state_->plain_space());
}

std::optional<std::string> VBucketServer::get(std::string_view key) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (StoredItem* it = state_->lookup(state_->plain_space(), key)) return it->value;
  return std::nullopt;
}

std::optional<VBucketServer::Item> VBucketServer::item(std::string_view key) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (StoredItem* it = state_->lookup(state_->plain_space(), key)) return Item{it->value, it->flags, it->cas};
  return std::nullopt;
}

void VBucketServer::put(std::string_view key, std::string_view value, uint32_t flags) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->put(state_->plain_space(), key, std::string(value), flags, 0);
}

std::size_t VBucketServer::item_count(std::string_view bucket) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->live_items(state_->bucket_space(bucket));
}

std::optional<std::string> VBucketServer::get(std::string_view bucket, std::string_view key) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (StoredItem* it = state_->lookup(state_->bucket_space(bucket), key)) return it->value;
  return std::nullopt;
}

void VBucketServer::put(std::string_view bucket, std::string_view key, std::string_view value, uint32_t flags) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->put(state_->bucket_space(bucket), key, std::string(value), flags, 0);
}

std::vector<std::string> VBucketServer::buckets_holding(std::string_view key) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  std::vector<std::string> out;
  for (auto& [name, ks] : state_->spaces)
    if (state_->lookup(ks, key)) out.push_back(name);
  return out;
}

std::size_t VBucketServer::connections_on(std::string_view bucket) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  std::size_t n = 0;
  for (const auto& c : state_->conns)
    if (!c->dead && !c->bucket.empty() && c->bucket == bucket) ++n;
  return n;
}

VBucketServer::AuthCounters VBucketServer::auth_counters() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->auth;
}

void VBucketServer::advance_time(std::chrono::seconds by) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->offset_ms += std::chrono::duration_cast<std::chrono::milliseconds>(by).count();
}

uint64_t VBucketServer::requests() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->requests;
}

uint64_t VBucketServer::nmv_count() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->nmv;
}

uint64_t VBucketServer::bad_vbucket_count() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->bad_vbucket;
}

uint64_t VBucketServer::cluster_config_requests() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->cluster_config_requests;
}

std::vector<VBucketServer::Request> VBucketServer::received() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->log;
}

std::size_t VBucketServer::connections() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->open_conns;
}

uint64_t VBucketServer::accepted() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->accepted;
}

bool VBucketServer::wait_for_requests(uint64_t n, Deadline deadline) const {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  s.cv.wait_until(lock, deadline.when(), [&] { return s.requests >= n || !s.running; });
  return s.requests >= n;
}

bool VBucketServer::wait_for_connections(std::size_t n, Deadline deadline) const {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  s.cv.wait_until(lock, deadline.when(), [&] { return s.open_conns >= n || !s.running; });
  return s.open_conns >= n;
}

void VBucketServer::hold_replies() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->gate_closed = true;
  state_->credits = 0;
}

void VBucketServer::release_replies() {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  s.gate_closed = false;
  s.credits = 0;
  s.wake();
  s.cv.wait(lock, [&] { return s.pending_total == 0 || !s.running; });
}

void VBucketServer::release_replies(std::size_t n) {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  if (!s.gate_closed) return;
  s.credits += n;
  s.wake();
  s.cv.wait(lock, [&] { return s.credits == 0 || s.pending_total == 0 || !s.running; });
}

std::size_t VBucketServer::held_requests() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->pending_total;
}

void VBucketServer::close_all_connections() {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  const uint64_t mine = ++s.close_requested;
  s.wake();
  s.cv.wait(lock, [&] { return s.close_done >= mine || !s.running; });
}

void VBucketServer::stop() {
  State& s = *state_;
  std::lock_guard<std::mutex> stop_lock(s.stop_mu);
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.stopping = true;
    s.wake();
  }
  thread_.join();
}

bool VBucketServer::running() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->running;
}

}  // namespace moxi::test
