// The routing oracle (t/support/oracle) against the reference vectors: the
// CRC and vBucket columns of crc.tsv and the ketama owners of ketama.tsv.
// Neither table was produced by moxi, so the oracle is checked on its own.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "t/support/oracle.h"
#include "t/support/tsv.h"

namespace moxi::test {

class OracleTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(OracleTest);
  CPPUNIT_TEST(crc_and_vbuckets_match_the_reference_table);
  CPPUNIT_TEST(worked_examples_of_the_published_formula);
  CPPUNIT_TEST(vbucket_count_must_be_a_power_of_two);
  CPPUNIT_TEST(ketama_owners_match_the_reference_table);
  CPPUNIT_TEST_SUITE_END();

 public:
  void crc_and_vbuckets_match_the_reference_table() {
    const auto rows = read_tsv(fixture("crc.tsv"));
    CPPUNIT_ASSERT(rows.size() >= 30);
    for (const auto& row : rows) {
      std::string key;
      const std::string& hex = row["key_hex"];
      for (size_t i = 0; i + 1 < hex.size(); i += 2) key += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
      const std::string where = "crc.tsv line " + std::to_string(row.line);
      char crc_hex[9];
      std::snprintf(crc_hex, sizeof crc_hex, "%08x", oracle::crc32(key));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(where, row["crc32_ieee_hex"], std::string(crc_hex));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(where, std::stoi(row["vbhash15"]), static_cast<int>(oracle::vbucket_hash(key)));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(where, std::stoi(row["vb_mod4"]), static_cast<int>(oracle::vbucket_of(key, 4)));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(where, std::stoi(row["vb_mod64"]), static_cast<int>(oracle::vbucket_of(key, 64)));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(where, std::stoi(row["vb_mod1024"]), static_cast<int>(oracle::vbucket_of(key, 1024)));
    }
  }

  // libvbucket's testapp.c examples, with 4 vBuckets.
  void worked_examples_of_the_published_formula() {
    CPPUNIT_ASSERT_EQUAL(0x3610a686u, oracle::crc32("hello"));
    CPPUNIT_ASSERT_EQUAL(13840u, oracle::vbucket_hash("hello"));
    CPPUNIT_ASSERT_EQUAL(uint16_t{0}, oracle::vbucket_of("hello", 4));
    CPPUNIT_ASSERT_EQUAL(uint16_t{2}, oracle::vbucket_of("another key", 4));
    CPPUNIT_ASSERT_EQUAL(uint16_t{3}, oracle::vbucket_of("name", 4));
    CPPUNIT_ASSERT_EQUAL(uint16_t{1}, oracle::vbucket_of("tomorrow", 4));
    CPPUNIT_ASSERT_EQUAL(uint16_t{0}, oracle::vbucket_of("", 1024));
  }

  void vbucket_count_must_be_a_power_of_two() {
    CPPUNIT_ASSERT_THROW(oracle::vbucket_of("k", 0), std::invalid_argument);
    CPPUNIT_ASSERT_THROW(oracle::vbucket_of("k", 48), std::invalid_argument);
    CPPUNIT_ASSERT_EQUAL(uint16_t{0}, oracle::vbucket_of("k", 1));
  }

  // ketama.tsv indexes each config's servers sorted by name; the ring itself
  // does not depend on the order servers are given in, so the sorted list
  // (read back from the table) is enough to build it.
  void ketama_owners_match_the_reference_table() {
    std::map<std::string, std::vector<TsvRow>> by_config;
    for (auto& row : read_tsv(fixture("ketama.tsv"))) by_config[row["config_file"]].push_back(row);
    CPPUNIT_ASSERT(by_config.size() >= 4);
    size_t largest = 0;
    for (const auto& [config, rows] : by_config) {
      std::map<int, std::string> servers;
      for (const auto& row : rows) servers[std::stoi(row["expected_server_index"])] = row["expected_server"];
      std::vector<std::string> list;
      for (const auto& [index, server] : servers) {
        CPPUNIT_ASSERT_EQUAL_MESSAGE(config + ": server indexes are 0..n-1", static_cast<int>(list.size()), index);
        list.push_back(server);
      }
      largest = std::max(largest, list.size());
      oracle::Ketama ring(list);
      for (const auto& row : rows)
        CPPUNIT_ASSERT_EQUAL_MESSAGE(config + " key " + row["key"] + " (line " + std::to_string(row.line) + ")",
                                     std::stoi(row["expected_server_index"]), ring.owner(row["key"]));
    }
    CPPUNIT_ASSERT(largest >= 8);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(OracleTest);

}  // namespace moxi::test
