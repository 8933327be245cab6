// encode_binary / decode_binary against the byte layouts given in the
// memcached binary protocol specification (its "Add" request and "Get"
// response examples).
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "t/harness/check.h"
#include "t/support/client.h"

namespace moxi::test {
namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

// Spec example: Add "Hello" = "World", flags 0xdeadbeef, expiry 3600.
const std::string kAddRequest =
    bytes({0x80, 0x02, 0x00, 0x05, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x00, 0x00, 0x00, 0x00,
           0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x0e, 0x10}) +
    "HelloWorld";

// Spec example: Get response with flags 0xdeadbeef, value "World", cas 1.
const std::string kGetResponse =
    bytes({0x81, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00,
           0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef}) +
    "World";

}  // namespace

class BinaryCodecTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(BinaryCodecTest);
  CPPUNIT_TEST(encodes_spec_add_request);
  CPPUNIT_TEST(decodes_spec_get_response);
  CPPUNIT_TEST(round_trips_every_header_field);
  CPPUNIT_TEST(raw_encoding_keeps_given_lengths);
  CPPUNIT_TEST(rejects_short_or_inconsistent_packets);
  CPPUNIT_TEST(escapes_bytes_for_messages);
  CPPUNIT_TEST_SUITE_END();

 public:
  void encodes_spec_add_request() {
    BinaryPacket p = bin::request(bin::kAdd, "Hello", "World", bin::set_extras(0xdeadbeef, 3600));
    CPPUNIT_ASSERT_EQUAL(escape_bytes(kAddRequest), escape_bytes(encode_binary(p)));
  }

  void decodes_spec_get_response() {
    BinaryPacket p = decode_binary(kGetResponse);
    CPPUNIT_ASSERT_EQUAL(int(bin::kResponse), int(p.magic));
    CPPUNIT_ASSERT_EQUAL(int(bin::kGet), int(p.opcode));
    CPPUNIT_ASSERT_EQUAL(0, int(p.keylen));
    CPPUNIT_ASSERT_EQUAL(4, int(p.extlen));
    CPPUNIT_ASSERT_EQUAL(int(bin::kSuccess), int(p.status()));
    CPPUNIT_ASSERT_EQUAL(uint32_t(9), p.bodylen);
    CPPUNIT_ASSERT_EQUAL(uint64_t(1), p.cas);
    CPPUNIT_ASSERT_EQUAL(bytes({0xde, 0xad, 0xbe, 0xef}), p.extras);
    CPPUNIT_ASSERT_EQUAL(std::string(), p.key);
    CPPUNIT_ASSERT_EQUAL(std::string("World"), p.value);
  }

  void round_trips_every_header_field() {
    BinaryPacket p = bin::request(bin::kSet, "k\x01y", std::string("v\0al", 4), "ext", 0xfeedf00d,
                                  0x0102030405060708ull);
    p.datatype = 0x7f;
    p.vbucket_or_status = 0xabcd;
    std::string wire = encode_binary(p);
    CPPUNIT_ASSERT_EQUAL(size_t(24 + 3 + 3 + 4), wire.size());
    BinaryPacket q = decode_binary(wire);
    CPPUNIT_ASSERT_EQUAL(int(p.magic), int(q.magic));
    CPPUNIT_ASSERT_EQUAL(int(p.opcode), int(q.opcode));
    CPPUNIT_ASSERT_EQUAL(3, int(q.keylen));
    CPPUNIT_ASSERT_EQUAL(3, int(q.extlen));
    CPPUNIT_ASSERT_EQUAL(0x7f, int(q.datatype));
    CPPUNIT_ASSERT_EQUAL(0xabcd, int(q.vbucket_or_status));
    CPPUNIT_ASSERT_EQUAL(uint32_t(10), q.bodylen);
    CPPUNIT_ASSERT_EQUAL(uint32_t(0xfeedf00d), q.opaque);
    CPPUNIT_ASSERT_EQUAL(uint64_t(0x0102030405060708ull), q.cas);
    CPPUNIT_ASSERT_EQUAL(p.extras, q.extras);
    CPPUNIT_ASSERT_EQUAL(p.key, q.key);
    CPPUNIT_ASSERT_EQUAL(p.value, q.value);
    // Big-endian on the wire: the cas's most significant byte comes first.
    CPPUNIT_ASSERT_EQUAL(1, int(wire[16]));
    CPPUNIT_ASSERT_EQUAL(8, int(wire[23]));
  }

  void raw_encoding_keeps_given_lengths() {
    BinaryPacket p = bin::request(bin::kGet, "key");
    p.keylen = 200;  // a lie
    p.bodylen = 3;
    std::string wire = encode_binary_raw(p);
    CPPUNIT_ASSERT_EQUAL(size_t(27), wire.size());
    CPPUNIT_ASSERT_EQUAL(0, int(wire[2]));
    CPPUNIT_ASSERT_EQUAL(200, int(static_cast<unsigned char>(wire[3])));
    // ...which the decoder refuses.
    CPPUNIT_ASSERT_THROW(decode_binary(wire), std::runtime_error);
  }

  void rejects_short_or_inconsistent_packets() {
    CPPUNIT_ASSERT_THROW(decode_binary(kGetResponse.substr(0, 23)), std::runtime_error);
    CPPUNIT_ASSERT_THROW(decode_binary(kGetResponse.substr(0, kGetResponse.size() - 1)), std::runtime_error);
    CPPUNIT_ASSERT_THROW(decode_binary(kGetResponse + "x"), std::runtime_error);
  }

  void escapes_bytes_for_messages() {
    CPPUNIT_ASSERT_EQUAL(std::string("END\\r\\n\\x00\\\\"), escape_bytes(std::string("END\r\n\0\\", 7)));
    CPPUNIT_ASSERT_EQUAL(std::string("ab...(4 bytes)"), escape_bytes("abcd", 2));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BinaryCodecTest);

}  // namespace moxi::test
