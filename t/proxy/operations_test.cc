// What an operator does to a running moxi: stop it (SIGTERM drains: no
// acknowledged request is lost, new connections are refused, the exit is
// bounded even with a stalled backend), reload file configs (SIGHUP swaps a
// rewritten file, keeps the map when the rewrite is broken), rotate the log
// (SIGUSR1), and read the log (timestamps, levels, rate-limited repeats).
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "t/proxy/cluster.h"
#include "t/support/temp_dir.h"

namespace moxi::test {
namespace {

using namespace std::chrono_literals;

// Connects to 127.0.0.1:port once; returns 0 or the errno (ECONNREFUSED once
// no listener is left). Loopback connects complete or fail at once.
int connect_errno(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int err = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

// Replaces `path` in one step (write a sibling, rename), as an editor or a
// config manager does, so moxi never reads half a file.
void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".new";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
  }
  CPPUNIT_ASSERT(std::rename(tmp.c_str(), path.c_str()) == 0);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Until `done()` holds, makes round trips on `c` (each one paces the loop:
// no sleeping); fails at the deadline with `what` and moxi's log.
template <class Done>
void wait_until(TestClient& c, Moxi& moxi, const std::string& what, Done done, Deadline deadline = 10s) {
  while (!done()) {
    CPPUNIT_ASSERT_MESSAGE("never: " + what + "\n--- moxi log ---\n" + moxi.log(), !deadline.expired());
    c.request("version");
  }
}

std::string vbucket_map(const std::string& server, int vbuckets) {
  std::string map = "{\"hashAlgorithm\":\"CRC\",\"numReplicas\":0,\"serverList\":[\"" + server + "\"],\"vBucketMap\":[";
  for (int v = 0; v < vbuckets; ++v) map += v ? ",[0]" : "[0]";
  return map + "]}";
}

// "2026-11-22T16:11:22.123Z" is 24 characters.
constexpr size_t kStampLength = 24;

// "YYYY-MM-DDTHH:MM:SS.mmmZ LEVEL message", LEVEL padded to 5 characters.
bool stamped(const std::string& line) {
  const std::string shape = "dddd-dd-ddTdd:dd:dd.dddZ ";
  if (line.size() < shape.size() + 7) return false;
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(line[i])) : line[i] != shape[i]) return false;
  const std::string level = line.substr(shape.size(), 6);
  return level == "ERROR " || level == "WARN  " || level == "INFO  " || level == "DEBUG " || level == "TRACE ";
}

bool exited_zero(const std::optional<int>& status) { return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0; }

class OperationsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(OperationsTest);
  CPPUNIT_TEST(testDrainUnderLoadLosesNoAcknowledgedRequest);
  CPPUNIT_TEST(testDrainIsBoundedWithAStalledBackend);
  CPPUNIT_TEST(testSecondSigtermExitsAtOnce);
  CPPUNIT_TEST(testSighupSwapsARewrittenFileAndKeepsTheMapOnABrokenOne);
  CPPUNIT_TEST(testSighupReloadsAPortSectionFile);
  CPPUNIT_TEST(testSighupWithoutFilesSaysSo);
  CPPUNIT_TEST(testSigusr1ReopensTheLogFile);
  CPPUNIT_TEST(testLogLinesAreStampedAndRepeatsRateLimited);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testDrainUnderLoadLosesNoAcknowledgedRequest() {
    ClusterOptions options;
    options.behaviors = {"drain_timeout=8000"};
    options.extra_args = {"-v"};
    Cluster cluster(options);
    Moxi& moxi = cluster.moxi();
    const int port = cluster.port();
    // A client with a half-sent set holds the drain open until the test
    // sends the rest: the listeners must be closed while moxi still runs.
    TestClient straggler(port, 5s);
    straggler.send("set straggler 0 0 5\r\nab");

    constexpr int kClients = 4, kBatch = 16;
    struct Outcome {
      std::vector<std::pair<std::string, std::string>> stored;
      std::vector<std::string> problems;
    };
    std::vector<Outcome> outcomes(kClients);
    std::atomic<bool> term_sent{false};
    std::mutex mutex;
    std::condition_variable progress;
    int batches = 0;
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    // An assertion that fails while the clients run must report its
    // message, not end the process with joinable threads: stop and join them.
    struct JoinAll {
      std::atomic<bool>& stop;
      std::vector<std::thread>& threads;
      ~JoinAll() {
        stop = true;
        for (auto& t : threads)
          if (t.joinable()) t.join();
      }
    } join_all{stop, threads};
    for (int id = 0; id < kClients; ++id) {
      threads.emplace_back([&, id] {
        Outcome& out = outcomes[static_cast<size_t>(id)];
        try {
          TestClient c(port, 5s);
          for (int b = 0; !stop; ++b) {
            std::string batch;
            std::vector<std::pair<std::string, std::string>> sent;
            for (int i = 0; i < kBatch; ++i) {
              std::string key = "c" + std::to_string(id) + "_" + std::to_string(b) + "_" + std::to_string(i);
              std::string value = "v" + key;
              batch += "set " + key + " 0 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\n";
              sent.emplace_back(key, value);
            }
            try {
              c.send(batch);
            } catch (const PeerClosed&) {
              break;
            }
            // term_sent is set before the signal: false now means the whole
            // batch was sent before SIGTERM, so every set must be answered.
            const bool before_term = !term_sent.load();
            for (size_t i = 0; i < sent.size(); ++i) {
              std::string reply;
              try {
                reply = c.read_line();
              } catch (const PeerClosed&) {
                if (before_term) out.problems.push_back("batch sent before SIGTERM lost its reply for " + sent[i].first);
                return;
              }
              if (reply == "STORED") {
                out.stored.push_back(sent[i]);
              } else {
                out.problems.push_back(sent[i].first + ": " + reply);
              }
            }
            {
              std::lock_guard<std::mutex> lock(mutex);
              ++batches;
            }
            progress.notify_all();
          }
        } catch (const std::exception& e) {
          out.problems.push_back(e.what());
        }
      });
    }
    {
      std::unique_lock<std::mutex> lock(mutex);
      const bool loaded = progress.wait_for(lock, 10s, [&] { return batches >= kClients * 4; });
      CPPUNIT_ASSERT_MESSAGE(moxi.log(), loaded);
    }
    term_sent = true;
    const auto t0 = Clock::now();
    moxi.process().kill(SIGTERM);

    // The listeners close while the straggler keeps moxi draining. Until
    // they are closed a connect may still be accepted (and served), or be
    // reset if it lands in the instant a listener closes; then every
    // connect is refused.
    int err = 0;
    for (Deadline d(5s); (err = connect_errno(port)) != ECONNREFUSED && !d.expired();) {
      CPPUNIT_ASSERT_MESSAGE("connect: " + std::string(std::strerror(err)), err == 0 || err == ECONNRESET);
    }
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), ECONNREFUSED, err);
    CPPUNIT_ASSERT_MESSAGE("moxi exited before the straggler finished\n" + moxi.log(), moxi.running());

    for (auto& t : threads) t.join();
    // The rest of the half-sent set is still served, then the connection ends.
    straggler.send("cde\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), straggler.read_line());
    CPPUNIT_ASSERT(straggler.expect_closed(5s));
    straggler.close();

    auto status = moxi.process().wait_exit(8s);
    const auto took = Clock::now() - t0;
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), exited_zero(status));
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), took < 8s);
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), contains(moxi.log(), "drained: every client connection is closed"));

    size_t stored = 0;
    std::vector<TestClient> direct;
    for (int b = 0; b < cluster.backend_count(); ++b) direct.push_back(cluster.direct(b));
    for (const Outcome& out : outcomes) {
      CPPUNIT_ASSERT_MESSAGE(out.problems.empty() ? "" : out.problems.front(), out.problems.empty());
      for (const auto& [key, value] : out.stored) {
        auto got = direct[static_cast<size_t>(cluster.owner(key))].get(key);
        CPPUNIT_ASSERT_MESSAGE("acknowledged " + key + " is not on its backend", got && *got == value);
        ++stored;
      }
    }
    CPPUNIT_ASSERT(stored >= static_cast<size_t>(kClients * 4 * kBatch));
    CPPUNIT_ASSERT(direct[static_cast<size_t>(cluster.owner("straggler"))].get("straggler") == std::string("abcde"));
  }

  void testDrainIsBoundedWithAStalledBackend() {
    ClusterOptions options;
    options.behaviors = {"drain_timeout=1000", "downstream_timeout=0"};
    Cluster cluster(options);
    Moxi& moxi = cluster.moxi();
    std::string key;
    for (int i = 0; cluster.owner(key = "k" + std::to_string(i)) != 0; ++i) {
    }
    cluster.backend(0).pause();
    TestClient c(cluster.port());
    TestClient watcher(cluster.port());
    const uint64_t base = stat(stats_proxy(watcher), "requests_total");  // counts itself
    c.send("get " + key + "\r\n");  // never answered: the backend is stopped, no timeout
    // SIGTERM only once moxi has the get: each poll counts itself, the get once.
    Deadline seen(5s);
    for (uint64_t polls = 1; stat(stats_proxy(watcher), "requests_total") < base + polls + 1; ++polls)
      CPPUNIT_ASSERT_MESSAGE("moxi never decoded the get", !seen.expired());
    watcher.close();
    const auto t0 = Clock::now();
    moxi.process().kill(SIGTERM);
    auto status = moxi.process().wait_exit(5s);
    const auto took = Clock::now() - t0;
    cluster.backend(0).resume();
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), exited_zero(status));
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), took >= 900ms);  // it did wait for the request
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), took < 3s);
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), contains(moxi.log(), "WARN  drain timeout (1000 ms)"));
  }

  void testSecondSigtermExitsAtOnce() {
    ClusterOptions options;
    options.behaviors = {"drain_timeout=60000"};
    Cluster cluster(options);
    Moxi& moxi = cluster.moxi();
    TestClient c(cluster.port());
    // A half-sent set holds the drain open. It goes in one write after a
    // version: once the version is answered, moxi has read the set's part
    // too (one small loopback write is one read), so the drain waits for it
    // rather than finding the client idle and exiting before the second
    // SIGTERM.
    c.send("version\r\nset k 0 0 5\r\nab");
    CPPUNIT_ASSERT_EQUAL(std::string("VERSION"), c.read_line().substr(0, 7));
    moxi.process().kill(SIGTERM);
    // Once the drain runs, new connections are refused.
    for (Deadline d(5s); connect_errno(cluster.port()) == 0;) CPPUNIT_ASSERT_MESSAGE(moxi.log(), !d.expired());
    const auto t0 = Clock::now();
    moxi.process().kill(SIGTERM);
    auto status = moxi.process().wait_exit(5s);
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), exited_zero(status));
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), Clock::now() - t0 < 3s);
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), contains(moxi.log(), "SIGTERM during the drain: exiting now"));
  }

  void testSighupSwapsARewrittenFileAndKeepsTheMapOnABrokenOne() {
    Memcached a, b;
    TempDir dir("moxi-reload");
    const std::string file = dir.file("pool.cfg");
    write_atomically(file, "# pool\n0 = " + a.address() + "\n");
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-v", "-z", file});
    TestClient c(moxi.port());
    TestClient on_a(a.port()), on_b(b.port());
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k1", "v1"));
    CPPUNIT_ASSERT(on_a.get("k1") == std::string("v1"));
    CPPUNIT_ASSERT_EQUAL(1L, generation(c));

    // Rewritten to another server: generation 2, new keys go there.
    write_atomically(file, "0 = " + b.address() + "\n");
    moxi.process().kill(SIGHUP);
    wait_until(c, moxi, "generation 2", [&] { return generation(c) == 2; });
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k2", "v2"));
    CPPUNIT_ASSERT(on_b.get("k2") == std::string("v2"));
    CPPUNIT_ASSERT(!on_a.get("k2"));
    CPPUNIT_ASSERT(contains(moxi.log(), "config generation 2 from SIGHUP: port " + std::to_string(moxi.port())));

    // Broken: an invalid map. Logged precisely; generation 2 stays in force.
    write_atomically(file, "0 = {\"hashAlgorithm\":\"CRC\",\"numReplicas\":0,\"serverList\":[\"" + a.address() +
                               "\"],\"vBucketMap\":[[0],[3]]}\n");
    moxi.process().kill(SIGHUP);
    wait_until(c, moxi, "the reload error", [&] { return contains(moxi.log(), "reload failed"); });
    std::string log = moxi.log();
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, "ERROR SIGHUP: reload failed, keeping generation 2: -z port 0 (" + file +
                                                  "): vBucketMap[1][0]"));
    CPPUNIT_ASSERT_EQUAL(2L, generation(c));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k3", "v3"));
    CPPUNIT_ASSERT(on_b.get("k3") == std::string("v3"));

    // A file that now names other ports cannot be applied by a reload.
    write_atomically(file, "0 = " + a.address() + ";\n0 = " + b.address() + "\n");
    moxi.process().kill(SIGHUP);
    wait_until(c, moxi, "the ports error", [&] { return contains(moxi.log(), "its ports changed"); });
    CPPUNIT_ASSERT_EQUAL(2L, generation(c));

    // Fixed again: the next SIGHUP applies it.
    write_atomically(file, "0 = " + a.address() + "\n");
    moxi.process().kill(SIGHUP);
    wait_until(c, moxi, "generation 3", [&] { return generation(c) == 3; });
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k4", "v4"));
    CPPUNIT_ASSERT(on_a.get("k4") == std::string("v4"));
  }

  void testSighupReloadsAPortSectionFile() {
    Memcached a, b;
    TempDir dir("moxi-reload");
    const std::string file = dir.file("map.json");
    write_atomically(file, vbucket_map(a.address(), 16));
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-v", "-z", "0=" + file});
    TestClient c(moxi.port());
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k1", "v1"));
    CPPUNIT_ASSERT(TestClient(a.port()).get("k1") == std::string("v1"));
    write_atomically(file, vbucket_map(b.address(), 16));
    moxi.process().kill(SIGHUP);
    wait_until(c, moxi, "generation 2", [&] { return generation(c) == 2; });
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k2", "v2"));
    CPPUNIT_ASSERT(TestClient(b.port()).get("k2") == std::string("v2"));
    // An unchanged file changes nothing.
    moxi.process().kill(SIGHUP);
    wait_until(c, moxi, "the unchanged note", [&] { return contains(moxi.log(), "config files unchanged"); });
    CPPUNIT_ASSERT_EQUAL(2L, generation(c));
  }

  void testSighupWithoutFilesSaysSo() {
    Memcached a;
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-z", "0=" + a.address()});
    TestClient c(moxi.port());
    moxi.process().kill(SIGHUP);
    wait_until(c, moxi, "the nothing-to-reload warning", [&] { return contains(moxi.log(), "SIGHUP: nothing to reload"); });
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k", "v"));
    CPPUNIT_ASSERT_EQUAL(1L, generation(c));
  }

  void testSigusr1ReopensTheLogFile() {
    Memcached a;
    TempDir logs("moxi-logs");
    const std::string path = logs.file("moxi.log");
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-v", "-o", path, "-z", "0=" + a.address()});
    TestClient c(moxi.port());
    CPPUNIT_ASSERT(contains(read_text(path), "INFO  listening on port " + std::to_string(moxi.port())));
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), !contains(moxi.log(), "listening on port"));  // not on stderr
    // logrotate: rename, then SIGUSR1.
    CPPUNIT_ASSERT(std::rename(path.c_str(), (path + ".1").c_str()) == 0);
    moxi.process().kill(SIGUSR1);
    wait_until(c, moxi, "a new log file", [&] { return contains(read_text(path), "reopened log file " + path); });
    // Later lines go to the new file only.
    moxi.process().kill(SIGHUP);
    wait_until(c, moxi, "SIGHUP in the new log", [&] { return contains(read_text(path), "nothing to reload"); });
    CPPUNIT_ASSERT(!contains(read_text(path + ".1"), "nothing to reload"));
    CPPUNIT_ASSERT(contains(read_text(path + ".1"), "listening on port"));
  }

  void testLogLinesAreStampedAndRepeatsRateLimited() {
    const int dead = unused_loopback_port();
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-Z", "log_interval=300,connect_max_errors=0", "-z",
               "0=127.0.0.1:" + std::to_string(dead)});
    TestClient c(moxi.port());
    int requests = 0;
    for (Deadline d(10s); !contains(moxi.log(), "similar message"); ++requests) {
      CPPUNIT_ASSERT_MESSAGE(moxi.log(), !d.expired());
      CPPUNIT_ASSERT_EQUAL("SERVER_ERROR proxy write to downstream 127.0.0.1:" + std::to_string(dead), c.request("get k"));
    }
    const std::string refused = " WARN  backend 127.0.0.1:" + std::to_string(dead) +
                                ": connect failed: Connection refused";
    std::istringstream in(moxi.log());
    int lines = 0;
    long suppressed = 0;
    for (std::string line; std::getline(in, line);) {
      CPPUNIT_ASSERT_MESSAGE(line, stamped(line));
      if (line.compare(kStampLength, refused.size(), refused) != 0) continue;
      ++lines;
      std::string rest = line.substr(kStampLength + refused.size());
      if (rest.empty()) continue;
      long n = 0;
      char tail[32] = {};
      CPPUNIT_ASSERT_MESSAGE(line, std::sscanf(rest.c_str(), " (suppressed %ld similar %31s", &n, tail) == 2);
      CPPUNIT_ASSERT_MESSAGE(line, std::string(tail) == (n == 1 ? "message)" : "messages)"));
      suppressed += n;
    }
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), lines >= 2);
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), suppressed >= 1);
    // Every failure was counted once: written or suppressed (the last few may
    // still be pending in the limiter).
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), lines + suppressed <= requests);
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), lines < requests);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(OperationsTest);

}  // namespace
}  // namespace moxi::test
