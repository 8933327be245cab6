// The per-client in-flight limit, observed at a backend that holds its
// replies: however many requests a client pipelines, the backend sees
// exactly the client's window of them until replies come back. The window
// (src/core/client_connection.h) is 4 before the connection's first reply,
// then the reply budget divided by the mean reply size, at most 128
// (max_client_inflight); with the default 4 MiB budget and small replies
// that is 128.
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "t/proxy/cluster.h"
#include "t/support/client.h"
#include "t/support/servers.h"
#include "t/support/vbucket_server.h"

namespace moxi::test {
namespace {

constexpr size_t kFirstWindow = 4;
constexpr size_t kMaxInflight = 128;

// The keys the backend received from index `from` of its log on.
std::vector<std::string> keys_since(const VBucketServer& s, size_t from) {
  std::vector<std::string> keys;
  const auto log = s.received();
  for (size_t i = from; i < log.size(); ++i) keys.push_back(log[i].key);
  return keys;
}

}  // namespace

class InflightTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(InflightTest);
  CPPUNIT_TEST(testHeldBackendSeesExactlyTheClientWindow);
  CPPUNIT_TEST_SUITE_END();

 public:
  // One worker, one backend connection: a second client's request is a
  // barrier. It reaches the backend behind anything moxi sent before it on
  // that connection, so once the backend has it, the first client's count
  // is final (moxi gets no event for that client while replies are held).
  void testHeldBackendSeesExactlyTheClientWindow() {
    VBucketServer a;
    for (int i = 0; i < 300; ++i) a.put("k" + std::to_string(i), "v" + std::to_string(i));
    Moxi moxi({"-l", "127.0.0.1", "-t", "1", "-z", "0=" + vbucket_map_json({a.address()}, 64)});
    TestClient c(moxi.port(), std::chrono::seconds(10));
    TestClient barrier(moxi.port(), std::chrono::seconds(10));

    // Sends `n` gets starting at key `first` in one write while `a` holds
    // replies; returns what `a` got before the barrier.
    auto pipelined = [&](int first, int n, size_t window) {
      const size_t base = a.received().size();
      a.hold_replies();
      std::string burst;
      for (int i = first; i < first + n; ++i) burst += "get k" + std::to_string(i) + "\r\n";
      c.send(burst);
      CPPUNIT_ASSERT(a.wait_for_requests(base + window, std::chrono::seconds(10)));
      barrier.send("get barrier\r\n");
      CPPUNIT_ASSERT(a.wait_for_requests(base + window + 1, std::chrono::seconds(10)));
      std::vector<std::string> seen = keys_since(a, base);
      // Then everything is answered, in order, and the barrier misses.
      a.release_replies();
      for (int i = first; i < first + n; ++i) {
        const std::string k = "k" + std::to_string(i);
        CPPUNIT_ASSERT_EQUAL("VALUE " + k + " 0 " + std::to_string(k.size()), c.read_line());
        CPPUNIT_ASSERT_EQUAL("v" + std::to_string(i), c.read_line());
        CPPUNIT_ASSERT_EQUAL(std::string("END"), c.read_line());
      }
      CPPUNIT_ASSERT_EQUAL(std::string("END"), barrier.read_line());
      return seen;
    };

    // A fresh connection: no reply size known yet, so the first window.
    std::vector<std::string> expected;
    for (size_t i = 0; i < kFirstWindow; ++i) expected.push_back("k" + std::to_string(i));
    expected.push_back("barrier");
    CPPUNIT_ASSERT(expected == pipelined(0, 20, kFirstWindow));

    // Replies of ~25 bytes are known now: the window is the cap.
    expected.clear();
    for (size_t i = 20; i < 20 + kMaxInflight; ++i) expected.push_back("k" + std::to_string(i));
    expected.push_back("barrier");
    const std::vector<std::string> seen = pipelined(20, 250, kMaxInflight);
    CPPUNIT_ASSERT_EQUAL(expected.size(), seen.size());
    CPPUNIT_ASSERT(expected == seen);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(InflightTest);

}  // namespace moxi::test
