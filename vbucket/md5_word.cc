#include "vbucket/md5_word.h"

#include <cstring>

namespace moxi::vbucket {
namespace {

constexpr std::uint32_t rotl(std::uint32_t x, int c) { return (x << c) | (x >> (32 - c)); }

// RFC 1321's compression function on one 64-byte block (words little endian).
void transform(std::uint32_t state[4], const unsigned char block[64]) {
  std::uint32_t x[16];
  if constexpr (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
    std::memcpy(x, block, sizeof x);
  } else {
    for (int i = 0; i < 16; ++i) {
      const unsigned char* p = block + 4 * i;
      x[i] = std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[3]} << 24);
    }
  }
  std::uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
#define MOXI_MD5_STEP(f, w, x_, y, z, k, s, ac) \
  w += f(x_, y, z) + (k) + (ac);                \
  w = rotl(w, s) + x_;
#define MOXI_F(x_, y, z) ((z) ^ ((x_) & ((y) ^ (z))))
#define MOXI_G(x_, y, z) ((y) ^ ((z) & ((x_) ^ (y))))
#define MOXI_H(x_, y, z) ((x_) ^ (y) ^ (z))
#define MOXI_I(x_, y, z) ((y) ^ ((x_) | ~(z)))
  MOXI_MD5_STEP(MOXI_F, a, b, c, d, x[0], 7, 0xd76aa478)
  MOXI_MD5_STEP(MOXI_F, d, a, b, c, x[1], 12, 0xe8c7b756)
  MOXI_MD5_STEP(MOXI_F, c, d, a, b, x[2], 17, 0x242070db)
  MOXI_MD5_STEP(MOXI_F, b, c, d, a, x[3], 22, 0xc1bdceee)
  MOXI_MD5_STEP(MOXI_F, a, b, c, d, x[4], 7, 0xf57c0faf)
  MOXI_MD5_STEP(MOXI_F, d, a, b, c, x[5], 12, 0x4787c62a)
  MOXI_MD5_STEP(MOXI_F, c, d, a, b, x[6], 17, 0xa8304613)
  MOXI_MD5_STEP(MOXI_F, b, c, d, a, x[7], 22, 0xfd469501)
  MOXI_MD5_STEP(MOXI_F, a, b, c, d, x[8], 7, 0x698098d8)
  MOXI_MD5_STEP(MOXI_F, d, a, b, c, x[9], 12, 0x8b44f7af)
  MOXI_MD5_STEP(MOXI_F, c, d, a, b, x[10], 17, 0xffff5bb1)
  MOXI_MD5_STEP(MOXI_F, b, c, d, a, x[11], 22, 0x895cd7be)
  MOXI_MD5_STEP(MOXI_F, a, b, c, d, x[12], 7, 0x6b901122)
  MOXI_MD5_STEP(MOXI_F, d, a, b, c, x[13], 12, 0xfd987193)
  MOXI_MD5_STEP(MOXI_F, c, d, a, b, x[14], 17, 0xa679438e)
  MOXI_MD5_STEP(MOXI_F, b, c, d, a, x[15], 22, 0x49b40821)
  MOXI_MD5_STEP(MOXI_G, a, b, c, d, x[1], 5, 0xf61e2562)
  MOXI_MD5_STEP(MOXI_G, d, a, b, c, x[6], 9, 0xc040b340)
  MOXI_MD5_STEP(MOXI_G, c, d, a, b, x[11], 14, 0x265e5a51)
  MOXI_MD5_STEP(MOXI_G, b, c, d, a, x[0], 20, 0xe9b6c7aa)
  MOXI_MD5_STEP(MOXI_G, a, b, c, d, x[5], 5, 0xd62f105d)
  MOXI_MD5_STEP(MOXI_G, d, a, b, c, x[10], 9, 0x02441453)
  MOXI_MD5_STEP(MOXI_G, c, d, a, b, x[15], 14, 0xd8a1e681)
  MOXI_MD5_STEP(MOXI_G, b, c, d, a, x[4], 20, 0xe7d3fbc8)
  MOXI_MD5_STEP(MOXI_G, a, b, c, d, x[9], 5, 0x21e1cde6)
  MOXI_MD5_STEP(MOXI_G, d, a, b, c, x[14], 9, 0xc33707d6)
  MOXI_MD5_STEP(MOXI_G, c, d, a, b, x[3], 14, 0xf4d50d87)
  MOXI_MD5_STEP(MOXI_G, b, c, d, a, x[8], 20, 0x455a14ed)
  MOXI_MD5_STEP(MOXI_G, a, b, c, d, x[13], 5, 0xa9e3e905)
  MOXI_MD5_STEP(MOXI_G, d, a, b, c, x[2], 9, 0xfcefa3f8)
  MOXI_MD5_STEP(MOXI_G, c, d, a, b, x[7], 14, 0x676f02d9)
  MOXI_MD5_STEP(MOXI_G, b, c, d, a, x[12], 20, 0x8d2a4c8a)
  MOXI_MD5_STEP(MOXI_H, a, b, c, d, x[5], 4, 0xfffa3942)
  MOXI_MD5_STEP(MOXI_H, d, a, b, c, x[8], 11, 0x8771f681)
  MOXI_MD5_STEP(MOXI_H, c, d, a, b, x[11], 16, 0x6d9d6122)
  MOXI_MD5_STEP(MOXI_H, b, c, d, a, x[14], 23, 0xfde5380c)
  MOXI_MD5_STEP(MOXI_H, a, b, c, d, x[1], 4, 0xa4beea44)
  MOXI_MD5_STEP(MOXI_H, d, a, b, c, x[4], 11, 0x4bdecfa9)
  MOXI_MD5_STEP(MOXI_H, c, d, a, b, x[7], 16, 0xf6bb4b60)
  MOXI_MD5_STEP(MOXI_H, b, c, d, a, x[10], 23, 0xbebfbc70)
  MOXI_MD5_STEP(MOXI_H, a, b, c, d, x[13], 4, 0x289b7ec6)
  MOXI_MD5_STEP(MOXI_H, d, a, b, c, x[0], 11, 0xeaa127fa)
  MOXI_MD5_STEP(MOXI_H, c, d, a, b, x[3], 16, 0xd4ef3085)
  MOXI_MD5_STEP(MOXI_H, b, c, d, a, x[6], 23, 0x04881d05)
  MOXI_MD5_STEP(MOXI_H, a, b, c, d, x[9], 4, 0xd9d4d039)
  MOXI_MD5_STEP(MOXI_H, d, a, b, c, x[12], 11, 0xe6db99e5)
  MOXI_MD5_STEP(MOXI_H, c, d, a, b, x[15], 16, 0x1fa27cf8)
  MOXI_MD5_STEP(MOXI_H, b, c, d, a, x[2], 23, 0xc4ac5665)
  MOXI_MD5_STEP(MOXI_I, a, b, c, d, x[0], 6, 0xf4292244)
  MOXI_MD5_STEP(MOXI_I, d, a, b, c, x[7], 10, 0x432aff97)
  MOXI_MD5_STEP(MOXI_I, c, d, a, b, x[14], 15, 0xab9423a7)
  MOXI_MD5_STEP(MOXI_I, b, c, d, a, x[5], 21, 0xfc93a039)
  MOXI_MD5_STEP(MOXI_I, a, b, c, d, x[12], 6, 0x655b59c3)
  MOXI_MD5_STEP(MOXI_I, d, a, b, c, x[3], 10, 0x8f0ccc92)
  MOXI_MD5_STEP(MOXI_I, c, d, a, b, x[10], 15, 0xffeff47d)
  MOXI_MD5_STEP(MOXI_I, b, c, d, a, x[1], 21, 0x85845dd1)
  MOXI_MD5_STEP(MOXI_I, a, b, c, d, x[8], 6, 0x6fa87e4f)
  MOXI_MD5_STEP(MOXI_I, d, a, b, c, x[15], 10, 0xfe2ce6e0)
  MOXI_MD5_STEP(MOXI_I, c, d, a, b, x[6], 15, 0xa3014314)
  MOXI_MD5_STEP(MOXI_I, b, c, d, a, x[13], 21, 0x4e0811a1)
  MOXI_MD5_STEP(MOXI_I, a, b, c, d, x[4], 6, 0xf7537e82)
  MOXI_MD5_STEP(MOXI_I, d, a, b, c, x[11], 10, 0xbd3af235)
  MOXI_MD5_STEP(MOXI_I, c, d, a, b, x[2], 15, 0x2ad7d2bb)
  MOXI_MD5_STEP(MOXI_I, b, c, d, a, x[9], 21, 0xeb86d391)
#undef MOXI_MD5_STEP
#undef MOXI_F
#undef MOXI_G
#undef MOXI_H
#undef MOXI_I
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
}

}  // namespace

std::uint32_t md5_first_word(std::string_view key) noexcept {
  std::uint32_t state[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  const auto* p = reinterpret_cast<const unsigned char*>(key.data());
  size_t left = key.size();
  for (; left >= 64; p += 64, left -= 64) transform(state, p);
  // Padding: 0x80, zeros, then the bit length (little endian) in the last 8
  // bytes; one block when the key's tail leaves room (keys up to 55 bytes).
  const std::uint64_t bits = static_cast<std::uint64_t>(key.size()) * 8;
  unsigned char lenbytes[8];
  if constexpr (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
    std::memcpy(lenbytes, &bits, 8);
  } else {
    for (int i = 0; i < 8; ++i) lenbytes[i] = static_cast<unsigned char>(bits >> (8 * i));
  }
  alignas(16) unsigned char tail[64] = {};
  if (left > 0) std::memcpy(tail, p, left);
  tail[left] = 0x80;
  if (left + 1 + 8 > 64) {
    transform(state, tail);
    std::memset(tail, 0, sizeof tail);
  }
  std::memcpy(tail + 56, lenbytes, 8);
  transform(state, tail);
  return state[0];  // digest bytes 0..3 read little endian
}

}  // namespace moxi::vbucket
