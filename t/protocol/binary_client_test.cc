// Binary client codec: decoding every opcode and malformed frame, encoding
// the exact response packets (checked against memcached 1.6.18's).
#include <cppunit/extensions/HelperMacros.h>

#include "src/protocol/binary_format.h"
#include "src/protocol/client_codec.h"
#include "t/protocol/test_util.h"

namespace moxi::protocol {

using binary::Opcode;
using test::be32;
using test::be64;
using test::encode_frame;
using test::Frame;
using test::op;

namespace {


Frame req(Opcode o, std::string key = "", std::string extras = "", std::string value = "", uint32_t opaque = 0,
          uint64_t cas = 0) {
  Frame f;
  f.opcode = op(o);
  f.key = std::move(key);
  f.extras = std::move(extras);
  f.value = std::move(value);
  f.opaque = opaque;
  f.cas = cas;
  return f;
}

Request decode1(const std::string& bytes, DecodeStatus expect = DecodeStatus::Ready, size_t* left = nullptr,
                const Limits& limits = Limits{}) {
  auto codec = make_binary_client_codec(limits);
  Request r;
  DecodeStatus st = test::decode_one(*codec, bytes, r, left);
  CPPUNIT_ASSERT_EQUAL(static_cast<int>(expect), static_cast<int>(st));
  return r;
}

std::vector<Frame> reply(const Request& r) {
  auto codec = make_binary_client_codec(Limits{});
  ByteChain out;
  codec->encode(r, out);
  std::string rest;
  auto frames = test::parse_frames(out.str(), &rest);
  CPPUNIT_ASSERT_EQUAL(std::string(), rest);
  return frames;
}

// A decoded request (so opcode/opaque/flags are real) with results ready.
Request decoded(const Frame& f) {
  Request r = decode1(encode_frame(f));
  r.prepare_results();
  return r;
}

void check_frame(const Frame& f, uint8_t opcode, Status status, uint32_t opaque, std::string extras, std::string key,
                 std::string value, uint64_t cas = 0) {
  CPPUNIT_ASSERT_EQUAL(int{binary::kResponseMagic}, int{f.magic});
  CPPUNIT_ASSERT_EQUAL(int{opcode}, int{f.opcode});
  CPPUNIT_ASSERT_EQUAL(static_cast<int>(status), int{f.vbucket_or_status});
  CPPUNIT_ASSERT_EQUAL(opaque, f.opaque);
  ASSERT_BYTES(extras, f.extras);
  ASSERT_BYTES(key, f.key);
  ASSERT_BYTES(value, f.value);
  CPPUNIT_ASSERT_EQUAL(cas, f.cas);
  CPPUNIT_ASSERT_EQUAL(0, int{f.data_type});
}

}  // namespace

class BinaryClientTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(BinaryClientTest);
  CPPUNIT_TEST(testDecodeGets);
  CPPUNIT_TEST(testDecodeGatAndTouch);
  CPPUNIT_TEST(testDecodeStorage);
  CPPUNIT_TEST(testDecodeArithmetic);
  CPPUNIT_TEST(testDecodeKeyless);
  CPPUNIT_TEST(testBadMagicCloses);
  CPPUNIT_TEST(testLengthsInconsistent);
  CPPUNIT_TEST(testInvalidFramesPerOpcode);
  CPPUNIT_TEST(testUnknownOpcodeSwallowed);
  CPPUNIT_TEST(testTooLargeSwallowed);
  CPPUNIT_TEST(testLoweredLimitAppliesToTheFrameArriving);
  CPPUNIT_TEST(testFrameSplitAcrossReads);
  CPPUNIT_TEST(testEncodeGetHitAndMiss);
  CPPUNIT_TEST(testEncodeQuietGets);
  CPPUNIT_TEST(testEncodeMutations);
  CPPUNIT_TEST(testEncodeQuietMutations);
  CPPUNIT_TEST(testEncodeKeyless);
  CPPUNIT_TEST(testEncodeStats);
  CPPUNIT_TEST(testEncodeErrors);
  CPPUNIT_TEST(testEncodeInvalid);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testDecodeGets() {
    struct {
      Opcode o;
      bool quiet;
      bool key;
    } cases[] = {{Opcode::Get, false, false},
                 {Opcode::GetQ, true, false},
                 {Opcode::GetK, false, true},
                 {Opcode::GetKQ, true, true}};
    for (const auto& c : cases) {
      Request r = decode1(encode_frame(req(c.o, "key", "", "", 0xdeadbeef)));
      CPPUNIT_ASSERT(r.op == Op::Get && r.protocol == Protocol::Binary);
      CPPUNIT_ASSERT_EQUAL(c.quiet, r.quiet);
      CPPUNIT_ASSERT_EQUAL(c.key, r.return_key);
      CPPUNIT_ASSERT_EQUAL(uint32_t{0xdeadbeef}, r.opaque);
      CPPUNIT_ASSERT_EQUAL(int{op(c.o)}, int{r.opcode});
      CPPUNIT_ASSERT_EQUAL(std::string("key"), std::string(r.key(0)));
    }
    // binary keys may hold any byte
    Request r = decode1(encode_frame(req(Opcode::Get, std::string("a b\r\n\0", 6))));
    CPPUNIT_ASSERT_EQUAL(std::string("a b\r\n\0", 6), std::string(r.key(0)));
  }

