// Memcached fixture and TestClient against a real memcached: OS-chosen
// ports, ascii and binary round trips, restart on the same port, pause and
// resume, and cleanup of the process and its temp dir.
#include <arpa/inet.h>
#include <cppunit/extensions/HelperMacros.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "t/harness/check.h"
#include "t/support/client.h"
#include "t/support/servers.h"

namespace moxi::test {

using namespace std::chrono_literals;

namespace {

// Holds 127.0.0.1:port in LISTEN state so memcached cannot bind it.
struct PortSquatter {
  int fd = -1;
  explicit PortSquatter(int port) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CPPUNIT_ASSERT(fd >= 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string("bind: ") + std::strerror(errno), 0,
                                 ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
    CPPUNIT_ASSERT_EQUAL(0, ::listen(fd, 1));
  }
  ~PortSquatter() { release(); }
  void release() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// "stats settings" as name -> value.
std::string stat_setting(TestClient& c, const std::string& name) {
  c.send("stats settings\r\n");
  std::string found;
  for (;;) {
    std::string line = c.read_line();
    if (line == "END") return found;
    if (line.rfind("STAT " + name + " ", 0) == 0) found = line.substr(6 + name.size());
  }
}

}  // namespace

class MemcachedTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(MemcachedTest);
  CPPUNIT_TEST(starts_on_os_chosen_port);
  CPPUNIT_TEST(passes_extra_arguments);
  CPPUNIT_TEST(ascii_set_and_get);
  CPPUNIT_TEST(get_multi_keeps_wire_order);
  CPPUNIT_TEST(binary_set_then_get_echoes_opaque_and_cas);
  CPPUNIT_TEST(restart_keeps_port_and_loses_data);
  CPPUNIT_TEST(restart_after_crash);
  CPPUNIT_TEST(restart_reports_a_taken_port_then_recovers);
  CPPUNIT_TEST(pause_makes_requests_time_out_until_resume);
  CPPUNIT_TEST(peer_close_is_reported);
  CPPUNIT_TEST(destructor_leaves_no_child_or_dir);
  CPPUNIT_TEST(destructor_cleans_up_paused_server_when_a_test_throws);
  CPPUNIT_TEST_SUITE_END();

 public:
  void starts_on_os_chosen_port() {
    Memcached a;
    Memcached b;
    CPPUNIT_ASSERT(a.port() > 0);
    CPPUNIT_ASSERT(b.port() > 0);
    CPPUNIT_ASSERT(a.port() != b.port());
    CPPUNIT_ASSERT_EQUAL("127.0.0.1:" + std::to_string(a.port()), a.address());
    TestClient c(a.port());
    std::string version = c.request("version");
    CPPUNIT_ASSERT_MESSAGE(version, version.rfind("VERSION 1.", 0) == 0);
    // Each server is its own: a key set on one is absent on the other.
    TestClient d(b.port());
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("only-on-a", "x"));
    CPPUNIT_ASSERT(!d.get("only-on-a").has_value());
  }

  void passes_extra_arguments() {
    Memcached mc({"-m", "7"});
    TestClient c(mc.port());
    CPPUNIT_ASSERT_EQUAL(std::to_string(7 * 1024 * 1024), stat_setting(c, "maxbytes"));
    CPPUNIT_ASSERT_EQUAL(std::string("1"), stat_setting(c, "num_threads"));
  }

