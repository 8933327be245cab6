// TLS on both sides of moxi, against real peers: pymemcache with an
// ssl.SSLContext (t/clients/tls_client.py) and openssl s_client as TLS
// clients, Debian's memcached -Z as a TLS backend, and moxi in front of
// moxi. Certificates come from the openssl command (t/support/tls_files.h).
// The blocking client below speaks OpenSSL directly (none of moxi's code)
// where a test must hold a TLS connection open across a reload.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "t/proxy/cluster.h"
#include "t/support/client.h"
#include "t/support/oracle.h"
#include "t/support/servers.h"
#include "t/support/tls_files.h"

namespace moxi::test {
namespace {

using namespace std::chrono_literals;

const std::string kPython = "/usr/bin/python3";  // Debian's, with python3-pymemcache

ToolRun pymemcache(int port, const std::string& key, const std::string& value, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {kPython, MOXI_SRCDIR "/t/clients/tls_client.py", std::to_string(port), key, value};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run_tool(argv);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A memcached that speaks TLS only (-Z), presenting `pair`.
std::unique_ptr<Memcached> tls_memcached(const TlsFiles::Pair& pair) {
  return std::make_unique<Memcached>(
      std::vector<std::string>{"-Z", "-o", "ssl_chain_cert=" + pair.cert + ",ssl_key=" + pair.key});
}

std::string tls_front(const TlsFiles& files, const std::string& more = "") {
  return "tls_port=0,tls_cert=" + files.server().cert + ",tls_key=" + files.server().key + (more.empty() ? "" : "," + more);
}

// A blocking TLS client of OpenSSL's own: connect, verify with `ca`, one
// request line at a time.
class BlockingTlsClient {
 public:
  BlockingTlsClient(int port, const std::string& ca) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CPPUNIT_ASSERT(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), "127.0.0.1");
    CPPUNIT_ASSERT_EQUAL_MESSAGE("handshake", 1, SSL_connect(ssl_));
  }
  ~BlockingTlsClient() {
    SSL_free(ssl_);
    ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  // The server certificate's serial, lower-case hex.
  std::string serial() const {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
    char* hex = BN_bn2hex(bn);
    std::string out(hex);
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(cert);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.erase(0, std::min(out.find_first_not_of('0'), out.size() - 1));
    return out;
  }
  // Sends `request` and reads until the server closes: SSL_get_error's
  // code for how it closed (SSL_ERROR_ZERO_RETURN: with a close_notify
  // alert; SSL_ERROR_SSL: an unexpected EOF, without one).
  int close_after(const std::string& request) {
    if (!request.empty()) CPPUNIT_ASSERT(SSL_write(ssl_, request.data(), static_cast<int>(request.size())) > 0);
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl_, buf, sizeof buf)) > 0) {
    }
    return SSL_get_error(ssl_, n);
  }
  // Sends `request`, reads until the reply ends with `end`.
  std::string call(const std::string& request, const std::string& end) {
    CPPUNIT_ASSERT(SSL_write(ssl_, request.data(), static_cast<int>(request.size())) > 0);
    std::string reply;
    char buf[4096];
    while (reply.size() < end.size() || reply.compare(reply.size() - end.size(), end.size(), end) != 0) {
      const int n = SSL_read(ssl_, buf, sizeof buf);
      CPPUNIT_ASSERT_MESSAGE("reply so far: " + reply, n > 0);
      reply.append(buf, static_cast<size_t>(n));
    }
    return reply;
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
};

