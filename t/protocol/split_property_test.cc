// Property: however a pipelined stream is cut into reads, the decoders
// produce the same requests as from one read. Seeds are fixed so a failure
// reproduces; the message names the seed and the cut points.
#include <cppunit/extensions/HelperMacros.h>

#include <random>

#include "src/protocol/binary_format.h"
#include "src/protocol/client_codec.h"
#include "t/protocol/test_util.h"

namespace moxi::protocol {

using binary::Opcode;
using test::be32;
using test::be64;
using test::encode_frame;
using test::Frame;

namespace {

std::string ascii_stream() {
  std::string s;
  s += "get a\r\n";
  s += "gets a b a c\r\n";
  s += "gat 10 x y\r\n";
  s += "set k 1 2 10\r\nab\r\ncd\r\nef\r\n";  // value with embedded CRLFs
  s += "set k 0 0 0 noreply\r\n\r\n";
  s += "cas k 0 0 3 77\r\nxyz\r\n";
  s += "append k 0 0 2\r\n\r\n\r\n";
  s += "set big 0 0 40\r\n" + std::string(40, 'B') + "\r\n";  // too large with the test limits: swallowed
  s += "set bad 0 0 2\r\nabcd\r\n";                           // bad data chunk, then "cd" = ERROR
  s += "set k 0 0 -1\r\n";
  s += "incr n 5\r\ndecr n 1 noreply\r\nincr n x\r\n";
  s += "delete k\r\ndelete k 0 noreply\r\ndelete k 1\r\n";
  s += "touch k 10\r\ntouch k\r\n";
  s += "flush_all\r\nflush_all 5 noreply\r\n";
  s += "verbosity 1\r\nversion\r\nstats\r\nstats slabs\r\n";
  s += "bogus command\r\n\r\n";
  s += "get " + std::string(251, 'k') + "\r\n";
  s += std::string("get a\0b\r\n", 9);
  s += "quit\r\n";
  s += "get never decoded\r\n";
  return s;
}

std::string binary_stream() {
  auto req = [](Opcode o, std::string key, std::string extras, std::string value, uint32_t opaque) {
    Frame f;
    f.opcode = static_cast<uint8_t>(o);
    f.key = std::move(key);
    f.extras = std::move(extras);
    f.value = std::move(value);
    f.opaque = opaque;
    f.cas = opaque * 3;
    return encode_frame(f);
  };
  std::string s;
  s += req(Opcode::GetKQ, "a", "", "", 1);
  s += req(Opcode::GetK, "b", "", "", 2);
  s += req(Opcode::Set, "k", be32(1) + be32(2), "v\r\nv", 3);
  s += req(Opcode::SetQ, "k", be32(1) + be32(2), std::string(40, 'B'), 4);  // too large: swallowed
  s += req(Opcode::AppendQ, "k", "", "tail", 5);
  s += req(static_cast<Opcode>(0x60), "what", "ex", "body", 6);  // unknown: swallowed
  s += req(Opcode::Increment, "n", be64(1) + be64(2) + be32(3), "", 7);
  s += req(Opcode::DecrementQ, "n", be64(1) + be64(2) + be32(0xffffffff), "", 8);
  s += req(Opcode::Touch, "k", be32(9), "", 9);
  s += req(Opcode::GatKQ, "k", be32(9), "", 10);
  s += req(Opcode::Stat, "slabs", "", "", 11);
  s += req(Opcode::FlushQ, "", be32(5), "", 12);
  s += req(Opcode::Noop, "", "", "", 13);
  s += req(Opcode::Version, "", "", "", 14);
  s += req(Opcode::Delete, "k", "", "", 15);
  s += req(Opcode::Quit, "", "", "", 16);
  s += req(Opcode::Get, "never", "", "", 17);
  return s;
}

Limits test_limits() {
  Limits l;
  l.max_value_length = 32;
  return l;
}

void check_splits(bool binary_protocol, const std::string& stream, unsigned seed, int trials) {
  auto fresh = [&] {
    return binary_protocol ? make_binary_client_codec(test_limits()) : make_ascii_client_codec(test_limits());
  };
  auto whole_codec = fresh();
  const test::Decoded whole = test::decode_stream(*whole_codec, stream);
  CPPUNIT_ASSERT(whole.requests.size() > 10);
  CPPUNIT_ASSERT(whole.requests.back().find("close=1") != std::string::npos);  // stopped at quit

  std::mt19937 rng(seed);
  for (int trial = 0; trial < trials; ++trial) {
    std::vector<size_t> cuts;
    if (trial == 0) {
      for (size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);  // one byte at a time
    } else {
      std::uniform_int_distribution<size_t> count(1, 40);
      std::uniform_int_distribution<size_t> at(1, stream.size() - 1);
      size_t n = count(rng);
      for (size_t i = 0; i < n; ++i) cuts.push_back(at(rng));
      std::sort(cuts.begin(), cuts.end());
    }
    auto codec = fresh();
    const test::Decoded split = test::decode_stream(*codec, stream, cuts);
    std::string where = "seed " + std::to_string(seed) + " trial " + std::to_string(trial) + " cuts";
    for (size_t c : cuts) where += " " + std::to_string(c);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(where, whole.requests.size(), split.requests.size());
    for (size_t i = 0; i < whole.requests.size(); ++i) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE(where, whole.requests[i], split.requests[i]);
    }
    CPPUNIT_ASSERT_EQUAL_MESSAGE(where, whole.left, split.left);
  }
}

}  // namespace

class SplitPropertyTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(SplitPropertyTest);
  CPPUNIT_TEST(testAsciiStreamSplitAnywhere);
  CPPUNIT_TEST(testBinaryStreamSplitAnywhere);
  CPPUNIT_TEST(testAsciiExpectedRequests);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testAsciiStreamSplitAnywhere() { check_splits(false, ascii_stream(), 20261122, 300); }
  void testBinaryStreamSplitAnywhere() { check_splits(true, binary_stream(), 4242, 300); }

  // The reference decode itself is what we expect (so the property is not
  // vacuously comparing two wrong answers).
  void testAsciiExpectedRequests() {
    auto codec = make_ascii_client_codec(test_limits());
    auto d = test::decode_stream(*codec, ascii_stream());
    std::vector<std::string> ops;
    for (const auto& r : d.requests) ops.push_back(r.substr(0, r.find(' ')));
    const std::vector<std::string> expected = {
        "get",     "get",     "gat",     "set",     "set",     "set",     "append",  "invalid",  // too large
        "invalid",                                                                              // bad data chunk
        "invalid",                                                                              // "cd": ERROR
        "invalid",                                                                              // length -1
        "incr",    "decr",    "invalid", "delete",  "delete",  "invalid", "touch",   "invalid", "flush",
        "flush",   "verbosity", "version", "stats", "stats",   "invalid", "invalid", "invalid", "get",
        "quit"};
    CPPUNIT_ASSERT_EQUAL(expected.size(), ops.size());
    for (size_t i = 0; i < ops.size(); ++i) CPPUNIT_ASSERT_EQUAL_MESSAGE(d.requests[i], expected[i], ops[i]);
    CPPUNIT_ASSERT(d.requests[3].find("value=ab\\r\\ncd\\r\\nef") != std::string::npos);
    CPPUNIT_ASSERT(d.left > 0);  // "get never decoded" stays: the connection closes after quit
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SplitPropertyTest);

}  // namespace moxi::protocol
