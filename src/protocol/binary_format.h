// The memcached binary protocol on the wire: magic bytes, opcodes and the
// 24-byte packet header (all fields big endian). Shared by the binary client
// codec (client -> proxy) and the binary backend codec (proxy -> memcached),
// so the byte layout is written down exactly once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace moxi::protocol::binary {

inline constexpr uint8_t kRequestMagic = 0x80;
inline constexpr uint8_t kResponseMagic = 0x81;
inline constexpr size_t kHeaderSize = 24;

// Opcodes memcached 1.6 serves (plus VERBOSITY from the spec, answered by
// the proxy itself). The SASL opcodes (and Couchbase's SELECT_BUCKET) are
// what moxi sends to authenticate its backend connections; a client's own
// SASL requests choose its bucket and are answered by the proxy (PLAIN).
enum class Opcode : uint8_t {
  Get = 0x00,
  Set = 0x01,
  Add = 0x02,
  Replace = 0x03,
  Delete = 0x04,
  Increment = 0x05,
  Decrement = 0x06,
  Quit = 0x07,
  Flush = 0x08,
  GetQ = 0x09,
  Noop = 0x0a,
  Version = 0x0b,
  GetK = 0x0c,
  GetKQ = 0x0d,
  Append = 0x0e,
  Prepend = 0x0f,
  Stat = 0x10,
  SetQ = 0x11,
  AddQ = 0x12,
  ReplaceQ = 0x13,
  DeleteQ = 0x14,
  IncrementQ = 0x15,
  DecrementQ = 0x16,
  QuitQ = 0x17,
  FlushQ = 0x18,
  AppendQ = 0x19,
  PrependQ = 0x1a,
  Verbosity = 0x1b,
  Touch = 0x1c,
  Gat = 0x1d,
  GatQ = 0x1e,
  SaslListMechs = 0x20,
  SaslAuth = 0x21,
  SaslStep = 0x22,
  GatK = 0x23,
  GatKQ = 0x24,
  Hello = 0x1f,
  GetReplica = 0x83,
  SelectBucket = 0x89,
  GetClusterConfig = 0xb5,
};

// HELLO feature codes moxi asks for (Couchbase data nodes; memcached does
// not know HELLO).
enum class Feature : uint16_t {
  TcpNoDelay = 0x03,
  Xerror = 0x07,        // extended statuses instead of a closed connection
  SelectBucket = 0x08,  // informational: SELECT_BUCKET is available
};

// Extras sizes of the commands that carry extras.
inline constexpr uint8_t kStorageExtras = 8;   // flags u32, expiration u32
inline constexpr uint8_t kArithExtras = 20;    // delta u64, initial u64, expiration u32
inline constexpr uint8_t kTouchExtras = 4;     // expiration u32 (TOUCH, GAT*)
inline constexpr uint8_t kFlushExtras = 4;     // expiration u32 (optional)
inline constexpr uint8_t kVerbosityExtras = 4; // level u32
inline constexpr uint8_t kGetResponseExtras = 4;  // flags u32

// Incr/decr expiration meaning "do not create the item when it is missing".
inline constexpr uint32_t kNoAutoCreate = 0xffffffff;

// One packet header in host byte order. The 16-bit field at offset 6 is the
// vBucket id in a request and the status in a response.
struct Header {
  uint8_t magic = 0;
  uint8_t opcode = 0;
  uint16_t key_length = 0;
  uint8_t extras_length = 0;
  uint8_t data_type = 0;
  uint16_t vbucket_or_status = 0;
  uint32_t body_length = 0;
  uint32_t opaque = 0;
  uint64_t cas = 0;
};

// Big-endian (network order) fields; memcpy + byte swap compiles to a load
// or store and one bswap (the byte loops did not).
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ || __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__);
constexpr bool kSwap = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
inline void put16(uint8_t* p, uint16_t v) {
  if (kSwap) v = __builtin_bswap16(v);
  std::memcpy(p, &v, 2);
}
inline void put32(uint8_t* p, uint32_t v) {
  if (kSwap) v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}
inline void put64(uint8_t* p, uint64_t v) {
  if (kSwap) v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}
inline uint16_t get16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return kSwap ? __builtin_bswap16(v) : v;
}
inline uint32_t get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return kSwap ? __builtin_bswap32(v) : v;
}
inline uint64_t get64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return kSwap ? __builtin_bswap64(v) : v;
}

inline void encode_header(const Header& h, uint8_t* out /* kHeaderSize bytes */) {
  out[0] = h.magic;
  out[1] = h.opcode;
  put16(out + 2, h.key_length);
  out[4] = h.extras_length;
  out[5] = h.data_type;
  put16(out + 6, h.vbucket_or_status);
  put32(out + 8, h.body_length);
  // The opaque is an uninterpreted 32-bit token: written in network order
  // so a reader sees the same number the writer meant.
  put32(out + 12, h.opaque);
  put64(out + 16, h.cas);
}

inline Header decode_header(const uint8_t* in /* kHeaderSize bytes */) {
  Header h;
  h.magic = in[0];
  h.opcode = in[1];
  h.key_length = get16(in + 2);
  h.extras_length = in[4];
  h.data_type = in[5];
  h.vbucket_or_status = get16(in + 6);
  h.body_length = get32(in + 8);
  h.opaque = get32(in + 12);
  h.cas = get64(in + 16);
  return h;
}

}  // namespace moxi::protocol::binary