  void testDecodeGatAndTouch() {
    for (Opcode o : {Opcode::Gat, Opcode::GatQ, Opcode::GatK, Opcode::GatKQ}) {
      Request r = decode1(encode_frame(req(o, "k", be32(4000000000u))));
      CPPUNIT_ASSERT(r.op == Op::Gat);
      CPPUNIT_ASSERT_EQUAL(int64_t{4000000000}, r.exptime);
      CPPUNIT_ASSERT_EQUAL(o == Opcode::GatQ || o == Opcode::GatKQ, r.quiet);
      CPPUNIT_ASSERT_EQUAL(o == Opcode::GatK || o == Opcode::GatKQ, r.return_key);
    }
    Request t = decode1(encode_frame(req(Opcode::Touch, "k", be32(10))));
    CPPUNIT_ASSERT(t.op == Op::Touch);
    CPPUNIT_ASSERT_EQUAL(int64_t{10}, t.exptime);
  }

  void testDecodeStorage() {
    struct {
      Opcode o;
      Op expect;
      bool quiet;
    } cases[] = {{Opcode::Set, Op::Set, false},         {Opcode::SetQ, Op::Set, true},
                 {Opcode::Add, Op::Add, false},         {Opcode::AddQ, Op::Add, true},
                 {Opcode::Replace, Op::Replace, false}, {Opcode::ReplaceQ, Op::Replace, true}};
    for (const auto& c : cases) {
      Request r = decode1(encode_frame(req(c.o, "k", be32(0xcafe) + be32(300), "v\r\nv", 7, 99)));
      CPPUNIT_ASSERT(r.op == c.expect);
      CPPUNIT_ASSERT_EQUAL(c.quiet, r.quiet);
      CPPUNIT_ASSERT_EQUAL(uint32_t{0xcafe}, r.flags);
      CPPUNIT_ASSERT_EQUAL(int64_t{300}, r.exptime);
      CPPUNIT_ASSERT_EQUAL(uint64_t{99}, r.cas);
      CPPUNIT_ASSERT_EQUAL(std::string("v\r\nv"), r.value.str());
    }
    for (Opcode o : {Opcode::Append, Opcode::AppendQ, Opcode::Prepend, Opcode::PrependQ}) {
      Request r = decode1(encode_frame(req(o, "k", "", "tail")));
      CPPUNIT_ASSERT(r.op == (o == Opcode::Append || o == Opcode::AppendQ ? Op::Append : Op::Prepend));
      CPPUNIT_ASSERT_EQUAL(std::string("tail"), r.value.str());
    }
    Request d = decode1(encode_frame(req(Opcode::DeleteQ, "k", "", "", 1, 5)));
    CPPUNIT_ASSERT(d.op == Op::Delete && d.quiet);
    CPPUNIT_ASSERT_EQUAL(uint64_t{5}, d.cas);
    Request empty = decode1(encode_frame(req(Opcode::Set, "k", be32(0) + be32(0), "")));
    CPPUNIT_ASSERT(empty.op == Op::Set && empty.value.empty());
  }

