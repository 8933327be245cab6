// Ketama (memcached buckets, server lists): ketama.tsv row by row, the
// 1M-key aggregates of ketama-checksums.tsv, and weighted server lists
// against a libmemcached client set up the usual way.
#include <cppunit/extensions/HelperMacros.h>
#include <libhashkit-1.0/hashkit.h>
#include <libmemcached-1.0/memcached.h>

#include <cstdio>
#include <map>
#include <memory>
#include <random>

#include "t/vbucket/fixtures.h"
#include "vbucket/ketama.h"
#include "vbucket/server_list_parse.h"
#include "vbucket/vbucket_view.h"

namespace moxi::vbucket::test {
namespace {

// testketama.c's aggregate: MD5 over the concatenated server strings chosen
// for the keys "0".."999999".
std::string million_key_md5(const Config& config) {
  std::string all;
  all.reserve(20 * 1000000);
  char key[16];
  for (int i = 0; i < 1000000; ++i) {
    const int n = std::snprintf(key, sizeof key, "%d", i);
    all += config.server(config.server_for_key(std::string_view(key, static_cast<size_t>(n))));
  }
  unsigned char digest[16];
  libhashkit_md5_signature(reinterpret_cast<const unsigned char*>(all.data()), all.size(), digest);
  char hex[33];
  for (int i = 0; i < 16; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return hex;
}

struct MemcachedFree {
  void operator()(memcached_st* m) const { memcached_free(m); }
};
struct ServerListFree {
  void operator()(memcached_server_st* l) const { memcached_server_list_free(l); }
};

}  // namespace

class KetamaTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(KetamaTest);
  CPPUNIT_TEST(ketamaTableEveryRow);
  CPPUNIT_TEST(millionKeyChecksums);
  CPPUNIT_TEST(weightedListsMatchLibmemcachedClient);
  CPPUNIT_TEST(weightsShareTheRing);
  CPPUNIT_TEST(singleServerTakesEverything);
  CPPUNIT_TEST(moreServersThanLibmemcachedTakesIsAnError);
  CPPUNIT_TEST(ownContinuumMatchesLibmemcachedForEveryKeyLength);
  CPPUNIT_TEST_SUITE_END();

 public:
  void ketamaTableEveryRow() {
    const auto rows = moxi::test::read_tsv(moxi::test::fixture("ketama.tsv"));
    CPPUNIT_ASSERT_EQUAL(size_t(5140), rows.size());
    Mismatches m;
    for (const auto& row : rows) {
      const std::string key = row["key"];
      const std::string w = where("ketama.tsv", row, key) + " (" + row["config_file"] + ")";
      ConfigPtr config = fixture_config(row["config_file"], row["host_substitution"]);
      const int index = config->server_for_key(key);
      m.expect_equal(w, "server index", std::stoi(row["expected_server_index"]), index);
      m.expect_equal(w, "server", row["expected_server"], config->server(index));
      m.expect_equal(w, "view server", index, VBucketView(config).server_for_key(key));
    }
    m.report();
  }

  void millionKeyChecksums() {
    const auto rows = moxi::test::read_tsv(moxi::test::fixture("ketama-checksums.tsv"));
    CPPUNIT_ASSERT_EQUAL(size_t(4), rows.size());
    std::map<std::pair<std::string, std::string>, std::string> computed;
    Mismatches m;
    for (const auto& row : rows) {
      const std::string w = where("ketama-checksums.tsv", row) + " (" + row["config_file"] + ")";
      const auto id = std::make_pair(row["config_file"], row["host_substitution"]);
      if (!computed.count(id)) computed[id] = million_key_md5(*fixture_config(id.first, id.second));
      // moxi hashes with KETAMA_WEIGHTED; the plain-KETAMA row is there to
      // show that the other libmemcached mode would NOT match.
      if (row["distribution"].find("non-weighted") == std::string::npos) {
        m.expect_equal(w, "md5 of chosen servers", row["md5_of_concatenated_server_strings"], computed[id]);
      } else {
        m.expect(w, computed[id] != row["md5_of_concatenated_server_strings"],
                 "weighted ketama must differ from plain KETAMA's " + row["md5_of_concatenated_server_strings"]);
      }
    }
    m.report();
  }

