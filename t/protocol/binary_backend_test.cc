// Binary backend codec: exact request frames, response parsing (split reads,
// NOT_MY_VBUCKET, errors, desync detection).
#include <cppunit/extensions/HelperMacros.h>

#include <functional>

#include "src/protocol/backend_codec.h"
#include "src/protocol/binary_format.h"
#include "t/protocol/backend_test_util.h"
#include "t/protocol/test_util.h"

namespace moxi::protocol {

using binary::Opcode;
using test::be32;
using test::be64;
using test::encode_frame;
using test::Frame;
using test::op;

namespace {


Request make(Op o, std::initializer_list<std::string_view> keys = {}) {
  Request r;
  r.op = o;
  for (auto k : keys) r.add_key(k);
  r.prepare_results();
  return r;
}

// Encodes with a fresh codec; returns the frames sent.
std::vector<Frame> sent(Request& req, std::vector<uint32_t> indexes = {}) {
  auto codec = make_binary_backend_codec();
  BackendOp bop;
  bop.request = &req;
  bop.key_indexes = std::move(indexes);
  ByteChain out;
  codec->encode(bop, out);
  std::string rest;
  auto frames = test::parse_frames(out.str(), &rest);
  CPPUNIT_ASSERT_EQUAL(std::string(), rest);
  return frames;
}

Frame response(uint8_t opcode, uint32_t opaque, Status status = Status::Success, std::string extras = "",
               std::string key = "", std::string value = "", uint64_t cas = 0) {
  Frame f;
  f.magic = binary::kResponseMagic;
  f.opcode = opcode;
  f.opaque = opaque;
  f.vbucket_or_status = static_cast<uint16_t>(status);
  f.extras = std::move(extras);
  f.key = std::move(key);
  f.value = std::move(value);
  f.cas = cas;
  return f;
}

// A codec that has sent one op, so the test can answer it.
struct Conversation {
  std::unique_ptr<BackendCodec> codec = make_binary_backend_codec();
  BackendOp bop;
  std::vector<Frame> frames;
  ByteChain in;

  explicit Conversation(Request& req, std::vector<uint32_t> indexes = {}) {
    bop.request = &req;
    bop.key_indexes = std::move(indexes);
    ByteChain out;
    codec->encode(bop, out);
    frames = test::parse_frames(out.str());
  }
  BackendDecode feed(const std::string& bytes) {
    in.append(bytes);
    return codec->decode(bop, in);
  }
  BackendDecode trickle(const std::string& bytes) { return test::decode_bytewise(*codec, bop, in, bytes); }
};

void status_is(Status s, const Result& r) { CPPUNIT_ASSERT_EQUAL(static_cast<int>(s), static_cast<int>(r.status)); }

void check_request(const Frame& f, uint8_t opcode, uint16_t vbucket, std::string extras, std::string key,
                   std::string value, uint64_t cas = 0) {
  CPPUNIT_ASSERT_EQUAL(int{binary::kRequestMagic}, int{f.magic});
  CPPUNIT_ASSERT_EQUAL(int{opcode}, int{f.opcode});
  CPPUNIT_ASSERT_EQUAL(int{vbucket}, int{f.vbucket_or_status});
  ASSERT_BYTES(extras, f.extras);
  ASSERT_BYTES(key, f.key);
  ASSERT_BYTES(value, f.value);
  CPPUNIT_ASSERT_EQUAL(cas, f.cas);
}

}  // namespace

class BinaryBackendTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(BinaryBackendTest);
  CPPUNIT_TEST(testEncodeGets);
  CPPUNIT_TEST(testEncodeStorage);
  CPPUNIT_TEST(testEncodeExptimes);
  CPPUNIT_TEST(testEncodeArithmetic);
  CPPUNIT_TEST(testEncodeOthers);
  CPPUNIT_TEST(testOpaquesIncrease);
  CPPUNIT_TEST(testDecodeMultiget);
  CPPUNIT_TEST(testDecodeSplitReads);
  CPPUNIT_TEST(testDecodeValueSizesAndLayouts);
  CPPUNIT_TEST(testNotMyVbucket);
  CPPUNIT_TEST(testReplicaGets);
  CPPUNIT_TEST(testExtendedErrorsFoldedBack);
  CPPUNIT_TEST(testDecodeMutations);
  CPPUNIT_TEST(testDecodeStats);
  CPPUNIT_TEST(testDecodeKeyless);
  CPPUNIT_TEST(testClusterConfig);
  CPPUNIT_TEST(testDesync);
  CPPUNIT_TEST(testPipelinedOps);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testEncodeGets() {
    Request r = make(Op::Get, {"a", "bb", "a"});
    r.vbuckets = {7, 1023, 7};
    auto f = sent(r);
    CPPUNIT_ASSERT_EQUAL(size_t{3}, f.size());  // GETK per key, duplicates included
    check_request(f[0], op(Opcode::GetK), 7, "", "a", "");
    check_request(f[1], op(Opcode::GetK), 1023, "", "bb", "");
    check_request(f[2], op(Opcode::GetK), 7, "", "a", "");
    f = sent(r, {1});
    CPPUNIT_ASSERT_EQUAL(size_t{1}, f.size());
    check_request(f[0], op(Opcode::GetK), 1023, "", "bb", "");
    Request nov = make(Op::Get, {"a"});  // ketama: no vbuckets
    check_request(sent(nov)[0], op(Opcode::GetK), 0, "", "a", "");
    Request g = make(Op::Gat, {"a", "b"});
    g.exptime = 300;
    f = sent(g);
    check_request(f[0], op(Opcode::GatK), 0, be32(300), "a", "");
    check_request(f[1], op(Opcode::GatK), 0, be32(300), "b", "");
  }

