// Multiget reassembly, without sockets or a Worker: one client request
// "get a b a m c b2 c" split over three servers the way the router splits
// it (each server's keys in client order), each part encoded by a real
// backend codec (two binary servers, one ascii), answered by a scripted
// server (hits, misses, a key asked twice), completed in another order than
// sent, then written by the ascii client codec. Every backend reply must
// land in its key's slot: the client sees its keys' values in its own order,
// a duplicate at each place, misses left out.
#include <cppunit/extensions/HelperMacros.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/protocol/backend_codec.h"
#include "src/protocol/binary_format.h"
#include "src/protocol/client_codec.h"
#include "t/protocol/test_util.h"

namespace moxi::protocol {

using binary::Opcode;
using test::be32;
using test::encode_frame;
using test::Frame;

namespace {

struct Item {
  std::string value;
  uint32_t flags = 0;
};
using Store = std::map<std::string, Item>;

// memcached's binary answers to the GETK frames in `sent`.
std::string binary_server(const std::string& sent, const Store& store) {
  std::string rest, reply;
  for (const Frame& req : test::parse_frames(sent, &rest)) {
    CPPUNIT_ASSERT_EQUAL(test::op(Opcode::GetK), req.opcode);
    Frame r;
    r.magic = binary::kResponseMagic;
    r.opcode = req.opcode;
    r.opaque = req.opaque;
    auto it = store.find(req.key);
    if (it == store.end()) {
      r.vbucket_or_status = static_cast<uint16_t>(Status::KeyNotFound);
      r.value = "Not found";
    } else {
      r.extras = be32(it->second.flags);
      r.key = req.key;
      r.value = it->second.value;
    }
    reply += encode_frame(r);
  }
  CPPUNIT_ASSERT_EQUAL(std::string(), rest);
  return reply;
}

// memcached's ascii answer to one "get k1 k2 ...\r\n" line: a VALUE block
// per hit, at each place the key was asked, then END.
std::string ascii_server(const std::string& sent, const Store& store) {
  CPPUNIT_ASSERT(sent.rfind("get ", 0) == 0);
  CPPUNIT_ASSERT(sent.size() >= 6 && sent.compare(sent.size() - 2, 2, "\r\n") == 0);
  std::string reply;
  const std::string keys = sent.substr(4, sent.size() - 6);
  for (size_t at = 0; at <= keys.size();) {
    size_t sp = keys.find(' ', at);
    if (sp == std::string::npos) sp = keys.size();
    const std::string key = keys.substr(at, sp - at);
    if (auto it = store.find(key); it != store.end())
      reply += "VALUE " + key + " " + std::to_string(it->second.flags) + " " + std::to_string(it->second.value.size()) +
               "\r\n" + it->second.value + "\r\n";
    at = sp + 1;
  }
  return reply + "END\r\n";
}

// One server's part of the request: its codec, its op, the reply it will get.
struct Part {
  std::unique_ptr<BackendCodec> codec;
  BackendOp op;
  std::string reply;
};

}  // namespace

class MultigetReassemblyTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(MultigetReassemblyTest);
  CPPUNIT_TEST(testRepliesLandInTheirKeysSlots);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testRepliesLandInTheirKeysSlots() {
    auto client = make_ascii_client_codec(Limits{});
    Request req;
    CPPUNIT_ASSERT(test::decode_one(*client, "get a b a m c b2 c\r\n", req) == DecodeStatus::Ready);
    req.prepare_results();
    CPPUNIT_ASSERT_EQUAL(size_t{7}, req.key_count());

    // Placement (the test's map): a, m on server 0; b, b2 on 1; c on 2.
    const std::map<std::string, int> server_of = {{"a", 0}, {"m", 0}, {"b", 1}, {"b2", 1}, {"c", 2}};
    const std::vector<Store> stores = {
        {{"a", {"A1", 7}}},  // m misses
        {{"b", {"B", 0}}},   // b2 misses
        {{"c", {"CC", 3}}},
    };
    std::vector<Part> parts(3);
    parts[0].codec = make_binary_backend_codec();
    parts[1].codec = make_binary_backend_codec();
    parts[2].codec = make_ascii_backend_codec();
    for (auto& p : parts) p.op.request = &req;
    for (uint32_t k = 0; k < req.key_count(); ++k)
      parts[static_cast<size_t>(server_of.at(std::string(req.key(k))))].op.key_indexes.push_back(k);
    CPPUNIT_ASSERT((parts[0].op.key_indexes == std::vector<uint32_t>{0, 2, 3}));
    CPPUNIT_ASSERT((parts[1].op.key_indexes == std::vector<uint32_t>{1, 5}));
    CPPUNIT_ASSERT((parts[2].op.key_indexes == std::vector<uint32_t>{4, 6}));

    for (size_t s = 0; s < parts.size(); ++s) {
      ByteChain out;
      parts[s].codec->encode(parts[s].op, out);
      const std::string sent = out.str();
      parts[s].reply = s == 2 ? ascii_server(sent, stores[s]) : binary_server(sent, stores[s]);
    }
    ASSERT_BYTES("VALUE c 3 2\r\nCC\r\nVALUE c 3 2\r\nCC\r\nEND\r\n", parts[2].reply);

    // Completion order: the ascii server first, then server 0 a byte at a
    // time, then server 1.
    {
      ByteChain in;
      in.append(parts[2].reply);
      CPPUNIT_ASSERT(parts[2].codec->decode(parts[2].op, in) == BackendDecode::Done);
      CPPUNIT_ASSERT_EQUAL(size_t{0}, in.size());
    }
    {
      ByteChain in;
      BackendDecode d = BackendDecode::NeedMore;
      for (size_t i = 0; i < parts[0].reply.size(); ++i) {
        CPPUNIT_ASSERT(d == BackendDecode::NeedMore);
        in.append(parts[0].reply.substr(i, 1));
        d = parts[0].codec->decode(parts[0].op, in);
      }
      CPPUNIT_ASSERT(d == BackendDecode::Done);
    }
    {
      ByteChain in;
      in.append(parts[1].reply);
      CPPUNIT_ASSERT(parts[1].codec->decode(parts[1].op, in) == BackendDecode::Done);
    }

    // Each slot, by key index.
    const std::vector<std::string> hits = {"A1", "B", "A1", "", "CC", "", "CC"};
    const std::vector<uint32_t> flags = {7, 0, 7, 0, 3, 0, 3};
    for (size_t k = 0; k < hits.size(); ++k) {
      const Result& r = req.results[k];
      const std::string where = "key " + std::to_string(k) + " (" + std::string(req.key(k)) + ")";
      CPPUNIT_ASSERT_EQUAL_MESSAGE(where, !hits[k].empty(), r.hit);
      if (!r.hit) continue;
      CPPUNIT_ASSERT_EQUAL_MESSAGE(where, hits[k], r.value.str());
      CPPUNIT_ASSERT_EQUAL_MESSAGE(where, flags[k], r.flags);
    }

    // What the client reads: its order, duplicates at each place, no misses.
    ByteChain out;
    client->encode(req, out);
    ASSERT_BYTES(
        "VALUE a 7 2\r\nA1\r\nVALUE b 0 1\r\nB\r\nVALUE a 7 2\r\nA1\r\nVALUE c 3 2\r\nCC\r\n"
        "VALUE c 3 2\r\nCC\r\nEND\r\n",
        out.str());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MultigetReassemblyTest);

}  // namespace moxi::protocol
