// Descriptors and ports: -c is backed by RLIMIT_NOFILE (raised at start, or
// a refusal to start that names the fix), running out of descriptors pauses
// accepting instead of spinning, a port is ours alone unless reuse_port=1
// says otherwise, and client and backend sockets keep TCP keepalive on
// (clients also TCP_NODELAY).
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "t/proxy/cluster.h"
#include "t/support/temp_dir.h"

namespace moxi::test {
namespace {

bool contains(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

// prlimit(1) then moxi: the limit is set before moxi runs (prlimit execs
// it, so the pid is moxi's). As root, CAP_SYS_RESOURCE is dropped first
// (setpriv), or moxi would simply raise the hard limit too.
MoxiOptions limited(const std::string& nofile, std::vector<std::string>& args) {
  std::vector<std::string> prefix = {"--nofile=" + nofile, "--"};
  if (::geteuid() == 0)
    prefix.insert(prefix.end(), {"setpriv", "--bounding-set=-sys_resource", "--inh-caps=-sys_resource"});
  prefix.push_back(Moxi::default_binary());
  args.insert(args.begin(), prefix.begin(), prefix.end());
  MoxiOptions o;
  o.binary = "prlimit";
  return o;
}

// moxi's CPU time so far, all threads, in clock ticks (utime + stime).
long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));  // after "pid (comm) "
  std::vector<std::string> f;
  for (std::string w; rest >> w;) f.push_back(w);
  return std::stol(f.at(11)) + std::stol(f.at(12));  // fields 14 and 15 of stat
}

int open_descriptors(pid_t pid) {
  int n = 0;
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (!d) return -1;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}

// "Max open files  SOFT  HARD  files" of /proc/PID/limits: the soft value.
long soft_nofile(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Max open files", 0) == 0) return std::stol(line.substr(26));
  return -1;
}

int count_lines(const std::string& text, const std::string& what) {
  int n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (contains(line, what)) ++n;
  return n;
}

int local_port(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

// The "tr" (timer) field of the established IPv4 socket from local port
// `local` to remote port `remote` in /proc/net/tcp: 2 is the keepalive
// timer, which only a socket with SO_KEEPALIVE has while idle. -1: none.
int tcp_timer(int local, int remote) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sl, loc, rem, st, queues, timer;
    f >> sl >> loc >> rem >> st >> queues >> timer;
    if (st != "01") continue;
    const int lp = std::stoi(loc.substr(loc.find(':') + 1), nullptr, 16);
    const int rp = std::stoi(rem.substr(rem.find(':') + 1), nullptr, 16);
    if (lp == local && rp == remote) return std::stoi(timer.substr(0, timer.find(':')), nullptr, 16);
  }
  return -1;
}

// An integer socket option of process `pid`'s TCP socket from local port
// `local` to remote port `remote`, read from a copy of its descriptor
// (pidfd_getfd); -1 when no such socket is found.
int peer_socket_option(pid_t pid, int local, int remote, int level, int option) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return -1;
  int value = -1;
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  while (dirent* e = d ? ::readdir(d) : nullptr) {
    if (e->d_name[0] == '.') continue;
    const int fd = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, std::atoi(e->d_name), 0));
    if (fd < 0) continue;
    sockaddr_in mine{}, peer{};
    socklen_t ml = sizeof mine, pl = sizeof peer;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &ml) == 0 &&
        ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) == 0 && mine.sin_family == AF_INET &&
        ntohs(mine.sin_port) == local && ntohs(peer.sin_port) == remote) {
      int v = 0;
      socklen_t vl = sizeof v;
      if (::getsockopt(fd, level, option, &v, &vl) == 0) value = v;
    }
    ::close(fd);
  }
  if (d) ::closedir(d);
  ::close(pidfd);
  return value;
}

// Runs `argv` (a moxi expected to refuse to start) to its exit.
struct Exit {
  bool failed = false;  // exited with status 1
  std::string log;      // its stdout and stderr
};
Exit run_to_exit(const std::vector<std::string>& argv) {
  TempDir dir("moxi-refused");
  Process::Options popts;
  popts.out = popts.err = Process::Output::file(dir.file("log"));
  Process p(argv, popts);
  const auto status = p.wait_exit(Deadline(std::chrono::seconds(10)));
  std::ifstream in(dir.file("log"));
  Exit out;
  out.log.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  out.failed = status && WIFEXITED(*status) && WEXITSTATUS(*status) == 1;
  return out;
}

class ResourcesTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ResourcesTest);
  CPPUNIT_TEST(testExplicitCBeyondTheLimitFailsAtStart);
  CPPUNIT_TEST(testSoftLimitIsRaisedForC);
  CPPUNIT_TEST(testDefaultCFollowsALowLimitAndRefusesCleanly);
  CPPUNIT_TEST(testOutOfDescriptorsPausesAcceptingWithoutSpinning);
  CPPUNIT_TEST(testSecondMoxiCannotShareAPort);
  CPPUNIT_TEST(testReusePortSharesOnPurpose);
  CPPUNIT_TEST(testClientAndBackendSocketsKeepAlive);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testExplicitCBeyondTheLimitFailsAtStart() {
    Memcached mc;
    std::vector<std::string> args = {"-l", "127.0.0.1", "-t", "1", "-c", "1000", "-z", "0=" + mc.address()};
    MoxiOptions o = limited("64:64", args);
    args.insert(args.begin(), o.binary);
    const Exit exit = run_to_exit(args);
    const std::string& log = exit.log;
    CPPUNIT_ASSERT_MESSAGE(log, exit.failed);
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, " ERROR -c 1000 needs "));
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, "the file descriptor limit (RLIMIT_NOFILE) is 64 (hard 64)"));
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, "raise it (ulimit -n "));
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, "LimitNOFILE="));
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, "or lower -c"));
  }

  void testSoftLimitIsRaisedForC() {
    Memcached mc;
    std::vector<std::string> args = {"-v", "-l", "127.0.0.1", "-t", "2", "-c", "1000", "-z", "0=" + mc.address()};
    MoxiOptions o = limited("64:4096", args);
    Moxi moxi(args, o);
    const long soft = soft_nofile(moxi.pid());
    CPPUNIT_ASSERT_MESSAGE(std::to_string(soft), soft > 1000 && soft < 4096);
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), contains(moxi.log(), "INFO  raised the file descriptor limit from 64 to " +
                                                                std::to_string(soft) + " for -c 1000"));
    TestClient c(moxi.port());
    CPPUNIT_ASSERT_EQUAL(std::string("VERSION 2.0.0"), c.request("version"));
  }

  // The default -c 1024 under a limit of 64: moxi says so at start and
  // serves what the limit allows; the next client is refused with the
  // ERROR line and counted, and accept() never runs out of descriptors.
  void testDefaultCFollowsALowLimitAndRefusesCleanly() {
    Memcached mc;
    std::vector<std::string> args = {"-l", "127.0.0.1", "-t", "1", "-z", "0=" + mc.address()};
    MoxiOptions o = limited("64:64", args);
    Moxi moxi(args, o);
    const std::string log = moxi.log();
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, " WARN  -c cannot be met: the file descriptor limit (RLIMIT_NOFILE) is 64"));
    const std::string marker = "serving at most ";
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, marker));
    const int allowed = std::stoi(log.substr(log.find(marker) + marker.size()));
    CPPUNIT_ASSERT_MESSAGE(log, allowed > 10 && allowed < 64);
    std::vector<TestClient> clients;
    for (int i = 0; i < allowed; ++i) {
      clients.emplace_back(moxi.port());
      CPPUNIT_ASSERT_EQUAL_MESSAGE(std::to_string(i), std::string("VERSION 2.0.0"), clients.back().request("version"));
    }
    TestClient refused(moxi.port());
    CPPUNIT_ASSERT_EQUAL(std::string("ERROR Too many open connections"), refused.read_line());
    CPPUNIT_ASSERT(refused.expect_closed(Deadline(std::chrono::seconds(2))));
    Stats s = stats_proxy(clients.front());
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(s, "client_connections_rejected_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(s, "client_accept_paused_total"));
    CPPUNIT_ASSERT_MESSAGE(moxi.log(), !contains(moxi.log(), "Too many open files"));
  }

  // Something other than clients took moxi's descriptors (here admin
  // connections, which -c does not count): accepts fail with EMFILE. moxi
  // must stop watching its listeners (a readable listener whose accept
  // fails at once is a busy loop: the old moxi burnt a core and logged
  // "[warn] Error from accept() call" millions of times), log once, count
  // it, and take the waiting clients as soon as descriptors are back.
  // The descriptors run out for real, under the limit moxi started with,
  // not by lowering the limit under it: io_uring's accept keeps the limit
  // it was armed with, so only this is the same test on both engines.
  void testOutOfDescriptorsPausesAcceptingWithoutSpinning() {
    Memcached mc;
    std::vector<std::string> args = {"-l", "127.0.0.1", "-t", "2", "-c", "100", "-Z", "admin_port=0",
                                     "-z", "0=" + mc.address()};
    MoxiOptions o = limited("256:256", args);
    Moxi moxi(args, o);
    TestClient a(moxi.port());
    CPPUNIT_ASSERT_EQUAL(std::string("VERSION 2.0.0"), a.request("version"));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), a.set("k", "v"));  // the backend connections exist
    // Every path this test drives once before descriptors run out: in the
    // sanitizer builds UBSan checks a type the first time it sees it, and
    // that check needs a descriptor (a pipe), so a first check while moxi is
    // out of them reports a false "invalid vptr".
    stats_proxy(a);
    {  // and a client connection's close (its destructor)
      TestClient closed(moxi.port());
      CPPUNIT_ASSERT_EQUAL(std::string("VERSION 2.0.0"), closed.request("version"));
    }
    for (Deadline d(std::chrono::seconds(5)); stat(stats_proxy(a), "client_connections_current") > 1;)
      CPPUNIT_ASSERT(!d.expired());
    // Admin connections until moxi has no descriptor left, and one more,
    // which its admin listener cannot take.
    const long limit = soft_nofile(moxi.pid());
    CPPUNIT_ASSERT_EQUAL(256L, limit);
    std::vector<TestClient> hogs;
    for (Deadline d(std::chrono::seconds(10)); !contains(moxi.log(), "admin port: cannot accept a connection");) {
      CPPUNIT_ASSERT_MESSAGE(moxi.log(), !d.expired());
      for (long i = open_descriptors(moxi.pid()); i <= limit; ++i) hogs.emplace_back(moxi.admin_port());
      // Until moxi took them (its main thread accepts them), or could not.
      for (Deadline taken(std::chrono::seconds(1)); open_descriptors(moxi.pid()) < limit && !taken.expired();)
        ::poll(nullptr, 0, 5);
    }
    std::vector<TestClient> waiting;
    // Until an accept failed (a hole below the limit may still take one or two).
    Deadline paused(std::chrono::seconds(5));
    for (;;) {
      waiting.emplace_back(moxi.port());
      waiting.back().send("version\r\n");
      if (stat(stats_proxy(a), "client_accept_paused_total") > 0) break;
      CPPUNIT_ASSERT_MESSAGE(moxi.log(), !paused.expired());
    }
    // A fixed number of connect attempts, each given 25 ms to be answered
    // (none is: there is no descriptor for it). A moxi spinning on accept
    // uses a core per worker meanwhile (2 workers, ~1 s: ~200 ticks).
    const long before = cpu_ticks(moxi.pid());
    // The admin port's listener (evhttp, the main thread) must not spin either.
    TestClient admin(moxi.admin_port());
    admin.send("GET /healthz HTTP/1.0\r\n\r\n");
    for (int i = 0; i < 40; ++i) {
      waiting.emplace_back(moxi.port());
      waiting.back().send("version\r\n");
      pollfd p{waiting.back().fd(), POLLIN, 0};
      ::poll(&p, 1, 25);
    }
    const long used = cpu_ticks(moxi.pid()) - before;
    CPPUNIT_ASSERT_MESSAGE("moxi used " + std::to_string(used) + " ticks of CPU while out of descriptors", used < 30);
    const std::string log = moxi.log();
    CPPUNIT_ASSERT_MESSAGE(log, count_lines(log, "cannot accept a client connection: Too many open files") >= 1);
    CPPUNIT_ASSERT_MESSAGE(log, count_lines(log, "cannot accept a client connection") <= 2);  // rate-limited
    CPPUNIT_ASSERT_MESSAGE(log, count_lines(log, "admin port: cannot accept a connection: Too many open files") == 1);
    CPPUNIT_ASSERT_MESSAGE(log, !contains(log, "[warn]") && !contains(log, "[err]"));
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, "raise the limit (ulimit -n, LimitNOFILE=) or lower -c"));
    // A freed descriptor goes to a waiting client.
    a.close();
    std::vector<pollfd> fds;
    for (auto& c : waiting) fds.push_back({c.fd(), POLLIN, 0});
    fds.push_back({admin.fd(), POLLIN, 0});  // the main thread may be the one to take it
    int ready = 0;
    for (Deadline d(std::chrono::seconds(5)); ready == 0 && !d.expired();) ready = ::poll(fds.data(), fds.size(), 100);
    CPPUNIT_ASSERT_MESSAGE("no waiting client was served after a descriptor was freed", ready > 0);
    // With the descriptors back, every waiting client is served (the retry
    // timer resumes accepting; nothing else would).
    hogs.clear();
    for (auto& c : waiting) CPPUNIT_ASSERT_EQUAL(std::string("VERSION 2.0.0"), c.read_line());
    const std::string status = admin.read_line();
    CPPUNIT_ASSERT_MESSAGE(status, status.rfind("HTTP/1.", 0) == 0 && contains(status, " 200 OK"));
    TestClient after(moxi.port());
    CPPUNIT_ASSERT(stat(stats_proxy(after), "client_accept_paused_total") >= 2);  // both workers, or retries
  }

  void testSecondMoxiCannotShareAPort() {
    Memcached mc;
    Moxi first({"-l", "127.0.0.1", "-t", "2", "-z", "0=" + mc.address()});
    const std::string port = std::to_string(first.port());
    for (std::vector<std::string> extra : {std::vector<std::string>{}, std::vector<std::string>{"-Z", "reuse_port=1"}}) {
      std::vector<std::string> argv = {Moxi::default_binary(), "-l", "127.0.0.1", "-t", "2"};
      argv.insert(argv.end(), extra.begin(), extra.end());
      argv.insert(argv.end(), {"-z", port + "=" + mc.address()});
      const Exit second = run_to_exit(argv);
      const std::string& log = second.log;
      CPPUNIT_ASSERT_MESSAGE(log, second.failed);
      CPPUNIT_ASSERT_MESSAGE(log, contains(log, "cannot listen on 127.0.0.1:" + port + ": port " + port + " is in use"));
    }
    TestClient c(first.port());
    CPPUNIT_ASSERT_EQUAL(std::string("VERSION 2.0.0"), c.request("version"));
  }

  // Both with reuse_port=1: the second binds the same port (the upgrade
  // hand-over), and after the first drains away the second serves it.
  void testReusePortSharesOnPurpose() {
    Memcached mc;
    auto first = std::make_unique<Moxi>(
        std::vector<std::string>{"-l", "127.0.0.1", "-t", "2", "-Z", "reuse_port=1", "-z", "0=" + mc.address()});
    const int port = first->port();
    Moxi second({"-l", "127.0.0.1", "-t", "2", "-Z", "reuse_port=1", "-z", std::to_string(port) + "=" + mc.address()});
    CPPUNIT_ASSERT_EQUAL(port, second.port());
    CPPUNIT_ASSERT_EQUAL(0, first->stop());
    first.reset();
    TestClient c(port);
    CPPUNIT_ASSERT_EQUAL(std::string("VERSION 2.0.0"), c.request("version"));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k", "v"));
  }

  void testClientAndBackendSocketsKeepAlive() {
    Memcached mc;
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-z", "0=" + mc.address()});
    TestClient c(moxi.port());
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k", "v"));  // opens the backend connection
    const int client_port = local_port(c.fd());
    // moxi's end of the client connection, and (the control) the test's
    // own end, which has no keepalive: the field tells them apart.
    CPPUNIT_ASSERT_EQUAL(2, tcp_timer(moxi.port(), client_port));
    CPPUNIT_ASSERT_EQUAL(0, tcp_timer(client_port, moxi.port()));
    // and Nagle off on it (a reply is not held back for the next), as the
    // listening socket set them for every connection it accepts.
    CPPUNIT_ASSERT_EQUAL(1, peer_socket_option(moxi.pid(), moxi.port(), client_port, IPPROTO_TCP, TCP_NODELAY));
    CPPUNIT_ASSERT_EQUAL(1, peer_socket_option(moxi.pid(), moxi.port(), client_port, SOL_SOCKET, SO_KEEPALIVE));
    // moxi's end of its backend connection: the only socket connected to
    // memcached's port from elsewhere.
    std::ifstream in("/proc/net/tcp");
    std::string line;
    std::getline(in, line);
    int backend_local = -1;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, loc, rem, st;
      f >> sl >> loc >> rem >> st;
      if (st == "01" && std::stoi(rem.substr(rem.find(':') + 1), nullptr, 16) == mc.port())
        backend_local = std::stoi(loc.substr(loc.find(':') + 1), nullptr, 16);
    }
    CPPUNIT_ASSERT(backend_local > 0);
    CPPUNIT_ASSERT_EQUAL(2, tcp_timer(backend_local, mc.port()));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ResourcesTest);

}  // namespace
}  // namespace moxi::test