  void ascii_set_and_get() {
    Memcached mc;
    TestClient c(mc.port());
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k", "value"));
    CPPUNIT_ASSERT_EQUAL(std::string("value"), c.get("k").value_or("<miss>"));
    CPPUNIT_ASSERT(!c.get("missing").has_value());
    // Values are length-delimited: CRLF and NUL inside are data.
    const std::string tricky("a\r\nEND\r\n\0b", 11);
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("tricky", tricky, 42));
    auto items = c.retrieve("gets tricky");
    CPPUNIT_ASSERT_EQUAL(size_t(1), items.size());
    CPPUNIT_ASSERT_EQUAL(tricky, items[0].value);
    CPPUNIT_ASSERT_EQUAL(uint32_t(42), items[0].flags);
    CPPUNIT_ASSERT(items[0].cas.has_value());
    // An error reply is reported, not mistaken for a miss.
    CPPUNIT_ASSERT_THROW(c.retrieve("bogus_command"), std::runtime_error);
  }

  void get_multi_keeps_wire_order() {
    Memcached mc;
    TestClient c(mc.port());
    for (const char* k : {"k1", "k2", "k3"}) CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(k, std::string("v") + k));
    auto got = c.get_multi({"k3", "absent", "k1", "k2"});
    std::vector<std::pair<std::string, std::string>> want = {{"k3", "vk3"}, {"k1", "vk1"}, {"k2", "vk2"}};
    CPPUNIT_ASSERT(got == want);
    CPPUNIT_ASSERT(c.get_multi({"absent", "also-absent"}).empty());
  }

  void binary_set_then_get_echoes_opaque_and_cas() {
    Memcached mc;
    TestClient c(mc.port());
    c.send_binary(bin::request(bin::kSet, "bk", "bvalue", bin::set_extras(0xdeadbeef, 0), 0x11223344));
    BinaryPacket set = c.read_binary();
    CPPUNIT_ASSERT_EQUAL(int(bin::kResponse), int(set.magic));
    CPPUNIT_ASSERT_EQUAL(int(bin::kSet), int(set.opcode));
    CPPUNIT_ASSERT_EQUAL(int(bin::kSuccess), int(set.status()));
    CPPUNIT_ASSERT_EQUAL(uint32_t(0x11223344), set.opaque);
    CPPUNIT_ASSERT(set.cas != 0);

    c.send_binary(bin::request(bin::kGet, "bk", {}, {}, 0x55667788));
    BinaryPacket get = c.read_binary();
    CPPUNIT_ASSERT_EQUAL(int(bin::kGet), int(get.opcode));
    CPPUNIT_ASSERT_EQUAL(int(bin::kSuccess), int(get.status()));
    CPPUNIT_ASSERT_EQUAL(uint32_t(0x55667788), get.opaque);
    CPPUNIT_ASSERT_EQUAL(set.cas, get.cas);
    CPPUNIT_ASSERT_EQUAL(bin::set_extras(0xdeadbeef, 0).substr(0, 4), get.extras);
    CPPUNIT_ASSERT_EQUAL(std::string("bvalue"), get.value);

    // A SET carrying a stale cas is refused.
    c.send_binary(bin::request(bin::kSet, "bk", "other", bin::set_extras(0, 0), 7, set.cas + 1));
    BinaryPacket stale = c.read_binary();
    CPPUNIT_ASSERT_EQUAL(int(bin::kKeyExists), int(stale.status()));
    CPPUNIT_ASSERT_EQUAL(uint32_t(7), stale.opaque);

    c.send_binary(bin::request(bin::kGet, "nope", {}, {}, 9));
    BinaryPacket miss = c.read_binary();
    CPPUNIT_ASSERT_EQUAL(int(bin::kKeyNotFound), int(miss.status()));
    CPPUNIT_ASSERT_EQUAL(uint32_t(9), miss.opaque);

    // The same item is visible through the ascii protocol.
    TestClient ascii(mc.port());
    auto items = ascii.retrieve("get bk");
    CPPUNIT_ASSERT_EQUAL(size_t(1), items.size());
    CPPUNIT_ASSERT_EQUAL(std::string("bvalue"), items[0].value);
    CPPUNIT_ASSERT_EQUAL(uint32_t(0xdeadbeef), items[0].flags);
  }

  void restart_keeps_port_and_loses_data() {
    Memcached mc;
    TestClient c(mc.port());
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k", "before"));
    const int port = mc.port();
    const pid_t old_pid = mc.pid();
    mc.restart();
    CPPUNIT_ASSERT_EQUAL(port, mc.port());
    CPPUNIT_ASSERT(mc.pid() != old_pid);
    assert_gone(old_pid);
    // The old connection died with the old process...
    CPPUNIT_ASSERT(c.expect_closed(5s));
    // ...and a new one reaches a fresh server on the same port.
    c.reconnect();
    CPPUNIT_ASSERT(!c.get("k").has_value());
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k", "after"));
    CPPUNIT_ASSERT_EQUAL(std::string("after"), c.get("k").value_or("<miss>"));
  }

  void restart_after_crash() {
    Memcached mc;
    TestClient c(mc.port());
    const int port = mc.port();
    const pid_t old_pid = mc.pid();
    mc.kill(SIGKILL);
    CPPUNIT_ASSERT(c.expect_closed(5s));
    auto status = mc.process().wait_exit(5s);
    CPPUNIT_ASSERT(status && WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);
    CPPUNIT_ASSERT(!mc.running());
    CPPUNIT_ASSERT_THROW(c.reconnect(), std::runtime_error);  // nothing listens now
    mc.restart();
    CPPUNIT_ASSERT_EQUAL(port, mc.port());
    assert_gone(old_pid);
    c.reconnect();
    CPPUNIT_ASSERT(c.request("version").rfind("VERSION ", 0) == 0);
  }

  void restart_reports_a_taken_port_then_recovers() {
    Memcached mc;
    const int port = mc.port();
    mc.stop();
    PortSquatter squatter(port);
    try {
      mc.restart(300ms);
      CPPUNIT_FAIL("restart should fail while the port is taken");
    } catch (const std::runtime_error& e) {
      MOXI_ASSERT_CONTAINS(std::string(e.what()), "Address already in use");
      MOXI_ASSERT_CONTAINS(std::string(e.what()), "on port " + std::to_string(port));
    }
    CPPUNIT_ASSERT(!mc.running());
    squatter.release();
    mc.restart();
    CPPUNIT_ASSERT_EQUAL(port, mc.port());
    TestClient c(mc.port());
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k", "v"));
  }

  void pause_makes_requests_time_out_until_resume() {
    Memcached mc;
    TestClient c(mc.port(), 200ms);
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k", "v"));
    mc.pause();
    CPPUNIT_ASSERT(mc.running());
    try {
      c.request("get k");
      CPPUNIT_FAIL("a paused server should not answer");
    } catch (const TimeoutError& e) {
      MOXI_ASSERT_CONTAINS(std::string(e.what()), "timed out after 200 ms waiting for a reply line");
      MOXI_ASSERT_CONTAINS(std::string(e.what()), "127.0.0.1:" + std::to_string(mc.port()));
    }
    mc.resume();
    c.set_timeout(5s);
    // The request sent while paused is answered now.
    CPPUNIT_ASSERT_EQUAL(std::string("VALUE k 0 1"), c.read_line());
    CPPUNIT_ASSERT_EQUAL(std::string("v"), c.read_line());
    CPPUNIT_ASSERT_EQUAL(std::string("END"), c.read_line());
    CPPUNIT_ASSERT_EQUAL(std::string("v"), c.get("k").value_or("<miss>"));
  }

  void peer_close_is_reported() {
    Memcached mc;
    TestClient c(mc.port());
    c.send("quit\r\n");
    CPPUNIT_ASSERT(c.expect_closed(5s));
    TestClient d(mc.port());
    d.send("quit\r\n");
    CPPUNIT_ASSERT_THROW(d.read_line(), PeerClosed);
    // A live connection is not reported as closed.
    TestClient e(mc.port());
    CPPUNIT_ASSERT(!e.expect_closed(50ms));
  }

  void destructor_leaves_no_child_or_dir() {
    pid_t pid;
    std::string dir;
    {
      Memcached mc;
      pid = mc.pid();
      dir = mc.dir();
      CPPUNIT_ASSERT(std::filesystem::is_directory(dir));
      MOXI_ASSERT_CONTAINS(dir, "/moxi-memcached.");
    }
    assert_gone(pid);
    CPPUNIT_ASSERT(!std::filesystem::exists(dir));
  }

  void destructor_cleans_up_paused_server_when_a_test_throws() {
    pid_t pid = -1;
    std::string dir;
    try {
      Memcached mc;
      pid = mc.pid();
      dir = mc.dir();
      mc.pause();
      throw std::runtime_error("simulated assertion failure");
    } catch (const std::runtime_error&) {
    }
    assert_gone(pid);
    CPPUNIT_ASSERT(!std::filesystem::exists(dir));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MemcachedTest);

}  // namespace moxi::test
