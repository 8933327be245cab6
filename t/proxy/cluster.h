// Cluster: the fixture of the end-to-end proxy tests — N real memcached
// backends on OS-chosen loopback ports and one moxi in front of them, in
// ketama or vBucket mode, plus the routing oracle (t/support/oracle: zlib's
// CRC on the test's own map, libmemcached's ketama on the same server list,
// never moxi's code) to check where each key landed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "t/support/client.h"
#include "t/support/oracle.h"
#include "t/support/servers.h"

namespace moxi::test {

enum class Routing { Ketama, VBucket };

struct ClusterOptions {
  int backends = 2;
  Routing routing = Routing::Ketama;
  std::string downstream_protocol;      // "", "ascii" or "binary" (-Z downstream_protocol)
  std::vector<std::string> behaviors;   // more -Z items, e.g. "downstream_timeout=300"
  std::vector<std::string> extra_args;  // more moxi arguments
  std::vector<std::string> backend_args;  // more memcached arguments, e.g. {"-I", "4m"}
  std::vector<std::pair<std::string, std::string>> moxi_env;  // more environment for moxi
  int vbuckets = 64;
};

class Cluster {
 public:
  explicit Cluster(ClusterOptions options = {});

  int port() const;  // moxi's
  TestClient client() const { return TestClient(port()); }
  TestClient direct(int backend) const { return TestClient(backends_[static_cast<size_t>(backend)]->port()); }
  Memcached& backend(int i) { return *backends_[static_cast<size_t>(i)]; }
  int backend_count() const { return static_cast<int>(backends_.size()); }
  Moxi& moxi() { return *moxi_; }
  // The backend index the routing oracle assigns to `key`.
  int owner(std::string_view key) const;
  // The -z value moxi was started with.
  const std::string& config_text() const { return config_text_; }

 private:
  std::vector<std::unique_ptr<Memcached>> backends_;
  std::unique_ptr<Moxi> moxi_;
  std::string config_text_;
  int vbuckets_ = 0;                      // VBucket: the map's size
  std::unique_ptr<oracle::Ketama> ring_;  // Ketama
};

// Everything `port` answers to `input` before it closes, after a half-close
// (memcached answers every request it read before the end of file).
std::string transcript(int port, const std::string& input);

// The config generation the worker serving `c` has (stats proxy's
// config_generation); -1 if none reported.
long generation(TestClient& c);

// The config generation `c`'s worker serves, asked in the connection's
// protocol (binary STAT "proxy", or ascii stats proxy).
long generation_of(TestClient& c, bool binary);
// Waits (a bounded loop of requests) until `c`'s worker serves generation >= gen.
void wait_generation(TestClient& c, long gen, bool binary = false, Deadline deadline = std::chrono::seconds(10));

// Binary requests of the gateway tests, each answered by one reply: SASL_AUTH
// (PLAIN data "NUL user NUL password", under `mechanism`), SET (no flags, no
// expiry) and GET.
BinaryPacket sasl_auth(TestClient& c, const std::string& user, const std::string& password,
                       const std::string& mechanism = "PLAIN");
BinaryPacket bin_set(TestClient& c, const std::string& key, const std::string& value);
BinaryPacket bin_get(TestClient& c, const std::string& key);

// "stats proxy [sub]" on `c`: name -> value (asserts every line is a STAT line).
using Stats = std::map<std::string, std::string>;
Stats stats_proxy(TestClient& c, const std::string& sub = "");
// The number `name` has in `s`; throws when it is missing.
uint64_t stat(const Stats& s, const std::string& name);

// A "Vm...:" field of /proc/PID/status, in KiB: VmRSS (resident now) or
// VmHWM (the peak resident set); -1 when missing.
long status_kib(pid_t pid, const std::string& field);
inline long rss_kib(pid_t pid) { return status_kib(pid, "VmRSS:"); }
// Whether freed memory goes back to the system the way glibc's malloc and
// moxi's trim give it back. Not under ASan: its allocator keeps freed
// blocks of up to 128 KiB (moxi's 64 KiB read slabs among them) in its own
// size-class regions, so RSS after clients left is the sanitizer's; the
// tests that check the return check it in the normal build.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kRssReturnsFreedMemory = false;
#else
inline constexpr bool kRssReturnsFreedMemory = true;
#endif
inline long hwm_kib(pid_t pid) { return status_kib(pid, "VmHWM:"); }

// Waits until the backends' cmd_get counts stop moving (200 reads of every
// backend's stats in a row without change): moxi then sends nothing more
// for clients held back by a budget. False at the deadline.
bool wait_backends_quiet(Cluster& cluster, Deadline deadline);

// A bare vBucketServerMap JSON with `vbuckets` rows spread round-robin over
// `servers` ("host:port"), no replicas: vBucket v is on server v % servers.
std::string vbucket_map_json(const std::vector<std::string>& servers, int vbuckets);

}  // namespace moxi::test
