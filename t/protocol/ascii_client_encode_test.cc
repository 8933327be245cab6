// Ascii client encoder: the exact bytes of every reply.
#include <cppunit/extensions/HelperMacros.h>

#include "src/protocol/client_codec.h"
#include "t/protocol/test_util.h"

namespace moxi::protocol {

namespace {

// A request as the ascii decoder would produce it, with results prepared.
Request make(Op op, std::initializer_list<std::string_view> keys = {}) {
  Request r;
  r.protocol = Protocol::Ascii;
  r.op = op;
  for (auto k : keys) r.add_key(k);
  r.prepare_results();
  return r;
}

std::string reply(const Request& req) {
  auto codec = make_ascii_client_codec(Limits{});
  ByteChain out;
  codec->encode(req, out);
  return out.str();
}

void hit(Result& r, std::string_view value, uint32_t flags = 0, uint64_t cas = 0) {
  r.hit = true;
  r.flags = flags;
  r.cas = cas;
  r.value.append(value);
}

void miss(Result& r) { r.status = Status::KeyNotFound; }

Request with_status(Op op, Status s, bool cas = false) {
  Request r = make(op, {"k"});
  if (cas) r.cas = 5;
  r.results[0].status = s;
  return r;
}

}  // namespace

class AsciiClientEncodeTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(AsciiClientEncodeTest);
  CPPUNIT_TEST(testGetHitsInKeyOrder);
  CPPUNIT_TEST(testGetsCarryCas);
  CPPUNIT_TEST(testGetDuplicates);
  CPPUNIT_TEST(testGetFailures);
  CPPUNIT_TEST(testGetNoKeys);
  CPPUNIT_TEST(testValuesAreMoved);
  CPPUNIT_TEST(testStorageReplies);
  CPPUNIT_TEST(testOtherReplies);
  CPPUNIT_TEST(testErrorClasses);
  CPPUNIT_TEST(testStats);
  CPPUNIT_TEST(testVersion);
  CPPUNIT_TEST(testInvalid);
  CPPUNIT_TEST(testNoreplySuppressesEverything);
  CPPUNIT_TEST(testQuitAndMissingResults);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testGetHitsInKeyOrder() {
    Request r = make(Op::Get, {"a", "b", "c"});
    hit(r.results[2], "ccc", 3);
    miss(r.results[1]);
    hit(r.results[0], "a\r\nA", 4294967295u);
    ASSERT_BYTES("VALUE a 4294967295 4\r\na\r\nA\r\nVALUE c 3 3\r\nccc\r\nEND\r\n", reply(r));
    Request none = make(Op::Get, {"a", "b"});
    miss(none.results[0]);
    miss(none.results[1]);
    ASSERT_BYTES("END\r\n", reply(none));
  }

  void testGetsCarryCas() {
    Request r = make(Op::Get, {"a"});
    r.want_cas = true;
    hit(r.results[0], "x", 1, 18446744073709551615ull);
    ASSERT_BYTES("VALUE a 1 1 18446744073709551615\r\nx\r\nEND\r\n", reply(r));
    Request g = make(Op::Gat, {"a"});
    g.want_cas = true;
    hit(g.results[0], "", 0, 7);
    ASSERT_BYTES("VALUE a 0 0 7\r\n\r\nEND\r\n", reply(g));
  }

  void testGetDuplicates() {
    Request r = make(Op::Get, {"a", "b", "a"});
    hit(r.results[0], "1");
    miss(r.results[1]);
    hit(r.results[2], "1");
    ASSERT_BYTES("VALUE a 0 1\r\n1\r\nVALUE a 0 1\r\n1\r\nEND\r\n", reply(r));
  }

