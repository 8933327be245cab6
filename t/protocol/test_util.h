// Helpers shared by the protocol tests: ByteChain <-> string, binary frame
// builders/parsers, and a canonical text form of a Request so decoded
// requests can be compared (and printed) as strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/protocol/binary_format.h"
#include "src/protocol/client_codec.h"
#include "src/protocol/request.h"
#include "src/util/byte_chain.h"

namespace moxi::protocol::test {

using namespace std::string_literals;

// Whole content of a chain, drained.
std::string take(ByteChain& buf);

// A binary request frame (magic 0x80) or response frame (magic 0x81).
struct Frame {
  uint8_t magic = 0x80;
  uint8_t opcode = 0;
  uint16_t vbucket_or_status = 0;
  uint32_t opaque = 0;
  uint64_t cas = 0;
  std::string extras;
  std::string key;
  std::string value;
  int64_t body_length_override = -1;  // to build malformed frames
  uint8_t data_type = 0;
};
std::string encode_frame(const Frame& f);
// Splits a byte string into frames; anything after the last complete frame
// is returned in `rest`.
std::vector<Frame> parse_frames(std::string bytes, std::string* rest = nullptr);
// An opcode as the byte a Frame carries.
inline uint8_t op(binary::Opcode o) { return static_cast<uint8_t>(o); }
std::string be32(uint32_t v);
std::string be64(uint64_t v);

// Canonical one-line description of a decoded request (every field that a
// decoder sets, value bytes included).
std::string describe(const Request& req);

struct Decoded {
  std::vector<std::string> requests;  // describe() of each Ready request
  bool closed = false;                // the codec said Close
  size_t left = 0;                    // bytes left in the buffer at the end
};
// Feeds `input` to `codec` in pieces split at `cuts` (sorted offsets), and
// decodes everything it can after each piece, like a connection would.
Decoded decode_stream(ClientCodec& codec, std::string_view input, const std::vector<size_t>& cuts = {});

// Decodes exactly one request from `input`, returning it.
DecodeStatus decode_one(ClientCodec& codec, std::string_view input, Request& req, size_t* left = nullptr);

// Printable form of bytes (\r \n and non-printables escaped) for messages.
std::string printable(std::string_view s);

}  // namespace moxi::protocol::test

#define ASSERT_BYTES(expected, actual) \
  CPPUNIT_ASSERT_EQUAL(::moxi::protocol::test::printable(expected), ::moxi::protocol::test::printable(actual))