  void weightedListsMatchLibmemcachedClient() {
    // Includes port 11211 servers (libmemcached then hashes the bare host)
    // and weights; a client built from the same string must agree on every key.
    for (const std::string list : {"10.0.0.1:11211,10.0.0.2:11211,10.0.0.3:11211",
                                   "cache-a:11211:3,cache-b:11300:1,cache-c:11211:2,cache-d:12000:5",
                                   "a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9,j:10,k:11,l:12"}) {
      auto ours = parse_server_list(list);
      CPPUNIT_ASSERT_MESSAGE(ours.error(), ours.ok());
      std::unique_ptr<memcached_st, MemcachedFree> client(memcached_create(nullptr));
      CPPUNIT_ASSERT_EQUAL(MEMCACHED_SUCCESS,
                           memcached_behavior_set(client.get(), MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1));
      std::unique_ptr<memcached_server_st, ServerListFree> servers(memcached_servers_parse(list.c_str()));
      CPPUNIT_ASSERT_EQUAL(MEMCACHED_SUCCESS, memcached_server_push(client.get(), servers.get()));
      Mismatches m;
      for (int i = 0; i < 20000; ++i) {
        const std::string key = "user:" + std::to_string(i * 7919);
        const uint32_t pos = memcached_generate_hash(client.get(), key.data(), key.size());
        const memcached_instance_st* inst = memcached_server_instance_by_position(client.get(), pos);
        const std::string expected =
            std::string(memcached_server_name(inst)) + ":" + std::to_string(memcached_server_port(inst));
        m.expect_equal(list + " key " + key, "server", expected,
                       ours.value()->server(ours.value()->server_for_key(key)));
      }
      m.report();
    }
  }

  void weightsShareTheRing() {
    auto r = parse_server_list("light:1:1,heavy:2:3");
    CPPUNIT_ASSERT_MESSAGE(r.error(), r.ok());
    int counts[2] = {0, 0};
    for (int i = 0; i < 40000; ++i) ++counts[r.value()->server_for_key("k" + std::to_string(i))];
    const double ratio = static_cast<double>(counts[1]) / counts[0];
    CPPUNIT_ASSERT_MESSAGE("heavy/light = " + std::to_string(ratio), ratio > 2.0 && ratio < 4.5);
  }

  // KetamaRing routes with its own MD5 and a copy of libmemcached's
  // continuum (checked when built); the tests above go through that path.
  // Here: the copy is in use, and keys of every length 0..300 (one and two
  // MD5 blocks, every padding case) and arbitrary bytes land where
  // libmemcached puts them.
  void ownContinuumMatchesLibmemcachedForEveryKeyLength() {
    const std::vector<KetamaRing::Member> members = {{"10.0.0.1", 11211, 1}, {"cache-b", 11300, 3}, {"c", 7, 2}};
    auto ring = KetamaRing::build(members);
    CPPUNIT_ASSERT_MESSAGE(ring.error(), ring.ok());
    CPPUNIT_ASSERT(ring.value()->uses_own_continuum());
    std::unique_ptr<memcached_st, MemcachedFree> client(memcached_create(nullptr));
    CPPUNIT_ASSERT_EQUAL(MEMCACHED_SUCCESS, memcached_behavior_set(client.get(), MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1));
    for (const auto& m : members)
      CPPUNIT_ASSERT_EQUAL(MEMCACHED_SUCCESS,
                           memcached_server_add_with_weight(client.get(), m.host.c_str(), m.port, m.weight));
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> byte(0, 255);
    Mismatches m;
    for (size_t length = 0; length <= 300; ++length) {
      for (int round = 0; round < 20; ++round) {
        std::string key(length, '\0');
        for (char& c : key) c = static_cast<char>(byte(rng));
        const uint32_t pos = memcached_generate_hash(client.get(), key.data(), key.size());
        m.expect_equal("key of " + std::to_string(length) + " bytes, round " + std::to_string(round), "server",
                       static_cast<int>(pos), ring.value()->server_for_key(key));
      }
    }
    m.report();
  }

  // libmemcached aborts past 100 ketama servers (found by the fuzzer): a
  // clear error instead, and 100 still work.
  void moreServersThanLibmemcachedTakesIsAnError() {
    auto list = [](int n) {
      std::string s;
      for (int i = 0; i < n; ++i) s += (i ? "," : "") + std::string("h") + std::to_string(i) + ":11211";
      return s;
    };
    CPPUNIT_ASSERT(parse_server_list(list(100)).ok());
    auto r = parse_server_list(list(101));
    CPPUNIT_ASSERT(!r.ok());
    CPPUNIT_ASSERT_MESSAGE(r.error(), r.error().find("at most 100 servers (libmemcached's limit), got 101") != std::string::npos);
  }

  void singleServerTakesEverything() {
    auto r = parse_server_list("only:11211");
    CPPUNIT_ASSERT(r.ok());
    for (const char* key : {"", "a", "zzz"}) CPPUNIT_ASSERT_EQUAL(0, r.value()->server_for_key(key));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(KetamaTest);

}  // namespace moxi::vbucket::test
