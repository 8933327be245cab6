// The thread-safety contract: one Config (vBucket or ketama) shared by many
// threads gives every thread the same answers as a single thread, while each
// thread's VBucketView learns moves without affecting the others.
#include <cppunit/extensions/HelperMacros.h>

#include <thread>
#include <vector>

#include "t/vbucket/fixtures.h"
#include "vbucket/vbucket_view.h"

namespace moxi::vbucket::test {

class ConcurrencyTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ConcurrencyTest);
  CPPUNIT_TEST(sharedConfigsAnswerAlikeInEveryThread);
  CPPUNIT_TEST_SUITE_END();

 public:
  void sharedConfigsAnswerAlikeInEveryThread() {
    const std::vector<ConfigPtr> configs = {fixture_config("tests-config/vbucket-eight-nodes"),
                                            fixture_config("tests-config/ketama-eight-nodes")};
    constexpr int kKeys = 20000, kThreads = 4;
    std::vector<std::vector<int>> expected(configs.size());
    for (size_t c = 0; c < configs.size(); ++c)
      for (int k = 0; k < kKeys; ++k) expected[c].push_back(configs[c]->server_for_key("key" + std::to_string(k)));

    std::vector<int> mismatches(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        VBucketView view(configs[0]);
        view.found_incorrect_master(t, view.master(t));  // each worker learns its own move
        for (size_t c = 0; c < configs.size(); ++c)
          for (int k = 0; k < kKeys; ++k)
            if (configs[c]->server_for_key("key" + std::to_string(k)) != expected[c][static_cast<size_t>(k)])
              ++mismatches[static_cast<size_t>(t)];
        if (view.master(t) == configs[0]->master(t)) ++mismatches[static_cast<size_t>(t)];
      });
    }
    for (auto& thread : threads) thread.join();
    for (int t = 0; t < kThreads; ++t) CPPUNIT_ASSERT_EQUAL_MESSAGE("thread " + std::to_string(t), 0, mismatches[t]);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ConcurrencyTest);

}  // namespace moxi::vbucket::test
