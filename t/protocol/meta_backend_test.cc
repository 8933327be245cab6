// Meta backend codec: exact request bytes for every op, reply parsing (split
// reads, errors, desync detection), retry re-encoding, base64 keys.
#include <cppunit/extensions/HelperMacros.h>

#include "src/protocol/backend_codec.h"
#include "src/protocol/client_codec.h"
#include "t/protocol/backend_test_util.h"
#include "t/protocol/test_util.h"

namespace moxi::protocol {

namespace {

Request make(Op op, std::initializer_list<std::string_view> keys = {}, Protocol protocol = Protocol::Ascii) {
  Request r;
  r.op = op;
  r.protocol = protocol;
  for (auto k : keys) r.add_key(k);
  r.prepare_results();
  return r;
}

using test::encode;  // encode(codec, op)

std::string encode(Request& req) {
  auto codec = make_meta_backend_codec();
  BackendOp op;
  op.request = &req;
  return encode(*codec, op);
}

// The shared round trips (backend_test_util.h), with this codec.
BackendDecode roundtrip(Request& req, std::string_view reply, size_t* left = nullptr, std::string* sent = nullptr) {
  return test::roundtrip(make_meta_backend_codec, req, reply, left, sent);
}
BackendDecode trickle(Request& req, std::string_view reply) { return test::trickle(make_meta_backend_codec, req, reply); }

void status_is(Status s, const Result& r) { CPPUNIT_ASSERT_EQUAL(static_cast<int>(s), static_cast<int>(r.status)); }

}  // namespace

class MetaBackendTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(MetaBackendTest);
  CPPUNIT_TEST(testEncodeGets);
  CPPUNIT_TEST(testEncodeStorage);
  CPPUNIT_TEST(testEncodeArithDeleteTouch);
  CPPUNIT_TEST(testEncodeKeyless);
  CPPUNIT_TEST(testEncodeBase64Key);
  CPPUNIT_TEST(testDecodeMultiget);
  CPPUNIT_TEST(testDecodeSplit);
  CPPUNIT_TEST(testDecodeStoreReplies);
  CPPUNIT_TEST(testDecodeArith);
  CPPUNIT_TEST(testDecodeErrors);
  CPPUNIT_TEST(testDesync);
  CPPUNIT_TEST(testRetryReencodes);
  CPPUNIT_TEST(testKeylessAsAscii);
  CPPUNIT_TEST(testMetaClientRequestsAreRelayed);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testEncodeGets() {
    Request g = make(Op::Get, {"a", "bb"});
    CPPUNIT_ASSERT_EQUAL(std::string("mg a v f\r\nmg bb v f\r\n"), encode(g));
    Request gs = make(Op::Get, {"a"});
    gs.want_cas = true;
    CPPUNIT_ASSERT_EQUAL(std::string("mg a v f c\r\n"), encode(gs));
    Request bg = make(Op::Get, {"a"}, Protocol::Binary);
    CPPUNIT_ASSERT_EQUAL(std::string("mg a v f c\r\n"), encode(bg));
    Request gat = make(Op::Gat, {"a", "b"});
    gat.exptime = 10;
    CPPUNIT_ASSERT_EQUAL(std::string("mg a v f T10\r\nmg b v f T10\r\n"), encode(gat));
  }

  void testEncodeStorage() {
    Request s = make(Op::Set, {"k"});
    s.flags = 5;
    s.exptime = -1;
    s.value.append("a\r\nb");
    CPPUNIT_ASSERT_EQUAL(std::string("ms k 4 F5 T-1 MS\r\na\r\nb\r\n"), encode(s));
    CPPUNIT_ASSERT_EQUAL(std::string("a\r\nb"), s.value.str());  // referenced, still there for a retry
    const std::pair<Op, char> modes[] = {{Op::Add, 'E'}, {Op::Replace, 'R'}, {Op::Append, 'A'}, {Op::Prepend, 'P'}};
    for (auto [op, mode] : modes) {
      Request r = make(op, {"k"}, Protocol::Binary);
      r.value.append("v");
      r.cas = 7;
      const char sent = op == Op::Add || op == Op::Replace ? 'S' : mode;  // a cas store, as memcached's binary side
      CPPUNIT_ASSERT_EQUAL(std::string("ms k 1 F0 T0 M") + sent + " C7 c\r\nv\r\n", encode(r));
    }
  }

