// Every binary command memcached 1.6 serves, through moxi, in each routing
// mode: statuses, opaque and CAS echoed, quiet variants silent on success,
// and the GETKQ...NOOP multiget idiom answered in order.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <arpa/inet.h>

#include <cstring>
#include <memory>
#include <string>

#include "t/proxy/cluster.h"

namespace moxi::test {
namespace {

std::string be32(uint32_t v) {
  v = htonl(v);
  return std::string(reinterpret_cast<const char*>(&v), 4);
}
std::string be64(uint64_t v) { return be32(static_cast<uint32_t>(v >> 32)) + be32(static_cast<uint32_t>(v)); }
uint64_t read_be64(const std::string& s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}
std::string arith_extras(uint64_t delta, uint64_t initial, uint32_t exptime) {
  return be64(delta) + be64(initial) + be32(exptime);
}

constexpr uint8_t kGat = 0x1d, kGatK = 0x23, kTouch = 0x1c, kQuitQ = 0x17, kFlushQ = 0x18, kDeleteQ = 0x14,
                  kAddQ = 0x12, kIncrQ = 0x15, kVerbosity = 0x1b, kGetKQ = 0x0d;

class BinaryCommandsBase : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(BinaryCommandsBase);
  CPPUNIT_TEST(testSetGetOpaqueCas);
  CPPUNIT_TEST(testAddReplaceDelete);
  CPPUNIT_TEST(testIncrDecrInitial);
  CPPUNIT_TEST(testAppendPrependTouchGat);
  CPPUNIT_TEST(testQuietMultiget);
  CPPUNIT_TEST(testQuietMutationsOnlyReportErrors);
  CPPUNIT_TEST(testFlushVersionStatNoopVerbosity);
  CPPUNIT_TEST(testQuitQCloses);
  CPPUNIT_TEST(testBinaryAndAsciiSeeSameData);
  CPPUNIT_TEST_SUITE_END_ABSTRACT();

 public:
  virtual ClusterOptions options() const = 0;
  // An ascii backend cannot report a store's CAS; everything else is the same.
  virtual bool ascii_backend() const { return false; }
  void setUp() override { cluster_ = std::make_unique<Cluster>(options()); }
  void tearDown() override { cluster_.reset(); }

  BinaryPacket call(TestClient& c, const BinaryPacket& p) {
    c.send_binary(p);
    BinaryPacket r = c.read_binary();
    CPPUNIT_ASSERT_EQUAL(int(bin::kResponse), int(r.magic));
    CPPUNIT_ASSERT_EQUAL(int(p.opcode), int(r.opcode));
    CPPUNIT_ASSERT_EQUAL(p.opaque, r.opaque);
    return r;
  }