  void testDecodeArithmetic() {
    Request r = decode1(encode_frame(req(Opcode::Increment, "n", be64(5) + be64(10) + be32(60))));
    CPPUNIT_ASSERT(r.op == Op::Incr && r.create && !r.quiet);
    CPPUNIT_ASSERT_EQUAL(uint64_t{5}, r.delta);
    CPPUNIT_ASSERT_EQUAL(uint64_t{10}, r.initial);
    CPPUNIT_ASSERT_EQUAL(int64_t{60}, r.exptime);
    r = decode1(encode_frame(req(Opcode::DecrementQ, "n", be64(1) + be64(0) + be32(0xffffffff))));
    CPPUNIT_ASSERT(r.op == Op::Decr && !r.create && r.quiet);
    r = decode1(encode_frame(req(Opcode::IncrementQ, "n", be64(1) + be64(0) + be32(0))));
    CPPUNIT_ASSERT(r.create);  // expiration 0 still creates
  }

  void testDecodeKeyless() {
    Request q = decode1(encode_frame(req(Opcode::Quit)));
    CPPUNIT_ASSERT(q.op == Op::Quit && q.close_after && !q.quiet);
    q = decode1(encode_frame(req(Opcode::QuitQ)));
    CPPUNIT_ASSERT(q.op == Op::Quit && q.close_after && q.quiet);
    Request f = decode1(encode_frame(req(Opcode::Flush)));
    CPPUNIT_ASSERT(f.op == Op::Flush && !f.has_exptime);
    f = decode1(encode_frame(req(Opcode::FlushQ, "", be32(30))));
    CPPUNIT_ASSERT(f.op == Op::Flush && f.has_exptime && f.quiet);
    CPPUNIT_ASSERT_EQUAL(int64_t{30}, f.exptime);
    CPPUNIT_ASSERT(decode1(encode_frame(req(Opcode::Noop))).op == Op::Noop);
    CPPUNIT_ASSERT(decode1(encode_frame(req(Opcode::Version))).op == Op::Version);
    Request s = decode1(encode_frame(req(Opcode::Stat)));
    CPPUNIT_ASSERT(s.op == Op::Stats && s.stats_args.empty() && s.key_count() == 0);
    s = decode1(encode_frame(req(Opcode::Stat, "slabs")));
    CPPUNIT_ASSERT_EQUAL(std::string("slabs"), s.stats_args);
    CPPUNIT_ASSERT_EQUAL(size_t{0}, s.key_count());  // not a key to route
    Request v = decode1(encode_frame(req(Opcode::Verbosity, "", be32(2))));
    CPPUNIT_ASSERT(v.op == Op::Verbosity);
    CPPUNIT_ASSERT_EQUAL(uint32_t{2}, v.verbosity);
  }

  void testBadMagicCloses() {
    Frame f = req(Opcode::Get, "k");
    f.magic = 0x81;  // a response magic is not a request
    decode1(encode_frame(f), DecodeStatus::Close);
    decode1("get k\r\n" + std::string(20, ' '), DecodeStatus::Close);
  }

  void testLengthsInconsistent() {
    // key longer than the body: UnknownCommand, then close (memcached)
    Frame f = req(Opcode::Get, "k");
    f.body_length_override = 0;
    Request r = decode1(encode_frame(f));
    CPPUNIT_ASSERT(r.op == Op::Invalid && r.close_after);
    CPPUNIT_ASSERT(r.error_status == Status::UnknownCommand);
    Frame g = req(Opcode::Set, "k", be32(0) + be32(0), "v");
    g.body_length_override = 5;  // extras + key = 9 > 5
    r = decode1(encode_frame(g));
    CPPUNIT_ASSERT(r.error_status == Status::UnknownCommand && r.close_after);
    // key over 250: InvalidArguments, close
    r = decode1(encode_frame(req(Opcode::Get, std::string(251, 'k'))));
    CPPUNIT_ASSERT(r.op == Op::Invalid && r.error_status == Status::InvalidArguments && r.close_after);
    CPPUNIT_ASSERT(decode1(encode_frame(req(Opcode::Get, std::string(250, 'k')))).op == Op::Get);
  }

