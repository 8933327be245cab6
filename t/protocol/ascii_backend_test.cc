// Ascii backend codec: exact request bytes, reply parsing (split reads,
// errors, desync detection).
#include <cppunit/extensions/HelperMacros.h>

#include "src/protocol/backend_codec.h"
#include "t/protocol/backend_test_util.h"
#include "t/protocol/test_util.h"

namespace moxi::protocol {

namespace {

Request make(Op op, std::initializer_list<std::string_view> keys = {}) {
  Request r;
  r.op = op;
  for (auto k : keys) r.add_key(k);
  r.prepare_results();
  return r;
}

using test::encode;  // encode(codec, op)

std::string encode(Request& req, std::vector<uint32_t> indexes = {}) {
  auto codec = make_ascii_backend_codec();
  BackendOp op;
  op.request = &req;
  op.key_indexes = std::move(indexes);
  return encode(*codec, op);
}

// The shared round trips (backend_test_util.h), with this codec.
BackendDecode roundtrip(Request& req, std::string_view reply, size_t* left = nullptr, std::string* sent = nullptr) {
  return test::roundtrip(make_ascii_backend_codec, req, reply, left, sent);
}
BackendDecode trickle(Request& req, std::string_view reply) { return test::trickle(make_ascii_backend_codec, req, reply); }

void status_is(Status s, const Result& r) { CPPUNIT_ASSERT_EQUAL(static_cast<int>(s), static_cast<int>(r.status)); }

}  // namespace

class AsciiBackendTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(AsciiBackendTest);
  CPPUNIT_TEST(testEncodeGets);
  CPPUNIT_TEST(testEncodeGatBatches);
  CPPUNIT_TEST(testEncodeStorage);
  CPPUNIT_TEST(testEncodeOthers);
  CPPUNIT_TEST(testEncodeStandIns);
  CPPUNIT_TEST(testDecodeMultiget);
  CPPUNIT_TEST(testDecodeMultigetSplit);
  CPPUNIT_TEST(testDecodeGatBatches);
  CPPUNIT_TEST(testDecodeGetErrors);
  CPPUNIT_TEST(testDecodeGetDesync);
  CPPUNIT_TEST(testDecodeStorage);
  CPPUNIT_TEST(testDecodeErrorLines);
  CPPUNIT_TEST(testDecodeIncr);
  CPPUNIT_TEST(testDecodeIncrCreate);
  CPPUNIT_TEST(testDecodeSimple);
  CPPUNIT_TEST(testDecodeStats);
  CPPUNIT_TEST(testDecodeStandIns);
  CPPUNIT_TEST(testPipelinedOps);
  CPPUNIT_TEST(testRetryOverwrites);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testEncodeGets() {
    Request r = make(Op::Get, {"a", "b", "c", "b"});
    ASSERT_BYTES("get a b c b\r\n", encode(r));
    ASSERT_BYTES("get c a\r\n", encode(r, {2, 0}));  // this server's subset, in the given order
    r.want_cas = true;
    ASSERT_BYTES("gets a b c b\r\n", encode(r));
    Request b = make(Op::Get, {"a"});
    b.protocol = Protocol::Binary;  // binary responses always carry the CAS
    ASSERT_BYTES("gets a\r\n", encode(b));
    Request g = make(Op::Gat, {"a", "b"});
    g.exptime = -5;
    ASSERT_BYTES("gat -5 a b\r\n", encode(g));
    g.want_cas = true;
    g.exptime = 4000000000;  // a binary client's far-future absolute time
    ASSERT_BYTES("gats 2147483647 a b\r\n", encode(g));
  }