  void testGetFailures() {
    // A failed key reads as a miss when others were answered ...
    Request r = make(Op::Get, {"a", "b"});
    hit(r.results[0], "1");
    r.results[1].server_error(Status::InternalError, "proxy downstream closed 127.0.0.1");
    ASSERT_BYTES("VALUE a 0 1\r\n1\r\nEND\r\n", reply(r));
    Request m = make(Op::Get, {"a", "b"});
    miss(m.results[0]);
    m.results[1].server_error(Status::InternalError, "proxy downstream closed 127.0.0.1");
    ASSERT_BYTES("END\r\n", reply(m));
    // ... but when every key failed the client sees the error.
    Request one = make(Op::Get, {"a"});
    one.results[0].server_error(Status::Busy, "proxy downstream timeout 127.0.0.1");
    ASSERT_BYTES("SERVER_ERROR proxy downstream timeout 127.0.0.1\r\n", reply(one));
    Request dup = make(Op::Get, {"a", "a"});
    dup.results[0].server_error(Status::InternalError, "proxy write to downstream");
    dup.results[1].server_error(Status::InternalError, "proxy write to downstream");
    ASSERT_BYTES("SERVER_ERROR proxy write to downstream\r\n", reply(dup));
    Request nmvb = make(Op::Get, {"a"});
    nmvb.results[0].status = Status::NotMyVbucket;  // retries used up
    ASSERT_BYTES("SERVER_ERROR not my vbucket\r\n", reply(nmvb));
    // a per-key client error (e.g. unsendable key) stays a miss
    Request ce = make(Op::Get, {"a"});
    ce.results[0].status = Status::InvalidArguments;
    ce.results[0].error_class = ErrorClass::ClientError;
    ce.results[0].message = "key cannot be sent over the ascii protocol";
    ASSERT_BYTES("END\r\n", reply(ce));
  }

  void testGetNoKeys() {
    Request r = make(Op::Gat);  // "gat 100": memcached answers END
    ASSERT_BYTES("END\r\n", reply(r));
  }

  void testValuesAreMoved() {
    // A small value is held inline and copied into the reply line.
    Request r = make(Op::Get, {"a"});
    hit(r.results[0], "value");
    CPPUNIT_ASSERT(r.results[0].value.is_small());
    ASSERT_BYTES("VALUE a 0 5\r\nvalue\r\nEND\r\n", reply(r));
    // A big one is held as a ByteChain, whose segments move into the output.
    Request big = make(Op::Get, {"b"});
    const std::string bytes(ValueBytes::kInlineMax * 4, 'x');
    hit(big.results[0], bytes);
    CPPUNIT_ASSERT(!big.results[0].value.is_small());
    ASSERT_BYTES("VALUE b 0 " + std::to_string(bytes.size()) + "\r\n" + bytes + "\r\nEND\r\n", reply(big));
    CPPUNIT_ASSERT(big.results[0].value.empty());
  }

  void testStorageReplies() {
    ASSERT_BYTES("STORED\r\n", reply(with_status(Op::Set, Status::Success)));
    ASSERT_BYTES("STORED\r\n", reply(with_status(Op::Add, Status::Success)));
    ASSERT_BYTES("STORED\r\n", reply(with_status(Op::Prepend, Status::Success)));
    ASSERT_BYTES("NOT_STORED\r\n", reply(with_status(Op::Add, Status::KeyExists)));
    ASSERT_BYTES("NOT_STORED\r\n", reply(with_status(Op::Replace, Status::KeyNotFound)));
    ASSERT_BYTES("NOT_STORED\r\n", reply(with_status(Op::Append, Status::NotStored)));
    ASSERT_BYTES("NOT_FOUND\r\n", reply(with_status(Op::Set, Status::KeyNotFound, true)));
    ASSERT_BYTES("EXISTS\r\n", reply(with_status(Op::Set, Status::KeyExists, true)));
    ASSERT_BYTES("SERVER_ERROR object too large for cache\r\n", reply(with_status(Op::Set, Status::TooLarge)));
    ASSERT_BYTES("SERVER_ERROR out of memory storing object\r\n", reply(with_status(Op::Set, Status::OutOfMemory)));
    ASSERT_BYTES("SERVER_ERROR not my vbucket\r\n", reply(with_status(Op::Set, Status::NotMyVbucket)));
    ASSERT_BYTES("SERVER_ERROR temporary failure\r\n", reply(with_status(Op::Set, Status::TemporaryFailure)));
  }