  void testEncodeArithDeleteTouch() {
    Request i = make(Op::Incr, {"n"});
    i.delta = 3;
    CPPUNIT_ASSERT_EQUAL(std::string("ma n D3 v\r\n"), encode(i));
    Request d = make(Op::Decr, {"n"}, Protocol::Binary);
    d.delta = 2;
    d.create = true;
    d.initial = 9;
    d.exptime = 60;
    d.cas = 4;
    CPPUNIT_ASSERT_EQUAL(std::string("ma n MD D2 N60 J9 C4 v c\r\n"), encode(d));
    Request del = make(Op::Delete, {"k"});
    CPPUNIT_ASSERT_EQUAL(std::string("md k\r\n"), encode(del));
    Request delc = make(Op::Delete, {"k"}, Protocol::Binary);
    delc.cas = 12;
    CPPUNIT_ASSERT_EQUAL(std::string("md k C12\r\n"), encode(delc));
    Request t = make(Op::Touch, {"k"});
    t.exptime = 30;
    CPPUNIT_ASSERT_EQUAL(std::string("mg k T30\r\n"), encode(t));
  }

  void testEncodeKeyless() {
    Request f = make(Op::Flush);
    CPPUNIT_ASSERT_EQUAL(std::string("flush_all\r\n"), encode(f));
    Request st = make(Op::Stats);
    st.stats_args = "slabs";
    CPPUNIT_ASSERT_EQUAL(std::string("stats slabs\r\n"), encode(st));
    Request v = make(Op::Version);
    CPPUNIT_ASSERT_EQUAL(std::string("version\r\n"), encode(v));
    Request vb = make(Op::Verbosity);
    vb.verbosity = 1;
    CPPUNIT_ASSERT_EQUAL(std::string("verbosity 1\r\n"), encode(vb));
    Request p = make(Op::Passthrough, {"k"}, Protocol::Binary);
    CPPUNIT_ASSERT_EQUAL(std::string("version\r\n"), encode(p));  // the ascii codec's stand-in
  }

  void testEncodeBase64Key() {
    Request g = make(Op::Get, {std::string_view("a b\0", 4)}, Protocol::Binary);
    CPPUNIT_ASSERT_EQUAL(std::string("mg YSBiAA== b v f c\r\n"), encode(g));
    Request s = make(Op::Set, {"x\r\n"}, Protocol::Binary);
    s.value.append("v");
    CPPUNIT_ASSERT_EQUAL(std::string("ms eA0K 1 b F0 T0 MS c\r\nv\r\n"), encode(s));
    // memcached limits the key as written: 188 odd bytes are 252 in base64,
    // so "mn" stands in and the key is refused without reaching the server.
    const std::string odd(188, ' ');
    Request g2 = make(Op::Get, {"a", odd}, Protocol::Binary);
    CPPUNIT_ASSERT_EQUAL(std::string("mg a v f c\r\nmn\r\n"), encode(g2));
    CPPUNIT_ASSERT(roundtrip(g2, "EN\r\nMN\r\n") == BackendDecode::Done);
    status_is(Status::KeyNotFound, g2.results[0]);
    status_is(Status::InvalidArguments, g2.results[1]);
    Request s2 = make(Op::Set, {odd}, Protocol::Binary);
    s2.value.append("v");
    CPPUNIT_ASSERT_EQUAL(std::string("mn\r\n"), encode(s2));
    CPPUNIT_ASSERT(roundtrip(s2, "MN\r\n") == BackendDecode::Done);
    status_is(Status::InvalidArguments, s2.results[0]);
    Request s3 = make(Op::Set, {"plain"});
    CPPUNIT_ASSERT(roundtrip(s3, "MN\r\n") == BackendDecode::Desync);
  }