  void testEncodeGatBatches() {
    // memcached closes on a gat line over 2048 bytes: keys go out in batches.
    Request g = make(Op::Gat);
    const std::string k(200, 'k');
    for (int i = 0; i < 25; ++i) g.add_key(k + std::to_string(i % 10));
    g.prepare_results();
    std::string sent = encode(g);
    size_t lines = 0;
    size_t keys = 0;
    for (size_t at = 0; at < sent.size();) {
      size_t end = sent.find("\r\n", at);
      CPPUNIT_ASSERT(end != std::string::npos);
      CPPUNIT_ASSERT(end + 2 - at <= 2048);
      CPPUNIT_ASSERT(sent.compare(at, 6, "gat 0 ") == 0);
      std::string line = sent.substr(at, end - at);
      for (char c : line) keys += c == ' ';
      keys -= 1;  // "gat 0"
      ++lines;
      at = end + 2;
    }
    CPPUNIT_ASSERT_EQUAL(size_t{3}, lines);
    CPPUNIT_ASSERT_EQUAL(size_t{25}, keys);
    // get lines are never split (memcached accepts long get/gets lines)
    Request l = make(Op::Get);
    for (int i = 0; i < 25; ++i) l.add_key(k);
    l.prepare_results();
    std::string one = encode(l);
    CPPUNIT_ASSERT_EQUAL(one.size() - 2, one.find("\r\n"));
  }

  void testEncodeStorage() {
    Request s = make(Op::Set, {"k"});
    s.flags = 42;
    s.exptime = -1;  // passed through: memcached treats it as expired
    s.value.append("a\r\nb");
    ASSERT_BYTES("set k 42 -1 4\r\na\r\nb\r\n", encode(s));
    CPPUNIT_ASSERT_EQUAL(std::string("a\r\nb"), s.value.str());  // referenced, still there for a retry
    ASSERT_BYTES("set k 42 -1 4\r\na\r\nb\r\n", encode(s));
    s.cas = 99;
    ASSERT_BYTES("cas k 42 -1 4 99\r\na\r\nb\r\n", encode(s));
    Request a = make(Op::Add, {"k"});
    a.value.append("v");
    ASSERT_BYTES("add k 0 0 1\r\nv\r\n", encode(a));
    a.cas = 3;  // binary ADD with CAS: memcached stores it as a CAS
    ASSERT_BYTES("cas k 0 0 1 3\r\nv\r\n", encode(a));
    Request rp = make(Op::Replace, {"k"});
    rp.exptime = 4294967295;  // binary far future: clamped, not truncated into "expired"
    ASSERT_BYTES("replace k 0 2147483647 0\r\n\r\n", encode(rp));
    Request ap = make(Op::Append, {"k"});
    ap.value.append("tail");
    ASSERT_BYTES("append k 0 0 4\r\ntail\r\n", encode(ap));
    Request pp = make(Op::Prepend, {"k"});
    pp.value.append("head");
    ASSERT_BYTES("prepend k 0 0 4\r\nhead\r\n", encode(pp));
    // a value made of many segments
    Request big = make(Op::Set, {"k"});
    std::string v;
    for (int i = 0; i < 1000; ++i) {
      std::string piece(97, static_cast<char>('a' + i % 26));
      big.value.append(piece);
      v += piece;
    }
    ASSERT_BYTES("set k 0 0 97000\r\n" + v + "\r\n", encode(big));
  }

  void testEncodeOthers() {
    Request i = make(Op::Incr, {"n"});
    i.delta = 18446744073709551615ull;
    ASSERT_BYTES("incr n 18446744073709551615\r\n", encode(i));
    Request d = make(Op::Decr, {"n"});
    d.delta = 1;
    ASSERT_BYTES("decr n 1\r\n", encode(d));
    Request c = make(Op::Incr, {"n"});  // binary incr with an initial value
    c.delta = 2;
    c.create = true;
    c.initial = 100;
    c.exptime = 60;
    ASSERT_BYTES("incr n 2\r\nadd n 0 60 3\r\n100\r\n", encode(c));
    Request del = make(Op::Delete, {"k"});
    ASSERT_BYTES("delete k\r\n", encode(del));
    Request t = make(Op::Touch, {"k"});
    t.exptime = 10;
    ASSERT_BYTES("touch k 10\r\n", encode(t));
    Request f = make(Op::Flush);
    ASSERT_BYTES("flush_all\r\n", encode(f));
    f.has_exptime = true;
    f.exptime = 30;
    ASSERT_BYTES("flush_all 30\r\n", encode(f));
    Request s = make(Op::Stats);
    ASSERT_BYTES("stats\r\n", encode(s));
    s.stats_args = "slabs";
    ASSERT_BYTES("stats slabs\r\n", encode(s));
    Request ver = make(Op::Version);
    ASSERT_BYTES("version\r\n", encode(ver));
    Request noop = make(Op::Noop);
    ASSERT_BYTES("version\r\n", encode(noop));  // a cheap ping with a reply
    Request v = make(Op::Verbosity);
    v.verbosity = 2;
    ASSERT_BYTES("verbosity 2\r\n", encode(v));
  }

