// The differential test in `make check`: generated streams against a real
// memcached and against moxi in front of one, in the four configurations
// (see campaign.h), bounded by time. A divergence that no entry of the known
// list (known.cc) explains fails the test with its seed, configuration and a
// shortened stream.
//
// Environment (t/diff/run sets these for long campaigns):
//   MOXI_DIFF_SECONDS  time for the generated streams (default 35)
//   MOXI_DIFF_SEED     first seed (default 1; seeds then count up)
//   MOXI_DIFF_CONFIGS  comma-separated subset of ascii,binary,meta,vbucket
//   MOXI_DIFF_STREAMS  stop after this many streams
//   MOXI_DIFF_MAX_NEW  shrink at most this many new divergences (default 8)
//   MOXI_DIFF_VERBOSE  1: log the streams that take long
//   MOXI_DIFF_EXAMPLES 1: also shrink and print one example per known entry
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "t/diff/campaign.h"
#include "t/diff/generator.h"
#include "t/support/tsv.h"

namespace moxi::test::diff {
namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

class DiffTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DiffTest);
  CPPUNIT_TEST(testGeneratorIsDeterministic);
  CPPUNIT_TEST(testTwoMemcachedAgree);
  CPPUNIT_TEST(testMoxiAgreesWithMemcached);
  CPPUNIT_TEST_SUITE_END();

 public:
  // Reproducing a failure from its seed needs the same stream every time.
  void testGeneratorIsDeterministic() {
    for (uint64_t seed = 1; seed < 200; ++seed) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE("seed " + std::to_string(seed), describe(generate(seed)), describe(generate(seed)));
      CPPUNIT_ASSERT_EQUAL(total_bytes(generate(seed)), total_bytes(generate(seed)));
    }
  }

  // The harness's own soundness: framing, cas classes, sentinels and
  // chunking must make two real memcached servers indistinguishable, or a
  // "divergence" could be the harness's.
  void testTwoMemcachedAgree() {
    auto found = self_check(std::stoull(env_or("MOXI_DIFF_SEED", "1")), 100);
    std::string all;
    for (const auto& f : found) all += f + "\n";
    CPPUNIT_ASSERT_MESSAGE(all, found.empty());
  }

  void testMoxiAgreesWithMemcached() {
    CampaignOptions options;
    options.first_seed = std::stoull(env_or("MOXI_DIFF_SEED", "1"));
    options.budget = std::chrono::seconds(std::stol(env_or("MOXI_DIFF_SECONDS", "55")));
    options.max_streams = std::stol(env_or("MOXI_DIFF_STREAMS", "1000000"));
    options.configs = split(env_or("MOXI_DIFF_CONFIGS", "ascii,binary,meta,vbucket"), ',');
    options.max_new = std::stoi(env_or("MOXI_DIFF_MAX_NEW", "8"));
    options.verbose = env_or("MOXI_DIFF_VERBOSE", "") == "1";
    options.examples = env_or("MOXI_DIFF_EXAMPLES", "") == "1";
    options.log = &std::cerr;
    Rig rig(options.configs);
    Summary summary = run_campaign(rig, options);
    std::cerr << "\ndifferential harness (first seed " << options.first_seed << "): " << summary.report();
    std::string news;
    for (const auto& f : summary.findings)
      if (!f.known) news += "seed " + std::to_string(f.seed) + " config " + f.config + ": " + f.difference + "\n";
    CPPUNIT_ASSERT_MESSAGE("new divergences (see the report above):\n" + news, news.empty());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DiffTest);

}  // namespace
}  // namespace moxi::test::diff
