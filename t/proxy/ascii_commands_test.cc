// Every ascii command through moxi, in each routing mode and backend
// protocol, checked against what the client sees and against the backends
// themselves (each stored key sits on the server the routing oracle names).
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "t/proxy/cluster.h"

namespace moxi::test {
namespace {

std::string key_n(int i) { return "key:" + std::to_string(i); }

class AsciiCommandsBase : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(AsciiCommandsBase);
  CPPUNIT_TEST(testSetGetLandsOnOwner);
  CPPUNIT_TEST(testAddReplace);
  CPPUNIT_TEST(testAppendPrepend);
  CPPUNIT_TEST(testGetsAndCas);
  CPPUNIT_TEST(testIncrDecr);
  CPPUNIT_TEST(testDelete);
  CPPUNIT_TEST(testTouchGatGats);
  CPPUNIT_TEST(testMultigetOrderDuplicatesAndMisses);
  CPPUNIT_TEST(testNoreplyIsSilentAndApplied);
  CPPUNIT_TEST(testFlushAllReachesEveryServer);
  CPPUNIT_TEST(testVersionAndVerbosityAreLocal);
  CPPUNIT_TEST(testStatsAreSummed);
  CPPUNIT_TEST(testPipelinedRepliesInOrder);
  CPPUNIT_TEST(testLargeValuePassesThrough);
  CPPUNIT_TEST(testQuitCloses);
  CPPUNIT_TEST_SUITE_END_ABSTRACT();

 public:
  virtual ClusterOptions options() const = 0;
  void setUp() override { cluster_ = std::make_unique<Cluster>(options()); }
  void tearDown() override { cluster_.reset(); }

  void testSetGetLandsOnOwner() {
    TestClient c = cluster_->client();
    for (int i = 0; i < 40; ++i) CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(key_n(i), "value" + std::to_string(i), 7));
    for (int i = 0; i < 40; ++i) {
      auto v = c.get(key_n(i));
      CPPUNIT_ASSERT_MESSAGE(key_n(i), v.has_value());
      CPPUNIT_ASSERT_EQUAL("value" + std::to_string(i), *v);
      int owner = cluster_->owner(key_n(i));
      for (int b = 0; b < cluster_->backend_count(); ++b) {
        TestClient d = cluster_->direct(b);
        auto direct = d.get(key_n(i));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(key_n(i) + " on backend " + std::to_string(b), b == owner, direct.has_value());
      }
    }
    auto items = c.retrieve("get " + key_n(3));
    CPPUNIT_ASSERT_EQUAL(size_t(1), items.size());
    CPPUNIT_ASSERT_EQUAL(7u, items[0].flags);
  }