  void testInvalidFramesPerOpcode() {
    const std::vector<Frame> bad = {
        req(Opcode::Get, "k", "xxxx"),                // extras on a get
        req(Opcode::Get),                             // no key
        req(Opcode::GetK, "k", "", "v"),              // body beyond the key
        req(Opcode::Set, "k", be32(0), "v"),          // 4 bytes of extras instead of 8
        req(Opcode::Set, "", be32(0) + be32(0), "v"),  // no key
        req(Opcode::Delete, "k", "", "v"),
        req(Opcode::Increment, "k", be64(1)),  // short extras
        req(Opcode::Append, "", "", "v"),
        req(Opcode::Append, "k", be32(1), "v"),
        req(Opcode::Flush, "k"),
        req(Opcode::Flush, "", "xx"),
        req(Opcode::Noop, "k"),
        req(Opcode::Version, "", "", "v"),
        req(Opcode::Quit, "k"),
        req(Opcode::Stat, "", be32(1)),
        req(Opcode::Touch, "k"),
        req(Opcode::Gat, "", be32(1)),
        req(Opcode::Verbosity),
    };
    for (const Frame& f : bad) {
      Request r = decode1(encode_frame(f));
      CPPUNIT_ASSERT_MESSAGE(std::to_string(f.opcode), r.op == Op::Invalid);
      CPPUNIT_ASSERT(r.error_status == Status::InvalidArguments);
      CPPUNIT_ASSERT(r.close_after);  // memcached closes after EINVAL
      CPPUNIT_ASSERT_EQUAL(int{f.opcode}, int{r.opcode});
    }
  }