  void testEncodeStorage() {
    Request s = make(Op::Set, {"k"});
    s.vbuckets = {42};
    s.flags = 0xcafe;
    s.exptime = 60;
    s.cas = 0x1122334455667788ull;
    s.value.append("v\r\nv");
    check_request(sent(s)[0], op(Opcode::Set), 42, be32(0xcafe) + be32(60), "k", "v\r\nv", 0x1122334455667788ull);
    CPPUNIT_ASSERT_EQUAL(std::string("v\r\nv"), s.value.str());  // still there for a retry
    Request a = make(Op::Add, {"k"});
    check_request(sent(a)[0], op(Opcode::Add), 0, be32(0) + be32(0), "k", "");
    Request r = make(Op::Replace, {"k"});
    check_request(sent(r)[0], op(Opcode::Replace), 0, be32(0) + be32(0), "k", "");
    Request ap = make(Op::Append, {"k"});
    ap.value.append("t");
    ap.cas = 3;
    check_request(sent(ap)[0], op(Opcode::Append), 0, "", "k", "t", 3);
    Request pp = make(Op::Prepend, {"k"});
    pp.value.append("h");
    check_request(sent(pp)[0], op(Opcode::Prepend), 0, "", "k", "h");
  }

  void testEncodeExptimes() {
    // An ascii negative exptime ("expired") must not become a far-future uint32.
    Request s = make(Op::Set, {"k"});
    s.exptime = -1;
    check_request(sent(s)[0], op(Opcode::Set), 0, be32(0) + be32(2592001), "k", "");
    s.exptime = INT32_MIN;
    check_request(sent(s)[0], op(Opcode::Set), 0, be32(0) + be32(2592001), "k", "");
    Request t = make(Op::Touch, {"k"});
    t.exptime = -10;
    check_request(sent(t)[0], op(Opcode::Touch), 0, be32(2592001), "k", "");
    Request g = make(Op::Gat, {"k"});
    g.exptime = 4294967295;  // a binary client's value passes unchanged
    check_request(sent(g)[0], op(Opcode::GatK), 0, be32(4294967295u), "k", "");
  }

  void testEncodeArithmetic() {
    Request i = make(Op::Incr, {"n"});  // from ascii: never auto-create
    i.delta = 5;
    check_request(sent(i)[0], op(Opcode::Increment), 0, be64(5) + be64(0) + be32(0xffffffff), "n", "");
    Request d = make(Op::Decr, {"n"});  // from binary with an initial value
    d.delta = 1;
    d.initial = 10;
    d.create = true;
    d.exptime = 0;
    d.cas = 8;
    check_request(sent(d)[0], op(Opcode::Decrement), 0, be64(1) + be64(10) + be32(0), "n", "", 8);
  }