  void testAddReplace() {
    TestClient c = cluster_->client();
    CPPUNIT_ASSERT_EQUAL(std::string("NOT_STORED"), c.request("replace r 0 0 1\r\nx"));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.request("add r 0 0 1\r\nx"));
    CPPUNIT_ASSERT_EQUAL(std::string("NOT_STORED"), c.request("add r 0 0 1\r\ny"));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.request("replace r 0 0 1\r\nz"));
    CPPUNIT_ASSERT_EQUAL(std::string("z"), c.get("r").value());
  }

  void testAppendPrepend() {
    TestClient c = cluster_->client();
    CPPUNIT_ASSERT_EQUAL(std::string("NOT_STORED"), c.request("append ap 0 0 1\r\nx"));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("ap", "mid"));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.request("append ap 0 0 4\r\n-end"));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.request("prepend ap 0 0 6\r\nstart-"));
    CPPUNIT_ASSERT_EQUAL(std::string("start-mid-end"), c.get("ap").value());
  }

  void testGetsAndCas() {
    TestClient c = cluster_->client();
    CPPUNIT_ASSERT_EQUAL(std::string("NOT_FOUND"), c.request("cas nokey 0 0 1 12345\r\nx"));
    c.set("ck", "one");
    auto items = c.retrieve("gets ck");
    CPPUNIT_ASSERT_EQUAL(size_t(1), items.size());
    CPPUNIT_ASSERT(items[0].cas.has_value());
    uint64_t cas = *items[0].cas;
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.request("cas ck 0 0 3 " + std::to_string(cas) + "\r\ntwo"));
    CPPUNIT_ASSERT_EQUAL(std::string("EXISTS"), c.request("cas ck 0 0 5 " + std::to_string(cas) + "\r\nthree"));
    CPPUNIT_ASSERT_EQUAL(std::string("two"), c.get("ck").value());
  }

  void testIncrDecr() {
    TestClient c = cluster_->client();
    CPPUNIT_ASSERT_EQUAL(std::string("NOT_FOUND"), c.request("incr counter 1"));
    c.set("counter", "10");
    CPPUNIT_ASSERT_EQUAL(std::string("15"), c.request("incr counter 5"));
    CPPUNIT_ASSERT_EQUAL(std::string("0"), c.request("decr counter 20"));
    CPPUNIT_ASSERT_EQUAL(std::string("18446744073709551615"), c.request("incr counter 18446744073709551615"));
    c.set("text", "abc");
    CPPUNIT_ASSERT_EQUAL(std::string("CLIENT_ERROR cannot increment or decrement non-numeric value"),
                         c.request("incr text 1"));
    CPPUNIT_ASSERT_EQUAL(std::string("CLIENT_ERROR invalid numeric delta argument"), c.request("incr counter -1"));
  }

  void testDelete() {
    TestClient c = cluster_->client();
    CPPUNIT_ASSERT_EQUAL(std::string("NOT_FOUND"), c.request("delete d"));
    c.set("d", "x");
    CPPUNIT_ASSERT_EQUAL(std::string("DELETED"), c.request("delete d"));
    CPPUNIT_ASSERT(!c.get("d").has_value());
    c.set("d", "x");
    CPPUNIT_ASSERT_EQUAL(std::string("DELETED"), c.request("delete d 0"));
  }

  void testTouchGatGats() {
    TestClient c = cluster_->client();
    CPPUNIT_ASSERT_EQUAL(std::string("NOT_FOUND"), c.request("touch t 100"));
    c.set("t", "tv", 3);
    CPPUNIT_ASSERT_EQUAL(std::string("TOUCHED"), c.request("touch t 100"));
    auto items = c.retrieve("gat 200 t missing");
    CPPUNIT_ASSERT_EQUAL(size_t(1), items.size());
    CPPUNIT_ASSERT_EQUAL(std::string("tv"), items[0].value);
    CPPUNIT_ASSERT_EQUAL(3u, items[0].flags);
    CPPUNIT_ASSERT(!items[0].cas.has_value());
    items = c.retrieve("gats 200 t");
    CPPUNIT_ASSERT_EQUAL(size_t(1), items.size());
    CPPUNIT_ASSERT(items[0].cas.has_value());
    // A negative exptime expires the item at once, as in memcached.
    CPPUNIT_ASSERT_EQUAL(std::string("TOUCHED"), c.request("touch t -1"));
    CPPUNIT_ASSERT(!c.get("t").has_value());
  }

  void testMultigetOrderDuplicatesAndMisses() {
    TestClient c = cluster_->client();
    std::vector<std::string> keys;
    std::string line = "get";
    for (int i = 0; i < 60; ++i) {
      if (i % 3 != 0) c.set(key_n(i), "v" + std::to_string(i));
      keys.push_back(key_n(i));
    }
    // Client order, a duplicate of a hit and of a miss, keys on every server.
    keys.push_back(key_n(1));
    keys.push_back(key_n(0));
    keys.push_back(key_n(2));
    for (const auto& k : keys) line += " " + k;
    auto items = c.retrieve(line);
    std::vector<std::string> expect;
    for (const auto& k : keys) {
      int i = std::stoi(k.substr(4));
      if (i % 3 != 0) expect.push_back(k);
    }
    CPPUNIT_ASSERT_EQUAL(expect.size(), items.size());
    for (size_t i = 0; i < expect.size(); ++i) {
      CPPUNIT_ASSERT_EQUAL(expect[i], items[i].key);
      CPPUNIT_ASSERT_EQUAL("v" + expect[i].substr(4), items[i].value);
    }
  }

  void testNoreplyIsSilentAndApplied() {
    TestClient c = cluster_->client();
    c.send("set nr 0 0 1 noreply\r\na\r\nappend nr 0 0 1 noreply\r\nb\r\nadd nr 0 0 1 noreply\r\nz\r\n");
    c.send("set num 0 0 1 noreply\r\n5\r\nincr num 2 noreply\r\ndecr num 1 noreply\r\n");
    c.send("set gone 0 0 1 noreply\r\nx\r\ndelete gone noreply\r\ntouch nr 100 noreply\r\n");
    // The next reply must be the version: nothing above answered.
    CPPUNIT_ASSERT_EQUAL(size_t(0), c.request("version").rfind("VERSION ", 0));
    CPPUNIT_ASSERT_EQUAL(std::string("ab"), c.get("nr").value());
    CPPUNIT_ASSERT_EQUAL(std::string("6"), c.get("num").value());
    CPPUNIT_ASSERT(!c.get("gone").has_value());
  }

  void testFlushAllReachesEveryServer() {
    TestClient c = cluster_->client();
    for (int i = 0; i < 30; ++i) c.set(key_n(i), "x");
    CPPUNIT_ASSERT_EQUAL(std::string("OK"), c.request("flush_all"));
    for (int b = 0; b < cluster_->backend_count(); ++b) {
      TestClient d = cluster_->direct(b);
      for (int i = 0; i < 30; ++i) CPPUNIT_ASSERT(!d.get(key_n(i)).has_value());
    }
    c.send("flush_all noreply\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("OK"), c.request("flush_all 0"));
  }

  void testVersionAndVerbosityAreLocal() {
    TestClient c = cluster_->client();
    CPPUNIT_ASSERT_EQUAL(std::string("VERSION 2.0.0"), c.request("version"));
    CPPUNIT_ASSERT_EQUAL(std::string("OK"), c.request("verbosity 1"));
    c.send("verbosity 0 noreply\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("VERSION 2.0.0"), c.request("version"));
  }

  void testStatsAreSummed() {
    TestClient c = cluster_->client();
    for (int i = 0; i < 25; ++i) c.set(key_n(i), "x");
    auto stat = [](TestClient& t, const std::string& name) {
      t.send("stats\r\n");
      std::string value;
      for (;;) {
        std::string line = t.read_line();
        if (line == "END") break;
        if (line.rfind("STAT " + name + " ", 0) == 0) value = line.substr(6 + name.size());
      }
      return value;
    };
    long sum = 0;
    std::vector<std::string> pids;
    for (int b = 0; b < cluster_->backend_count(); ++b) {
      TestClient d = cluster_->direct(b);
      sum += std::stol(stat(d, "curr_items"));
      pids.push_back(stat(d, "pid"));
    }
    CPPUNIT_ASSERT_EQUAL(25L, sum);
    CPPUNIT_ASSERT_EQUAL(std::string("25"), stat(c, "curr_items"));
    // Identity fields are not summed: backends with different pids read
    // "mixed", one backend's pid reads as itself.
    std::string pid = stat(c, "pid");
    const bool all_same = std::count(pids.begin(), pids.end(), pids.front()) == static_cast<long>(pids.size());
    CPPUNIT_ASSERT_EQUAL(all_same ? pids.front() : std::string("mixed"), pid);
  }

  void testPipelinedRepliesInOrder() {
    TestClient c = cluster_->client();
    std::string batch;
    for (int i = 0; i < 200; ++i) {
      std::string v = std::to_string(i);
      batch += "set " + key_n(i) + " 0 0 " + std::to_string(v.size()) + "\r\n" + v + "\r\n";
      batch += "get " + key_n(i) + "\r\n";
      batch += "incr " + key_n(i) + " 1\r\n";
    }
    c.send(batch);
    for (int i = 0; i < 200; ++i) {
      std::string v = std::to_string(i);
      CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.read_line());
      CPPUNIT_ASSERT_EQUAL("VALUE " + key_n(i) + " 0 " + std::to_string(v.size()), c.read_line());
      CPPUNIT_ASSERT_EQUAL(v, c.read_line());
      CPPUNIT_ASSERT_EQUAL(std::string("END"), c.read_line());
      CPPUNIT_ASSERT_EQUAL(std::to_string(i + 1), c.read_line());
    }
  }

  void testLargeValuePassesThrough() {
    TestClient c = cluster_->client();
    std::string big(1000 * 1024, 'v');
    for (size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("big", big));
    CPPUNIT_ASSERT(big == c.get("big").value());
  }

  void testQuitCloses() {
    TestClient c = cluster_->client();
    c.send("quit\r\n");
    CPPUNIT_ASSERT(c.expect_closed(Deadline(std::chrono::seconds(2))));
  }

 protected:
  std::unique_ptr<Cluster> cluster_;
};