  void testUnknownOpcodeSwallowed() {
    Frame unknown = req(static_cast<Opcode>(0x50), "k", "ee", "xyzw", 77);
    Frame sasl = req(Opcode::SaslAuth, "PLAIN", "", "secret", 78);
    std::string stream = encode_frame(unknown) + encode_frame(sasl) + encode_frame(req(Opcode::Version, "", "", "", 9));
    auto codec = make_binary_client_codec(Limits{});
    auto d = test::decode_stream(*codec, stream);
    CPPUNIT_ASSERT_EQUAL(size_t{3}, d.requests.size());
    CPPUNIT_ASSERT(d.requests[0].find("invalid") == 0 && d.requests[0].find("status=129") != std::string::npos);
    CPPUNIT_ASSERT(d.requests[0].find("close=0") != std::string::npos);
    CPPUNIT_ASSERT(d.requests[0].find("opaque=77") != std::string::npos);
    CPPUNIT_ASSERT(d.requests[1].find("sasl") == 0);  // answered by the proxy (the gateway)
    CPPUNIT_ASSERT(d.requests[2].find("version") == 0);
    CPPUNIT_ASSERT_EQUAL(size_t{0}, d.left);
    // A client's own GET_CLUSTER_CONFIG is an opcode moxi does not know:
    // the proxy's Op::ClusterConfig is never decoded from a client.
    auto cc = test::decode_stream(*make_binary_client_codec(Limits{}),
                                  encode_frame(req(Opcode::GetClusterConfig, "", "", "", 80)));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, cc.requests.size());
    CPPUNIT_ASSERT(cc.requests[0].find("invalid") == 0 && cc.requests[0].find("status=129") != std::string::npos);
  }

  void testTooLargeSwallowed() {
    Limits small;
    small.max_value_length = 8;
    std::string stream = encode_frame(req(Opcode::Set, "k", be32(0) + be32(0), std::string(9, 'v'), 5)) +
                         encode_frame(req(Opcode::AppendQ, "k", "", std::string(100, 'v'), 6)) +
                         encode_frame(req(Opcode::Set, "k", be32(0) + be32(0), std::string(8, 'v'), 7));
    auto codec = make_binary_client_codec(small);
    // one byte at a time: the rejected bodies are swallowed as they come
    std::vector<size_t> cuts;
    for (size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
    auto d = test::decode_stream(*codec, stream, cuts);
    CPPUNIT_ASSERT_EQUAL(size_t{3}, d.requests.size());
    CPPUNIT_ASSERT(d.requests[0].find("invalid") == 0 && d.requests[0].find("status=3") != std::string::npos);
    CPPUNIT_ASSERT(d.requests[0].find("keys=[k]") != std::string::npos);  // kept for the core (stale item)
    CPPUNIT_ASSERT(d.requests[0].find("close=0") != std::string::npos);
    CPPUNIT_ASSERT(d.requests[1].find("status=3") != std::string::npos);
    CPPUNIT_ASSERT(d.requests[2].find("set keys=[k]") == 0);
  }

  // As for ascii: a lowered limit refuses a SET whose body is still
  // arriving, and the rest of the body is swallowed, never buffered.
  void testLoweredLimitAppliesToTheFrameArriving() {
    const std::string frame = encode_frame(req(Opcode::Set, "k", be32(0) + be32(0), std::string(100, 'v'), 5));
    auto codec = make_binary_client_codec(Limits{});
    ByteChain in;
    Request r;
    in.append(frame.substr(0, 60));
    CPPUNIT_ASSERT(codec->decode(in, r) == DecodeStatus::NeedMore);
    codec->set_max_value_length(0);
    CPPUNIT_ASSERT(codec->decode(in, r) == DecodeStatus::Ready);
    CPPUNIT_ASSERT(r.op == Op::Invalid);
    CPPUNIT_ASSERT(r.error_status == Status::TooLarge);
    CPPUNIT_ASSERT_EQUAL(size_t{0}, in.size());
    in.append(frame.substr(60) + encode_frame(req(Opcode::Noop, "", "", "", 6)));
    r.reset();
    CPPUNIT_ASSERT(codec->decode(in, r) == DecodeStatus::Ready);
    CPPUNIT_ASSERT(r.op == Op::Noop);
  }

  void testFrameSplitAcrossReads() {
    std::string frame = encode_frame(req(Opcode::Set, "key", be32(1) + be32(2), "value", 3, 4));
    auto codec = make_binary_client_codec(Limits{});
    ByteChain in;
    Request r;
    for (size_t i = 0; i + 1 < frame.size(); ++i) {
      in.append(frame.substr(i, 1));
      CPPUNIT_ASSERT(codec->decode(in, r) == DecodeStatus::NeedMore);
      CPPUNIT_ASSERT_EQUAL(i + 1, in.size());  // nothing consumed before the frame is whole
    }
    in.append(frame.substr(frame.size() - 1));
    CPPUNIT_ASSERT(codec->decode(in, r) == DecodeStatus::Ready);
    CPPUNIT_ASSERT_EQUAL(std::string("value"), r.value.str());
    CPPUNIT_ASSERT_EQUAL(size_t{0}, in.size());
  }

  void testEncodeGetHitAndMiss() {
    Request r = decoded(req(Opcode::Get, "k", "", "", 11));
    r.results[0].hit = true;
    r.results[0].flags = 0xcafe;
    r.results[0].cas = 42;
    r.results[0].value.append("val");
    auto f = reply(r);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, f.size());
    check_frame(f[0], op(Opcode::Get), Status::Success, 11, be32(0xcafe), "", "val", 42);

    Request k = decoded(req(Opcode::GetK, "k", "", "", 12));
    k.results[0].hit = true;
    k.results[0].value.append("v");
    f = reply(k);
    check_frame(f[0], op(Opcode::GetK), Status::Success, 12, be32(0), "k", "v");

    Request m = decoded(req(Opcode::Get, "k", "", "", 13));
    m.results[0].status = Status::KeyNotFound;
    f = reply(m);
    check_frame(f[0], op(Opcode::Get), Status::KeyNotFound, 13, "", "", "Not found");

    Request mk = decoded(req(Opcode::GetK, "k", "", "", 14));
    mk.results[0].status = Status::KeyNotFound;
    f = reply(mk);
    check_frame(f[0], op(Opcode::GetK), Status::KeyNotFound, 14, "", "k", "");  // memcached: key, no text

    Request gk = decoded(req(Opcode::GatK, "k", be32(1), "", 15));
    gk.results[0].status = Status::KeyNotFound;
    f = reply(gk);
    check_frame(f[0], op(Opcode::GatK), Status::KeyNotFound, 15, "", "k", "");
  }

  void testEncodeQuietGets() {
    for (Opcode o : {Opcode::GetQ, Opcode::GetKQ, Opcode::GatQ, Opcode::GatKQ}) {
      Request m = decoded(req(o, "k", o == Opcode::GatQ || o == Opcode::GatKQ ? be32(1) : "", "", 1));
      m.results[0].status = Status::KeyNotFound;
      CPPUNIT_ASSERT_EQUAL(size_t{0}, reply(m).size());  // quiet miss: nothing
      Request h = decoded(req(o, "k", o == Opcode::GatQ || o == Opcode::GatKQ ? be32(1) : "", "", 1));
      h.results[0].hit = true;
      h.results[0].value.append("v");
      auto f = reply(h);
      CPPUNIT_ASSERT_EQUAL(size_t{1}, f.size());
      CPPUNIT_ASSERT_EQUAL(o == Opcode::GetKQ || o == Opcode::GatKQ ? std::string("k") : std::string(), f[0].key);
      Request e = decoded(req(o, "k", o == Opcode::GatQ || o == Opcode::GatKQ ? be32(1) : "", "", 1));
      e.results[0].server_error(Status::Busy, "proxy downstream timeout 10.0.0.1");
      f = reply(e);  // errors are always reported
      CPPUNIT_ASSERT_EQUAL(size_t{1}, f.size());
      check_frame(f[0], op(o), Status::Busy, 1, "", "", "proxy downstream timeout 10.0.0.1");
    }
  }

  void testEncodeMutations() {
    Request s = decoded(req(Opcode::Set, "k", be32(0) + be32(0), "v", 21));
    s.results[0].cas = 77;
    check_frame(reply(s)[0], op(Opcode::Set), Status::Success, 21, "", "", "", 77);

    Request a = decoded(req(Opcode::Add, "k", be32(0) + be32(0), "v", 22));
    a.results[0].status = Status::KeyExists;
    check_frame(reply(a)[0], op(Opcode::Add), Status::KeyExists, 22, "", "", "Data exists for key.");

    Request i = decoded(req(Opcode::Increment, "n", be64(1) + be64(0) + be32(0), "", 23));
    i.results[0].number = 0x0102030405060708ull;
    i.results[0].cas = 5;
    check_frame(reply(i)[0], op(Opcode::Increment), Status::Success, 23, "", "", be64(0x0102030405060708ull), 5);

    Request ib = decoded(req(Opcode::Decrement, "n", be64(1) + be64(0) + be32(0), "", 24));
    ib.results[0].status = Status::DeltaBadValue;
    check_frame(reply(ib)[0], op(Opcode::Decrement), Status::DeltaBadValue, 24, "", "",
                "Non-numeric server-side value for incr or decr");

    Request d = decoded(req(Opcode::Delete, "k", "", "", 25));
    check_frame(reply(d)[0], op(Opcode::Delete), Status::Success, 25, "", "", "");

    Request t = decoded(req(Opcode::Touch, "k", be32(5), "", 26));
    t.results[0].flags = 9;
    t.results[0].cas = 3;
    check_frame(reply(t)[0], op(Opcode::Touch), Status::Success, 26, be32(9), "", "", 3);  // as memcached

    Request ap = decoded(req(Opcode::Append, "k", "", "v", 27));
    ap.results[0].status = Status::NotStored;
    check_frame(reply(ap)[0], op(Opcode::Append), Status::NotStored, 27, "", "", "Not stored.");
  }

  void testEncodeQuietMutations() {
    for (Frame f : {req(Opcode::SetQ, "k", be32(0) + be32(0), "v"), req(Opcode::AddQ, "k", be32(0) + be32(0), "v"),
                    req(Opcode::ReplaceQ, "k", be32(0) + be32(0), "v"), req(Opcode::AppendQ, "k", "", "v"),
                    req(Opcode::PrependQ, "k", "", "v"), req(Opcode::DeleteQ, "k"),
                    req(Opcode::IncrementQ, "k", be64(1) + be64(1) + be32(0)),
                    req(Opcode::DecrementQ, "k", be64(1) + be64(1) + be32(0)), req(Opcode::FlushQ),
                    req(Opcode::QuitQ)}) {
      Request ok = decoded(f);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(std::to_string(f.opcode), size_t{0}, reply(ok).size());
      if (f.opcode == op(Opcode::QuitQ)) continue;
      Request bad = decoded(f);
      bad.results[0].status = Status::KeyNotFound;
      auto frames = reply(bad);
      CPPUNIT_ASSERT_EQUAL(size_t{1}, frames.size());
      check_frame(frames[0], f.opcode, Status::KeyNotFound, 0, "", "", "Not found");
    }
  }

  void testEncodeKeyless() {
    check_frame(reply(decoded(req(Opcode::Noop, "", "", "", 1)))[0], op(Opcode::Noop), Status::Success, 1, "", "", "");
    check_frame(reply(decoded(req(Opcode::Flush, "", "", "", 2)))[0], op(Opcode::Flush), Status::Success, 2, "", "", "");
    check_frame(reply(decoded(req(Opcode::Quit, "", "", "", 3)))[0], op(Opcode::Quit), Status::Success, 3, "", "", "");
    check_frame(reply(decoded(req(Opcode::Verbosity, "", be32(1), "", 4)))[0], op(Opcode::Verbosity), Status::Success,
                4, "", "", "");
    Request v = decoded(req(Opcode::Version, "", "", "", 5));
    v.results[0].message = "2.0.0";
    check_frame(reply(v)[0], op(Opcode::Version), Status::Success, 5, "", "", "2.0.0");
  }

  void testEncodeStats() {
    Request s = decoded(req(Opcode::Stat, "", "", "", 9));
    s.stats = {{"pid", "1"}, {"uptime", "20"}};
    auto f = reply(s);
    CPPUNIT_ASSERT_EQUAL(size_t{3}, f.size());
    check_frame(f[0], op(Opcode::Stat), Status::Success, 9, "", "pid", "1");
    check_frame(f[1], op(Opcode::Stat), Status::Success, 9, "", "uptime", "20");
    check_frame(f[2], op(Opcode::Stat), Status::Success, 9, "", "", "");  // terminator
    Request bad = decoded(req(Opcode::Stat, "bogus", "", "", 10));
    bad.results[0].status = Status::KeyNotFound;
    f = reply(bad);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, f.size());
    check_frame(f[0], op(Opcode::Stat), Status::KeyNotFound, 10, "", "", "Not found");
  }

  void testEncodeErrors() {
    Request s = decoded(req(Opcode::Set, "k", be32(0) + be32(0), "v", 1));
    s.results[0].server_error(Status::InternalError, "proxy downstream closed 10.0.0.1");
    check_frame(reply(s)[0], op(Opcode::Set), Status::InternalError, 1, "", "", "proxy downstream closed 10.0.0.1");
    s.results[0].reset();
    s.results[0].status = Status::NotMyVbucket;
    check_frame(reply(s)[0], op(Opcode::Set), Status::NotMyVbucket, 1, "", "", "Not my vbucket");
    s.results[0].message = "{\"rev\":1}";  // a backend's body is passed on
    check_frame(reply(s)[0], op(Opcode::Set), Status::NotMyVbucket, 1, "", "", "{\"rev\":1}");
    s.results[0].reset();
    s.results[0].status = Status::TemporaryFailure;
    check_frame(reply(s)[0], op(Opcode::Set), Status::TemporaryFailure, 1, "", "", "Temporary failure");
  }

  void testEncodeInvalid() {
    Frame f = req(static_cast<Opcode>(0x50), "k", "", "", 0x01020304);
    Request r = decode1(encode_frame(f));
    auto frames = reply(r);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, frames.size());
    check_frame(frames[0], 0x50, Status::UnknownCommand, 0x01020304, "", "", "Unknown command");
    Request bad = decode1(encode_frame(req(Opcode::Get, "k", "xx", "", 8)));
    check_frame(reply(bad)[0], op(Opcode::Get), Status::InvalidArguments, 8, "", "", "Invalid arguments");
    Limits small;
    small.max_value_length = 1;
    Request big = decode1(encode_frame(req(Opcode::SetQ, "k", be32(0) + be32(0), "vv", 9)), DecodeStatus::Ready,
                          nullptr, small);
    check_frame(reply(big)[0], op(Opcode::SetQ), Status::TooLarge, 9, "", "", "Too large.");
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BinaryClientTest);

}  // namespace moxi::protocol