  void testEncodeOthers() {
    Request del = make(Op::Delete, {"k"});
    del.cas = 4;
    check_request(sent(del)[0], op(Opcode::Delete), 0, "", "k", "", 4);
    Request f = make(Op::Flush);
    check_request(sent(f)[0], op(Opcode::Flush), 0, "", "", "");
    f.has_exptime = true;
    f.exptime = 30;
    check_request(sent(f)[0], op(Opcode::Flush), 0, be32(30), "", "");
    f.exptime = -1;  // ascii "flush_all -1": at once
    check_request(sent(f)[0], op(Opcode::Flush), 0, be32(0), "", "");
    Request st = make(Op::Stats);
    check_request(sent(st)[0], op(Opcode::Stat), 0, "", "", "");
    st.stats_args = "slabs";
    check_request(sent(st)[0], op(Opcode::Stat), 0, "", "slabs", "");
    Request v = make(Op::Version);
    check_request(sent(v)[0], op(Opcode::Version), 0, "", "", "");
    Request n = make(Op::Noop);
    check_request(sent(n)[0], op(Opcode::Noop), 0, "", "", "");
    Request vb = make(Op::Verbosity);
    vb.verbosity = 3;
    check_request(sent(vb)[0], op(Opcode::Verbosity), 0, be32(3), "", "");
    Request q = make(Op::Quit);  // never QUIT on a shared connection
    check_request(sent(q)[0], op(Opcode::Noop), 0, "", "", "");
  }

  void testOpaquesIncrease() {
    auto codec = make_binary_backend_codec();
    Request a = make(Op::Get, {"a", "b"});
    Request b = make(Op::Delete, {"c"});
    BackendOp oa;
    oa.request = &a;
    BackendOp ob;
    ob.request = &b;
    ByteChain out;
    codec->encode(oa, out);
    codec->encode(ob, out);
    auto f = test::parse_frames(out.str());
    CPPUNIT_ASSERT_EQUAL(size_t{3}, f.size());
    CPPUNIT_ASSERT_EQUAL(f[0].opaque + 1, f[1].opaque);
    CPPUNIT_ASSERT_EQUAL(f[1].opaque + 1, f[2].opaque);
  }

