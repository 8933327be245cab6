#include "vbucket/key_hash.h"

#include <libhashkit-1.0/hashkit.h>

namespace moxi::vbucket {

std::uint32_t vbucket_hash(std::string_view key) noexcept {
  // libhashkit's CRC already returns (crc32 >> 16) & 0x7fff, the exact value
  // libvbucket uses; reusing it keeps us bit-compatible with libmemcached.
  return libhashkit_crc32(key.data(), key.size());
}

}  // namespace moxi::vbucket