  void testSetGetOpaqueCas() {
    TestClient c = cluster_->client();
    BinaryPacket r = call(c, bin::request(bin::kSet, "bk", "bval", bin::set_extras(0xdeadbeef, 0), 77));
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, r.status());
    if (!ascii_backend()) CPPUNIT_ASSERT(r.cas != 0);
    const uint64_t set_cas = r.cas;
    r = call(c, bin::request(bin::kGet, "bk", "", "", 78));
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, r.status());
    CPPUNIT_ASSERT_EQUAL(std::string("bval"), r.value);
    CPPUNIT_ASSERT_EQUAL(std::string(""), r.key);
    CPPUNIT_ASSERT_EQUAL(be32(0xdeadbeef), r.extras);
    CPPUNIT_ASSERT(r.cas != 0);
    if (!ascii_backend()) CPPUNIT_ASSERT_EQUAL(set_cas, r.cas);
    const uint64_t cas = r.cas;
    r = call(c, bin::request(bin::kGetK, "bk", "", "", 79));
    CPPUNIT_ASSERT_EQUAL(std::string("bk"), r.key);
    r = call(c, bin::request(bin::kGet, "missing", "", "", 80));
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, r.status());
    // CAS mismatch, then match.
    r = call(c, bin::request(bin::kSet, "bk", "x", bin::set_extras(0, 0), 81, cas + 1000));
    CPPUNIT_ASSERT_EQUAL(bin::kKeyExists, r.status());
    r = call(c, bin::request(bin::kSet, "bk", "y", bin::set_extras(0, 0), 82, cas));
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, r.status());
    // The key landed where the routing oracle says.
    int owner = cluster_->owner("bk");
    TestClient d = cluster_->direct(owner);
    CPPUNIT_ASSERT_EQUAL(std::string("y"), d.get("bk").value());
  }

  void testAddReplaceDelete() {
    TestClient c = cluster_->client();
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, call(c, bin::request(bin::kReplace, "ar", "v", bin::set_extras(0, 0), 1)).status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, call(c, bin::request(bin::kAdd, "ar", "v", bin::set_extras(0, 0), 2)).status());
    CPPUNIT_ASSERT_EQUAL(bin::kKeyExists, call(c, bin::request(bin::kAdd, "ar", "v", bin::set_extras(0, 0), 3)).status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, call(c, bin::request(bin::kReplace, "ar", "w", bin::set_extras(0, 0), 4)).status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, call(c, bin::request(bin::kDelete, "ar", "", "", 5)).status());
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, call(c, bin::request(bin::kDelete, "ar", "", "", 6)).status());
  }

  void testIncrDecrInitial() {
    TestClient c = cluster_->client();
    // Not created when expiration is 0xffffffff.
    BinaryPacket r = call(c, bin::request(bin::kIncrement, "ctr", "", arith_extras(1, 0, 0xffffffff), 1));
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, r.status());
    r = call(c, bin::request(bin::kIncrement, "ctr", "", arith_extras(1, 40, 0), 2));
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, r.status());
    CPPUNIT_ASSERT_EQUAL(uint64_t(40), read_be64(r.value));
    r = call(c, bin::request(bin::kIncrement, "ctr", "", arith_extras(2, 0, 0), 3));
    CPPUNIT_ASSERT_EQUAL(uint64_t(42), read_be64(r.value));
    r = call(c, bin::request(bin::kDecrement, "ctr", "", arith_extras(50, 0, 0), 4));
    CPPUNIT_ASSERT_EQUAL(uint64_t(0), read_be64(r.value));
    call(c, bin::request(bin::kSet, "txt", "abc", bin::set_extras(0, 0), 5));
    CPPUNIT_ASSERT_EQUAL(bin::kNonNumeric, call(c, bin::request(bin::kIncrement, "txt", "", arith_extras(1, 0, 0), 6)).status());
  }

  void testAppendPrependTouchGat() {
    TestClient c = cluster_->client();
    CPPUNIT_ASSERT_EQUAL(bin::kItemNotStored, call(c, bin::request(bin::kAppend, "ap", "x", "", 1)).status());
    call(c, bin::request(bin::kSet, "ap", "mid", bin::set_extras(5, 0), 2));
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, call(c, bin::request(bin::kAppend, "ap", "-e", "", 3)).status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, call(c, bin::request(bin::kPrepend, "ap", "s-", "", 4)).status());
    BinaryPacket r = call(c, bin::request(bin::kGet, "ap", "", "", 5));
    CPPUNIT_ASSERT_EQUAL(std::string("s-mid-e"), r.value);
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, call(c, bin::request(kTouch, "ap", "", be32(100), 6)).status());
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, call(c, bin::request(kTouch, "nope", "", be32(100), 7)).status());
    r = call(c, bin::request(kGat, "ap", "", be32(100), 8));
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, r.status());
    CPPUNIT_ASSERT_EQUAL(std::string("s-mid-e"), r.value);
    CPPUNIT_ASSERT_EQUAL(be32(5), r.extras);
    r = call(c, bin::request(kGatK, "ap", "", be32(100), 9));
    CPPUNIT_ASSERT_EQUAL(std::string("ap"), r.key);
  }

  void testQuietMultiget() {
    TestClient c = cluster_->client();
    for (int i = 0; i < 20; i += 2) call(c, bin::request(bin::kSet, "q" + std::to_string(i), "v" + std::to_string(i), bin::set_extras(0, 0), 0));
    std::string batch;
    for (int i = 0; i < 20; ++i) batch += encode_binary(bin::request(kGetKQ, "q" + std::to_string(i), "", "", 100 + i));
    batch += encode_binary(bin::request(bin::kNoop, "", "", "", 999));
    c.send(batch);
    for (int i = 0; i < 20; i += 2) {
      BinaryPacket r = c.read_binary();
      CPPUNIT_ASSERT_EQUAL(int(kGetKQ), int(r.opcode));
      CPPUNIT_ASSERT_EQUAL(uint32_t(100 + i), r.opaque);
      CPPUNIT_ASSERT_EQUAL("q" + std::to_string(i), r.key);
      CPPUNIT_ASSERT_EQUAL("v" + std::to_string(i), r.value);
    }
    BinaryPacket noop = c.read_binary();
    CPPUNIT_ASSERT_EQUAL(int(bin::kNoop), int(noop.opcode));
    CPPUNIT_ASSERT_EQUAL(uint32_t(999), noop.opaque);
  }

  void testQuietMutationsOnlyReportErrors() {
    TestClient c = cluster_->client();
    std::string batch = encode_binary(bin::request(bin::kSetQ, "sq", "1", bin::set_extras(0, 0), 1));
    batch += encode_binary(bin::request(kAddQ, "sq", "2", bin::set_extras(0, 0), 2));  // fails: exists
    batch += encode_binary(bin::request(kIncrQ, "sq", "", arith_extras(4, 0, 0), 3));
    batch += encode_binary(bin::request(kDeleteQ, "nothere", "", "", 4));             // fails: not found
    batch += encode_binary(bin::request(bin::kNoop, "", "", "", 5));
    c.send(batch);
    BinaryPacket r = c.read_binary();
    CPPUNIT_ASSERT_EQUAL(int(kAddQ), int(r.opcode));
    CPPUNIT_ASSERT_EQUAL(bin::kKeyExists, r.status());
    r = c.read_binary();
    CPPUNIT_ASSERT_EQUAL(int(kDeleteQ), int(r.opcode));
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, r.status());
    r = c.read_binary();
    CPPUNIT_ASSERT_EQUAL(int(bin::kNoop), int(r.opcode));
    CPPUNIT_ASSERT_EQUAL(std::string("5"), call(c, bin::request(bin::kGet, "sq", "", "", 6)).value);
  }

  void testFlushVersionStatNoopVerbosity() {
    TestClient c = cluster_->client();
    call(c, bin::request(bin::kSet, "f", "x", bin::set_extras(0, 0), 1));
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, call(c, bin::request(bin::kFlush, "", "", "", 2)).status());
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, call(c, bin::request(bin::kGet, "f", "", "", 3)).status());
    c.send_binary(bin::request(kFlushQ, "", "", "", 4));
    BinaryPacket v = call(c, bin::request(bin::kVersion, "", "", "", 5));
    CPPUNIT_ASSERT_EQUAL(std::string("2.0.0"), v.value);
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, call(c, bin::request(bin::kNoop, "", "", "", 6)).status());
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, call(c, bin::request(kVerbosity, "", "", be32(1), 7)).status());
    c.send_binary(bin::request(bin::kStat, "", "", "", 8));
    bool saw_pid = false;
    for (;;) {
      BinaryPacket s = c.read_binary();
      CPPUNIT_ASSERT_EQUAL(uint32_t(8), s.opaque);
      if (s.key.empty()) break;
      if (s.key == "pid") saw_pid = true;
    }
    CPPUNIT_ASSERT(saw_pid);
  }

  void testQuitQCloses() {
    TestClient c = cluster_->client();
    c.send_binary(bin::request(kQuitQ, "", "", "", 1));
    CPPUNIT_ASSERT(c.expect_closed(Deadline(std::chrono::seconds(2))));
  }

  void testBinaryAndAsciiSeeSameData() {
    TestClient b = cluster_->client();
    TestClient a = cluster_->client();
    call(b, bin::request(bin::kSet, "shared", "from-binary", bin::set_extras(9, 0), 1));
    auto items = a.retrieve("get shared");
    CPPUNIT_ASSERT_EQUAL(size_t(1), items.size());
    CPPUNIT_ASSERT_EQUAL(std::string("from-binary"), items[0].value);
    CPPUNIT_ASSERT_EQUAL(9u, items[0].flags);
  }

 protected:
  std::unique_ptr<Cluster> cluster_;
};