  void testDecodeMultiget() {
    Request r = make(Op::Get, {"a", "b", "c"});
    Conversation c(r);
    std::string reply = encode_frame(response(op(Opcode::GetK), c.frames[0].opaque, Status::Success, be32(5), "a",
                                              "va\r\nl", 77)) +
                        encode_frame(response(op(Opcode::GetK), c.frames[1].opaque, Status::KeyNotFound, "", "b")) +
                        encode_frame(response(op(Opcode::GetK), c.frames[2].opaque, Status::Success, be32(0), "c", ""));
    CPPUNIT_ASSERT(c.feed(reply) == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(size_t{0}, c.in.size());
    CPPUNIT_ASSERT(r.results[0].hit);
    CPPUNIT_ASSERT_EQUAL(std::string("va\r\nl"), r.results[0].value.str());
    CPPUNIT_ASSERT_EQUAL(uint32_t{5}, r.results[0].flags);
    CPPUNIT_ASSERT_EQUAL(uint64_t{77}, r.results[0].cas);
    CPPUNIT_ASSERT(!r.results[1].hit);
    status_is(Status::KeyNotFound, r.results[1]);
    CPPUNIT_ASSERT(r.results[2].hit && r.results[2].value.empty());
  }

  void testDecodeSplitReads() {
    Request r = make(Op::Gat, {"a", "b"});
    Conversation c(r);
    std::string reply =
        encode_frame(response(op(Opcode::GatK), c.frames[0].opaque, Status::Success, be32(1), "a", "xyz")) +
        encode_frame(response(op(Opcode::GatK), c.frames[1].opaque, Status::Success, be32(2), "b", "0123456789"));
    CPPUNIT_ASSERT(c.trickle(reply) == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(std::string("xyz"), r.results[0].value.str());
    CPPUNIT_ASSERT_EQUAL(std::string("0123456789"), r.results[1].value.str());
  }

  // Values up to ValueBytes::kInlineMax are copied inline (read in place
  // when the frame is in one segment, copied out when it spans segments),
  // larger ones go to a chain; the bytes are the same either way.
  void testDecodeValueSizesAndLayouts() {
    for (size_t size : {size_t{0}, size_t{1}, size_t{100}, ValueBytes::kInlineMax, ValueBytes::kInlineMax + 1,
                        size_t{5000}}) {
      for (bool scattered : {false, true}) {
        Request r = make(Op::Get, {"key"});
        Conversation c(r);
        std::string value(size, '\0');
        for (size_t i = 0; i < size; ++i) value[i] = static_cast<char>('a' + i % 26);
        const std::string frame =
            encode_frame(response(op(Opcode::GetK), c.frames[0].opaque, Status::Success, be32(9), "key", value));
        if (scattered) {
          // Each 7-byte piece in a segment of its own (a slab of its own).
          for (size_t i = 0; i < frame.size(); i += 7) {
            ByteChain piece;
            piece.append(std::string_view(frame).substr(i, 7));
            c.in.append_chain(piece);
          }
          CPPUNIT_ASSERT_EQUAL((frame.size() + 6) / 7, c.in.segment_count());
          CPPUNIT_ASSERT(c.codec->decode(c.bop, c.in) == BackendDecode::Done);
        } else {
          CPPUNIT_ASSERT(c.feed(frame) == BackendDecode::Done);
        }
        const std::string where = "size " + std::to_string(size) + (scattered ? " scattered" : " in one segment");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(where, size_t{0}, c.in.size());
        CPPUNIT_ASSERT_MESSAGE(where, r.results[0].hit);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(where, uint32_t{9}, r.results[0].flags);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(where, size <= ValueBytes::kInlineMax, r.results[0].value.is_small());
        CPPUNIT_ASSERT_EQUAL_MESSAGE(where, value.size(), r.results[0].value.size());
        CPPUNIT_ASSERT_EQUAL_MESSAGE(where, value, r.results[0].value.str());
      }
    }
  }

  void testNotMyVbucket() {
    Request r = make(Op::Get, {"a", "b"});
    r.vbuckets = {3, 4};
    Conversation c(r);
    std::string reply =
        encode_frame(response(op(Opcode::GetK), c.frames[0].opaque, Status::NotMyVbucket, "", "", "")) +
        encode_frame(response(op(Opcode::GetK), c.frames[1].opaque, Status::Success, be32(0), "b", "v"));
    CPPUNIT_ASSERT(c.feed(reply) == BackendDecode::Done);
    status_is(Status::NotMyVbucket, r.results[0]);
    CPPUNIT_ASSERT(r.results[1].hit);
    // the retry to another server overwrites the first answer
    Conversation retry(r, {0});
    CPPUNIT_ASSERT(retry.feed(encode_frame(response(op(Opcode::GetK), retry.frames[0].opaque, Status::Success,
                                                    be32(0), "a", "v"))) == BackendDecode::Done);
    CPPUNIT_ASSERT(r.results[0].hit);
    status_is(Status::Success, r.results[0]);

    Request s = make(Op::Set, {"k"});
    Conversation cs(s);
    CPPUNIT_ASSERT(cs.feed(encode_frame(response(op(Opcode::Set), cs.frames[0].opaque, Status::NotMyVbucket, "", "",
                                                 "{\"rev\":7}"))) == BackendDecode::Done);
    status_is(Status::NotMyVbucket, s.results[0]);
    CPPUNIT_ASSERT_EQUAL(std::string("{\"rev\":7}"), s.results[0].message);
  }

  void testReplicaGets() {
    // A replica read: GET_REPLICA (0x83) per key with its vBucket, answered
    // like GET (flags extras, no key).
    Request r = make(Op::Get, {"a", "b"});
    r.vbuckets = {3, 4};
    auto codec = make_binary_backend_codec();
    BackendOp bop;
    bop.request = &r;
    bop.replica = true;
    ByteChain out;
    codec->encode(bop, out);
    auto frames = test::parse_frames(out.str());
    CPPUNIT_ASSERT_EQUAL(size_t{2}, frames.size());
    check_request(frames[0], 0x83, 3, "", "a", "");
    check_request(frames[1], 0x83, 4, "", "b", "");
    ByteChain in;
    in.append(encode_frame(response(0x83, frames[0].opaque, Status::Success, be32(5), "", "va", 7)) +
              encode_frame(response(0x83, frames[1].opaque, Status::KeyNotFound, "", "", "Not found")));
    CPPUNIT_ASSERT(codec->decode(bop, in) == BackendDecode::Done);
    CPPUNIT_ASSERT(r.results[0].hit);
    CPPUNIT_ASSERT_EQUAL(uint32_t{5}, r.results[0].flags);
    CPPUNIT_ASSERT_EQUAL(uint64_t{7}, r.results[0].cas);
    CPPUNIT_ASSERT_EQUAL(std::string("va"), r.results[0].value.str());
    status_is(Status::KeyNotFound, r.results[1]);
    // A GETK reply to a replica read is out of step.
    Request again = make(Op::Get, {"a"});
    BackendOp replica_op;
    replica_op.request = &again;
    replica_op.replica = true;
    auto codec2 = make_binary_backend_codec();
    ByteChain out2, in2;
    codec2->encode(replica_op, out2);
    in2.append(encode_frame(response(op(Opcode::GetK), test::parse_frames(out2.str())[0].opaque)));
    CPPUNIT_ASSERT(codec2->decode(replica_op, in2) == BackendDecode::Desync);
  }

  void testExtendedErrorsFoldedBack() {
    // With XERROR granted, LOCKED (0x09) is what a client without it gets:
    // KEY_EEXISTS for a set, TMPFAIL for a delete; EACCESS is an auth error.
    auto answer = [](Op o, uint8_t opcode, uint16_t wire_status, bool extended) {
      Request r = make(o, {"k"});
      Conversation c(r);
      c.codec->set_extended_errors(extended);
      Frame f = response(opcode, c.frames[0].opaque);
      f.vbucket_or_status = wire_status;
      CPPUNIT_ASSERT(c.feed(encode_frame(f)) == BackendDecode::Done);
      return static_cast<int>(r.results[0].status);
    };
    CPPUNIT_ASSERT_EQUAL(0x02, answer(Op::Set, op(Opcode::Set), 0x09, true));
    CPPUNIT_ASSERT_EQUAL(0x86, answer(Op::Delete, op(Opcode::Delete), 0x09, true));
    CPPUNIT_ASSERT_EQUAL(0x02, answer(Op::Touch, op(Opcode::Touch), 0x09, true));
    CPPUNIT_ASSERT_EQUAL(0x20, answer(Op::Set, op(Opcode::Set), 0x24, true));
    CPPUNIT_ASSERT_EQUAL(0x20, answer(Op::Get, op(Opcode::GetK), 0x08, true));
    CPPUNIT_ASSERT_EQUAL(0x04, answer(Op::Get, op(Opcode::GetK), 0x88, true));
    CPPUNIT_ASSERT_EQUAL(0x83, answer(Op::Set, op(Opcode::Set), 0x0d, true));
    CPPUNIT_ASSERT_EQUAL(0x86, answer(Op::Set, op(Opcode::Set), 0x86, true));  // known codes pass
    CPPUNIT_ASSERT_EQUAL(0x07, answer(Op::Set, op(Opcode::Set), 0x07, true));
    // Not negotiated: nothing is touched.
    CPPUNIT_ASSERT_EQUAL(0x09, answer(Op::Set, op(Opcode::Set), 0x09, false));

    // A relayed frame (GETL passed through) carries the folded status in
    // its own header: LOCKED becomes TMPFAIL for GETL.
    Request g;
    g.op = Op::Passthrough;
    g.opcode = 0x94;
    g.add_key("k");
    g.prepare_results();
    Conversation c(g, {0});
    c.codec->set_extended_errors(true);
    Frame f = response(0x94, c.frames[0].opaque);
    f.vbucket_or_status = 0x09;
    CPPUNIT_ASSERT(c.feed(encode_frame(f)) == BackendDecode::Done);
    status_is(Status::TemporaryFailure, g.results[0]);
    const std::string relayed = g.results[0].value.str();
    CPPUNIT_ASSERT_EQUAL(size_t{24}, relayed.size());
    CPPUNIT_ASSERT_EQUAL(0x0086, (static_cast<uint8_t>(relayed[6]) << 8) | static_cast<uint8_t>(relayed[7]));
  }

  void testDecodeMutations() {
    Request s = make(Op::Set, {"k"});
    Conversation cs(s);
    CPPUNIT_ASSERT(cs.feed(encode_frame(response(op(Opcode::Set), cs.frames[0].opaque, Status::Success, "", "", "",
                                                 99))) == BackendDecode::Done);
    status_is(Status::Success, s.results[0]);
    CPPUNIT_ASSERT_EQUAL(uint64_t{99}, s.results[0].cas);

    Request a = make(Op::Add, {"k"});
    Conversation ca(a);
    CPPUNIT_ASSERT(ca.feed(encode_frame(response(op(Opcode::Add), ca.frames[0].opaque, Status::KeyExists, "", "",
                                                 "Data exists for key."))) == BackendDecode::Done);
    status_is(Status::KeyExists, a.results[0]);
    CPPUNIT_ASSERT_EQUAL(std::string("Data exists for key."), a.results[0].message);
    CPPUNIT_ASSERT(a.results[0].error_class == ErrorClass::None);

    Request i = make(Op::Incr, {"n"});
    Conversation ci(i);
    CPPUNIT_ASSERT(ci.trickle(encode_frame(response(op(Opcode::Increment), ci.frames[0].opaque, Status::Success, "",
                                                    "", be64(12345), 6))) == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(uint64_t{12345}, i.results[0].number);
    CPPUNIT_ASSERT_EQUAL(uint64_t{6}, i.results[0].cas);

    Request ib = make(Op::Incr, {"n"});
    Conversation cib(ib);
    CPPUNIT_ASSERT(cib.feed(encode_frame(response(op(Opcode::Increment), cib.frames[0].opaque, Status::Success, "", "",
                                                  "1234"))) == BackendDecode::Desync);  // not 8 bytes

    Request t = make(Op::Touch, {"k"});
    Conversation ct(t);
    CPPUNIT_ASSERT(ct.feed(encode_frame(response(op(Opcode::Touch), ct.frames[0].opaque, Status::Success, be32(17)))) ==
                   BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(uint32_t{17}, t.results[0].flags);

    Request d = make(Op::Delete, {"k"});
    Conversation cd(d);
    CPPUNIT_ASSERT(cd.feed(encode_frame(response(op(Opcode::Delete), cd.frames[0].opaque, Status::KeyNotFound, "", "",
                                                 "Not found"))) == BackendDecode::Done);
    status_is(Status::KeyNotFound, d.results[0]);
  }

  void testDecodeStats() {
    Request s = make(Op::Stats);
    Conversation c(s);
    uint32_t o = c.frames[0].opaque;
    std::string reply = encode_frame(response(op(Opcode::Stat), o, Status::Success, "", "pid", "10")) +
                        encode_frame(response(op(Opcode::Stat), o, Status::Success, "", "curr_items", "2")) +
                        encode_frame(response(op(Opcode::Stat), o));
    CPPUNIT_ASSERT(c.trickle(reply) == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(size_t{2}, s.server_stats.at(0).size());  // as sent; the core merges servers
    CPPUNIT_ASSERT_EQUAL(std::string("pid"), s.server_stats[0][0].first);
    CPPUNIT_ASSERT_EQUAL(std::string("2"), s.server_stats[0][1].second);
    Request bad = make(Op::Stats);
    bad.stats_args = "bogus";
    Conversation cb(bad);
    CPPUNIT_ASSERT(cb.feed(encode_frame(response(op(Opcode::Stat), cb.frames[0].opaque, Status::KeyNotFound, "", "",
                                                 "Not found"))) == BackendDecode::Done);
    status_is(Status::KeyNotFound, bad.results[0]);
  }

  void testDecodeKeyless() {
    Request v = make(Op::Version);
    Conversation cv(v);
    CPPUNIT_ASSERT(cv.feed(encode_frame(response(op(Opcode::Version), cv.frames[0].opaque, Status::Success, "", "",
                                                 "1.6.18"))) == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(std::string("1.6.18"), v.results[0].message);
    Request f = make(Op::Flush);
    f.results[0].status = Status::Success;
    Conversation cf(f);
    CPPUNIT_ASSERT(cf.feed(encode_frame(response(op(Opcode::Flush), cf.frames[0].opaque, Status::AuthError, "", "",
                                                 "Auth failure."))) == BackendDecode::Done);
    status_is(Status::AuthError, f.results[0]);
    Conversation cf2(f);  // another server succeeds: the error stays
    CPPUNIT_ASSERT(cf2.feed(encode_frame(response(op(Opcode::Flush), cf2.frames[0].opaque))) == BackendDecode::Done);
    status_is(Status::AuthError, f.results[0]);
    Request q = make(Op::Quit);
    Conversation cq(q);
    CPPUNIT_ASSERT(cq.feed(encode_frame(response(op(Opcode::Noop), cq.frames[0].opaque))) == BackendDecode::Done);
    status_is(Status::InternalError, q.results[0]);
  }

  // GET_CLUSTER_CONFIG: bare (no extras, key, value, CAS or vBucket); the
  // config lands in the message as sent, a refusal as its status.
  void testClusterConfig() {
    Request cc = make(Op::ClusterConfig);
    check_request(sent(cc)[0], op(Opcode::GetClusterConfig), 0, "", "", "");
    const std::string config = R"({"rev":5,"nodes":[{"hostname":"$HOST:8091"}]})";
    Conversation ok(cc);
    CPPUNIT_ASSERT(ok.feed(encode_frame(response(op(Opcode::GetClusterConfig), ok.frames[0].opaque, Status::Success,
                                                 "", "", config))) == BackendDecode::Done);
    status_is(Status::Success, cc.results[0]);
    CPPUNIT_ASSERT_EQUAL(config, cc.results[0].message);
    CPPUNIT_ASSERT_EQUAL(size_t{0}, ok.in.size());
    for (Status refusal : {Status::UnknownCommand, Status::KeyNotFound, Status::NotSupported}) {
      Request r = make(Op::ClusterConfig);
      Conversation c(r);
      CPPUNIT_ASSERT(c.feed(encode_frame(response(op(Opcode::GetClusterConfig), c.frames[0].opaque, refusal, "", "",
                                                  "Unknown command"))) == BackendDecode::Done);
      status_is(refusal, r.results[0]);
    }
    // Another opcode in reply is a desync, as for any op.
    Request d = make(Op::ClusterConfig);
    Conversation cd(d);
    CPPUNIT_ASSERT(cd.feed(encode_frame(response(op(Opcode::Noop), cd.frames[0].opaque))) == BackendDecode::Desync);
  }

  void testDesync() {
    auto check = [](const std::function<Frame(const Frame&)>& mutate, const char* what) {
      Request r = make(Op::Get, {"a"});
      Conversation c(r);
      Frame good = response(op(Opcode::GetK), c.frames[0].opaque, Status::Success, be32(0), "a", "v");
      CPPUNIT_ASSERT_MESSAGE(what, c.feed(encode_frame(mutate(good))) == BackendDecode::Desync);
    };
    check([](Frame f) { f.magic = 0x80; return f; }, "request magic");
    check([](Frame f) { f.opaque += 1; return f; }, "opaque");
    check([](Frame f) { f.opcode = op(Opcode::Get); return f; }, "opcode");
    check([](Frame f) { f.key = "b"; return f; }, "another key");
    check([](Frame f) { f.body_length_override = 2; return f; }, "extras+key beyond body");
    // A body beyond the item size (plus extras and key) is refused at its
    // header, before any of it is buffered.
    check([](Frame f) { f.body_length_override = int64_t{kDefaultBackendValueMax} + 255 + 65535 + 1; return f; },
          "a value over the item size");
    // garbage instead of a header
    Request r = make(Op::Delete, {"k"});
    Conversation c(r);
    CPPUNIT_ASSERT(c.feed("ERROR\r\n" + std::string(20, 'x')) == BackendDecode::Desync);
    Request n = make(Op::Delete, {"k"});
    Conversation cn(n);
    CPPUNIT_ASSERT(cn.feed(std::string(23, '\x81')) == BackendDecode::NeedMore);
  }

  void testPipelinedOps() {
    auto codec = make_binary_backend_codec();
    Request g = make(Op::Get, {"a"});
    Request s = make(Op::Set, {"b"});
    BackendOp og;
    og.request = &g;
    BackendOp os;
    os.request = &s;
    ByteChain out;
    codec->encode(og, out);
    codec->encode(os, out);
    auto f = test::parse_frames(out.str());
    std::string set_reply = encode_frame(response(op(Opcode::Set), f[1].opaque));
    ByteChain in;
    in.append(encode_frame(response(op(Opcode::GetK), f[0].opaque, Status::KeyNotFound, "", "a")) +
              set_reply.substr(0, 10));
    CPPUNIT_ASSERT(codec->decode(og, in) == BackendDecode::Done);
    CPPUNIT_ASSERT_EQUAL(size_t{10}, in.size());
    CPPUNIT_ASSERT(codec->decode(os, in) == BackendDecode::NeedMore);
    in.append(set_reply.substr(10));
    CPPUNIT_ASSERT(codec->decode(os, in) == BackendDecode::Done);
    status_is(Status::KeyNotFound, g.results[0]);
    status_is(Status::Success, s.results[0]);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BinaryBackendTest);

}  // namespace moxi::protocol
