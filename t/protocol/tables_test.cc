// Status text tables and the stats merge rule.
#include <cppunit/extensions/HelperMacros.h>

#include "src/protocol/stats_merge.h"
#include "src/protocol/status_text.h"

namespace moxi::protocol {
namespace {
void status_is(Status s, const Result& r) { CPPUNIT_ASSERT_EQUAL(static_cast<int>(s), static_cast<int>(r.status)); }
}  // namespace

class TablesTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(TablesTest);
  CPPUNIT_TEST(testBinaryTexts);
  CPPUNIT_TEST(testAsciiStorageLines);
  CPPUNIT_TEST(testAsciiOtherLines);
  CPPUNIT_TEST(testMergeSumsCounters);
  CPPUNIT_TEST(testMergeKeepsIdentityAndMax);
  CPPUNIT_TEST(testMergeFloatsAndText);
  CPPUNIT_TEST(testMergeBySuffix);
  CPPUNIT_TEST(testMergeSettings);
  CPPUNIT_TEST(testCombineBroadcast);
  CPPUNIT_TEST_SUITE_END();

  static std::string line(Op op, bool cas, Status s) { return std::string(ascii_status_line(op, cas, s)); }

 public:
  void testBinaryTexts() {
    // memcached's write_bin_error bodies, byte for byte.
    CPPUNIT_ASSERT_EQUAL(std::string("Not found"), std::string(binary_status_text(Status::KeyNotFound)));
    CPPUNIT_ASSERT_EQUAL(std::string("Data exists for key."), std::string(binary_status_text(Status::KeyExists)));
    CPPUNIT_ASSERT_EQUAL(std::string("Too large."), std::string(binary_status_text(Status::TooLarge)));
    CPPUNIT_ASSERT_EQUAL(std::string("Invalid arguments"), std::string(binary_status_text(Status::InvalidArguments)));
    CPPUNIT_ASSERT_EQUAL(std::string("Not stored."), std::string(binary_status_text(Status::NotStored)));
    CPPUNIT_ASSERT_EQUAL(std::string("Non-numeric server-side value for incr or decr"),
                         std::string(binary_status_text(Status::DeltaBadValue)));
    CPPUNIT_ASSERT_EQUAL(std::string("Unknown command"), std::string(binary_status_text(Status::UnknownCommand)));
    CPPUNIT_ASSERT_EQUAL(std::string("Out of memory"), std::string(binary_status_text(Status::OutOfMemory)));
    CPPUNIT_ASSERT_EQUAL(std::string("Not my vbucket"), std::string(binary_status_text(Status::NotMyVbucket)));
    CPPUNIT_ASSERT_EQUAL(std::string("Internal error"), std::string(binary_status_text(Status::InternalError)));
    CPPUNIT_ASSERT_EQUAL(std::string("System is busy"), std::string(binary_status_text(Status::Busy)));
    CPPUNIT_ASSERT_EQUAL(std::string("Temporary failure"), std::string(binary_status_text(Status::TemporaryFailure)));
    CPPUNIT_ASSERT_EQUAL(std::string("Not supported"), std::string(binary_status_text(Status::NotSupported)));
    CPPUNIT_ASSERT_EQUAL(std::string("Auth failure."), std::string(binary_status_text(Status::AuthError)));
    CPPUNIT_ASSERT_EQUAL(std::string("Unknown error"), std::string(binary_status_text(static_cast<Status>(0x99))));
    CPPUNIT_ASSERT_EQUAL(std::string(""), std::string(binary_status_text(Status::Success)));
  }