  void testEncodeStandIns() {
    // what ascii cannot say is not sent; a version keeps the reply order
    Request k = make(Op::Set, {"a b"});
    ASSERT_BYTES("version\r\n", encode(k));
    Request ap = make(Op::Append, {"k"});
    ap.cas = 5;
    ASSERT_BYTES("version\r\n", encode(ap));
    Request in = make(Op::Incr, {"k"});
    in.cas = 5;
    ASSERT_BYTES("version\r\n", encode(in));
    Request q = make(Op::Quit);
    ASSERT_BYTES("version\r\n", encode(q));
    Request g = make(Op::Get, {"ok", "bad\nkey", std::string(251, 'k')});
    ASSERT_BYTES("get ok\r\n", encode(g));  // unsendable keys are left out
    Request none = make(Op::Get, {"x y"});
    ASSERT_BYTES("version\r\n", encode(none));
    Request empty = make(Op::Gat);
    ASSERT_BYTES("version\r\n", encode(empty));
    Request st = make(Op::Stats);
    st.stats_args = "a\r\nflush_all";
    ASSERT_BYTES("version\r\n", encode(st));  // no command injection through STAT keys
    Request cc = make(Op::ClusterConfig);  // binary only
    ASSERT_BYTES("version\r\n", encode(cc));
  }

