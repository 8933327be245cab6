// VBucketServer as a memcached: every binary command's replies, statuses,
// CAS and quiet rules, expirations on the server's adjustable clock, packet
// validation, and the direct store access tests use.
#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <string>

#include "t/fakebackend/fake_util.h"
#include "t/support/client.h"
#include "t/support/vbucket_server.h"

namespace moxi::test {

using namespace std::chrono_literals;
using namespace fake;

namespace {

// STAT "" as name -> value.
std::map<std::string, std::string> stats(TestClient& c) {
  c.send_binary(req(Op::Stat, "", "", "", 0, 0, 77));
  std::map<std::string, std::string> out;
  for (;;) {
    BinaryPacket p = c.read_binary();
    CPPUNIT_ASSERT_EQUAL(uint32_t(77), p.opaque);
    ASSERT_STATUS(bin::kSuccess, p);
    if (p.key.empty()) return out;
    out[p.key] = p.value;
  }
}

}  // namespace

class FakeCommandsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(FakeCommandsTest);
  CPPUNIT_TEST(set_then_get_getk);
  CPPUNIT_TEST(get_misses);
  CPPUNIT_TEST(add_and_replace);
  CPPUNIT_TEST(storage_with_cas_is_compare_and_swap);
  CPPUNIT_TEST(delete_with_and_without_cas);
  CPPUNIT_TEST(incr_decr_create_and_count);
  CPPUNIT_TEST(incr_decr_keep_memcached_quirks);
  CPPUNIT_TEST(append_prepend);
  CPPUNIT_TEST(touch_gat_gatk);
  CPPUNIT_TEST(expirations_follow_the_server_clock);
  CPPUNIT_TEST(flush_now_and_delayed);
  CPPUNIT_TEST(quiet_commands_answer_only_errors_and_hits);
  CPPUNIT_TEST(keyless_commands);
  CPPUNIT_TEST(stat_reports_counters);
  CPPUNIT_TEST(quit_replies_then_closes);
  CPPUNIT_TEST(quitq_closes_silently);
  CPPUNIT_TEST(malformed_packet_closes_connection);
  CPPUNIT_TEST(oversized_key_is_malformed);
  CPPUNIT_TEST(unknown_opcode_keeps_connection);
  CPPUNIT_TEST(bad_magic_closes_connection);
  CPPUNIT_TEST(too_large_value);
  CPPUNIT_TEST(direct_store_access);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    VBucketServer::Options options;
    options.max_value_size = 64;
    server_ = std::make_unique<VBucketServer>(options);
    client_ = std::make_unique<TestClient>(server_->port());
  }
  void tearDown() override {
    client_.reset();
    server_.reset();
  }

  void set_then_get_getk() {
    BinaryPacket r = call(*client_, req(Op::Set, "k", "value", set_extras(0xdeadbeef, 0), 0, 0, 11));
    ASSERT_STATUS(bin::kSuccess, r);
    CPPUNIT_ASSERT_EQUAL(uint32_t(11), r.opaque);
    CPPUNIT_ASSERT_EQUAL(op(Op::Set), r.opcode);
    CPPUNIT_ASSERT_EQUAL(int(bin::kResponse), int(r.magic));
    CPPUNIT_ASSERT(r.cas != 0);
    CPPUNIT_ASSERT(r.extras.empty() && r.key.empty() && r.value.empty());
    const uint64_t cas = r.cas;

    BinaryPacket g = call(*client_, req(Op::Get, "k", "", "", 0, 0, 12));
    ASSERT_STATUS(bin::kSuccess, g);
    CPPUNIT_ASSERT_EQUAL(uint32_t(12), g.opaque);
    CPPUNIT_ASSERT_EQUAL(uint32_t(0xdeadbeef), flags_of(g));
    CPPUNIT_ASSERT_EQUAL(std::string(), g.key);
    CPPUNIT_ASSERT_EQUAL(std::string("value"), g.value);
    CPPUNIT_ASSERT_EQUAL(cas, g.cas);

    BinaryPacket gk = call(*client_, req(Op::GetK, "k"));
    ASSERT_STATUS(bin::kSuccess, gk);
    CPPUNIT_ASSERT_EQUAL(op(Op::GetK), gk.opcode);
    CPPUNIT_ASSERT_EQUAL(std::string("k"), gk.key);
    CPPUNIT_ASSERT_EQUAL(std::string("value"), gk.value);

    // A second SET gets a new CAS.
    BinaryPacket r2 = call(*client_, req(Op::Set, "k", "v2", set_extras(0, 0)));
    CPPUNIT_ASSERT(r2.cas != 0 && r2.cas != cas);
    CPPUNIT_ASSERT_EQUAL(std::string("v2"), call(*client_, req(Op::Get, "k")).value);
  }

  void get_misses() {
    BinaryPacket g = call(*client_, req(Op::Get, "nope", "", "", 0, 0, 3));
    ASSERT_STATUS(bin::kKeyNotFound, g);
    CPPUNIT_ASSERT_EQUAL(uint32_t(3), g.opaque);
    CPPUNIT_ASSERT_EQUAL(std::string("Not found"), g.value);
    CPPUNIT_ASSERT_EQUAL(uint64_t(0), g.cas);
    // GETK answers a miss with the key and no text.
    BinaryPacket gk = call(*client_, req(Op::GetK, "nope"));
    ASSERT_STATUS(bin::kKeyNotFound, gk);
    CPPUNIT_ASSERT_EQUAL(std::string("nope"), gk.key);
    CPPUNIT_ASSERT_EQUAL(std::string(), gk.value);
  }

  void add_and_replace() {
    ASSERT_STATUS(bin::kKeyNotFound, call(*client_, req(Op::Replace, "a", "1", set_extras(0, 0))));
    ASSERT_STATUS(bin::kSuccess, call(*client_, req(Op::Add, "a", "1", set_extras(0, 0))));
    BinaryPacket again = call(*client_, req(Op::Add, "a", "2", set_extras(0, 0)));
    ASSERT_STATUS(bin::kKeyExists, again);
    CPPUNIT_ASSERT_EQUAL(std::string("Data exists for key."), again.value);
    ASSERT_STATUS(bin::kSuccess, call(*client_, req(Op::Replace, "a", "3", set_extras(5, 0))));
    CPPUNIT_ASSERT_EQUAL(std::string("3"), server_->get("a").value_or("?"));
    CPPUNIT_ASSERT_EQUAL(uint32_t(5), server_->item("a")->flags);
  }

  void storage_with_cas_is_compare_and_swap() {
    const uint64_t cas = call(*client_, req(Op::Set, "c", "1", set_extras(0, 0))).cas;
    ASSERT_STATUS(bin::kKeyExists, call(*client_, req(Op::Set, "c", "x", set_extras(0, 0), 0, cas + 100)));
    ASSERT_STATUS(bin::kKeyNotFound, call(*client_, req(Op::Set, "missing", "x", set_extras(0, 0), 0, cas)));
    // memcached treats ADD and REPLACE with a CAS the same way.
    ASSERT_STATUS(bin::kKeyNotFound, call(*client_, req(Op::Add, "missing", "x", set_extras(0, 0), 0, cas)));
    BinaryPacket ok = call(*client_, req(Op::Replace, "c", "2", set_extras(0, 0), 0, cas));
    ASSERT_STATUS(bin::kSuccess, ok);
    CPPUNIT_ASSERT(ok.cas != cas);
    CPPUNIT_ASSERT_EQUAL(ok.cas, server_->item("c")->cas);
    // The old CAS is stale now.
    ASSERT_STATUS(bin::kKeyExists, call(*client_, req(Op::Set, "c", "3", set_extras(0, 0), 0, cas)));
    CPPUNIT_ASSERT_EQUAL(std::string("2"), server_->get("c").value_or("?"));
  }

  void delete_with_and_without_cas() {
    ASSERT_STATUS(bin::kKeyNotFound, call(*client_, req(Op::Delete, "d")));
    const uint64_t cas = call(*client_, req(Op::Set, "d", "1", set_extras(0, 0))).cas;
    ASSERT_STATUS(bin::kKeyExists, call(*client_, req(Op::Delete, "d", "", "", 0, cas + 1)));
    CPPUNIT_ASSERT(server_->get("d"));
    BinaryPacket del = call(*client_, req(Op::Delete, "d", "", "", 0, cas, 9));
    ASSERT_STATUS(bin::kSuccess, del);
    CPPUNIT_ASSERT_EQUAL(uint32_t(9), del.opaque);
    CPPUNIT_ASSERT(!server_->get("d"));
    call(*client_, req(Op::Set, "d", "1", set_extras(0, 0)));
    ASSERT_STATUS(bin::kSuccess, call(*client_, req(Op::Delete, "d")));
    ASSERT_STATUS(bin::kKeyNotFound, call(*client_, req(Op::Get, "d")));
  }

  void incr_decr_create_and_count() {
    // Missing with expiration 0xffffffff: not created.
    ASSERT_STATUS(bin::kKeyNotFound, call(*client_, req(Op::Increment, "n", "", arith_extras(1, 5, 0xffffffff))));
    CPPUNIT_ASSERT(!server_->get("n"));
    // Missing otherwise: created from `initial`, which is the reply.
    BinaryPacket created = call(*client_, req(Op::Increment, "n", "", arith_extras(1, 5, 0)));
    ASSERT_STATUS(bin::kSuccess, created);
    CPPUNIT_ASSERT_EQUAL(uint64_t(5), counter_of(created));
    CPPUNIT_ASSERT(created.cas != 0);
    CPPUNIT_ASSERT_EQUAL(std::string("5"), server_->get("n").value_or("?"));
    CPPUNIT_ASSERT_EQUAL(uint64_t(15), counter_of(call(*client_, req(Op::Increment, "n", "", arith_extras(10, 0, 0)))));
    CPPUNIT_ASSERT_EQUAL(uint64_t(12), counter_of(call(*client_, req(Op::Decrement, "n", "", arith_extras(3, 0, 0)))));
    // Decrement stops at zero.
    CPPUNIT_ASSERT_EQUAL(uint64_t(0), counter_of(call(*client_, req(Op::Decrement, "n", "", arith_extras(99, 0, 0)))));
    // DECR creates from initial too.
    CPPUNIT_ASSERT_EQUAL(uint64_t(7), counter_of(call(*client_, req(Op::Decrement, "m", "", arith_extras(1, 7, 0)))));
    // Flags survive arithmetic; CAS rules apply.
    const uint64_t cas = call(*client_, req(Op::Set, "f", "1", set_extras(42, 0))).cas;
    ASSERT_STATUS(bin::kKeyExists, call(*client_, req(Op::Increment, "f", "", arith_extras(1, 0, 0), 0, cas + 1)));
    BinaryPacket ok = call(*client_, req(Op::Increment, "f", "", arith_extras(1, 0, 0), 0, cas));
    ASSERT_STATUS(bin::kSuccess, ok);
    CPPUNIT_ASSERT_EQUAL(uint64_t(2), counter_of(ok));
    CPPUNIT_ASSERT_EQUAL(uint32_t(42), server_->item("f")->flags);
    CPPUNIT_ASSERT_EQUAL(ok.cas, server_->item("f")->cas);
  }

  void incr_decr_keep_memcached_quirks() {
    // The text keeps its length when the number gets shorter: "10" - 1 = "9 ".
    call(*client_, req(Op::Set, "p", "10", set_extras(0, 0)));
    CPPUNIT_ASSERT_EQUAL(uint64_t(9), counter_of(call(*client_, req(Op::Decrement, "p", "", arith_extras(1, 0, 0)))));
    CPPUNIT_ASSERT_EQUAL(std::string("9 "), call(*client_, req(Op::Get, "p")).value);
    CPPUNIT_ASSERT_EQUAL(uint64_t(100), counter_of(call(*client_, req(Op::Increment, "p", "", arith_extras(91, 0, 0)))));
    CPPUNIT_ASSERT_EQUAL(std::string("100"), server_->get("p").value_or("?"));
    // Wraps at 2^64.
    call(*client_, req(Op::Set, "w", "18446744073709551615", set_extras(0, 0)));
    CPPUNIT_ASSERT_EQUAL(uint64_t(1), counter_of(call(*client_, req(Op::Increment, "w", "", arith_extras(2, 0, 0)))));
    // Blanks around the number are accepted.
    call(*client_, req(Op::Set, "s", " 12 ", set_extras(0, 0)));
    CPPUNIT_ASSERT_EQUAL(uint64_t(13), counter_of(call(*client_, req(Op::Increment, "s", "", arith_extras(1, 0, 0)))));
    // Not numbers: text, empty, negative, too big.
    for (const char* v : {"abc", "", "-1", "12x", "18446744073709551616"}) {
      call(*client_, req(Op::Set, "x", v, set_extras(0, 0)));
      BinaryPacket r = call(*client_, req(Op::Increment, "x", "", arith_extras(1, 0, 0)));
      ASSERT_STATUS(bin::kNonNumeric, r);
      CPPUNIT_ASSERT_EQUAL(std::string("Non-numeric server-side value for incr or decr"), r.value);
    }
  }

  void append_prepend() {
    BinaryPacket miss = call(*client_, req(Op::Append, "a", "x"));
    ASSERT_STATUS(bin::kItemNotStored, miss);
    CPPUNIT_ASSERT_EQUAL(std::string("Not stored."), miss.value);
    ASSERT_STATUS(bin::kItemNotStored, call(*client_, req(Op::Prepend, "a", "x")));
    const uint64_t cas = call(*client_, req(Op::Set, "a", "mid", set_extras(3, 0))).cas;
    BinaryPacket app = call(*client_, req(Op::Append, "a", "-end"));
    ASSERT_STATUS(bin::kSuccess, app);
    CPPUNIT_ASSERT(app.cas != cas);
    ASSERT_STATUS(bin::kKeyExists, call(*client_, req(Op::Prepend, "a", "x", "", 0, cas)));
    ASSERT_STATUS(bin::kSuccess, call(*client_, req(Op::Prepend, "a", "start-", "", 0, app.cas)));
    BinaryPacket g = call(*client_, req(Op::Get, "a"));
    CPPUNIT_ASSERT_EQUAL(std::string("start-mid-end"), g.value);
    CPPUNIT_ASSERT_EQUAL(uint32_t(3), flags_of(g));
  }

  void touch_gat_gatk() {
    const uint64_t cas = call(*client_, req(Op::Set, "t", "tv", set_extras(8, 0))).cas;
    BinaryPacket touch = call(*client_, req(Op::Touch, "t", "", u32(100), 0, 0, 4));
    ASSERT_STATUS(bin::kSuccess, touch);
    CPPUNIT_ASSERT_EQUAL(uint32_t(4), touch.opaque);
    CPPUNIT_ASSERT_EQUAL(uint32_t(8), flags_of(touch));  // flags, no key, no value
    CPPUNIT_ASSERT(touch.key.empty() && touch.value.empty());
    CPPUNIT_ASSERT_EQUAL(cas, touch.cas);  // touching keeps the CAS
    BinaryPacket gat = call(*client_, req(Op::Gat, "t", "", u32(100)));
    ASSERT_STATUS(bin::kSuccess, gat);
    CPPUNIT_ASSERT_EQUAL(std::string("tv"), gat.value);
    CPPUNIT_ASSERT(gat.key.empty());
    BinaryPacket gatk = call(*client_, req(Op::GatK, "t", "", u32(100)));
    CPPUNIT_ASSERT_EQUAL(std::string("t"), gatk.key);
    CPPUNIT_ASSERT_EQUAL(std::string("tv"), gatk.value);
    CPPUNIT_ASSERT_EQUAL(uint32_t(8), flags_of(gatk));

    BinaryPacket tmiss = call(*client_, req(Op::Touch, "none", "", u32(1)));
    ASSERT_STATUS(bin::kKeyNotFound, tmiss);
    CPPUNIT_ASSERT_EQUAL(std::string("Not found"), tmiss.value);
    BinaryPacket gkmiss = call(*client_, req(Op::GatK, "none", "", u32(1)));
    ASSERT_STATUS(bin::kKeyNotFound, gkmiss);
    CPPUNIT_ASSERT_EQUAL(std::string("none"), gkmiss.key);
    ASSERT_STATUS(bin::kKeyNotFound, call(*client_, req(Op::Gat, "none", "", u32(1))));
  }

  void expirations_follow_the_server_clock() {
    call(*client_, req(Op::Set, "short", "v", set_extras(0, 10)));
    call(*client_, req(Op::Set, "forever", "v", set_extras(0, 0)));
    call(*client_, req(Op::Set, "touched", "v", set_extras(0, 10)));
    ASSERT_STATUS(bin::kSuccess, call(*client_, req(Op::Touch, "touched", "", u32(100))));
    // An absolute unix time in the past is expired at once.
    ASSERT_STATUS(bin::kSuccess, call(*client_, req(Op::Set, "past", "v", set_extras(0, 2592001))));
    ASSERT_STATUS(bin::kKeyNotFound, call(*client_, req(Op::Get, "past")));
    // An absolute time in the future is not.
    const uint32_t in_an_hour = static_cast<uint32_t>(std::time(nullptr) + 3600);
    call(*client_, req(Op::Set, "abs", "v", set_extras(0, in_an_hour)));
    CPPUNIT_ASSERT_EQUAL(size_t(4), server_->item_count());

    server_->advance_time(11s);
    ASSERT_STATUS(bin::kKeyNotFound, call(*client_, req(Op::Get, "short")));
    ASSERT_STATUS(bin::kSuccess, call(*client_, req(Op::Get, "touched")));
    CPPUNIT_ASSERT_EQUAL(size_t(3), server_->item_count());
    server_->advance_time(3600s);
    CPPUNIT_ASSERT(!server_->get("touched"));
    CPPUNIT_ASSERT(!server_->get("abs"));
    CPPUNIT_ASSERT(server_->get("forever"));
    // INCR creates with the given expiration; GAT sets a new one.
    call(*client_, req(Op::Increment, "ctr", "", arith_extras(1, 1, 5)));
    call(*client_, req(Op::Set, "g", "v", set_extras(0, 5)));
    ASSERT_STATUS(bin::kSuccess, call(*client_, req(Op::Gat, "g", "", u32(0))));
    server_->advance_time(6s);
    CPPUNIT_ASSERT(!server_->get("ctr"));
    CPPUNIT_ASSERT(server_->get("g"));
  }

  void flush_now_and_delayed() {
    call(*client_, req(Op::Set, "a", "1", set_extras(0, 0)));
    call(*client_, req(Op::Set, "b", "1", set_extras(0, 0)));
    BinaryPacket f = call(*client_, req(Op::Flush, "", "", "", 0, 0, 6));
    ASSERT_STATUS(bin::kSuccess, f);
    CPPUNIT_ASSERT_EQUAL(uint32_t(6), f.opaque);
    CPPUNIT_ASSERT_EQUAL(size_t(0), server_->item_count());

    // Delayed: items stay until the time comes, then everything stored
    // before it goes.
    call(*client_, req(Op::Set, "a", "1", set_extras(0, 0)));
    ASSERT_STATUS(bin::kSuccess, call(*client_, req(Op::Flush, "", "", u32(30))));
    CPPUNIT_ASSERT_EQUAL(size_t(1), server_->item_count());
    server_->advance_time(31s);
    ASSERT_STATUS(bin::kKeyNotFound, call(*client_, req(Op::Get, "a")));
    call(*client_, req(Op::Set, "later", "1", set_extras(0, 0)));
    CPPUNIT_ASSERT(server_->get("later"));

    // FLUSHQ is silent.
    client_->send_binary(req(Op::FlushQ));
    client_->send_binary(req(Op::Noop, "", "", "", 0, 0, 99));
    std::vector<BinaryPacket> replies = read_through_noop(*client_);
    CPPUNIT_ASSERT_EQUAL(size_t(1), replies.size());
    CPPUNIT_ASSERT_EQUAL(size_t(0), server_->item_count());
  }

  void quiet_commands_answer_only_errors_and_hits() {
    server_->put("exists", "e");
    server_->put("num", "1");
    uint32_t opaque = 100;
    auto q = [&](Op o, std::string key, std::string value = {}, std::string extras = {}) {
      client_->send_binary(req(o, std::move(key), std::move(value), std::move(extras), 0, 0, opaque++));
    };
    q(Op::SetQ, "s", "1", set_extras(0, 0));        // 100 silent
    q(Op::AddQ, "exists", "x", set_extras(0, 0));   // 101 KEY_EXISTS
    q(Op::ReplaceQ, "none", "x", set_extras(0, 0)); // 102 NOT_FOUND
    q(Op::ReplaceQ, "s", "2", set_extras(0, 0));    // 103 silent
    q(Op::GetQ, "s");                               // 104 hit
    q(Op::GetQ, "none");                            // 105 silent miss
    q(Op::GetKQ, "exists");                         // 106 hit with key
    q(Op::GetKQ, "none");                           // 107 silent miss
    q(Op::DeleteQ, "none");                         // 108 NOT_FOUND
    q(Op::DeleteQ, "exists");                       // 109 silent
    q(Op::IncrementQ, "num", "", arith_extras(1, 0, 0));  // 110 silent
    q(Op::DecrementQ, "s", "", arith_extras(1, 0, 0));    // 111 silent (2 -> 1)
    q(Op::AppendQ, "none", "x");                    // 112 NOT_STORED
    q(Op::PrependQ, "s", "0");                      // 113 silent
    q(Op::GatQ, "num", "", u32(0));                 // 114 hit
    q(Op::GatKQ, "none", "", u32(0));               // 115 silent miss
    q(Op::Noop, "");                                // 116
    std::vector<BinaryPacket> r = read_through_noop(*client_);
    const std::vector<std::pair<uint32_t, uint16_t>> expected = {
        {101, bin::kKeyExists}, {102, bin::kKeyNotFound}, {104, bin::kSuccess},   {106, bin::kSuccess},
        {108, bin::kKeyNotFound}, {112, bin::kItemNotStored}, {114, bin::kSuccess}, {116, bin::kSuccess}};
    std::string got;
    for (const auto& p : r) got += describe(p) + "\n";
    CPPUNIT_ASSERT_EQUAL_MESSAGE(got, expected.size(), r.size());
    for (std::size_t i = 0; i < r.size(); ++i) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE(got, expected[i].first, r[i].opaque);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(got, int(expected[i].second), int(r[i].status()));
    }
    CPPUNIT_ASSERT_EQUAL(op(Op::GetQ), r[2].opcode);
    CPPUNIT_ASSERT_EQUAL(std::string("2"), r[2].value);
    CPPUNIT_ASSERT_EQUAL(std::string("exists"), r[3].key);
    CPPUNIT_ASSERT_EQUAL(std::string("2"), r[6].value);
    CPPUNIT_ASSERT_EQUAL(std::string("01"), server_->get("s").value_or("?"));
    CPPUNIT_ASSERT(!server_->get("exists"));
  }

  void keyless_commands() {
    BinaryPacket noop = call(*client_, req(Op::Noop, "", "", "", 0, 0, 0xabcdef01));
    ASSERT_STATUS(bin::kSuccess, noop);
    CPPUNIT_ASSERT_EQUAL(uint32_t(0xabcdef01), noop.opaque);
    CPPUNIT_ASSERT_EQUAL(op(Op::Noop), noop.opcode);
    BinaryPacket version = call(*client_, req(Op::Version));
    ASSERT_STATUS(bin::kSuccess, version);
    CPPUNIT_ASSERT_EQUAL(std::string("1.6.18-vbucket-fake"), version.value);
    ASSERT_STATUS(bin::kSuccess, call(*client_, req(Op::Verbosity, "", "", u32(1))));
    BinaryPacket group = call(*client_, req(Op::Stat, "slabs"));
    ASSERT_STATUS(bin::kKeyNotFound, group);
    // Still connected.
    ASSERT_STATUS(bin::kSuccess, call(*client_, req(Op::Noop)));

    VBucketServer::Options options;
    options.version = "9.9.9-test";
    VBucketServer other(options);
    TestClient c(other.port());
    CPPUNIT_ASSERT_EQUAL(std::string("9.9.9-test"), call(c, req(Op::Version)).value);
  }

  void stat_reports_counters() {
    server_->put("a", "1");
    call(*client_, req(Op::Set, "b", "1", set_extras(0, 0)));
    call(*client_, req(Op::Get, "a"));
    call(*client_, req(Op::Get, "zz"));
    auto s = stats(*client_);
    CPPUNIT_ASSERT_EQUAL(std::to_string(server_->id()), s["pid"]);
    CPPUNIT_ASSERT_EQUAL(std::string("1.6.18-vbucket-fake"), s["version"]);
    CPPUNIT_ASSERT_EQUAL(std::string("2"), s["curr_items"]);
    CPPUNIT_ASSERT_EQUAL(std::string("2"), s["cmd_get"]);
    CPPUNIT_ASSERT_EQUAL(std::string("1"), s["get_hits"]);
    CPPUNIT_ASSERT_EQUAL(std::string("1"), s["get_misses"]);
    CPPUNIT_ASSERT_EQUAL(std::string("1"), s["cmd_set"]);
    CPPUNIT_ASSERT_EQUAL(std::string("1"), s["curr_connections"]);
    CPPUNIT_ASSERT_EQUAL(std::string("0"), s["not_my_vbucket"]);
    CPPUNIT_ASSERT_EQUAL(std::string("0"), s["bad_vbucket"]);
    CPPUNIT_ASSERT_EQUAL(std::string("4"), s["requests"]);  // 3 above + this STAT
  }

  void quit_replies_then_closes() {
    BinaryPacket r = call(*client_, req(Op::Quit, "", "", "", 0, 0, 5));
    ASSERT_STATUS(bin::kSuccess, r);
    CPPUNIT_ASSERT_EQUAL(uint32_t(5), r.opaque);
    CPPUNIT_ASSERT(client_->expect_closed(2s));
    CPPUNIT_ASSERT(server_->wait_for_requests(1, 2s));
  }

  void quitq_closes_silently() {
    // Requests after QUIT in the same write are not served.
    client_->send(encode_binary(req(Op::QuitQ)) + encode_binary(req(Op::Noop)));
    CPPUNIT_ASSERT_THROW(client_->read_binary(), PeerClosed);
  }

  void malformed_packet_closes_connection() {
    // GET must not carry extras: "Invalid arguments", then the server hangs up.
    server_->put("k", "v");
    client_->send(encode_binary(req(Op::Get, "k", "", "abcd", 0, 0, 8)) + encode_binary(req(Op::Noop)));
    BinaryPacket r = client_->read_binary();
    ASSERT_STATUS(bin::kInvalidArguments, r);
    CPPUNIT_ASSERT_EQUAL(std::string("Invalid arguments"), r.value);
    CPPUNIT_ASSERT_EQUAL(uint32_t(8), r.opaque);
    CPPUNIT_ASSERT(client_->expect_closed(2s));

    // Others of the same kind.
    const BinaryPacket bad[] = {
        req(Op::Set, "", "v", set_extras(0, 0)),   // SET without a key
        req(Op::Set, "k", "v"),                    // SET without extras
        req(Op::Touch, "k"),                       // TOUCH without expiration
        req(Op::Noop, "k"),                        // NOOP with a body
        req(Op::Delete, "k", "", "abcd"),          // DELETE with extras
        req(Op::Increment, "k", "", u32(1)),       // short arithmetic extras
        req(Op::Append, "k", "x", "abcd"),         // APPEND with extras
    };
    for (const auto& packet : bad) {
      TestClient c(server_->port());
      BinaryPacket reply = call(c, packet);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(packet), int(bin::kInvalidArguments), int(reply.status()));
      CPPUNIT_ASSERT_MESSAGE(describe(packet), c.expect_closed(2s));
    }

    // Lengths that contradict each other (keylen + extlen > bodylen).
    TestClient c(server_->port());
    BinaryPacket raw = req(Op::Get, "k");
    raw.keylen = 5;
    raw.bodylen = 1;
    c.send(encode_binary_raw(raw));
    ASSERT_STATUS(bin::kInvalidArguments, c.read_binary());
    CPPUNIT_ASSERT(c.expect_closed(2s));
  }

  void oversized_key_is_malformed() {
    ASSERT_STATUS(bin::kKeyNotFound, call(*client_, req(Op::Get, std::string(250, 'k'))));
    ASSERT_STATUS(bin::kInvalidArguments, call(*client_, req(Op::Get, std::string(251, 'k'))));
    CPPUNIT_ASSERT(client_->expect_closed(2s));
  }

  void unknown_opcode_keeps_connection() {
    BinaryPacket r = call(*client_, req(static_cast<Op>(0x40), "k", "body", "", 0, 0, 31));
    ASSERT_STATUS(bin::kUnknownCommand, r);
    CPPUNIT_ASSERT_EQUAL(std::string("Unknown command"), r.value);
    CPPUNIT_ASSERT_EQUAL(uint32_t(31), r.opaque);
    CPPUNIT_ASSERT_EQUAL(uint8_t(0x40), r.opcode);
    // SASL is not offered, as memcached without -S.
    ASSERT_STATUS(bin::kUnknownCommand, call(*client_, req(Op::SaslListMechs)));
    ASSERT_STATUS(bin::kSuccess, call(*client_, req(Op::Noop)));
  }

  void bad_magic_closes_connection() {
    // Replies already due are still written; then the connection ends.
    BinaryPacket response_magic = req(Op::Noop);
    response_magic.magic = bin::kResponse;
    client_->send(encode_binary(req(Op::Noop, "", "", "", 0, 0, 1)) + encode_binary(response_magic));
    CPPUNIT_ASSERT_EQUAL(uint32_t(1), client_->read_binary().opaque);
    CPPUNIT_ASSERT(client_->expect_closed(2s));
    TestClient ascii(server_->port());
    ascii.send("get foo\r\n");
    CPPUNIT_ASSERT(ascii.expect_closed(2s));
  }

  void too_large_value() {
    // The fixture allows 64 bytes.
    server_->put("big", "old");
    BinaryPacket r = call(*client_, req(Op::Set, "big", std::string(65, 'x'), set_extras(0, 0)));
    ASSERT_STATUS(bin::kValueTooLarge, r);
    CPPUNIT_ASSERT_EQUAL(std::string("Too large."), r.value);
    CPPUNIT_ASSERT(!server_->get("big"));  // as memcached: no stale value survives a failed SET
    ASSERT_STATUS(bin::kSuccess, call(*client_, req(Op::Set, "big", std::string(64, 'x'), set_extras(0, 0))));
    ASSERT_STATUS(bin::kItemNotStored, call(*client_, req(Op::Append, "big", "y")));
    ASSERT_STATUS(bin::kValueTooLarge, call(*client_, req(Op::Add, "new", std::string(65, 'x'), set_extras(0, 0))));
    ASSERT_STATUS(bin::kSuccess, call(*client_, req(Op::Noop)));
  }

  void direct_store_access() {
    CPPUNIT_ASSERT_EQUAL(size_t(0), server_->item_count());
    CPPUNIT_ASSERT(!server_->get("k"));
    CPPUNIT_ASSERT(!server_->item("k"));
    server_->put("k", std::string("v\0w", 3), 17);
    CPPUNIT_ASSERT_EQUAL(size_t(1), server_->item_count());
    CPPUNIT_ASSERT_EQUAL(std::string("v\0w", 3), server_->get("k").value_or("?"));
    auto item = server_->item("k");
    CPPUNIT_ASSERT(item);
    CPPUNIT_ASSERT_EQUAL(uint32_t(17), item->flags);
    BinaryPacket g = call(*client_, req(Op::Get, "k"));
    CPPUNIT_ASSERT_EQUAL(std::string("v\0w", 3), g.value);
    CPPUNIT_ASSERT_EQUAL(item->cas, g.cas);
    // Direct access is not a request.
    CPPUNIT_ASSERT_EQUAL(uint64_t(1), server_->requests());
  }

 private:
  std::unique_ptr<VBucketServer> server_;
  std::unique_ptr<TestClient> client_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(FakeCommandsTest);

}  // namespace moxi::test
