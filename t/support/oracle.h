// Routing oracle for tests: where a key belongs, computed without moxi's
// code, so a test that checks moxi's routing against it cannot pass because
// both sides share a bug.
//
//   - vBuckets: zlib's crc32 and the published formula
//     vbucket = ((crc32(key) >> 16) & 0x7fff) & (num_vbuckets - 1)
//     (CRC-32/ISO-HDLC of the raw key bytes; the shared cluster-config notes
//     and t/fixtures/crc.tsv). moxi has its own sliced CRC in vbucket/.
//   - ketama: libmemcached itself (weighted ketama, MD5), which is what
//     ketama clients use; moxi copies libmemcached's continuum and routes
//     with its own lookup.
//
// Checked against the reference vectors by t/harness/oracle_test.cc.
// Thread-safety: pure functions / a const object, safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace moxi::test::oracle {

// zlib's CRC-32 of the key bytes.
uint32_t crc32(std::string_view key);
// The 15-bit key hash, 0..32767.
uint32_t vbucket_hash(std::string_view key);
// The key's vBucket among `num_vbuckets` (a power of two).
uint16_t vbucket_of(std::string_view key, uint32_t num_vbuckets);

// A ketama ring built by libmemcached from "host:port[:weight]" servers in
// list order; owner() is the index in that list of the key's server.
class Ketama {
 public:
  explicit Ketama(const std::vector<std::string>& servers);  // throws std::runtime_error
  ~Ketama();
  Ketama(const Ketama&) = delete;
  Ketama& operator=(const Ketama&) = delete;

  int owner(std::string_view key) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The first of prefix + "0", prefix + "1", ... that `owner` places on
// `server` (owner: key -> server index, e.g. a Ketama's or a map's).
std::string first_key_on(const std::function<int(std::string_view)>& owner, int server, const std::string& prefix);

}  // namespace moxi::test::oracle
