// SASL to the backends, against a real memcached -S whose users are in a
// sasldb made by saslpasswd2: moxi logs in on every new backend connection
// with -Z usr/pwd (or MOXI_SASL_PLAIN_USR/PWD), using the strongest
// mechanism the server offers; a refused login fails the requests at once
// with a SERVER_ERROR naming the server, is counted, and is logged with the
// reason but never the password; a restarted server is logged in again.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "t/proxy/cluster.h"
#include "t/support/sasl_memcached.h"
#include "t/support/temp_dir.h"

namespace moxi::test {
namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::unique_ptr<Moxi> moxi_for(Memcached& mc, const std::string& behaviors, MoxiOptions options = {}) {
  return std::make_unique<Moxi>(std::vector<std::string>{"-l", "127.0.0.1", "-t", "2", "-vv", "-Z",
                                                         "downstream_protocol=binary," + behaviors, "-z",
                                                         "0=" + mc.address()},
                                std::move(options));
}

class BackendSaslTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(BackendSaslTest);
  CPPUNIT_TEST(testPlainLogin);
  CPPUNIT_TEST(testStrongestMechanismIsUsed);
  CPPUNIT_TEST(testCredentialsFromTheEnvironment);
  CPPUNIT_TEST(testWrongPasswordFailsFastAndSaysWhy);
  CPPUNIT_TEST(testServerWithoutSasl);
  CPPUNIT_TEST(testRestartedServerIsLoggedInAgain);
  CPPUNIT_TEST(testSighupReadsNewCredentials);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testPlainLogin() {
    SaslMemcached mc({{"alice", "s3cret"}}, "plain");
    auto moxi = moxi_for(mc.server(), "usr=alice,pwd=s3cret");
    TestClient c(moxi->port());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi->log(), std::string("STORED"), c.set("k", "v"));
    CPPUNIT_ASSERT_EQUAL(std::string("v"), c.get("k").value_or("<miss>"));
    // Binary clients too, on the same authenticated backend connections.
    TestClient b(moxi->port());
    b.send_binary(bin::request(bin::kGet, "k", "", "", 3));
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, b.read_binary().status());
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(stats_proxy(c), "backend_auth_failures_total"));
    CPPUNIT_ASSERT(contains(moxi->log(), "authenticated as alice (PLAIN)"));
    // What the memcached itself saw: an authenticated client that stored k.
    TestClient direct(mc.server().port());
    direct.send_binary(bin::request(bin::kGet, "k", "", "", 1));
    CPPUNIT_ASSERT_EQUAL(uint16_t{0x20}, direct.read_binary().status());  // it refuses the unauthenticated
  }

  void testStrongestMechanismIsUsed() {
    SaslMemcached mc({{"bob", "pa55,w%rd=|x"}}, "plain scram-sha-1 scram-sha-256");
    // A password with the characters the -Z syntax uses comes from the
    // environment unharmed.
    MoxiOptions options;
    options.env = {{"MOXI_SASL_PLAIN_PWD", "pa55,w%rd=|x"}};
    auto moxi = moxi_for(mc.server(), "usr=bob", options);
    TestClient c(moxi->port());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi->log(), std::string("STORED"), c.set("k", "v"));
    CPPUNIT_ASSERT(contains(moxi->log(), "authenticated as bob (SCRAM-SHA-256)"));
    CPPUNIT_ASSERT(!contains(moxi->log(), "pa55"));
  }

  void testCredentialsFromTheEnvironment() {
    SaslMemcached mc({{"carol", "env-pw"}}, "plain");
    MoxiOptions options;
    options.env = {{"MOXI_SASL_PLAIN_USR", "carol"}, {"MOXI_SASL_PLAIN_PWD", "env-pw"}};
    auto moxi = moxi_for(mc.server(), "downstream_max=16", options);
    TestClient c(moxi->port());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi->log(), std::string("STORED"), c.set("k", "v"));
    // The password shows masked, the user as given.
    const Stats behaviors = stats_proxy(c, "behaviors");
    CPPUNIT_ASSERT_EQUAL(std::string("carol"), behaviors.at("behavior:usr"));
    CPPUNIT_ASSERT_EQUAL(std::string("****"), behaviors.at("behavior:pwd"));
  }

  void testWrongPasswordFailsFastAndSaysWhy() {
    SaslMemcached mc({{"alice", "s3cret"}}, "plain scram-sha-256");
    auto moxi = moxi_for(mc.server(), "usr=alice,pwd=wrong-secret,downstream_timeout=60000");
    TestClient c(moxi->port());
    // Answered by the refusal, not by a 60 s timeout (the client's own
    // timeout is 2 s).
    CPPUNIT_ASSERT_EQUAL("SERVER_ERROR proxy downstream auth failure " + mc.server().address(), c.request("get k"));
    TestClient b(moxi->port());
    b.send_binary(bin::request(bin::kGet, "k", "", "", 9));
    const BinaryPacket r = b.read_binary();
    CPPUNIT_ASSERT(r.status() != bin::kSuccess && r.status() != bin::kKeyNotFound);
    CPPUNIT_ASSERT(stat(stats_proxy(c), "backend_auth_failures_total") >= 1);
    const std::string log = moxi->log();
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, "SASL authentication failed: user \"alice\" was refused (SCRAM-SHA-256"));
    CPPUNIT_ASSERT_MESSAGE(log, !contains(log, "wrong-secret"));
  }

  void testServerWithoutSasl() {
    Memcached plain;
    auto moxi = moxi_for(plain, "usr=alice,pwd=s3cret");
    TestClient c(moxi->port());
    CPPUNIT_ASSERT_EQUAL("SERVER_ERROR proxy downstream auth failure " + plain.address(), c.request("get k"));
    CPPUNIT_ASSERT_MESSAGE(moxi->log(), contains(moxi->log(), "the server does not offer SASL"));
  }

  // memcached restarted (SIGKILL, then a new process on the same port): the
  // next connection logs in again, with nothing configured anew.
  void testRestartedServerIsLoggedInAgain() {
    SaslMemcached mc({{"alice", "s3cret"}}, "plain");
    auto moxi = moxi_for(mc.server(), "usr=alice,pwd=s3cret");
    TestClient c(moxi->port());
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k", "v"));
    mc.server().restart();
    // The first request may meet the dead connection (answered with an
    // error, or resent); within a few the new login serves it.
    std::string reply;
    for (int i = 0; i < 5 && (reply = c.set("k2", "v2")) != "STORED"; ++i) {
    }
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi->log(), std::string("STORED"), reply);
    CPPUNIT_ASSERT_EQUAL(std::string("v2"), c.get("k2").value_or("<miss>"));
    CPPUNIT_ASSERT(!c.get("k"));  // the restart lost it: this is the new server
  }

  // Credentials in a -Z file: a SIGHUP reads them again and the next
  // connections log in with them, in a new generation (no restart).
  void testSighupReadsNewCredentials() {
    SaslMemcached mc({{"alice", "s3cret"}}, "plain");
    TempDir dir("moxi-sasl-reload");
    const std::string file = dir.file("behaviors");
    auto write = [&](const std::string& text) {  // renamed into place: moxi never reads half a file
      {
        std::ofstream out(file + ".tmp");
        out << text;
      }
      CPPUNIT_ASSERT(std::rename((file + ".tmp").c_str(), file.c_str()) == 0);
    };
    write("downstream_protocol=binary,usr=alice,pwd=wrong-secret\n");
    Moxi moxi({"-l", "127.0.0.1", "-t", "2", "-vv", "-Z", file, "-z", "0=" + mc.server().address()});
    TestClient c(moxi.port());
    CPPUNIT_ASSERT_EQUAL("SERVER_ERROR proxy downstream auth failure " + mc.server().address(), c.request("get k"));
    CPPUNIT_ASSERT_EQUAL(1L, generation(c));

    write("downstream_protocol=binary,usr=alice,pwd=s3cret\n");
    moxi.process().kill(SIGHUP);
    for (Deadline d(std::chrono::seconds(10)); generation(c) < 2;) CPPUNIT_ASSERT_MESSAGE(moxi.log(), !d.expired());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(moxi.log(), std::string("STORED"), c.set("k", "v"));
    CPPUNIT_ASSERT_EQUAL(std::string("v"), c.get("k").value_or("<miss>"));
    const std::string log = moxi.log();
    CPPUNIT_ASSERT_MESSAGE(log, contains(log, "SIGHUP: new credentials"));
    CPPUNIT_ASSERT_MESSAGE(log, !contains(log, "s3cret") && !contains(log, "wrong-secret"));

    // A broken file keeps what is in force, and says where.
    write("downstream_protocol=binary,usr=alice,pwd=s3cret,no_such_key=1\n");
    moxi.process().kill(SIGHUP);
    for (Deadline d(std::chrono::seconds(10)); !contains(moxi.log(), "reload failed");)
      CPPUNIT_ASSERT_MESSAGE(moxi.log(), !d.expired());
    CPPUNIT_ASSERT_EQUAL(2L, generation(c));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k2", "v2"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BackendSaslTest);

}  // namespace
}  // namespace moxi::test
