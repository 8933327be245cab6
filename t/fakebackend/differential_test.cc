// VBucketServer against a real memcached (1.6, the harness's Memcached
// fixture): the same request scripts go to both, and every reply must match
// in opcode, status, opaque, extras, key and value. CAS values are compared
// only as zero / non-zero (each server counts its own), and scripts that
// need a CAS use the one each server returned.
#include <cppunit/extensions/HelperMacros.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "t/fakebackend/fake_util.h"
#include "t/support/client.h"
#include "t/support/servers.h"
#include "t/support/vbucket_server.h"

namespace moxi::test {

using namespace std::chrono_literals;
using namespace fake;

namespace {

// A reply with its CAS reduced to "set or not".
std::string normalised(const BinaryPacket& p) {
  BinaryPacket q = p;
  q.cas = p.cas != 0 ? 1 : 0;
  return describe(q);
}

std::string normalised(const std::vector<BinaryPacket>& ps) {
  std::string out;
  for (const auto& p : ps) out += normalised(p) + "\n";
  return out;
}

}  // namespace

class FakeDifferentialTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(FakeDifferentialTest);
  CPPUNIT_TEST(storage_commands_match);
  CPPUNIT_TEST(cas_rules_match);
  CPPUNIT_TEST(arithmetic_matches);
  CPPUNIT_TEST(touch_and_gat_match);
  CPPUNIT_TEST(quiet_batch_matches);
  CPPUNIT_TEST(expirations_match);
  CPPUNIT_TEST(errors_match);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    memcached_ = std::make_unique<Memcached>();
    fake_ = std::make_unique<VBucketServer>();
    mc_ = std::make_unique<TestClient>(memcached_->port());
    fk_ = std::make_unique<TestClient>(fake_->port());
  }
  void tearDown() override {
    mc_.reset();
    fk_.reset();
    fake_.reset();
    memcached_.reset();
  }

  // Sends `request` to both and asserts the replies match; returns
  // (memcached's, the fake's).
  std::pair<BinaryPacket, BinaryPacket> both(const BinaryPacket& request) {
    BinaryPacket m = call(*mc_, request);
    BinaryPacket f = call(*fk_, request);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("request " + describe(request), normalised(m), normalised(f));
    return {m, f};
  }

  // Sends a batch ending in NOOP to both and compares every reply.
  void both_batch(const std::vector<BinaryPacket>& batch) {
    std::string wire;
    for (const auto& p : batch) wire += encode_binary(p);
    mc_->send(wire);
    fk_->send(wire);
    CPPUNIT_ASSERT_EQUAL(normalised(read_through_noop(*mc_)), normalised(read_through_noop(*fk_)));
  }

  // A fresh connection to each, one request, the same reply and both
  // connections closed afterwards (or both still open).
  void both_fresh(const BinaryPacket& request, bool closes) {
    TestClient m(memcached_->port());
    TestClient f(fake_->port());
    BinaryPacket mr = call(m, request);
    BinaryPacket fr = call(f, request);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("request " + describe(request), normalised(mr), normalised(fr));
    if (closes) {
      CPPUNIT_ASSERT_MESSAGE("memcached closes after " + describe(request), m.expect_closed(2s));
      CPPUNIT_ASSERT_MESSAGE("the fake closes after " + describe(request), f.expect_closed(2s));
    } else {
      CPPUNIT_ASSERT_EQUAL(normalised(call(m, req(Op::Noop))), normalised(call(f, req(Op::Noop))));
    }
  }

  void storage_commands_match() {
    both(req(Op::Set, "k1", "one", set_extras(0xdeadbeef, 0), 0, 0, 1));
    both(req(Op::Get, "k1", "", "", 0, 0, 2));
    both(req(Op::GetK, "k1", "", "", 0, 0, 3));
    both(req(Op::Add, "k1", "x", set_extras(0, 0), 0, 0, 4));
    both(req(Op::Add, "k2", "two", set_extras(2, 0), 0, 0, 5));
    both(req(Op::Replace, "k3", "x", set_extras(0, 0), 0, 0, 6));
    both(req(Op::Replace, "k1", "uno", set_extras(1, 0), 0, 0, 7));
    both(req(Op::Append, "k1", "-end", "", 0, 0, 8));
    both(req(Op::Prepend, "k1", "start-", "", 0, 0, 9));
    both(req(Op::Get, "k1", "", "", 0, 0, 10));
    both(req(Op::Append, "nokey", "x", "", 0, 0, 11));
    both(req(Op::Prepend, "nokey", "x", "", 0, 0, 12));
    both(req(Op::Delete, "k2", "", "", 0, 0, 13));
    both(req(Op::Delete, "k2", "", "", 0, 0, 14));
    both(req(Op::Get, "k2", "", "", 0, 0, 15));
    both(req(Op::GetK, "k2", "", "", 0, 0, 16));
    both(req(Op::Set, "empty", "", set_extras(0, 0), 0, 0, 17));
    both(req(Op::Get, "empty", "", "", 0, 0, 18));
    both(req(Op::Set, "bin", std::string("\0\r\n\xff", 4), set_extras(0, 0), 0, 0, 19));
    both(req(Op::Get, "bin", "", "", 0, 0, 20));
    both(req(Op::Get, std::string(250, 'x'), "", "", 0, 0, 21));
  }

  void cas_rules_match() {
    auto [m, f] = both(req(Op::Set, "c", "1", set_extras(0, 0)));
    both(req(Op::Set, "c", "2", set_extras(0, 0), 0, 0xfffffff0));   // mismatch
    both(req(Op::Set, "none", "2", set_extras(0, 0), 0, 0xfffffff0));  // missing
    both(req(Op::Add, "none", "2", set_extras(0, 0), 0, 0xfffffff0));
    both(req(Op::Replace, "none", "2", set_extras(0, 0), 0, 0xfffffff0));
    both(req(Op::Delete, "c", "", "", 0, 0xfffffff0));
    both(req(Op::Append, "c", "x", "", 0, 0xfffffff0));
    both(req(Op::Increment, "c", "", arith_extras(1, 0, 0), 0, 0xfffffff0));
    // Each server's own CAS matches.
    BinaryPacket mr = call(*mc_, req(Op::Add, "c", "3", set_extras(0, 0), 0, m.cas));
    BinaryPacket fr = call(*fk_, req(Op::Add, "c", "3", set_extras(0, 0), 0, f.cas));
    CPPUNIT_ASSERT_EQUAL(normalised(mr), normalised(fr));
    both(req(Op::Get, "c"));
    mr = call(*mc_, req(Op::Delete, "c", "", "", 0, mr.cas));
    fr = call(*fk_, req(Op::Delete, "c", "", "", 0, fr.cas));
    CPPUNIT_ASSERT_EQUAL(normalised(mr), normalised(fr));
    both(req(Op::Get, "c"));
  }

  void arithmetic_matches() {
    both(req(Op::Increment, "c1", "", arith_extras(1, 42, 0), 0, 0, 1));
    both(req(Op::Get, "c1"));
    both(req(Op::Increment, "c2", "", arith_extras(1, 42, 0xffffffff), 0, 0, 2));
    both(req(Op::Decrement, "c3", "", arith_extras(1, 7, 0)));
    both(req(Op::Increment, "c1", "", arith_extras(10, 0, 0xffffffff)));
    both(req(Op::Decrement, "c1", "", arith_extras(100, 0, 0)));
    both(req(Op::Get, "c1"));
    const char* values[] = {"10", "18446744073709551615", "abc", "", "-1", " 12 ", "12x", "007",
                            "18446744073709551616", "99999", "1 2"};
    for (const char* v : values) {
      both(req(Op::Set, "v", v, set_extras(3, 0)));
      both(req(Op::Decrement, "v", "", arith_extras(1, 0, 0)));
      both(req(Op::Get, "v"));
      both(req(Op::Increment, "v", "", arith_extras(2, 0, 0)));
      both(req(Op::Get, "v"));
    }
  }

  void touch_and_gat_match() {
    both(req(Op::Set, "t", "tv", set_extras(8, 0)));
    both(req(Op::Touch, "t", "", u32(100), 0, 0, 1));
    both(req(Op::Gat, "t", "", u32(100), 0, 0, 2));
    both(req(Op::GatK, "t", "", u32(100), 0, 0, 3));
    both(req(Op::Touch, "none", "", u32(100), 0, 0, 4));
    both(req(Op::Gat, "none", "", u32(100), 0, 0, 5));
    both(req(Op::GatK, "none", "", u32(100), 0, 0, 6));
    both_batch({req(Op::GatQ, "none", "", u32(0), 0, 0, 7), req(Op::GatKQ, "t", "", u32(0), 0, 0, 8),
                req(Op::GatQ, "t", "", u32(0), 0, 0, 9), req(Op::Noop, "", "", "", 0, 0, 10)});
  }

  void quiet_batch_matches() {
    both(req(Op::Set, "exists", "e", set_extras(0, 0)));
    both(req(Op::Set, "num", "1", set_extras(0, 0)));
    uint32_t o = 100;
    both_batch({
        req(Op::SetQ, "s", "1", set_extras(0, 0), 0, 0, o++),
        req(Op::AddQ, "exists", "x", set_extras(0, 0), 0, 0, o++),
        req(Op::ReplaceQ, "none", "x", set_extras(0, 0), 0, 0, o++),
        req(Op::ReplaceQ, "s", "2", set_extras(0, 0), 0, 0, o++),
        req(Op::GetQ, "s", "", "", 0, 0, o++),
        req(Op::GetQ, "none", "", "", 0, 0, o++),
        req(Op::GetKQ, "exists", "", "", 0, 0, o++),
        req(Op::GetKQ, "none", "", "", 0, 0, o++),
        req(Op::DeleteQ, "none", "", "", 0, 0, o++),
        req(Op::DeleteQ, "exists", "", "", 0, 0, o++),
        req(Op::IncrementQ, "num", "", arith_extras(1, 0, 0), 0, 0, o++),
        req(Op::IncrementQ, "s", "", arith_extras(1, 0, 0xffffffff), 0, 0, o++),
        req(Op::DecrementQ, "none", "", arith_extras(1, 0, 0xffffffff), 0, 0, o++),
        req(Op::AppendQ, "none", "x", "", 0, 0, o++),
        req(Op::PrependQ, "s", "0", "", 0, 0, o++),
        req(Op::Get, "s", "", "", 0, 0, o++),
        req(Op::Get, "num", "", "", 0, 0, o++),
        req(Op::FlushQ, "", "", "", 0, 0, o++),
        req(Op::GetQ, "s", "", "", 0, 0, o++),
        req(Op::Noop, "", "", "", 0, 0, o++),
    });
  }

  void expirations_match() {
    both(req(Op::Set, "past", "v", set_extras(0, 2592001)));  // a unix time in 1970
    both(req(Op::Get, "past"));
    both(req(Op::Set, "later", "v", set_extras(0, 1000)));
    both(req(Op::Get, "later"));
    both(req(Op::Touch, "later", "", u32(2592001)));
    both(req(Op::Get, "later"));
    both(req(Op::Increment, "ctr", "", arith_extras(1, 5, 2592001)));
    both(req(Op::Get, "ctr"));
  }

  void errors_match() {
    both_fresh(req(Op::Get, "k", "", "abcd"), true);             // extras on GET
    both_fresh(req(Op::Get, std::string(251, 'k')), true);       // key too long
    both_fresh(req(Op::Set, "", "v", set_extras(0, 0)), true);   // no key
    both_fresh(req(Op::Set, "k", "v"), true);                    // no extras
    both_fresh(req(Op::Noop, "k"), true);                        // body on NOOP
    both_fresh(req(Op::Version, "", "", "abcd"), true);
    both_fresh(req(Op::Delete, "k", "", "abcd"), true);
    both_fresh(req(Op::Increment, "k", "", u32(1)), true);
    both_fresh(req(Op::Append, "k", "x", "abcd"), true);
    both_fresh(req(Op::Touch, "k"), true);
    both_fresh(req(Op::Flush, "", "", "ab"), true);
    // Unknown opcode: the connection lives. (Without a body: memcached 1.6
    // loses track of an unknown command's body and drops the connection.)
    both_fresh(req(static_cast<Op>(0x40)), false);
    both_fresh(req(Op::SaslListMechs), false);  // no SASL, as memcached without -S
    both_fresh(req(Op::Stat, "nosuchgroup"), false);
    both_fresh(req(Op::Set, "big", std::string(1024 * 1024 + 10, 'x'), set_extras(0, 0)), false);
  }

 private:
  std::unique_ptr<Memcached> memcached_;
  std::unique_ptr<VBucketServer> fake_;
  std::unique_ptr<TestClient> mc_;
  std::unique_ptr<TestClient> fk_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(FakeDifferentialTest);

}  // namespace moxi::test