// A port the OS just gave and took back, for a -z section that a behavior
// must name by its port.
int port_from_the_os() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CPPUNIT_ASSERT(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  CPPUNIT_ASSERT(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

void copy_file(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

void wait_for_log(const Moxi& moxi, const std::string& line) {
  Deadline deadline(10s);
  while (!contains(moxi.log(), line)) CPPUNIT_ASSERT_MESSAGE("no \"" + line + "\" in\n" + moxi.log(), !deadline.expired());
}

}  // namespace

class TlsClientsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(TlsClientsTest);
  CPPUNIT_TEST(testTlsClientsAreServedAsPlainOnesAre);
  CPPUNIT_TEST(testMinimumVersion);
  CPPUNIT_TEST(testPlaintextAndStalledClientsAreClosedAndCounted);
  CPPUNIT_TEST(testClientCertificatesAreRequiredAndVerified);
  CPPUNIT_TEST(testSighupReloadsTheCertificateForNewHandshakesOnly);
  CPPUNIT_TEST(testClosingSendsCloseNotifyAsMemcachedDoes);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testTlsClientsAreServedAsPlainOnesAre() {
    TlsFiles files;
    Memcached mc;
    Moxi moxi({"-l", "127.0.0.1", "-t", "2", "-Z", tls_front(files), "-z", "0=" + mc.address()});
    CPPUNIT_ASSERT(moxi.tls_port() > 0);
    // pymemcache over TLS, three connections (the second and third may resume).
    const ToolRun py = pymemcache(moxi.tls_port(), "tls-key", "over-tls", {"--ca", files.ca(), "--connections", "3"});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(py.output + moxi.log(), 0, py.status);
    CPPUNIT_ASSERT_MESSAGE(py.output, contains(py.output, "ok TLSv1.3 " + TlsFiles::serial(files.server().cert)));
    // The same item through the plain port, and in memcached.
    TestClient plain(moxi.port());
    CPPUNIT_ASSERT_EQUAL(std::string("over-tls"), plain.get("tls-key").value_or("<miss>"));
    // openssl s_client verifies the chain and the name.
    const ToolRun s_client = run_tool({"openssl", "s_client", "-brief", "-connect", "127.0.0.1:" + std::to_string(moxi.tls_port()),
                                       "-CAfile", files.ca(), "-verify_return_error", "-verify_ip", "127.0.0.1"});
    CPPUNIT_ASSERT_MESSAGE(s_client.output, contains(s_client.output, "Verification: OK"));
    const Stats s = stats_proxy(plain);
    CPPUNIT_ASSERT_EQUAL(uint64_t{4}, stat(s, "tls_handshakes_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(s, "tls_handshake_failures_total") + stat(s, "tls_plaintext_total"));
    // The certificate is valid for two days: its expiry is shown.
    const auto now = static_cast<uint64_t>(std::time(nullptr));
    const uint64_t expiry = stat(s, "tls_certificate_expiry_seconds");
    CPPUNIT_ASSERT_MESSAGE(std::to_string(expiry), expiry > now + 86400 && expiry <= now + 2 * 86400 + 60);
  }

  // A TLS connection that moxi ends (quit, and a SIGTERM drain) ends with
  // a close_notify alert, as memcached -Z's do: a client then reads a
  // clean end of the stream, not a truncation (OpenSSL 3: "unexpected eof
  // while reading").
  void testClosingSendsCloseNotifyAsMemcachedDoes() {
    TlsFiles files;
    auto reference = tls_memcached(files.server());
    {
      BlockingTlsClient client(reference->port(), files.ca());
      CPPUNIT_ASSERT_EQUAL_MESSAGE("memcached -Z after quit", int{SSL_ERROR_ZERO_RETURN}, client.close_after("quit\r\n"));
    }
    Memcached mc;
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-Z", tls_front(files), "-z", "0=" + mc.address()});
    {
      BlockingTlsClient client(moxi.tls_port(), files.ca());
      CPPUNIT_ASSERT_EQUAL(std::string("STORED\r\n"), client.call("set k 0 0 1\r\nv\r\n", "\r\n"));
      CPPUNIT_ASSERT_EQUAL_MESSAGE("moxi after quit", int{SSL_ERROR_ZERO_RETURN}, client.close_after("quit\r\n"));
    }
    {
      // A drain ends an idle client's connection with close_notify and a
      // FIN, then waits for the client to close (this block's end).
      BlockingTlsClient draining(moxi.tls_port(), files.ca());
      CPPUNIT_ASSERT_EQUAL(std::string("VALUE k 0 1\r\nv\r\nEND\r\n"), draining.call("get k\r\n", "END\r\n"));
      moxi.process().kill(SIGTERM);
      CPPUNIT_ASSERT_EQUAL_MESSAGE("moxi draining", int{SSL_ERROR_ZERO_RETURN}, draining.close_after(""));
    }
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), 0, moxi.process().wait_exit(5s).value_or(-1));
  }

  void testMinimumVersion() {
    TlsFiles files;
    Memcached mc;
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-Z", tls_front(files, "tls_min_version=1.3"), "-z", "0=" + mc.address()});
    const ToolRun old = pymemcache(moxi.tls_port(), "k", "v", {"--ca", files.ca(), "--tls", "1.2"});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(old.output, 2, old.status);
    const ToolRun current = pymemcache(moxi.tls_port(), "k", "v", {"--ca", files.ca(), "--tls", "1.3"});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(current.output, 0, current.status);
    TestClient plain(moxi.port());
    const Stats s = stats_proxy(plain);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(s, "tls_handshake_failures_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(s, "tls_handshakes_total"));
  }

  // A plain-text client on the TLS port and one that never speaks are
  // closed and counted; a TLS client meanwhile is served as usual.
  void testPlaintextAndStalledClientsAreClosedAndCounted() {
    TlsFiles files;
    Memcached mc;
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-Z", tls_front(files, "tls_handshake_timeout=1500"), "-z", "0=" + mc.address()});
    TestClient plaintext(moxi.tls_port());
    plaintext.send("get a\r\n");
    CPPUNIT_ASSERT_MESSAGE("a plain-text client stays open", plaintext.expect_closed(Deadline(5s)));
    TestClient silent(moxi.tls_port());
    {
      // While its handshake is pending, the connection counts what OpenSSL
      // holds for it (48 KiB) against the buffer budget.
      TestClient plain(moxi.port());
      Deadline accepted(10s);
      while (stat(stats_proxy(plain), "tls_connections_current") != 1)
        CPPUNIT_ASSERT_MESSAGE("the silent client was not accepted", !accepted.expired());
      CPPUNIT_ASSERT(stat(stats_proxy(plain), "buffer_bytes") >= 48 * 1024);
    }
    const ToolRun py = pymemcache(moxi.tls_port(), "k", "served", {"--ca", files.ca()});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(py.output, 0, py.status);
    CPPUNIT_ASSERT_MESSAGE("a silent client stays open", silent.expect_closed(Deadline(10s)));
    TestClient plain(moxi.port());
    const Stats s = stats_proxy(plain);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(s, "tls_plaintext_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(s, "tls_handshake_timeouts_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(s, "tls_handshakes_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(s, "tls_connections_current"));
    CPPUNIT_ASSERT_EQUAL(std::string("served"), plain.get("k").value_or("<miss>"));
  }

  void testClientCertificatesAreRequiredAndVerified() {
    TlsFiles files;
    Memcached mc;
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-Z", tls_front(files, "tls_client_ca=" + files.ca()), "-z",
               "0=" + mc.address()});
    const ToolRun none = pymemcache(moxi.tls_port(), "k", "v", {"--ca", files.ca()});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(none.output, 2, none.status);
    const ToolRun stranger = pymemcache(moxi.tls_port(), "k", "v",
                                        {"--ca", files.ca(), "--cert", files.stranger().cert, "--key", files.stranger().key});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(stranger.output, 2, stranger.status);
    const ToolRun good = pymemcache(moxi.tls_port(), "k", "mtls",
                                    {"--ca", files.ca(), "--cert", files.client().cert, "--key", files.client().key});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(good.output + moxi.log(), 0, good.status);
    TestClient plain(moxi.port());
    const Stats s = stats_proxy(plain);
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, stat(s, "tls_certificate_failures_total"));
    CPPUNIT_ASSERT_EQUAL(std::string("mtls"), plain.get("k").value_or("<miss>"));
  }

  void testSighupReloadsTheCertificateForNewHandshakesOnly() {
    TlsFiles files;
    Memcached mc;
    const std::string cert = files.file("live.pem"), key = files.file("live.key");
    copy_file(files.server().cert, cert);
    copy_file(files.server().key, key);
    Moxi moxi({"-l", "127.0.0.1", "-t", "2", "-vv", "-Z", "tls_port=0,tls_cert=" + cert + ",tls_key=" + key, "-z",
               "0=" + mc.address()});
    BlockingTlsClient before(moxi.tls_port(), files.ca());
    CPPUNIT_ASSERT_EQUAL(TlsFiles::serial(files.server().cert), before.serial());
    CPPUNIT_ASSERT_EQUAL(std::string("STORED\r\n"), before.call("set kept 0 0 1\r\n1\r\n", "\r\n"));

    copy_file(files.other_server().cert, cert);
    copy_file(files.other_server().key, key);
    CPPUNIT_ASSERT_EQUAL(0, ::kill(moxi.pid(), SIGHUP));
    wait_for_log(moxi, "SIGHUP: TLS certificates reloaded");
    // Every worker has the new generation before a new handshake is tried.
    for (const char* worker : {"worker 0", "worker 1"}) wait_for_log(moxi, std::string(worker) + ": serving config generation 2");
    BlockingTlsClient after(moxi.tls_port(), files.ca());
    CPPUNIT_ASSERT_EQUAL(TlsFiles::serial(files.other_server().cert), after.serial());
    // The connection made before the reload goes on with its session.
    CPPUNIT_ASSERT_EQUAL(std::string("VALUE kept 0 1\r\n1\r\nEND\r\n"), before.call("get kept\r\n", "END\r\n"));

    // A broken certificate keeps the one in force.
    std::ofstream(cert) << "not a certificate\n";
    CPPUNIT_ASSERT_EQUAL(0, ::kill(moxi.pid(), SIGHUP));
    wait_for_log(moxi, "SIGHUP: TLS certificates not reloaded, the ones in force stay: -Z tls_cert/tls_key " + cert);
    BlockingTlsClient still(moxi.tls_port(), files.ca());
    CPPUNIT_ASSERT_EQUAL(TlsFiles::serial(files.other_server().cert), still.serial());
    TestClient plain(moxi.port());
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats_proxy(plain), "config_reload_failures_total"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(TlsClientsTest);

class TlsBackendsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(TlsBackendsTest);
  CPPUNIT_TEST(testMemcachedOverTls);
  CPPUNIT_TEST(testABadCertificateFailsThatServerAlone);
  CPPUNIT_TEST(testBigValuesAndDeepPipelinesOverTlsBothWays);
  CPPUNIT_TEST(testMoxiInFrontOfMoxiWithClientCertificates);
  CPPUNIT_TEST(testTlsForThePoolsOfSomePortsOnly);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testMemcachedOverTls() {
    TlsFiles files;
    auto mc = tls_memcached(files.server());
    Moxi moxi({"-l", "127.0.0.1", "-t", "2", "-Z", "downstream_tls=1,downstream_tls_ca=" + files.ca(), "-z",
               "0=" + mc->address()});
    TestClient c(moxi.port(), 5s);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), std::string("STORED"), c.set("over", "encrypted"));
    CPPUNIT_ASSERT_EQUAL(std::string("encrypted"), c.get("over").value_or("<miss>"));
    const Stats s = stats_proxy(c);
    CPPUNIT_ASSERT(stat(s, "backend_tls_handshakes_total") >= 1);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(s, "backend_tls_failures_total"));
  }

  // TLS on both sides of moxi, with what spans many records: a pipeline of
  // a hundred sets in one write, a value of many records and a multiget
  // answering all of it. Reads take whatever records arrived (read-ahead),
  // so a record split over reads, or several in one, must come out whole.
  void testBigValuesAndDeepPipelinesOverTlsBothWays() {
    TlsFiles files;
    auto mc = tls_memcached(files.server());
    Moxi moxi({"-l", "127.0.0.1", "-t", "2", "-Z",
               tls_front(files, "downstream_tls=1,downstream_tls_ca=" + files.ca()), "-z", "0=" + mc->address()});
    BlockingTlsClient c(moxi.tls_port(), files.ca());
    std::string sets, expected_get, get = "get";
    for (int i = 0; i <= 100; ++i) {
      const std::string key = "k" + std::to_string(i);
      // the last value spans about 37 TLS records of 16 KiB
      const size_t size = i == 100 ? 600000 : 2000;
      std::string value(size, static_cast<char>('a' + i % 26));
      for (size_t at = 0; at < size; at += 997) value[at] = static_cast<char>('0' + (at / 997) % 10);
      sets += "set " + key + " 0 0 " + std::to_string(size) + "\r\n" + value + "\r\n";
      expected_get += "VALUE " + key + " 0 " + std::to_string(size) + "\r\n" + value + "\r\n";
      get += " " + key;
    }
    std::string stored;
    for (int i = 0; i <= 100; ++i) stored += "STORED\r\n";
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), stored + "MN\r\n", c.call(sets + "mn\r\n", "MN\r\n"));
    const std::string reply = c.call(get + "\r\n", "END\r\n");
    CPPUNIT_ASSERT_EQUAL(expected_get.size() + 5, reply.size());
    CPPUNIT_ASSERT(reply == expected_get + "END\r\n");
  }

  // Four servers in one ketama pool: one good, one whose certificate names
  // another host, one expired, one that does not speak TLS. Only the good
  // one serves; each other one fails its own keys, with the reason logged.
  void testABadCertificateFailsThatServerAlone() {
    TlsFiles files;
    auto good = tls_memcached(files.server());
    auto wrong = tls_memcached(files.wrong_host());
    auto expired = tls_memcached(files.expired());
    Memcached plain;
    const std::vector<std::string> servers = {good->address(), wrong->address(), expired->address(), plain.address()};
    std::string list;
    for (const auto& s : servers) list += (list.empty() ? "" : ",") + s;
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-Z", "downstream_tls=1,downstream_tls_ca=" + files.ca(), "-z", "0=" + list});
    oracle::Ketama ring(servers);
    auto owner = [&ring](std::string_view k) { return ring.owner(k); };
    TestClient c(moxi.port(), 10s);
    const std::string on_good = oracle::first_key_on(owner, 0, "good-");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), std::string("STORED"), c.set(on_good, "1"));
    for (int server = 1; server < 4; ++server) {
      const std::string k = oracle::first_key_on(owner, server, "bad-");
      CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), "SERVER_ERROR proxy write to downstream " + servers[static_cast<size_t>(server)],
                                   c.set(k, "1"));
    }
    CPPUNIT_ASSERT_EQUAL(std::string("1"), c.get(on_good).value_or("<miss>"));
    const std::string log = moxi.log();
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, "certificate verify failed: IP address mismatch"));
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, "certificate verify failed: certificate has expired"));
    CPPUNIT_ASSERT(stat(stats_proxy(c), "backend_tls_failures_total") >= 3);
    CPPUNIT_ASSERT(moxi.running());
  }

  // moxi -> moxi over TLS, the front presenting a client certificate that
  // the back requires.
  void testMoxiInFrontOfMoxiWithClientCertificates() {
    TlsFiles files;
    Memcached mc;
    Moxi back({"-l", "127.0.0.1", "-t", "1", "-Z", tls_front(files, "tls_client_ca=" + files.ca()), "-z",
               "0=" + mc.address()});
    Moxi front({"-l", "127.0.0.1", "-t", "1", "-Z",
                "downstream_tls=1,downstream_tls_ca=" + files.ca() + ",downstream_tls_cert=" + files.client().cert +
                    ",downstream_tls_key=" + files.client().key,
                "-z", "0=127.0.0.1:" + std::to_string(back.tls_port())});
    TestClient c(front.port(), 5s);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(front.log() + back.log(), std::string("STORED"), c.set("chain", "two hops"));
    CPPUNIT_ASSERT_EQUAL(std::string("two hops"), c.get("chain").value_or("<miss>"));
    TestClient direct(mc.port());
    CPPUNIT_ASSERT_EQUAL(std::string("two hops"), direct.get("chain").value_or("<miss>"));
    TestClient back_plain(back.port());
    CPPUNIT_ASSERT(stat(stats_proxy(back_plain), "tls_handshakes_total") >= 1);
  }

  // downstream_tls=PORT: the pool served on PORT speaks TLS to its
  // memcached -Z, the pool of another port plain text to its memcached.
  void testTlsForThePoolsOfSomePortsOnly() {
    TlsFiles files;
    auto secure = tls_memcached(files.server());
    Memcached plain;
    const int tls_pool = port_from_the_os();
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-Z",
               "downstream_tls=" + std::to_string(tls_pool) + ",downstream_tls_ca=" + files.ca(), "-z",
               std::to_string(tls_pool) + "=" + secure->address() + ";0=" + plain.address()});
    CPPUNIT_ASSERT_EQUAL(size_t{2}, moxi.ports().size());
    TestClient to_secure(moxi.ports()[0], 5s), to_plain(moxi.ports()[1], 5s);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), std::string("STORED"), to_secure.set("k", "secure"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), std::string("STORED"), to_plain.set("k", "plain"));
    TestClient direct(plain.port());
    CPPUNIT_ASSERT_EQUAL(std::string("plain"), direct.get("k").value_or("<miss>"));
    CPPUNIT_ASSERT_EQUAL(std::string("secure"), to_secure.get("k").value_or("<miss>"));
    const Stats s = stats_proxy(to_plain);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(s, "backend_tls_handshakes_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(s, "backend_tls_failures_total"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(TlsBackendsTest);

}  // namespace moxi::test
