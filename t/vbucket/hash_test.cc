// The key hash: crc.tsv row by row, then random keys against an independent
// CRC-32 (zlib).
#include <cppunit/extensions/HelperMacros.h>
#include <zlib.h>

#include <cstdio>
#include <random>

#include "t/vbucket/fixtures.h"
#include "vbucket/config_parse.h"
#include "vbucket/key_hash.h"

namespace moxi::vbucket::test {
namespace {

std::uint32_t zlib_vbhash(const std::string& key) {
  const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(key.data()), static_cast<uInt>(key.size()));
  return static_cast<std::uint32_t>((crc >> 16) & 0x7fff);
}

std::string hex_decode(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

// A bare map with `n` vBuckets on one server, for mask checks.
ConfigPtr single_server_map(int n) {
  std::string json = R"({"numReplicas":0,"serverList":["a:1"],"vBucketMap":[)";
  for (int i = 0; i < n; ++i) json += i ? ",[0]" : "[0]";
  json += "]}";
  auto config = parse_config(json);
  CPPUNIT_ASSERT_MESSAGE(config.error(), config.ok());
  return config.value();
}

}  // namespace

class HashTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(HashTest);
  CPPUNIT_TEST(crcTableEveryRow);
  CPPUNIT_TEST(randomKeysMatchZlib);
  CPPUNIT_TEST(emptyKeyIsVBucketZero);
  CPPUNIT_TEST_SUITE_END();

 public:
  void crcTableEveryRow() {
    const auto rows = moxi::test::read_tsv(moxi::test::fixture("crc.tsv"));
    CPPUNIT_ASSERT(rows.size() >= 30);
    auto vb4 = single_server_map(4), vb64 = single_server_map(64), vb1024 = single_server_map(1024);
    Mismatches m;
    for (const auto& row : rows) {
      const std::string key = row["key"];
      const std::string w = where("crc.tsv", row, key);
      m.expect_equal(w, "key_hex decodes to key", key, hex_decode(row["key_hex"]));
      const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(key.data()), static_cast<uInt>(key.size()));
      char crc_hex[9];
      std::snprintf(crc_hex, sizeof crc_hex, "%08lx", static_cast<unsigned long>(crc));
      m.expect_equal(w, "zlib crc32", row["crc32_ieee_hex"], std::string(crc_hex));
      m.expect_equal(w, "vbhash15", std::stoi(row["vbhash15"]), static_cast<int>(vbucket_hash(key)));
      m.expect_equal(w, "vb_mod4", std::stoi(row["vb_mod4"]), vb4->vbucket_for_key(key));
      m.expect_equal(w, "vb_mod64", std::stoi(row["vb_mod64"]), vb64->vbucket_for_key(key));
      m.expect_equal(w, "vb_mod1024", std::stoi(row["vb_mod1024"]), vb1024->vbucket_for_key(key));
    }
    m.report();
  }

  void randomKeysMatchZlib() {
    std::mt19937 rng(20240611);  // fixed seed: failures are reproducible
    std::uniform_int_distribution<int> length(0, 300), byte(0, 255);
    auto vb1024 = single_server_map(1024);
    Mismatches m;
    for (int i = 0; i < 20000; ++i) {
      std::string key(static_cast<size_t>(length(rng)), '\0');
      for (char& c : key) c = static_cast<char>(byte(rng));
      const std::uint32_t expected = zlib_vbhash(key);
      m.expect_equal("random key #" + std::to_string(i), "vbucket_hash", expected, vbucket_hash(key));
      m.expect_equal("random key #" + std::to_string(i), "vbucket_for_key (1024)", static_cast<int>(expected & 1023),
                     vb1024->vbucket_for_key(key));
    }
    m.report();
  }

  void emptyKeyIsVBucketZero() {
    CPPUNIT_ASSERT_EQUAL(0u, vbucket_hash(""));
    CPPUNIT_ASSERT_EQUAL(0, single_server_map(1024)->vbucket_for_key(std::string_view()));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(HashTest);

}  // namespace moxi::vbucket::test
