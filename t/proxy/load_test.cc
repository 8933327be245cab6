// Many clients on two workers (-t 2): ascii and binary clients set, read,
// multiget and delete their own keys at once, through two memcached
// backends. Every reply is checked, and every key acknowledged last as
// stored is on its owner at the end. Also run under TSan (t/tsan/run).
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "t/proxy/cluster.h"

namespace moxi::test {
namespace {

class LoadTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(LoadTest);
  CPPUNIT_TEST(testManyClientsTwoWorkers);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testManyClientsTwoWorkers() {
    Cluster cluster;  // 2 backends, -t 2
    constexpr int kClients = 12, kRounds = 150;
    std::mutex mutex;
    std::map<std::string, std::string> stored;  // key -> last acknowledged value ("" = deleted)
    std::vector<std::string> failures;
    std::vector<std::thread> threads;
    for (int id = 0; id < kClients; ++id)
      threads.emplace_back([&, id] {
        const bool binary = id % 2 == 1;
        std::map<std::string, std::string> mine;
        try {
          TestClient c(cluster.port(), std::chrono::seconds(10));
          for (int n = 0; n < kRounds; ++n) {
            const std::string key = "load" + std::to_string(id) + "-" + std::to_string(n % 25);
            const std::string value = std::string(static_cast<size_t>(n % 7) * 100 + 1, static_cast<char>('a' + n % 26));
            if (binary) {
              c.send_binary(bin::request(bin::kSet, key, value, bin::set_extras(0, 0), static_cast<uint32_t>(n)));
              BinaryPacket r = c.read_binary();
              if (r.status() != bin::kSuccess || r.opaque != static_cast<uint32_t>(n))
                throw std::runtime_error("binary set " + key + " status " + std::to_string(r.status()));
              mine[key] = value;
              c.send_binary(bin::request(bin::kGet, key, "", "", 7));
              r = c.read_binary();
              if (r.status() != bin::kSuccess || r.value != value) throw std::runtime_error("binary get " + key);
            } else {
              const std::string reply = c.set(key, value);
              if (reply != "STORED") throw std::runtime_error("set " + key + ": " + reply);
              mine[key] = value;
              if (n % 10 == 9) {
                std::vector<std::string> keys;
                for (const auto& [k, v] : mine)
                  if (!v.empty()) keys.push_back(k);
                auto items = c.get_multi(keys);
                if (items.size() != keys.size()) throw std::runtime_error("multiget lost keys");
                for (const auto& [k, v] : items)
                  if (mine[k] != v) throw std::runtime_error("multiget " + k + ": wrong value");
              }
              if (n % 13 == 12) {
                if (c.request("delete " + key) != "DELETED") throw std::runtime_error("delete " + key);
                mine[key] = "";
              }
            }
          }
        } catch (const std::exception& e) {
          std::lock_guard<std::mutex> lock(mutex);
          failures.push_back("client " + std::to_string(id) + ": " + e.what());
        }
        std::lock_guard<std::mutex> lock(mutex);
        stored.insert(mine.begin(), mine.end());
      });
    for (auto& t : threads) t.join();
    CPPUNIT_ASSERT_MESSAGE(failures.empty() ? "" : failures.front(), failures.empty());
    std::vector<TestClient> direct;
    for (int b = 0; b < cluster.backend_count(); ++b) direct.push_back(cluster.direct(b));
    for (const auto& [key, value] : stored) {
      auto got = direct[static_cast<size_t>(cluster.owner(key))].get(key);
      if (value.empty()) {
        CPPUNIT_ASSERT_MESSAGE("deleted " + key + " is back", !got.has_value());
      } else {
        CPPUNIT_ASSERT_EQUAL_MESSAGE("lost " + key, value, got.value_or("<missing>"));
      }
    }
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(LoadTest);

}  // namespace
}  // namespace moxi::test
