// The key hash that picks a vBucket: (crc32(key) >> 16) & 0x7fff.
//
// This is the hash every vBucket-aware client agrees on (libvbucket, moxi,
// libcouchbase, the Java clients): CRC-32/ISO-HDLC (zlib's crc32) of the raw
// key bytes, keeping bits 16..30. The vBucket is that value masked by the
// (power-of-two) vBucket count. Because only 15 bits survive, a map with
// 65536 vBuckets can only ever receive keys in vBuckets 0..32767.
//
// Thread-safety: pure function, safe from any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace moxi::vbucket {

// The 15-bit key hash, 0..32767. The empty key hashes to 0.
std::uint32_t vbucket_hash(std::string_view key) noexcept;

}  // namespace moxi::vbucket