class AsciiKetamaAsciiTest : public AsciiCommandsBase {
  CPPUNIT_TEST_SUB_SUITE(AsciiKetamaAsciiTest, AsciiCommandsBase);
  CPPUNIT_TEST_SUITE_END();

 public:
  ClusterOptions options() const override {
    ClusterOptions o;
    o.downstream_protocol = "ascii";  // not the default: asked for
    return o;
  }
};

class AsciiKetamaBinaryTest : public AsciiCommandsBase {
  CPPUNIT_TEST_SUB_SUITE(AsciiKetamaBinaryTest, AsciiCommandsBase);
  CPPUNIT_TEST_SUITE_END();

 public:
  ClusterOptions options() const override {
    ClusterOptions o;
    o.downstream_protocol = "binary";
    return o;
  }
};

class AsciiKetamaMetaTest : public AsciiCommandsBase {
  CPPUNIT_TEST_SUB_SUITE(AsciiKetamaMetaTest, AsciiCommandsBase);
  CPPUNIT_TEST_SUITE_END();

 public:
  ClusterOptions options() const override {
    ClusterOptions o;
    o.downstream_protocol = "meta";
    return o;
  }
};

class AsciiVBucketTest : public AsciiCommandsBase {
  CPPUNIT_TEST_SUB_SUITE(AsciiVBucketTest, AsciiCommandsBase);
  CPPUNIT_TEST_SUITE_END();

 public:
  ClusterOptions options() const override {
    ClusterOptions o;
    o.routing = Routing::VBucket;
    o.backends = 3;
    return o;
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AsciiKetamaAsciiTest);
CPPUNIT_TEST_SUITE_REGISTRATION(AsciiKetamaBinaryTest);
CPPUNIT_TEST_SUITE_REGISTRATION(AsciiKetamaMetaTest);
CPPUNIT_TEST_SUITE_REGISTRATION(AsciiVBucketTest);

}  // namespace
}  // namespace moxi::test
