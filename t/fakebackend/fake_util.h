// Helpers for the VBucketServer tests: building binary requests with a
// vBucket id, one-call round trips on a TestClient, and readable packets for
// failure messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/protocol/binary_format.h"
#include "t/support/client.h"
#include "t/support/oracle.h"

namespace moxi::test::fake {

using Op = protocol::binary::Opcode;

constexpr uint8_t op(Op o) { return static_cast<uint8_t>(o); }

// A request packet; vbucket goes to header bytes 6-7.
BinaryPacket req(Op opcode, std::string key = {}, std::string value = {}, std::string extras = {},
                 uint16_t vbucket = 0, uint64_t cas = 0, uint32_t opaque = 0);

std::string u32(uint32_t v);                                               // 4 bytes, big endian
std::string set_extras(uint32_t flags, uint32_t exptime);                  // SET/ADD/REPLACE
std::string arith_extras(uint64_t delta, uint64_t initial, uint32_t exptime);  // INCR/DECR
uint32_t flags_of(const BinaryPacket& reply);    // a GET reply's 4-byte extras
uint64_t counter_of(const BinaryPacket& reply);  // an INCR/DECR reply's 8-byte value

// Sends one request and reads one reply.
BinaryPacket call(TestClient& client, const BinaryPacket& request);
// Reads replies up to and including the next NOOP reply.
std::vector<BinaryPacket> read_through_noop(TestClient& client);

// The vBucket a key maps to with n (power of two) vBuckets: the oracle's.
using oracle::vbucket_of;

// "op=0x00 status=0x0001 opaque=7 cas=0 ext='' key='' value='Not found'".
std::string describe(const BinaryPacket& p);

}  // namespace moxi::test::fake

// Asserts a reply's status, printing the whole reply on failure. `reply` is
// evaluated once (it is often a call() that sends a request).
#define ASSERT_STATUS(expected, reply)                                                         \
  do {                                                                                          \
    const ::moxi::test::BinaryPacket& assert_status_reply_ = (reply);                           \
    CPPUNIT_ASSERT_EQUAL_MESSAGE(::moxi::test::fake::describe(assert_status_reply_), int(expected), \
                                 int(assert_status_reply_.status()));                           \
  } while (0)