class BinaryKetamaBinaryTest : public BinaryCommandsBase {
  CPPUNIT_TEST_SUB_SUITE(BinaryKetamaBinaryTest, BinaryCommandsBase);
  CPPUNIT_TEST_SUITE_END();

 public:
  ClusterOptions options() const override {
    ClusterOptions o;
    o.downstream_protocol = "binary";
    return o;
  }
};

// A binary client in front of ascii memcached: the same normalized model,
// translated the other way.
class BinaryKetamaAsciiTest : public BinaryCommandsBase {
  CPPUNIT_TEST_SUB_SUITE(BinaryKetamaAsciiTest, BinaryCommandsBase);
  CPPUNIT_TEST_SUITE_END();

 public:
  ClusterOptions options() const override {
    ClusterOptions o;
    o.downstream_protocol = "ascii";  // not the default: asked for
    return o;
  }
  bool ascii_backend() const override { return true; }
};

// A binary client in front of memcached's meta protocol, and what only meta
// can carry: a key with a space, CR, LF or NUL (sent base64).
class BinaryKetamaMetaTest : public BinaryCommandsBase {
  CPPUNIT_TEST_SUB_SUITE(BinaryKetamaMetaTest, BinaryCommandsBase);
  CPPUNIT_TEST(testBinaryUnsafeKey);
  CPPUNIT_TEST_SUITE_END();