  void testOtherReplies() {
    Request incr = with_status(Op::Incr, Status::Success);
    incr.results[0].number = 18446744073709551615ull;
    ASSERT_BYTES("18446744073709551615\r\n", reply(incr));
    ASSERT_BYTES("NOT_FOUND\r\n", reply(with_status(Op::Decr, Status::KeyNotFound)));
    ASSERT_BYTES("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
                 reply(with_status(Op::Incr, Status::DeltaBadValue)));
    ASSERT_BYTES("DELETED\r\n", reply(with_status(Op::Delete, Status::Success)));
    ASSERT_BYTES("NOT_FOUND\r\n", reply(with_status(Op::Delete, Status::KeyNotFound)));
    ASSERT_BYTES("TOUCHED\r\n", reply(with_status(Op::Touch, Status::Success)));
    ASSERT_BYTES("NOT_FOUND\r\n", reply(with_status(Op::Touch, Status::KeyNotFound)));
    ASSERT_BYTES("OK\r\n", reply(make(Op::Flush)));
    ASSERT_BYTES("OK\r\n", reply(make(Op::Verbosity)));
    Request flush_err = make(Op::Flush);
    flush_err.results[0].status = Status::NotSupported;
    ASSERT_BYTES("SERVER_ERROR not supported\r\n", reply(flush_err));
  }

  void testErrorClasses() {
    Request r = make(Op::Set, {"k"});
    r.results[0].server_error(Status::InternalError, "proxy downstream closed 10.0.0.1");
    ASSERT_BYTES("SERVER_ERROR proxy downstream closed 10.0.0.1\r\n", reply(r));
    r.results[0].error_class = ErrorClass::ClientError;
    r.results[0].message = "bad data chunk";
    ASSERT_BYTES("CLIENT_ERROR bad data chunk\r\n", reply(r));
    r.results[0].error_class = ErrorClass::Error;
    r.results[0].message.clear();
    ASSERT_BYTES("ERROR\r\n", reply(r));
    // A class without text falls back to the status text.
    r.results[0].error_class = ErrorClass::ServerError;
    r.results[0].status = Status::Busy;
    ASSERT_BYTES("SERVER_ERROR system is busy\r\n", reply(r));
  }

  void testStats() {
    Request r = make(Op::Stats);
    r.stats = {{"pid", "42"}, {"cmd_get", "10"}};
    ASSERT_BYTES("STAT pid 42\r\nSTAT cmd_get 10\r\nEND\r\n", reply(r));
    Request empty = make(Op::Stats);
    ASSERT_BYTES("END\r\n", reply(empty));
    Request reset = make(Op::Stats);
    reset.stats_args = "reset";
    ASSERT_BYTES("RESET\r\n", reply(reset));
    Request bad = make(Op::Stats);
    bad.results[0].status = Status::UnknownCommand;
    bad.results[0].error_class = ErrorClass::Error;
    ASSERT_BYTES("ERROR\r\n", reply(bad));
    // A binary backend's "no such stats group" reads as memcached's ascii ERROR.
    Request unknown_group = make(Op::Stats);
    unknown_group.stats_args = "noreply";
    unknown_group.results[0].status = Status::KeyNotFound;
    ASSERT_BYTES("ERROR\r\n", reply(unknown_group));
  }

  void testVersion() {
    Request r = make(Op::Version);
    r.results[0].message = "2.0.0";
    ASSERT_BYTES("VERSION 2.0.0\r\n", reply(r));
  }

  void testInvalid() {
    Request r = make(Op::Invalid);
    r.error_class = ErrorClass::ClientError;
    r.error_text = "bad command line format";
    ASSERT_BYTES("CLIENT_ERROR bad command line format\r\n", reply(r));
    r.error_class = ErrorClass::Error;
    r.error_text.clear();
    ASSERT_BYTES("ERROR\r\n", reply(r));
    r.error_class = ErrorClass::None;  // e.g. an HTTP request: closed silently
    ASSERT_BYTES("", reply(r));
  }

  void testNoreplySuppressesEverything() {
    for (Status s : {Status::Success, Status::KeyExists, Status::TooLarge}) {
      Request r = with_status(Op::Set, s);
      r.noreply = true;
      ASSERT_BYTES("", reply(r));
    }
    Request inv = make(Op::Invalid);
    inv.error_class = ErrorClass::ClientError;
    inv.error_text = "bad data chunk";
    inv.noreply = true;
    ASSERT_BYTES("", reply(inv));
    Request fl = make(Op::Flush);
    fl.noreply = true;
    ASSERT_BYTES("", reply(fl));
  }

  void testQuitAndMissingResults() {
    ASSERT_BYTES("", reply(make(Op::Quit)));
    Request r;
    r.op = Op::Set;
    r.add_key("k");  // results never prepared: a core bug, reported, not a crash
    ASSERT_BYTES("SERVER_ERROR proxy produced no result\r\n", reply(r));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AsciiClientEncodeTest);

}  // namespace moxi::protocol
