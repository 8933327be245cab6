// The original moxi's topologies (simple, chain, fanout, fanout-in) and
// libmemcached's memccapable conformance suite run against moxi.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "t/proxy/cluster.h"
#include "t/support/process.h"
#include "t/support/port_file.h"
#include "t/support/temp_dir.h"

namespace moxi::test {
namespace {

std::unique_ptr<Moxi> moxi_over(const std::vector<int>& ports, const std::vector<std::string>& behaviors = {}) {
  std::string z = "0=";
  for (size_t i = 0; i < ports.size(); ++i) z += (i ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(ports[i]);
  std::vector<std::string> args = {"-l", "127.0.0.1", "-t", "2", "-z", z};
  for (const auto& b : behaviors) args.insert(args.end(), {"-Z", b});
  return std::make_unique<Moxi>(args);
}

// memccapable exits 0 only when every test it ran passed.
void run_memccapable(int port, const char* mode) {
  Process::Options po;
  po.out = Process::Output::pipe();
  po.err = Process::Output::null();
  Process p({"memccapable", "-h", "127.0.0.1", "-p", std::to_string(port), "-t", "5", mode}, po);
  std::string out = read_all_from(p.stdout_fd(), Deadline(std::chrono::seconds(60)));
  auto status = p.wait_exit(Deadline(std::chrono::seconds(5)));
  CPPUNIT_ASSERT_MESSAGE(std::string("memccapable ") + mode + " failed:\n" + out,
                         status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

class TopologyTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(TopologyTest);
  CPPUNIT_TEST(testChainOfThreeMoxis);
  CPPUNIT_TEST(testFanoutSpreadsKeys);
  CPPUNIT_TEST(testFanoutInConverges);
  CPPUNIT_TEST(testMemccapableAsciiKetama);
  CPPUNIT_TEST(testMemccapableBinaryKetamaBinary);
  CPPUNIT_TEST(testMemccapableVBucket);
  CPPUNIT_TEST(testStaticConfigFile);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testChainOfThreeMoxis() {
    Memcached mc;
    auto a = moxi_over({mc.port()});
    auto b = moxi_over({a->port()});
    auto c = moxi_over({b->port()}, {"downstream_protocol=binary"});
    TestClient client(c->port());
    for (int i = 0; i < 20; ++i) CPPUNIT_ASSERT_EQUAL(std::string("STORED"), client.set("chain" + std::to_string(i), "v" + std::to_string(i)));
    auto got = client.get_multi({"chain3", "chain7", "nochain"});
    CPPUNIT_ASSERT_EQUAL(size_t(2), got.size());
    CPPUNIT_ASSERT_EQUAL(std::string("v7"), got[1].second);
    TestClient direct(mc.port());
    CPPUNIT_ASSERT_EQUAL(std::string("v3"), direct.get("chain3").value());
  }

  void testFanoutSpreadsKeys() {
    ClusterOptions o;
    o.backends = 3;
    Cluster cluster(o);
    TestClient c = cluster.client();
    std::vector<int> per_backend(3, 0);
    for (int i = 0; i < 90; ++i) {
      std::string k = "fan" + std::to_string(i);
      c.set(k, k);
      ++per_backend[static_cast<size_t>(cluster.owner(k))];
    }
    for (int b = 0; b < 3; ++b) {
      CPPUNIT_ASSERT(per_backend[static_cast<size_t>(b)] > 0);
      TestClient d = cluster.direct(b);
      d.send("stats\r\n");
      std::string items;
      for (std::string line; (line = d.read_line()) != "END";)
        if (line.rfind("STAT curr_items ", 0) == 0) items = line.substr(16);
      CPPUNIT_ASSERT_EQUAL(std::to_string(per_backend[static_cast<size_t>(b)]), items);
    }
  }

  void testFanoutInConverges() {
    Memcached mc;
    auto m1 = moxi_over({mc.port()});
    auto m2 = moxi_over({mc.port()});
    auto m3 = moxi_over({mc.port()});
    auto top = moxi_over({m1->port(), m2->port(), m3->port()});
    TestClient c(top->port());
    for (int i = 0; i < 30; ++i) c.set("in" + std::to_string(i), std::to_string(i));
    TestClient direct(mc.port());
    for (int i = 0; i < 30; ++i) CPPUNIT_ASSERT_EQUAL(std::to_string(i), direct.get("in" + std::to_string(i)).value());
    auto all = c.get_multi({"in0", "in10", "in29"});
    CPPUNIT_ASSERT_EQUAL(size_t(3), all.size());
  }

  void testMemccapableAsciiKetama() {
    Cluster cluster;
    run_memccapable(cluster.port(), "-a");
  }

  void testMemccapableBinaryKetamaBinary() {
    ClusterOptions o;
    o.downstream_protocol = "binary";
    Cluster cluster(o);
    run_memccapable(cluster.port(), "-b");
  }

  void testMemccapableVBucket() {
    ClusterOptions o;
    o.routing = Routing::VBucket;
    Cluster cluster(o);
    run_memccapable(cluster.port(), "-a");
    run_memccapable(cluster.port(), "-b");
  }

  void testStaticConfigFile() {
    Memcached m1, m2;
    TempDir dir;
    std::string path = dir.path() + "/vbucket.cfg";
    std::ofstream(path) << "0 = " << vbucket_map_json({m1.address(), m2.address()}, 16) << "\n";
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-z", path});
    TestClient c(moxi.port());
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("file-key", "ok"));
    CPPUNIT_ASSERT_EQUAL(std::string("ok"), c.get("file-key").value());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(TopologyTest);

}  // namespace
}  // namespace moxi::test

namespace moxi::test {
namespace {

// -d and -P: the parent returns at once, the daemon serves, writes its pid,
// and removes the pid file when SIGTERM stops it.
class DaemonTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DaemonTest);
  CPPUNIT_TEST(testDaemonWithPidFile);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testDaemonWithPidFile() {
    Memcached mc;
    TempDir dir;
    const std::string pidfile = dir.file("moxi.pid"), portfile = dir.file("ports");
    Process::Options po;
    po.env = {{"MOXI_PORT_FILENAME", portfile}};
    Process parent({Moxi::default_binary(), "-d", "-P", pidfile, "-l", "127.0.0.1", "-t", "1", "-z",
                    "0=" + mc.address()},
                   po);
    auto status = parent.wait_exit(Deadline(std::chrono::seconds(10)));
    CPPUNIT_ASSERT(status.has_value() && WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
    const int port = wait_for_port_file(portfile, Deadline(std::chrono::seconds(10)));
    std::ifstream in(pidfile);
    pid_t pid = 0;
    in >> pid;
    CPPUNIT_ASSERT(pid > 0);
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    CPPUNIT_ASSERT(pidfd >= 0);
    // The daemon is not our child: make sure a failed assertion still stops it.
    struct Reaper {
      pid_t pid;
      int pidfd;
      ~Reaper() {
        pollfd p{pidfd, POLLIN, 0};
        if (::poll(&p, 1, 0) == 0) ::kill(pid, SIGKILL);
        ::close(pidfd);
      }
    } reaper{pid, pidfd};
    {
      TestClient c(port);
      CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("daemon", "yes"));
    }
    ::kill(pid, SIGTERM);
    pollfd p{pidfd, POLLIN, 0};
    CPPUNIT_ASSERT_EQUAL(1, ::poll(&p, 1, 10000));
    CPPUNIT_ASSERT(!std::ifstream(pidfile).good());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DaemonTest);

}  // namespace
}  // namespace moxi::test
