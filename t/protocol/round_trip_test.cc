// Round trips through the whole codec chain, with the proxy core reduced to
// "send every key of the request to one backend":
//   ascii client bytes -> Request -> binary backend bytes -> (scripted
//   binary backend reply) -> Request.results -> ascii client reply bytes,
// and binary client -> ascii backend -> binary client likewise.
#include <cppunit/extensions/HelperMacros.h>

#include <functional>

#include "src/protocol/backend_codec.h"
#include "src/protocol/binary_format.h"
#include "src/protocol/client_codec.h"
#include "src/protocol/stats_merge.h"
#include "t/protocol/test_util.h"

namespace moxi::protocol {

using binary::Opcode;
using test::be32;
using test::be64;
using test::encode_frame;
using test::Frame;
using test::op;

namespace {


// Runs one request through client decode, backend encode, the scripted
// backend (`server` gets the bytes the proxy sent and returns its reply),
// backend decode and client encode. Returns what the client receives.
std::string through(ClientCodec& client, BackendCodec& backend, const std::string& client_bytes,
                    const std::function<std::string(const std::string&)>& server, std::string* sent = nullptr) {
  ByteChain in;
  in.append(client_bytes);
  Request req;
  CPPUNIT_ASSERT(client.decode(in, req) == DecodeStatus::Ready);
  CPPUNIT_ASSERT_EQUAL(size_t{0}, in.size());
  CPPUNIT_ASSERT(req.op != Op::Invalid);
  req.prepare_results();
  BackendOp bop;
  bop.request = &req;
  ByteChain wire;
  backend.encode(bop, wire);
  std::string request_bytes = wire.str();
  if (sent) *sent = request_bytes;
  ByteChain replies;
  replies.append(server(request_bytes));
  CPPUNIT_ASSERT(backend.decode(bop, replies) == BackendDecode::Done);
  CPPUNIT_ASSERT_EQUAL(size_t{0}, replies.size());
  // What the core does with a broadcast's answers (here from one server).
  if (req.op == Op::Stats || req.op == Op::Flush) combine_broadcast(req, 1);
  ByteChain out;
  client.encode(req, out);
  return out.str();
}

Frame response_to(const Frame& request, Status status = Status::Success, std::string extras = "",
                  std::string key = "", std::string value = "", uint64_t cas = 0) {
  Frame f;
  f.magic = binary::kResponseMagic;
  f.opcode = request.opcode;
  f.opaque = request.opaque;
  f.vbucket_or_status = static_cast<uint16_t>(status);
  f.extras = std::move(extras);
  f.key = std::move(key);
  f.value = std::move(value);
  f.cas = cas;
  return f;
}

Frame client_req(Opcode o, std::string key = "", std::string extras = "", std::string value = "", uint32_t opaque = 0,
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

}  // namespace

class RoundTripTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RoundTripTest);
  CPPUNIT_TEST(testAsciiMultigetOverBinary);
  CPPUNIT_TEST(testAsciiStorageOverBinary);
  CPPUNIT_TEST(testAsciiIncrOverBinary);
  CPPUNIT_TEST(testAsciiTouchAndCasOverBinary);
  CPPUNIT_TEST(testAsciiStatsOverBinary);
  CPPUNIT_TEST(testBinaryGetOverAscii);
  CPPUNIT_TEST(testBinaryAddOverAscii);
  CPPUNIT_TEST(testBinaryIncrCreateOverAscii);
  CPPUNIT_TEST(testBinaryStatsOverAscii);
  CPPUNIT_TEST(testBinaryQuietOverAscii);
  CPPUNIT_TEST(testAsciiOverAsciiKeepsServerWords);
  CPPUNIT_TEST(testUnknownKeyedOpcodePassesThrough);
  CPPUNIT_TEST(testConnectionOpcodesDoNotPassThrough);
  CPPUNIT_TEST(testAsciiGetlAndUnlOverBinary);
  CPPUNIT_TEST_SUITE_END();