  void testDecodeMultiget() {
    Request g = make(Op::Get, {"a", "b", "a"});
    g.want_cas = true;
    size_t left = 99;
    CPPUNIT_ASSERT(roundtrip(g, "VA 2 f5 c9\r\nhi\r\nEN\r\nVA 0 f0 c3\r\n\r\nMN\r\n", &left) == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(size_t(4), left);  // the next op's bytes stay
    CPPUNIT_ASSERT(g.results[0].hit);
    CPPUNIT_ASSERT_EQUAL(std::string("hi"), g.results[0].value.str());
    CPPUNIT_ASSERT_EQUAL(uint32_t(5), g.results[0].flags);
    CPPUNIT_ASSERT_EQUAL(uint64_t(9), g.results[0].cas);
    CPPUNIT_ASSERT(!g.results[1].hit);
    status_is(Status::KeyNotFound, g.results[1]);
    CPPUNIT_ASSERT(g.results[2].hit);
    CPPUNIT_ASSERT_EQUAL(std::string(""), g.results[2].value.str());
    // memcached 1.6 echoes the k and b flags on a miss too.
    Request g2 = make(Op::Get, {"a"});
    CPPUNIT_ASSERT(roundtrip(g2, "EN ka b\r\n") == BackendDecode::Done);
    status_is(Status::KeyNotFound, g2.results[0]);
  }

  void testDecodeSplit() {
    Request g = make(Op::Get, {"a", "b"});
    CPPUNIT_ASSERT(trickle(g, "VA 5 f1\r\nx\r\nyz\r\nEN\r\n") == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(std::string("x\r\nyz"), g.results[0].value.str());
    Request s = make(Op::Set, {"k"}, Protocol::Binary);
    s.value.append("v");
    CPPUNIT_ASSERT(trickle(s, "HD c42\r\n") == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(uint64_t(42), s.results[0].cas);
    Request i = make(Op::Incr, {"n"});
    CPPUNIT_ASSERT(trickle(i, "VA 2\r\n10\r\n") == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(uint64_t(10), i.results[0].number);
  }

  void testDecodeStoreReplies() {
    struct Case {
      Op op;
      const char* reply;
      Status status;
    } cases[] = {
        {Op::Set, "HD\r\n", Status::Success},          {Op::Add, "NS\r\n", Status::KeyExists},
        {Op::Replace, "NS\r\n", Status::KeyNotFound},  {Op::Append, "NS\r\n", Status::NotStored},
        {Op::Prepend, "NS\r\n", Status::NotStored},    {Op::Set, "EX\r\n", Status::KeyExists},
        {Op::Set, "NF\r\n", Status::KeyNotFound},      {Op::Delete, "HD\r\n", Status::Success},
        {Op::Delete, "NF\r\n", Status::KeyNotFound},   {Op::Delete, "EX\r\n", Status::KeyExists},
        {Op::Touch, "HD\r\n", Status::Success},        {Op::Touch, "EN\r\n", Status::KeyNotFound},
    };
    for (const Case& c : cases) {
      Request r = make(c.op, {"k"});
      r.value.append("v");
      CPPUNIT_ASSERT(roundtrip(r, c.reply) == BackendDecode::Done);
      status_is(c.status, r.results[0]);
    }
  }

  void testDecodeArith() {
    Request i = make(Op::Incr, {"n"}, Protocol::Binary);
    CPPUNIT_ASSERT(roundtrip(i, "VA 1 c3\r\n7\r\n") == BackendDecode::Done);
    status_is(Status::Success, i.results[0]);
    CPPUNIT_ASSERT_EQUAL(uint64_t(7), i.results[0].number);
    CPPUNIT_ASSERT_EQUAL(uint64_t(3), i.results[0].cas);
    Request nf = make(Op::Incr, {"n"});
    CPPUNIT_ASSERT(roundtrip(nf, "NF\r\n") == BackendDecode::Done);
    status_is(Status::KeyNotFound, nf.results[0]);
    Request nn = make(Op::Decr, {"n"});
    CPPUNIT_ASSERT(roundtrip(nn, "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n") ==
                   BackendDecode::Done);
    status_is(Status::DeltaBadValue, nn.results[0]);
    Request ns = make(Op::Incr, {"n"});
    CPPUNIT_ASSERT(roundtrip(ns, "NS\r\n") == BackendDecode::Done);
    status_is(Status::NotStored, ns.results[0]);
  }

  void testDecodeErrors() {
    Request g = make(Op::Get, {"a", "b"});
    CPPUNIT_ASSERT(roundtrip(g, "SERVER_ERROR out of memory writing get response\r\nEN\r\n") == BackendDecode::Done);
    status_is(Status::OutOfMemory, g.results[0]);
    CPPUNIT_ASSERT(g.results[0].error_class == ErrorClass::ServerError);
    status_is(Status::KeyNotFound, g.results[1]);
    Request s = make(Op::Set, {"k"});
    CPPUNIT_ASSERT(roundtrip(s, "SERVER_ERROR object too large for cache\r\n") == BackendDecode::Done);
    status_is(Status::TooLarge, s.results[0]);
    Request d = make(Op::Delete, {"k"});
    CPPUNIT_ASSERT(roundtrip(d, "CLIENT_ERROR bad command line format\r\n") == BackendDecode::Done);
    CPPUNIT_ASSERT(d.results[0].error_class == ErrorClass::ClientError);
    CPPUNIT_ASSERT_EQUAL(std::string("bad command line format"), d.results[0].message);
    Request e = make(Op::Touch, {"k"});
    CPPUNIT_ASSERT(roundtrip(e, "ERROR\r\n") == BackendDecode::Done);
    status_is(Status::UnknownCommand, e.results[0]);
  }

  void testDesync() {
    const char* garbage[] = {"HD\r\n", "XX\r\n", "VA x f1\r\nab\r\n", "VA\r\n", "VA 1 fz\r\na\r\n", "VA 1\r\nabc\r\n",
                             "STORED\r\n"};
    for (const char* g : garbage) {
      Request r = make(Op::Get, {"a"});
      CPPUNIT_ASSERT_MESSAGE(g, roundtrip(r, g) == BackendDecode::Desync);
    }
    Request s = make(Op::Set, {"k"});
    CPPUNIT_ASSERT(roundtrip(s, "EN\r\n") == BackendDecode::Desync);
    Request i = make(Op::Incr, {"n"});
    CPPUNIT_ASSERT(roundtrip(i, "VA 2\r\nx1\r\n") == BackendDecode::Desync);
    Request t = make(Op::Touch, {"n"});
    CPPUNIT_ASSERT(roundtrip(t, "VA 1\r\nx\r\n") == BackendDecode::Desync);
  }

  void testRetryReencodes() {
    auto codec = make_meta_backend_codec();
    Request g = make(Op::Get, {"a", "b"});
    BackendOp op;
    op.request = &g;
    CPPUNIT_ASSERT_EQUAL(std::string("mg a v f\r\nmg b v f\r\n"), encode(*codec, op));
    ByteChain in;
    in.append("VA 1 f0\r\nx\r\nEN\r\n");
    CPPUNIT_ASSERT(codec->decode(op, in) == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(std::string("mg a v f\r\nmg b v f\r\n"), encode(*codec, op));
    in.append("EN\r\nVA 1 f2\r\ny\r\n");
    CPPUNIT_ASSERT(codec->decode(op, in) == BackendDecode::Done);
    CPPUNIT_ASSERT(!g.results[0].hit);  // reset by the second answer
    CPPUNIT_ASSERT_EQUAL(std::string("y"), g.results[1].value.str());
  }

  void testKeylessAsAscii() {
    Request v = make(Op::Version);
    CPPUNIT_ASSERT(roundtrip(v, "VERSION 1.6.18\r\n") == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(std::string("1.6.18"), v.results[0].message);
    Request st = make(Op::Stats);
    CPPUNIT_ASSERT(roundtrip(st, "STAT pid 1\r\nEND\r\n") == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(size_t(1), st.server_stats[0].size());
    Request p = make(Op::Passthrough, {"k"}, Protocol::Binary);
    CPPUNIT_ASSERT(roundtrip(p, "VERSION 1.6.18\r\n") == BackendDecode::Done);
    status_is(Status::UnknownCommand, p.results[0]);
  }

  // A meta client's request decoded for real, relayed, answered.
  static Request meta_request(const std::string& input) {
    auto codec = make_ascii_client_codec(Limits{});
    Request req;
    CPPUNIT_ASSERT(test::decode_one(*codec, input, req) == DecodeStatus::Ready);
    CPPUNIT_ASSERT(req.meta.command != MetaCommand::None);
    req.prepare_results();
    return req;
  }

  void testMetaClientRequestsAreRelayed() {
    std::string sent;
    // The client's own line (its base64 key as written), the reply verbatim.
    Request g = meta_request("mg Zm9v b k v t  O1\r\n");
    CPPUNIT_ASSERT(roundtrip(g, "VA 3 kZm9v b t-1 O1\r\nbar\r\n", nullptr, &sent) == BackendDecode::Done);
    ASSERT_BYTES(std::string("mg Zm9v b k v t  O1\r\n"), sent);
    CPPUNIT_ASSERT(g.results[0].meta_reply && g.results[0].hit);
    CPPUNIT_ASSERT_EQUAL(std::string("VA 3 kZm9v b t-1 O1"), g.results[0].message);
    CPPUNIT_ASSERT_EQUAL(std::string("bar"), g.results[0].value.str());
    // ms: the line and the data block.
    Request s1 = meta_request("ms foo 3 I\r\nbar\r\n");
    CPPUNIT_ASSERT(roundtrip(s1, "HD\r\n", nullptr, &sent) == BackendDecode::Done);
    ASSERT_BYTES(std::string("ms foo 3 I\r\nbar\r\n"), sent);
    // Quiet mg/ms/md go without q, so the server answers every one (a run
    // of them in one send); the client codec drops what q elides.
    Request q = meta_request("mg foo  q v k\r\n");
    CPPUNIT_ASSERT(roundtrip(q, "EN kfoo\r\n", nullptr, &sent) == BackendDecode::Done);
    ASSERT_BYTES(std::string("mg foo v k\r\n"), sent);
    CPPUNIT_ASSERT(q.results[0].meta_reply && q.results[0].message.empty());
    Request qh = meta_request("mg foo q v\r\n");
    CPPUNIT_ASSERT(roundtrip(qh, "VA 1\r\nx\r\n") == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(std::string("VA 1"), qh.results[0].message);
    Request qd = meta_request("md foo q\r\n");
    CPPUNIT_ASSERT(roundtrip(qd, "HD\r\n") == BackendDecode::Done);
    CPPUNIT_ASSERT(qd.results[0].message.empty());
    Request qs = meta_request("ms foo 1 q ME\r\nx\r\n");
    CPPUNIT_ASSERT(roundtrip(qs, "NS\r\n", nullptr, &sent) == BackendDecode::Done);
    ASSERT_BYTES(std::string("ms foo 1 ME\r\nx\r\n"), sent);
    CPPUNIT_ASSERT_EQUAL(std::string("NS"), qs.results[0].message);
    // A quiet ma keeps q and an mn follows: only the server knows whether N created the counter.
    Request qa = meta_request("ma cnt N0 J5 q\r\n");
    CPPUNIT_ASSERT(roundtrip(qa, "HD\r\nMN\r\n", nullptr, &sent) == BackendDecode::Done);
    ASSERT_BYTES(std::string("ma cnt N0 J5 q\r\nmn\r\n"), sent);
    CPPUNIT_ASSERT_EQUAL(std::string("HD"), qa.results[0].message);
    Request qe = meta_request("ma cnt q\r\n");
    CPPUNIT_ASSERT(roundtrip(qe, "MN\r\n") == BackendDecode::Done);
    CPPUNIT_ASSERT(qe.results[0].meta_reply && qe.results[0].message.empty());
    // Byte by byte, the same.
    Request qb = meta_request("ma cnt q v\r\n");
    auto codec = make_meta_backend_codec(kDefaultBackendValueMax);
    BackendOp op;
    op.request = &qb;
    test::encode(*codec, op);
    ByteChain in;
    CPPUNIT_ASSERT(test::decode_bytewise(*codec, op, in, "VA 1\r\n6\r\nMN\r\n") == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(std::string("6"), qb.results[0].value.str());
    // A quiet ma without its MN, or an MN where none was asked for, is a desync.
    Request qx = meta_request("ma cnt q\r\n");
    CPPUNIT_ASSERT(roundtrip(qx, "HD\r\nHD\r\n") == BackendDecode::Desync);
    Request nx = meta_request("mg foo v\r\n");
    CPPUNIT_ASSERT(roundtrip(nx, "MN\r\n") == BackendDecode::Desync);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MetaBackendTest);

}  // namespace moxi::protocol