  void testDecodeMultiget() {
    Request r = make(Op::Get, {"a", "b", "c", "a"});
    r.want_cas = true;
    size_t left = 1;
    CPPUNIT_ASSERT(roundtrip(r,
                             "VALUE a 1 3 10\r\nv\r\n\r\nVALUE c 4294967295 0 11\r\n\r\n"
                             "VALUE a 1 3 12\r\nv\r\n\r\nEND\r\n",
                             &left) == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(size_t{0}, left);
    CPPUNIT_ASSERT(r.results[0].hit);
    CPPUNIT_ASSERT_EQUAL(std::string("v\r\n"), r.results[0].value.str());
    CPPUNIT_ASSERT_EQUAL(uint32_t{1}, r.results[0].flags);
    CPPUNIT_ASSERT_EQUAL(uint64_t{10}, r.results[0].cas);
    CPPUNIT_ASSERT(!r.results[1].hit);
    status_is(Status::KeyNotFound, r.results[1]);
    CPPUNIT_ASSERT(r.results[2].hit && r.results[2].value.empty());
    CPPUNIT_ASSERT_EQUAL(uint32_t{4294967295u}, r.results[2].flags);
    CPPUNIT_ASSERT(r.results[3].hit);
    CPPUNIT_ASSERT_EQUAL(uint64_t{12}, r.results[3].cas);

    Request m = make(Op::Get, {"a", "b"});
    CPPUNIT_ASSERT(roundtrip(m, "END\r\n") == BackendDecode::Done);
    status_is(Status::KeyNotFound, m.results[0]);
    status_is(Status::KeyNotFound, m.results[1]);
  }

  void testDecodeMultigetSplit() {
    Request r = make(Op::Get, {"a", "b"});
    CPPUNIT_ASSERT(trickle(r, "VALUE b 0 5\r\nx\r\nyz\r\nEND\r\n") == BackendDecode::Done);
    CPPUNIT_ASSERT(!r.results[0].hit && r.results[1].hit);
    CPPUNIT_ASSERT_EQUAL(std::string("x\r\nyz"), r.results[1].value.str());
  }

  void testDecodeGatBatches() {
    Request g = make(Op::Gat);
    const std::string k(200, 'k');
    for (int i = 0; i < 25; ++i) g.add_key(k + std::to_string(i));
    g.prepare_results();
    // three lines were sent, so three END lines come back
    std::string reply = "VALUE " + k + "0 0 1\r\nx\r\nEND\r\nEND\r\nVALUE " + k + "24 0 1\r\ny\r\nEND\r\n";
    CPPUNIT_ASSERT(trickle(g, reply) == BackendDecode::Done);
    CPPUNIT_ASSERT(g.results[0].hit && g.results[24].hit);
    for (int i = 1; i < 24; ++i) status_is(Status::KeyNotFound, g.results[i]);
    // an error on one batch fails that batch's keys only
    Request h = make(Op::Gat);
    for (int i = 0; i < 25; ++i) h.add_key(k + std::to_string(i));
    h.prepare_results();
    CPPUNIT_ASSERT(roundtrip(h, "END\r\nSERVER_ERROR out of memory writing get response\r\nEND\r\n") ==
                   BackendDecode::Done);
    status_is(Status::KeyNotFound, h.results[0]);
    status_is(Status::OutOfMemory, h.results[12]);
    status_is(Status::KeyNotFound, h.results[24]);
  }

  void testDecodeGetErrors() {
    Request r = make(Op::Get, {"a", "b"});
    CPPUNIT_ASSERT(roundtrip(r, "VALUE a 0 1\r\nx\r\nSERVER_ERROR out of memory writing get response\r\n") ==
                   BackendDecode::Done);
    CPPUNIT_ASSERT(r.results[0].hit);
    status_is(Status::OutOfMemory, r.results[1]);
    Request c = make(Op::Get, {"a"});
    CPPUNIT_ASSERT(roundtrip(c, "CLIENT_ERROR bad command line format\r\n") == BackendDecode::Done);
    status_is(Status::InvalidArguments, c.results[0]);
    CPPUNIT_ASSERT(c.results[0].error_class == ErrorClass::ClientError);
    CPPUNIT_ASSERT_EQUAL(std::string("bad command line format"), c.results[0].message);
    // keys never sent get their own error
    Request u = make(Op::Get, {"bad key", "ok"});
    CPPUNIT_ASSERT(roundtrip(u, "END\r\n") == BackendDecode::Done);
    status_is(Status::InvalidArguments, u.results[0]);
    status_is(Status::KeyNotFound, u.results[1]);
  }

  void testDecodeGetDesync() {
    for (std::string bad : {"VALUE x 0 1\r\nx\r\nEND\r\n",         // a key we did not ask for
                            "VALUE b 0 1\r\nx\r\nVALUE a 0 1\r\ny\r\nEND\r\n",  // out of order
                            "VALUE a 0\r\n",                        // short VALUE line
                            "VALUE a x 1\r\nx\r\n",                 // bad flags
                            "VALUE a 0 1 2 3\r\nx\r\n",             // too many fields
                            "VALUE a 0 1\r\nxy\r\n",                // data not followed by CRLF
                            "STORED\r\n",                           // not a get reply
                            "VALUE a 0 20971521\r\n",               // over the item size: refused unbuffered
                            "hello\r\n"}) {
      Request r = make(Op::Get, {"a", "b"});
      CPPUNIT_ASSERT_MESSAGE(test::printable(bad), roundtrip(r, bad) == BackendDecode::Desync);
    }
    Request r = make(Op::Get, {"a"});
    CPPUNIT_ASSERT(roundtrip(r, std::string(70000, 'x')) == BackendDecode::Desync);  // no line end in sight
    Request n = make(Op::Get, {"a"});
    CPPUNIT_ASSERT(roundtrip(n, "VALUE a 0 1\r\n") == BackendDecode::NeedMore);
  }

  void testDecodeStorage() {
    struct Case {
      Op op;
      bool cas;
      const char* line;
      Status expect;
    } cases[] = {
        {Op::Set, false, "STORED", Status::Success},        {Op::Set, false, "NOT_STORED", Status::NotStored},
        {Op::Add, false, "NOT_STORED", Status::KeyExists},  {Op::Replace, false, "NOT_STORED", Status::KeyNotFound},
        {Op::Append, false, "NOT_STORED", Status::NotStored}, {Op::Prepend, false, "STORED", Status::Success},
        {Op::Set, true, "EXISTS", Status::KeyExists},       {Op::Set, true, "NOT_FOUND", Status::KeyNotFound},
    };
    for (const auto& c : cases) {
      Request r = make(c.op, {"k"});
      if (c.cas) r.cas = 1;
      CPPUNIT_ASSERT(roundtrip(r, std::string(c.line) + "\r\n") == BackendDecode::Done);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(c.line, static_cast<int>(c.expect), static_cast<int>(r.results[0].status));
    }
    Request r = make(Op::Set, {"k"});
    CPPUNIT_ASSERT(roundtrip(r, "DELETED\r\n") == BackendDecode::Desync);
    CPPUNIT_ASSERT(trickle(r, "STORED\r\n") == BackendDecode::Done);
  }

  void testDecodeErrorLines() {
    struct Case {
      const char* line;
      Status status;
      ErrorClass cls;
      const char* message;
    } cases[] = {
        {"CLIENT_ERROR cannot increment or decrement non-numeric value", Status::DeltaBadValue, ErrorClass::None, ""},
        {"SERVER_ERROR object too large for cache", Status::TooLarge, ErrorClass::None, ""},
        {"SERVER_ERROR out of memory storing object", Status::OutOfMemory, ErrorClass::ServerError,
         "out of memory storing object"},
        {"SERVER_ERROR not my vbucket", Status::NotMyVbucket, ErrorClass::None, ""},
        {"SERVER_ERROR temporary failure", Status::TemporaryFailure, ErrorClass::None, ""},
        {"SERVER_ERROR proxy downstream timeout", Status::InternalError, ErrorClass::ServerError,
         "proxy downstream timeout"},
        {"CLIENT_ERROR bad data chunk", Status::InvalidArguments, ErrorClass::ClientError, "bad data chunk"},
        {"ERROR", Status::UnknownCommand, ErrorClass::Error, ""},
        {"ERROR: shutdown not enabled", Status::InternalError, ErrorClass::None, ""},  // not an error line form
    };
    for (const auto& c : cases) {
      Request r = make(Op::Incr, {"k"});
      BackendDecode d = roundtrip(r, std::string(c.line) + "\r\n");
      if (std::string(c.line).find("ERROR:") == 0) {
        CPPUNIT_ASSERT(d == BackendDecode::Desync);
        continue;
      }
      CPPUNIT_ASSERT_MESSAGE(c.line, d == BackendDecode::Done);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(c.line, static_cast<int>(c.status), static_cast<int>(r.results[0].status));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(c.line, static_cast<int>(c.cls), static_cast<int>(r.results[0].error_class));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(c.line, std::string(c.message), r.results[0].message);
    }
  }

  void testDecodeIncr() {
    Request r = make(Op::Incr, {"n"});
    CPPUNIT_ASSERT(roundtrip(r, "18446744073709551615\r\n") == BackendDecode::Done);
    status_is(Status::Success, r.results[0]);
    CPPUNIT_ASSERT_EQUAL(UINT64_MAX, r.results[0].number);
    CPPUNIT_ASSERT(roundtrip(r, "NOT_FOUND\r\n") == BackendDecode::Done);
    status_is(Status::KeyNotFound, r.results[0]);
    CPPUNIT_ASSERT(roundtrip(r, "12a\r\n") == BackendDecode::Desync);
    CPPUNIT_ASSERT(roundtrip(r, "STORED\r\n") == BackendDecode::Desync);
  }

  void testDecodeIncrCreate() {
    auto make_create = [] {
      Request c = make(Op::Incr, {"n"});
      c.create = true;
      c.initial = 100;
      c.delta = 1;
      return c;
    };
    Request miss = make_create();  // incr missed, the add created it: the initial value
    CPPUNIT_ASSERT(trickle(miss, "NOT_FOUND\r\nSTORED\r\n") == BackendDecode::Done);
    status_is(Status::Success, miss.results[0]);
    CPPUNIT_ASSERT_EQUAL(uint64_t{100}, miss.results[0].number);
    Request hit = make_create();  // incr hit, the add is refused: the incr's value
    CPPUNIT_ASSERT(roundtrip(hit, "8\r\nNOT_STORED\r\n") == BackendDecode::Done);
    status_is(Status::Success, hit.results[0]);
    CPPUNIT_ASSERT_EQUAL(uint64_t{8}, hit.results[0].number);
    Request race = make_create();  // created by someone else in between: NotStored, like memcached
    CPPUNIT_ASSERT(roundtrip(race, "NOT_FOUND\r\nNOT_STORED\r\n") == BackendDecode::Done);
    status_is(Status::NotStored, race.results[0]);
    Request bad = make_create();
    CPPUNIT_ASSERT(roundtrip(bad, "CLIENT_ERROR cannot increment or decrement non-numeric value\r\nNOT_STORED\r\n") ==
                   BackendDecode::Done);
    status_is(Status::DeltaBadValue, bad.results[0]);
    Request half = make_create();
    size_t left = 0;
    CPPUNIT_ASSERT(roundtrip(half, "NOT_FOUND\r\n", &left) == BackendDecode::NeedMore);
    CPPUNIT_ASSERT_EQUAL(size_t{0}, left);
  }

  void testDecodeSimple() {
    Request d = make(Op::Delete, {"k"});
    CPPUNIT_ASSERT(roundtrip(d, "DELETED\r\n") == BackendDecode::Done);
    status_is(Status::Success, d.results[0]);
    CPPUNIT_ASSERT(roundtrip(d, "NOT_FOUND\r\n") == BackendDecode::Done);
    status_is(Status::KeyNotFound, d.results[0]);
    Request t = make(Op::Touch, {"k"});
    CPPUNIT_ASSERT(roundtrip(t, "TOUCHED\r\n") == BackendDecode::Done);
    status_is(Status::Success, t.results[0]);
    CPPUNIT_ASSERT(roundtrip(t, "STORED\r\n") == BackendDecode::Desync);
    Request f = make(Op::Flush);
    CPPUNIT_ASSERT(roundtrip(f, "OK\r\n") == BackendDecode::Done);
    status_is(Status::Success, f.results[0]);
    // memcached -F: read as what its binary side says (auth failure), which
    // an ascii client is told as memcached's own line again.
    CPPUNIT_ASSERT(roundtrip(f, "CLIENT_ERROR flush_all not allowed\r\n") == BackendDecode::Done);
    status_is(Status::AuthError, f.results[0]);
    CPPUNIT_ASSERT(f.results[0].message.empty());
    CPPUNIT_ASSERT(roundtrip(f, "OK\r\n") == BackendDecode::Done);  // a later OK does not hide the error
    status_is(Status::AuthError, f.results[0]);
    Request v = make(Op::Version);
    CPPUNIT_ASSERT(roundtrip(v, "VERSION 1.6.18\r\n") == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(std::string("1.6.18"), v.results[0].message);
    Request vb = make(Op::Verbosity);
    CPPUNIT_ASSERT(roundtrip(vb, "OK\r\n") == BackendDecode::Done);
  }

  void testDecodeStats() {
    // The stats are kept as this server sent them (the core merges the
    // servers' lists in server order).
    Request s = make(Op::Stats);
    CPPUNIT_ASSERT(trickle(s, "STAT pid 2\r\nSTAT curr_items 7\r\nSTAT version 1.6.18 extra\r\nEND\r\n") ==
                   BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, s.server_stats.size());
    const auto& sent = s.server_stats[0];
    CPPUNIT_ASSERT_EQUAL(size_t{3}, sent.size());
    CPPUNIT_ASSERT_EQUAL(std::string("2"), sent[0].second);
    CPPUNIT_ASSERT_EQUAL(std::string("curr_items"), sent[1].first);
    CPPUNIT_ASSERT_EQUAL(std::string("7"), sent[1].second);
    CPPUNIT_ASSERT_EQUAL(std::string("1.6.18 extra"), sent[2].second);
    CPPUNIT_ASSERT(s.stats.empty());
    Request reset = make(Op::Stats);
    reset.stats_args = "reset";
    CPPUNIT_ASSERT(roundtrip(reset, "RESET\r\n") == BackendDecode::Done);
    Request bad = make(Op::Stats);
    CPPUNIT_ASSERT(roundtrip(bad, "ERROR\r\n") == BackendDecode::Done);
    status_is(Status::UnknownCommand, bad.results[0]);
    CPPUNIT_ASSERT(roundtrip(bad, "VALUE a 0 1\r\n") == BackendDecode::Desync);
  }

  void testDecodeStandIns() {
    Request k = make(Op::Set, {"a b"});
    CPPUNIT_ASSERT(roundtrip(k, "VERSION 1.6.18\r\n") == BackendDecode::Done);
    status_is(Status::InvalidArguments, k.results[0]);
    CPPUNIT_ASSERT(k.results[0].error_class == ErrorClass::ClientError);
    Request c = make(Op::Delete, {"k"});
    c.cas = 9;
    CPPUNIT_ASSERT(roundtrip(c, "VERSION 1.6.18\r\n") == BackendDecode::Done);
    status_is(Status::NotSupported, c.results[0]);
    Request g = make(Op::Get, {"x y", "a\rb"});
    CPPUNIT_ASSERT(roundtrip(g, "VERSION 1.6.18\r\n") == BackendDecode::Done);
    status_is(Status::InvalidArguments, g.results[0]);
    status_is(Status::InvalidArguments, g.results[1]);
    Request e = make(Op::Gat);
    CPPUNIT_ASSERT(roundtrip(e, "VERSION 1.6.18\r\n") == BackendDecode::Done);
    status_is(Status::Success, e.results[0]);
    Request cc = make(Op::ClusterConfig);
    CPPUNIT_ASSERT(roundtrip(cc, "VERSION 1.6.18\r\n") == BackendDecode::Done);
    status_is(Status::UnknownCommand, cc.results[0]);  // what memcached says to an opcode it does not know
    CPPUNIT_ASSERT(roundtrip(k, "STORED\r\n") == BackendDecode::Desync);
  }

  void testPipelinedOps() {
    auto codec = make_ascii_backend_codec();
    Request g = make(Op::Get, {"a"});
    Request s = make(Op::Set, {"b"});
    s.value.append("v");
    BackendOp og;
    og.request = &g;
    BackendOp os;
    os.request = &s;
    ByteChain out;
    codec->encode(og, out);
    codec->encode(os, out);
    ASSERT_BYTES("get a\r\nset b 0 0 1\r\nv\r\n", out.str());
    ByteChain in;
    in.append("VALUE a 0 2\r\nhi\r\nEND\r\nSTO");
    CPPUNIT_ASSERT(codec->decode(og, in) == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(size_t{3}, in.size());  // the next op's bytes are left alone
    CPPUNIT_ASSERT(codec->decode(os, in) == BackendDecode::NeedMore);
    in.append("RED\r\n");
    CPPUNIT_ASSERT(codec->decode(os, in) == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(std::string("hi"), g.results[0].value.str());
    status_is(Status::Success, s.results[0]);
  }

  void testRetryOverwrites() {
    Request s = make(Op::Set, {"k"});
    CPPUNIT_ASSERT(roundtrip(s, "SERVER_ERROR not my vbucket\r\n") == BackendDecode::Done);
    status_is(Status::NotMyVbucket, s.results[0]);
    CPPUNIT_ASSERT(roundtrip(s, "STORED\r\n") == BackendDecode::Done);  // the retry's answer replaces it
    status_is(Status::Success, s.results[0]);
    // a multiget's other keys (another server's) are left alone
    Request g = make(Op::Get, {"a", "b"});
    g.results[1].hit = true;
    g.results[1].value.append("from other server");
    auto codec = make_ascii_backend_codec();
    BackendOp op;
    op.request = &g;
    op.key_indexes = {0};
    ASSERT_BYTES("get a\r\n", encode(*codec, op));
    ByteChain in;
    in.append("END\r\n");
    CPPUNIT_ASSERT(codec->decode(op, in) == BackendDecode::Done);
    status_is(Status::KeyNotFound, g.results[0]);
    CPPUNIT_ASSERT(g.results[1].hit);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AsciiBackendTest);

}  // namespace moxi::protocol