  // Couchbase's GETL (0x94): decoded as a passthrough, sent to the server
  // unchanged but for the vBucket id and opaque, the response relayed with
  // the client's opaque; over an ascii backend it is an unknown command.
  void testUnknownKeyedOpcodePassesThrough() {
    Frame getl;
    getl.opcode = 0x94;
    getl.key = "locked";
    getl.extras = be32(15);
    getl.opaque = 0xfeedbeef;
    getl.data_type = 1;
    ByteChain in;
    in.append(encode_frame(getl));
    Request req;
    CPPUNIT_ASSERT(binary_client_->decode(in, req) == DecodeStatus::Ready);
    CPPUNIT_ASSERT(req.op == Op::Passthrough);
    req.prepare_results();
    req.vbuckets = {517};
    BackendOp bop;
    bop.request = &req;
    ByteChain wire;
    binary_backend_->encode(bop, wire);
    auto sent = test::parse_frames(wire.str());
    CPPUNIT_ASSERT_EQUAL(size_t{1}, sent.size());
    CPPUNIT_ASSERT_EQUAL(0x94, int{sent[0].opcode});
    CPPUNIT_ASSERT_EQUAL(517, int{sent[0].vbucket_or_status});
    CPPUNIT_ASSERT_EQUAL(1, int{sent[0].data_type});
    ASSERT_BYTES(be32(15), sent[0].extras);
    ASSERT_BYTES("locked", sent[0].key);
    ByteChain replies;
    replies.append(encode_frame(response_to(sent[0], Status::Success, be32(7), "", "value", 0x1234)));
    CPPUNIT_ASSERT(binary_backend_->decode(bop, replies) == BackendDecode::Done);
    ByteChain out;
    binary_client_->encode(req, out);
    auto got = test::parse_frames(out.str());
    CPPUNIT_ASSERT_EQUAL(size_t{1}, got.size());
    CPPUNIT_ASSERT_EQUAL(0x81, int{got[0].magic});
    CPPUNIT_ASSERT_EQUAL(0x94, int{got[0].opcode});
    CPPUNIT_ASSERT_EQUAL(0xfeedbeefu, got[0].opaque);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0x1234}, got[0].cas);
    ASSERT_BYTES(be32(7), got[0].extras);
    ASSERT_BYTES("value", got[0].value);

    std::string reply = through(*binary_client_, *ascii_backend_, encode_frame(getl), [](const std::string& bytes) {
      ASSERT_BYTES("version\r\n", bytes);  // only the stand-in that keeps the reply order
      return std::string("VERSION 1.6.18\r\n");
    });
    auto f = test::parse_frames(reply);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, f.size());
    CPPUNIT_ASSERT_EQUAL(static_cast<int>(Status::UnknownCommand), int{f[0].vbucket_or_status});
    CPPUNIT_ASSERT_EQUAL(0xfeedbeefu, f[0].opaque);
  }

  // The original moxi's ascii getl/unl: Couchbase GETL (lock seconds as
  // extras) and UNL (the cas in the header), in the original's words.
  void testAsciiGetlAndUnlOverBinary() {
    auto getl_reply = [&](const std::string& line, Status status, std::string* sent_extras = nullptr) {
      return through(*ascii_client_, *binary_backend_, line, [&](const std::string& bytes) {
        auto f = test::parse_frames(bytes);
        CPPUNIT_ASSERT_EQUAL(size_t{1}, f.size());
        CPPUNIT_ASSERT_EQUAL(0x94, int{f[0].opcode});
        ASSERT_BYTES("k", f[0].key);
        if (sent_extras) *sent_extras = f[0].extras;
        if (status != Status::Success) return encode_frame(response_to(f[0], status, "", "", "Temporary failure"));
        return encode_frame(response_to(f[0], Status::Success, be32(5), "", "data", 77));
      });
    };
    std::string extras;
    ASSERT_BYTES("VALUE k 5 4 77\r\ndata\r\nEND\r\n", getl_reply("getl k 10\r\n", Status::Success, &extras));
    ASSERT_BYTES(be32(10), extras);
    ASSERT_BYTES("VALUE k 5 4 77\r\ndata\r\nEND\r\n", getl_reply("getl k\r\n", Status::Success, &extras));
    ASSERT_BYTES(be32(0), extras);  // the server's default lock time
    ASSERT_BYTES("LOCK_ERROR\r\n", getl_reply("getl k\r\n", Status::TemporaryFailure));
    ASSERT_BYTES("NOT_FOUND\r\n", getl_reply("getl k\r\n", Status::KeyNotFound));
    auto unl_reply = [&](Status status) {
      return through(*ascii_client_, *binary_backend_, "unl k 77\r\n", [&](const std::string& bytes) {
        auto f = test::parse_frames(bytes);
        CPPUNIT_ASSERT_EQUAL(0x95, int{f[0].opcode});
        CPPUNIT_ASSERT_EQUAL(uint64_t{77}, f[0].cas);
        return encode_frame(response_to(f[0], status));
      });
    };
    ASSERT_BYTES("UNLOCKED\r\n", unl_reply(Status::Success));
    ASSERT_BYTES("UNLOCK_ERROR\r\n", unl_reply(Status::TemporaryFailure));
    ASSERT_BYTES("UNLOCK_ERROR\r\n", unl_reply(Status::Locked));
  }

  // HELLO and SELECT_BUCKET would change the shared backend
  // connection, opcodes outside the Couchbase data list may be unknown to the
  // server (which drops the shared connection); keyless ones have no server.
  void testConnectionOpcodesDoNotPassThrough() {
    for (uint8_t opcode : {uint8_t{0x1f}, uint8_t{0x89}, uint8_t{0xa3}, uint8_t{0x50}, uint8_t{0x94},
                           uint8_t{0x30}, uint8_t{0xfe}}) {
      Frame f;
      f.opcode = opcode;
      f.key = opcode == 0x94 ? "" : "name";
      ByteChain in;
      in.append(encode_frame(f) + encode_frame(client_req(Opcode::Noop)));
      Request req;
      CPPUNIT_ASSERT(binary_client_->decode(in, req) == DecodeStatus::Ready);
      CPPUNIT_ASSERT_MESSAGE(std::to_string(opcode), req.op == Op::Invalid);
      CPPUNIT_ASSERT_EQUAL(static_cast<int>(Status::UnknownCommand), static_cast<int>(req.error_status));
      Request next;
      CPPUNIT_ASSERT(binary_client_->decode(in, next) == DecodeStatus::Ready);
      CPPUNIT_ASSERT(next.op == Op::Noop);  // the frame was skipped whole
    }
  }

  std::unique_ptr<ClientCodec> ascii_client_ = make_ascii_client_codec(Limits{});
  std::unique_ptr<ClientCodec> binary_client_ = make_binary_client_codec(Limits{});
  std::unique_ptr<BackendCodec> ascii_backend_ = make_ascii_backend_codec();
  std::unique_ptr<BackendCodec> binary_backend_ = make_binary_backend_codec();

 public:
  void testAsciiMultigetOverBinary() {
    std::string sent;
    std::string reply = through(
        *ascii_client_, *binary_backend_, "gets a b a\r\n",
        [](const std::string& bytes) {
          auto f = test::parse_frames(bytes);
          CPPUNIT_ASSERT_EQUAL(size_t{3}, f.size());
          for (const Frame& r : f) CPPUNIT_ASSERT_EQUAL(int{op(Opcode::GetK)}, int{r.opcode});
          return encode_frame(response_to(f[0], Status::Success, be32(3), "a", "A\r\n", 11)) +
                 encode_frame(response_to(f[1], Status::KeyNotFound, "", "b")) +
                 encode_frame(response_to(f[2], Status::Success, be32(3), "a", "A\r\n", 11));
        },
        &sent);
    ASSERT_BYTES("VALUE a 3 3 11\r\nA\r\n\r\nVALUE a 3 3 11\r\nA\r\n\r\nEND\r\n", reply);
  }

  void testAsciiStorageOverBinary() {
    std::string reply = through(*ascii_client_, *binary_backend_, "set k 5 -1 2\r\nhi\r\n", [](const std::string& b) {
      auto f = test::parse_frames(b);
      CPPUNIT_ASSERT_EQUAL(int{op(Opcode::Set)}, int{f[0].opcode});
      ASSERT_BYTES(be32(5) + be32(2592001), f[0].extras);  // "expired", not "forever"
      ASSERT_BYTES("hi", f[0].value);
      return encode_frame(response_to(f[0], Status::Success, "", "", "", 1));
    });
    ASSERT_BYTES("STORED\r\n", reply);
    reply = through(*ascii_client_, *binary_backend_, "add k 0 0 1 noreply\r\nx\r\n", [](const std::string& b) {
      auto f = test::parse_frames(b);
      CPPUNIT_ASSERT_EQUAL(int{op(Opcode::Add)}, int{f[0].opcode});  // never quiet downstream
      return encode_frame(response_to(f[0], Status::KeyExists, "", "", "Data exists for key."));
    });
    ASSERT_BYTES("", reply);
    reply = through(*ascii_client_, *binary_backend_, "add k 0 0 1\r\nx\r\n", [](const std::string& b) {
      auto f = test::parse_frames(b);
      return encode_frame(response_to(f[0], Status::KeyExists, "", "", "Data exists for key."));
    });
    ASSERT_BYTES("NOT_STORED\r\n", reply);
    reply = through(*ascii_client_, *binary_backend_, "replace k 0 0 1\r\nx\r\n", [](const std::string& b) {
      auto f = test::parse_frames(b);
      return encode_frame(response_to(f[0], Status::KeyNotFound, "", "", "Not found"));
    });
    ASSERT_BYTES("NOT_STORED\r\n", reply);
    reply = through(*ascii_client_, *binary_backend_, "set k 0 0 1\r\nx\r\n", [](const std::string& b) {
      auto f = test::parse_frames(b);
      return encode_frame(response_to(f[0], Status::TooLarge, "", "", "Too large."));
    });
    ASSERT_BYTES("SERVER_ERROR object too large for cache\r\n", reply);
  }

  void testAsciiIncrOverBinary() {
    std::string reply = through(*ascii_client_, *binary_backend_, "incr n 5\r\n", [](const std::string& b) {
      auto f = test::parse_frames(b);
      ASSERT_BYTES(be64(5) + be64(0) + be32(0xffffffff), f[0].extras);  // ascii never creates
      return encode_frame(response_to(f[0], Status::DeltaBadValue, "", "", "Non-numeric server-side value for incr or decr"));
    });
    ASSERT_BYTES("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n", reply);
    reply = through(*ascii_client_, *binary_backend_, "decr n 1\r\n", [](const std::string& b) {
      auto f = test::parse_frames(b);
      return encode_frame(response_to(f[0], Status::Success, "", "", be64(41), 2));
    });
    ASSERT_BYTES("41\r\n", reply);
  }

  void testAsciiTouchAndCasOverBinary() {
    std::string reply = through(*ascii_client_, *binary_backend_, "touch k 10\r\n", [](const std::string& b) {
      auto f = test::parse_frames(b);
      CPPUNIT_ASSERT_EQUAL(int{op(Opcode::Touch)}, int{f[0].opcode});
      return encode_frame(response_to(f[0], Status::Success, be32(0), "", "", 4));
    });
    ASSERT_BYTES("TOUCHED\r\n", reply);  // not STORED (the original moxi's bug)
    reply = through(*ascii_client_, *binary_backend_, "cas k 0 0 1 99\r\nx\r\n", [](const std::string& b) {
      auto f = test::parse_frames(b);
      CPPUNIT_ASSERT_EQUAL(uint64_t{99}, f[0].cas);
      return encode_frame(response_to(f[0], Status::KeyNotFound, "", "", "Not found"));
    });
    ASSERT_BYTES("NOT_FOUND\r\n", reply);
    reply = through(*ascii_client_, *binary_backend_, "cas k 0 0 1 99\r\nx\r\n", [](const std::string& b) {
      auto f = test::parse_frames(b);
      return encode_frame(response_to(f[0], Status::KeyExists, "", "", "Data exists for key."));
    });
    ASSERT_BYTES("EXISTS\r\n", reply);
    reply = through(*ascii_client_, *binary_backend_, "gat 10 k\r\n", [](const std::string& b) {
      auto f = test::parse_frames(b);
      CPPUNIT_ASSERT_EQUAL(int{op(Opcode::GatK)}, int{f[0].opcode});
      return encode_frame(response_to(f[0], Status::Success, be32(1), "k", "v", 8));
    });
    ASSERT_BYTES("VALUE k 1 1\r\nv\r\nEND\r\n", reply);
  }

  void testAsciiStatsOverBinary() {
    std::string reply = through(*ascii_client_, *binary_backend_, "stats\r\n", [](const std::string& b) {
      auto f = test::parse_frames(b);
      return encode_frame(response_to(f[0], Status::Success, "", "pid", "9")) +
             encode_frame(response_to(f[0], Status::Success, "", "version", "1.6.18")) +
             encode_frame(response_to(f[0]));
    });
    ASSERT_BYTES("STAT pid 9\r\nSTAT version 1.6.18\r\nEND\r\n", reply);
  }

  void testBinaryGetOverAscii() {
    std::string sent;
    std::string reply = through(
        *binary_client_, *ascii_backend_, encode_frame(client_req(Opcode::GetK, "k", "", "", 0xabcd)),
        [](const std::string&) { return "VALUE k 7 3 99\r\nabc\r\nEND\r\n"; }, &sent);
    ASSERT_BYTES("gets k\r\n", sent);
    auto f = test::parse_frames(reply);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, f.size());
    CPPUNIT_ASSERT_EQUAL(int{op(Opcode::GetK)}, int{f[0].opcode});
    CPPUNIT_ASSERT_EQUAL(uint32_t{0xabcd}, f[0].opaque);
    CPPUNIT_ASSERT_EQUAL(uint64_t{99}, f[0].cas);
    ASSERT_BYTES(be32(7), f[0].extras);
    ASSERT_BYTES("k", f[0].key);
    ASSERT_BYTES("abc", f[0].value);

    reply = through(*binary_client_, *ascii_backend_, encode_frame(client_req(Opcode::Get, "k", "", "", 1)),
                    [](const std::string&) { return "END\r\n"; });
    f = test::parse_frames(reply);
    CPPUNIT_ASSERT_EQUAL(static_cast<int>(Status::KeyNotFound), int{f[0].vbucket_or_status});
    ASSERT_BYTES("Not found", f[0].value);
  }

  void testBinaryAddOverAscii() {
    std::string sent;
    std::string reply = through(
        *binary_client_, *ascii_backend_, encode_frame(client_req(Opcode::Add, "k", be32(1) + be32(2), "v", 3)),
        [](const std::string&) { return "NOT_STORED\r\n"; }, &sent);
    ASSERT_BYTES("add k 1 2 1\r\nv\r\n", sent);
    auto f = test::parse_frames(reply);
    CPPUNIT_ASSERT_EQUAL(static_cast<int>(Status::KeyExists), int{f[0].vbucket_or_status});  // what memcached's binary says
    ASSERT_BYTES("Data exists for key.", f[0].value);
  }

  void testBinaryIncrCreateOverAscii() {
    std::string sent;
    std::string reply = through(
        *binary_client_, *ascii_backend_,
        encode_frame(client_req(Opcode::Increment, "n", be64(1) + be64(10) + be32(0), "", 4)),
        [](const std::string&) { return "NOT_FOUND\r\nSTORED\r\n"; }, &sent);
    ASSERT_BYTES("incr n 1\r\nadd n 0 0 2\r\n10\r\n", sent);
    auto f = test::parse_frames(reply);
    CPPUNIT_ASSERT_EQUAL(static_cast<int>(Status::Success), int{f[0].vbucket_or_status});
    ASSERT_BYTES(be64(10), f[0].value);
  }

  void testBinaryStatsOverAscii() {
    std::string reply =
        through(*binary_client_, *ascii_backend_, encode_frame(client_req(Opcode::Stat, "", "", "", 5)),
                [](const std::string&) { return "STAT pid 9\r\nSTAT uptime 3\r\nEND\r\n"; });
    auto f = test::parse_frames(reply);
    CPPUNIT_ASSERT_EQUAL(size_t{3}, f.size());
    ASSERT_BYTES("pid", f[0].key);
    ASSERT_BYTES("9", f[0].value);
    ASSERT_BYTES("uptime", f[1].key);
    CPPUNIT_ASSERT(f[2].key.empty() && f[2].value.empty());
    CPPUNIT_ASSERT_EQUAL(uint32_t{5}, f[2].opaque);
  }

  void testBinaryQuietOverAscii() {
    std::string sent;
    std::string reply = through(
        *binary_client_, *ascii_backend_, encode_frame(client_req(Opcode::SetQ, "k", be32(0) + be32(0), "v")),
        [](const std::string&) { return "STORED\r\n"; }, &sent);
    ASSERT_BYTES("set k 0 0 1\r\nv\r\n", sent);  // no noreply downstream: the reply keeps the stream in step
    ASSERT_BYTES("", reply);
    reply = through(*binary_client_, *ascii_backend_,
                    encode_frame(client_req(Opcode::GetKQ, "k")), [](const std::string&) { return "END\r\n"; });
    ASSERT_BYTES("", reply);
    reply = through(*binary_client_, *ascii_backend_, encode_frame(client_req(Opcode::DeleteQ, "k")),
                    [](const std::string&) { return "NOT_FOUND\r\n"; });
    auto f = test::parse_frames(reply);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, f.size());  // quiet commands still report errors
    CPPUNIT_ASSERT_EQUAL(static_cast<int>(Status::KeyNotFound), int{f[0].vbucket_or_status});
  }

  void testAsciiOverAsciiKeepsServerWords() {
    std::string sent;
    std::string reply = through(
        *ascii_client_, *ascii_backend_, "get a b\r\n",
        [](const std::string&) { return "SERVER_ERROR out of memory writing get response\r\n"; }, &sent);
    ASSERT_BYTES("get a b\r\n", sent);
    ASSERT_BYTES("SERVER_ERROR out of memory writing get response\r\n", reply);
    reply = through(*ascii_client_, *ascii_backend_, "incr a 1\r\n", [](const std::string&) {
      return "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
    });
    ASSERT_BYTES("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n", reply);
    reply = through(*ascii_client_, *ascii_backend_, "set a 0 0 1\r\nx\r\n",
                    [](const std::string&) { return "SERVER_ERROR object too large for cache\r\n"; });
    ASSERT_BYTES("SERVER_ERROR object too large for cache\r\n", reply);
    reply = through(*ascii_client_, *ascii_backend_, "touch a 1\r\n", [](const std::string&) { return "TOUCHED\r\n"; });
    ASSERT_BYTES("TOUCHED\r\n", reply);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RoundTripTest);

}  // namespace moxi::protocol
