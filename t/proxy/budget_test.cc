// The total buffer budget (-Z buffer_max, buffer_budget.h): all the bytes
// moxi buffers for all connections stay within it, whatever many clients
// do; clients waiting for room are refused with memcached's out-of-memory
// replies after buffer_wait rather than kept waiting; the gauges show the
// memory; and the memory returns when the clients leave. Memory is checked
// from /proc (the peak resident set, so the moment of measuring does not
// matter) and from moxi's own gauges; never a timing.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "src/net/uring.h"
#include "t/proxy/cluster.h"

namespace moxi::test {
namespace {

constexpr long kMiB = 1024;  // in KiB, as /proc reports

// ASan's quarantine would keep every freed buffer resident: off for the
// moxi of these tests (the variable means nothing to other builds).
std::vector<std::pair<std::string, std::string>> no_quarantine() {
  const char* asan = std::getenv("ASAN_OPTIONS");
  return {{"ASAN_OPTIONS", std::string(asan ? asan : "") + (asan && *asan ? ":" : "") + "quarantine_size_mb=0"}};
}

// Sends as much of `bytes` as the socket takes now; returns how much.
size_t send_what_fits(TestClient& c, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(c.fd(), bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  return sent;
}

// Polls `stats proxy` until `name` is at most `most`; false at the deadline.
bool wait_stat_at_most(TestClient& c, const std::string& name, uint64_t most, Deadline deadline) {
  while (stat(stats_proxy(c), name) > most)
    if (deadline.expired()) return false;
  return true;
}

class BufferBudgetTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(BufferBudgetTest);
  CPPUNIT_TEST(testNeverReadingClientsAreHeldToTheTotal);
  CPPUNIT_TEST(testSlowWritersOfHalfValuesAreHeldToTheTotal);
  CPPUNIT_TEST(testSlowWritersUnderTheBudgetDelayNobody);
  CPPUNIT_TEST_SUITE_END();

 public:
  // Twenty clients pipeline gets of a 512 KiB value and never read. Each
  // may hold 64 MiB (client_buffer_max), so only the total of 16 MiB stops
  // them: without it they would take over a gigabyte (past buffer_wait
  // their own later gets are refused too). A newcomer is then
  // answered out of memory after buffer_wait (200 ms) — memcached's texts,
  // binary too — except for what moxi answers itself; its refused set
  // unlinks the old value as memcached does. Once the hogs leave, the
  // gauges and RSS fall back and the newcomer is served again.
  void testNeverReadingClientsAreHeldToTheTotal() {
    ClusterOptions o;
    o.behaviors = {"buffer_max=16m", "buffer_wait=200", "client_buffer_max=64m"};
    o.moxi_env = no_quarantine();
    Cluster cluster(o);
    const std::string big(512 * 1024, 'b');
    TestClient setter = cluster.client();
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), setter.set("big", big));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), setter.set("old", "stale"));
    const pid_t pid = cluster.moxi().pid();
    // Workers on io_uring (-Z io_engine=uring) keep a fixed set of receive
    // buffers each (the man page's figure), touched as they are used: not
    // part of the budget, part of the RSS once the hogs came.
    const long engine_kib = static_cast<long>(stat(stats_proxy(setter), "io_uring_workers")) *
                            static_cast<long>(net::Uring::kBuffers * net::Uring::kBufferSize / 1024);
    const long before = rss_kib(pid) + engine_kib;
    std::string stream;
    for (int i = 0; i < 300; ++i) stream += "get big\r\n";
    std::vector<TestClient> hogs;
    for (int i = 0; i < 20; ++i) {
      hogs.push_back(cluster.client());
      int small = 4096;
      setsockopt(hogs.back().fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
      hogs.back().send(stream);
    }
    CPPUNIT_ASSERT_MESSAGE("backends never went quiet", wait_backends_quiet(cluster, Deadline(std::chrono::seconds(20))));
    // The budget, plus the first 4 replies of each client starting at once
    // (their size is not known yet), plus 32 MiB for everything else.
    const long peak = hwm_kib(pid);
    const long bound = before + 16 * kMiB + 20 * 4 * 512 + 32 * kMiB;
    CPPUNIT_ASSERT_MESSAGE("peak RSS " + std::to_string(peak) + " KiB, bound " + std::to_string(bound) + " KiB",
                           peak < bound);

    // Quiet backends are not yet a full budget: the kernel may still be
    // taking the hogs' replies off moxi's hands. Full is what the gauges
    // say (buffered plus reserved reaching the maximum), and it stays full
    // once the hogs' socket buffers are.
    for (Deadline d(std::chrono::seconds(20));;) {
      TestClient probe = cluster.client();
      const Stats s = stats_proxy(probe);
      if (stat(s, "buffer_bytes") + stat(s, "buffer_reserved_bytes") >= stat(s, "buffer_max_bytes")) break;
      CPPUNIT_ASSERT_MESSAGE("the budget never filled", !d.expired());
    }
    TestClient late = cluster.client();
    late.set_timeout(std::chrono::seconds(5));
    // Answered by moxi itself: never refused (served once the wait is over).
    CPPUNIT_ASSERT(late.request("version").rfind("VERSION ", 0) == 0);
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR out of memory"), late.request("get big"));
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR out of memory storing object"), late.request("set old 0 0 5\r\nfresh"));
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR out of memory"), late.request("incr n 1"));
    TestClient late_binary = cluster.client();
    late_binary.set_timeout(std::chrono::seconds(5));
    late_binary.send_binary(bin::request(bin::kGet, "big", "", "", 7));
    const BinaryPacket r = late_binary.read_binary();
    CPPUNIT_ASSERT_EQUAL(bin::kOutOfMemory, r.status());
    CPPUNIT_ASSERT_EQUAL(uint32_t{7}, r.opaque);
    const Stats full = stats_proxy(late);
    CPPUNIT_ASSERT_EQUAL(uint64_t{16} << 20, stat(full, "buffer_max_bytes"));
    CPPUNIT_ASSERT(stat(full, "buffer_bytes_peak") >= (uint64_t{16} << 20));
    CPPUNIT_ASSERT_MESSAGE(std::to_string(stat(full, "buffer_bytes_peak")), stat(full, "buffer_bytes_peak") < static_cast<uint64_t>(bound - before) * 1024);
    CPPUNIT_ASSERT(stat(full, "buffer_bytes") >= (uint64_t{15} << 20));
    CPPUNIT_ASSERT(stat(full, "limit_buffer_total") >= 1);
    // The four above, and the hogs' own gets once they had waited too.
    CPPUNIT_ASSERT(stat(full, "buffer_refusals_total") >= 4);

    hogs.clear();
    CPPUNIT_ASSERT_MESSAGE("buffer_bytes stayed up after the clients left",
                           wait_stat_at_most(late, "buffer_bytes", 1 << 20, Deadline(std::chrono::seconds(10))));
    Deadline release(std::chrono::seconds(10));
    for (long now_kib; kRssReturnsFreedMemory && (now_kib = rss_kib(pid)) > before + 16 * kMiB;) {
      CPPUNIT_ASSERT_MESSAGE("RSS stayed at " + std::to_string(now_kib) + " KiB after the clients left (before: " +
                                 std::to_string(before) + ")",
                             !release.expired());
      late.request("version");  // a round trip lets the workers run
    }
    // Served again; the refused set unlinked the stale value.
    CPPUNIT_ASSERT_EQUAL(size_t{512 * 1024}, late.get("big").value_or("").size());
    CPPUNIT_ASSERT(!late.get("old"));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), late.set("old", "fresh"));
  }

  // Forty clients each send half of a 6 MiB value and stall: 120 MiB if
  // moxi read it all. With a total of 8 MiB moxi stops reading; writers
  // that waited buffer_wait are refused and the rest of their value is
  // discarded as it arrives, which makes room for the others. Every writer
  // then gets exactly one answer for its set — stored whole or refused —
  // and the peak stays within the budget plus one read per connection.
  void testSlowWritersOfHalfValuesAreHeldToTheTotal() {
    ClusterOptions o;
    o.behaviors = {"buffer_max=8m", "buffer_wait=200"};
    o.extra_args = {"-I", "8m"};
    o.backend_args = {"-I", "8m"};
    o.moxi_env = no_quarantine();
    Cluster cluster(o);
    const pid_t pid = cluster.moxi().pid();
    const long before = rss_kib(pid);
    const size_t value_size = 6 << 20;
    const std::string half(value_size / 2, 'h');
    std::vector<TestClient> writers;
    std::vector<std::string> rest;
    for (int i = 0; i < 40; ++i) {
      writers.push_back(cluster.client());
      writers.back().set_timeout(std::chrono::seconds(20));
      const std::string head = "set w" + std::to_string(i) + " 0 0 " + std::to_string(value_size) + "\r\n" + half;
      const size_t sent = send_what_fits(writers.back(), head);
      rest.push_back(head.substr(sent) + std::string(value_size / 2, 'h') + "\r\n");
    }
    TestClient watcher = cluster.client();
    watcher.set_timeout(std::chrono::seconds(5));
    // The rest of every value: each writer is answered exactly once.
    int stored = 0, refused = 0;
    for (size_t i = 0; i < writers.size(); ++i) {
      writers[i].send(rest[i]);
      const std::string reply = writers[i].read_line();
      if (reply == "STORED") {
        ++stored;
      } else {
        CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR out of memory storing object"), reply);
        ++refused;
      }
      CPPUNIT_ASSERT_EQUAL(std::string("VERSION"), writers[i].request("version").substr(0, 7));  // nothing more came
    }
    CPPUNIT_ASSERT(refused > 0);
    CPPUNIT_ASSERT_EQUAL(40, stored + refused);
    // 8 MiB, one 64 KiB read per writer past it, and 32 MiB for the rest.
    const long peak = hwm_kib(pid);
    const long bound = before + 8 * kMiB + 40 * 64 + 32 * kMiB;
    CPPUNIT_ASSERT_MESSAGE("peak RSS " + std::to_string(peak) + " KiB, bound " + std::to_string(bound) + " KiB",
                           peak < bound);
    const uint64_t bytes_peak = stat(stats_proxy(watcher), "buffer_bytes_peak");
    CPPUNIT_ASSERT_MESSAGE("buffer_bytes_peak " + std::to_string(bytes_peak),
                           bytes_peak < (uint64_t{8} << 20) + 40 * (64 << 10) + (1 << 20));
    // A stored value is whole; a refused one is absent.
    for (int i = 0; i < 40; ++i) {
      auto v = watcher.get("w" + std::to_string(i));
      if (v) CPPUNIT_ASSERT_EQUAL(value_size, v->size());
    }
  }

  // Under the budget, writers stalled halfway through a value hold only
  // their own bytes: everybody else is served meanwhile, and the writers'
  // values are stored whole when they go on.
  void testSlowWritersUnderTheBudgetDelayNobody() {
    Cluster cluster;
    const size_t value_size = 512 << 10;
    std::vector<TestClient> writers;
    for (int i = 0; i < 20; ++i) {
      writers.push_back(cluster.client());
      writers.back().send("set s" + std::to_string(i) + " 0 0 " + std::to_string(value_size) + "\r\n" +
                          std::string(value_size / 2, 's'));
    }
    TestClient other = cluster.client();
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), other.set("x", "1"));
    CPPUNIT_ASSERT_EQUAL(std::string("1"), other.get("x").value_or(""));
    for (int i = 0; i < 20; ++i) {
      writers[static_cast<size_t>(i)].send(std::string(value_size / 2, 's') + "\r\n");
      CPPUNIT_ASSERT_EQUAL(std::string("STORED"), writers[static_cast<size_t>(i)].read_line());
      CPPUNIT_ASSERT_EQUAL(value_size, other.get("s" + std::to_string(i)).value_or("").size());
    }
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(stats_proxy(other), "buffer_refusals_total"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BufferBudgetTest);

}  // namespace
}  // namespace moxi::test