  void testAsciiStorageLines() {
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), line(Op::Set, false, Status::Success));
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), line(Op::Append, false, Status::Success));
    CPPUNIT_ASSERT_EQUAL(std::string("NOT_STORED"), line(Op::Add, false, Status::KeyExists));
    CPPUNIT_ASSERT_EQUAL(std::string("NOT_STORED"), line(Op::Replace, false, Status::KeyNotFound));
    CPPUNIT_ASSERT_EQUAL(std::string("NOT_STORED"), line(Op::Append, false, Status::KeyNotFound));
    CPPUNIT_ASSERT_EQUAL(std::string("NOT_STORED"), line(Op::Prepend, false, Status::NotStored));
    CPPUNIT_ASSERT_EQUAL(std::string("NOT_FOUND"), line(Op::Set, true, Status::KeyNotFound));
    CPPUNIT_ASSERT_EQUAL(std::string("EXISTS"), line(Op::Set, true, Status::KeyExists));
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR object too large for cache"), line(Op::Set, false, Status::TooLarge));
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR out of memory storing object"),
                         line(Op::Add, false, Status::OutOfMemory));
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR not my vbucket"), line(Op::Set, false, Status::NotMyVbucket));
  }

  void testAsciiOtherLines() {
    CPPUNIT_ASSERT_EQUAL(std::string("DELETED"), line(Op::Delete, false, Status::Success));
    CPPUNIT_ASSERT_EQUAL(std::string("NOT_FOUND"), line(Op::Delete, false, Status::KeyNotFound));
    CPPUNIT_ASSERT_EQUAL(std::string("TOUCHED"), line(Op::Touch, false, Status::Success));  // not STORED (moxi bug)
    CPPUNIT_ASSERT_EQUAL(std::string("NOT_FOUND"), line(Op::Touch, false, Status::KeyNotFound));
    CPPUNIT_ASSERT_EQUAL(std::string("OK"), line(Op::Flush, false, Status::Success));
    CPPUNIT_ASSERT_EQUAL(std::string("OK"), line(Op::Verbosity, false, Status::Success));
    CPPUNIT_ASSERT_EQUAL(std::string("NOT_FOUND"), line(Op::Incr, false, Status::KeyNotFound));
    CPPUNIT_ASSERT_EQUAL(std::string("CLIENT_ERROR cannot increment or decrement non-numeric value"),
                         line(Op::Incr, false, Status::DeltaBadValue));
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR out of memory"), line(Op::Incr, false, Status::OutOfMemory));
    CPPUNIT_ASSERT_EQUAL(std::string("ERROR"), line(Op::Stats, false, Status::UnknownCommand));
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR temporary failure"),
                         line(Op::Get, false, Status::TemporaryFailure));
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR system is busy"), line(Op::Get, false, Status::Busy));
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR unknown error"), line(Op::Get, false, static_cast<Status>(0x99)));
  }

  void testMergeSumsCounters() {
    Request r;
    merge_stat(r, "cmd_get", "10");
    merge_stat(r, "curr_items", "3");
    merge_stat(r, "cmd_get", "5");
    merge_stat(r, "curr_items", "4");
    merge_stat(r, "total_items", "18446744073709551615");
    CPPUNIT_ASSERT_EQUAL(size_t{3}, r.stats.size());
    CPPUNIT_ASSERT_EQUAL(std::string("cmd_get"), r.stats[0].first);  // first-seen order
    CPPUNIT_ASSERT_EQUAL(std::string("15"), r.stats[0].second);
    CPPUNIT_ASSERT_EQUAL(std::string("7"), r.stats[1].second);
    CPPUNIT_ASSERT_EQUAL(std::string("18446744073709551615"), r.stats[2].second);
  }

  void testMergeKeepsIdentityAndMax() {
    Request r;
    merge_stat(r, "pid", "100");
    merge_stat(r, "pid", "200");
    merge_stat(r, "version", "1.6.18");
    merge_stat(r, "version", "1.6.18");
    merge_stat(r, "uptime", "50");
    merge_stat(r, "uptime", "70");
    merge_stat(r, "uptime", "60");
    merge_stat(r, "time", "1700000001");
    merge_stat(r, "time", "1700000000");
    merge_stat(r, "pointer_size", "64");
    merge_stat(r, "pointer_size", "64");
    merge_stat(r, "threads", "4");
    merge_stat(r, "threads", "8");
    CPPUNIT_ASSERT_EQUAL(std::string("mixed"), r.stats[0].second);  // identities that differ
    CPPUNIT_ASSERT_EQUAL(std::string("1.6.18"), r.stats[1].second);  // ... and that agree
    CPPUNIT_ASSERT_EQUAL(std::string("70"), r.stats[2].second);
    CPPUNIT_ASSERT_EQUAL(std::string("1700000001"), r.stats[3].second);
    CPPUNIT_ASSERT_EQUAL(std::string("64"), r.stats[4].second);
    CPPUNIT_ASSERT_EQUAL(std::string("mixed"), r.stats[5].second);  // threads: a setting, not a sum
  }

  // Every field of "stats settings" is a setting: tcpport and maxconns are
  // never added up.
  void testMergeSettings() {
    Request r;
    r.stats_args = "settings";
    merge_stat(r, "tcpport", "11211");
    merge_stat(r, "tcpport", "11212");
    merge_stat(r, "maxconns", "1024");
    merge_stat(r, "maxconns", "1024");
    merge_stat(r, "evictions", "on");
    merge_stat(r, "evictions", "on");
    CPPUNIT_ASSERT_EQUAL(std::string("mixed"), r.stats[0].second);
    CPPUNIT_ASSERT_EQUAL(std::string("1024"), r.stats[1].second);
    CPPUNIT_ASSERT_EQUAL(std::string("on"), r.stats[2].second);
    CPPUNIT_ASSERT(merge_rule("", "accepting_conns") == MergeRule::Min);
    CPPUNIT_ASSERT(merge_rule("", "items:3:age") == MergeRule::Max);
    CPPUNIT_ASSERT(merge_rule("", "cmd_get") == MergeRule::Sum);
    CPPUNIT_ASSERT(merge_rule("settings", "cmd_get") == MergeRule::Same);
    Request a;
    merge_stat(a, "accepting_conns", "1");
    merge_stat(a, "accepting_conns", "0");
    CPPUNIT_ASSERT_EQUAL(std::string("0"), a.stats[0].second);
  }

  // Broadcast answers combine in server order, whatever order they came in.
  void testCombineBroadcast() {
    Request flush;
    flush.op = Op::Flush;
    flush.results.resize(3);
    flush.results[2].server_error(Status::InternalError, "proxy downstream closed 127.0.0.1:2");
    flush.results[1].status = Status::AuthError;
    CPPUNIT_ASSERT_EQUAL(size_t{2}, combine_broadcast(flush, 3));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, flush.results.size());
    status_is(Status::AuthError, flush.results[0]);  // server 1's, the first failing one
    CPPUNIT_ASSERT_EQUAL(std::string("CLIENT_ERROR flush_all not allowed"),  // what memcached -F says in ascii
                         std::string(ascii_status_line(Op::Flush, false, Status::AuthError)));

    Request ok;
    ok.op = Op::Flush;
    ok.results.resize(2);
    CPPUNIT_ASSERT_EQUAL(size_t{0}, combine_broadcast(ok, 2));
    status_is(Status::Success, ok.results[0]);

    Request stats;
    stats.op = Op::Stats;
    stats.results.resize(3);
    stats.server_stats = {{{"pid", "7"}, {"curr_items", "2"}}, {}, {{"curr_items", "3"}, {"pid", "7"}}};
    stats.results[1].server_error(Status::InternalError, "proxy downstream timeout 127.0.0.1:1");
    CPPUNIT_ASSERT_EQUAL(size_t{1}, combine_broadcast(stats, 3));
    CPPUNIT_ASSERT_EQUAL(size_t{3}, stats.stats.size());
    CPPUNIT_ASSERT_EQUAL(std::string("pid"), stats.stats[0].first);  // server 0's order
    CPPUNIT_ASSERT_EQUAL(std::string("7"), stats.stats[0].second);
    CPPUNIT_ASSERT_EQUAL(std::string("5"), stats.stats[1].second);
    CPPUNIT_ASSERT_EQUAL(std::string("moxi_servers_missing"), stats.stats[2].first);
    CPPUNIT_ASSERT_EQUAL(std::string("1"), stats.stats[2].second);
    status_is(Status::Success, stats.results[0]);
    CPPUNIT_ASSERT(stats.server_stats.empty());

    Request none;
    none.op = Op::Stats;
    none.results.resize(2);
    none.results[0].status = Status::KeyNotFound;  // "stats bogus" everywhere
    none.results[1].status = Status::KeyNotFound;
    CPPUNIT_ASSERT_EQUAL(size_t{2}, combine_broadcast(none, 2));
    status_is(Status::KeyNotFound, none.results[0]);
    CPPUNIT_ASSERT(none.stats.empty());
  }

  void testMergeFloatsAndText() {
    Request r;
    merge_stat(r, "rusage_user", "0.500000");
    merge_stat(r, "rusage_user", "1.250000");
    merge_stat(r, "libevent_like", "abc");
    merge_stat(r, "libevent_like", "abc");
    merge_stat(r, "mixed", "12");
    merge_stat(r, "mixed", "n/a");
    CPPUNIT_ASSERT_EQUAL(std::string("1.750000"), r.stats[0].second);
    CPPUNIT_ASSERT_EQUAL(std::string("abc"), r.stats[1].second);
    CPPUNIT_ASSERT_EQUAL(std::string("mixed"), r.stats[2].second);  // a number and a text
  }

  void testMergeBySuffix() {
    Request r;
    merge_stat(r, "items:1:age", "10");
    merge_stat(r, "items:1:age", "30");
    merge_stat(r, "items:1:number", "10");
    merge_stat(r, "items:1:number", "30");
    CPPUNIT_ASSERT_EQUAL(std::string("30"), r.stats[0].second);
    CPPUNIT_ASSERT_EQUAL(std::string("40"), r.stats[1].second);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(TablesTest);

}  // namespace moxi::protocol