 public:
  ClusterOptions options() const override {
    ClusterOptions o;
    o.downstream_protocol = "meta";
    return o;
  }

  void testBinaryUnsafeKey() {
    TestClient c = cluster_->client();
    const std::string key("a b\r\n\0\x01z", 8);
    BinaryPacket r = call(c, bin::request(bin::kSet, key, "odd", bin::set_extras(3, 0), 5));
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, r.status());
    CPPUNIT_ASSERT(r.cas != 0);
    r = call(c, bin::request(bin::kGetK, key, "", "", 6));
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, r.status());
    CPPUNIT_ASSERT_EQUAL(std::string("odd"), r.value);
    CPPUNIT_ASSERT_EQUAL(key, r.key);
    CPPUNIT_ASSERT_EQUAL(be32(3), r.extras);
    r = call(c, bin::request(bin::kDelete, key, "", "", 7));
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, r.status());
    r = call(c, bin::request(bin::kGet, key, "", "", 8));
    CPPUNIT_ASSERT_EQUAL(bin::kKeyNotFound, r.status());
  }
};

class BinaryVBucketTest : public BinaryCommandsBase {
  CPPUNIT_TEST_SUB_SUITE(BinaryVBucketTest, BinaryCommandsBase);
  CPPUNIT_TEST_SUITE_END();

 public:
  ClusterOptions options() const override {
    ClusterOptions o;
    o.routing = Routing::VBucket;
    o.backends = 3;
    return o;
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BinaryKetamaBinaryTest);
CPPUNIT_TEST_SUITE_REGISTRATION(BinaryKetamaAsciiTest);
CPPUNIT_TEST_SUITE_REGISTRATION(BinaryKetamaMetaTest);
CPPUNIT_TEST_SUITE_REGISTRATION(BinaryVBucketTest);

}  // namespace
}  // namespace moxi::test
