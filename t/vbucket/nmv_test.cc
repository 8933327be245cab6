// NOT_MY_VBUCKET handling in the per-worker VBucketView: nmv.tsv (state
// carries from step to step within a sequence), copy-on-write isolation, and
// our one documented difference from libvbucket.
#include <cppunit/extensions/HelperMacros.h>

#include <map>
#include <memory>

#include "t/vbucket/fixtures.h"
#include "vbucket/config_parse.h"
#include "vbucket/server_list_parse.h"
#include "vbucket/vbucket_view.h"

namespace moxi::vbucket::test {

class NotMyVBucketTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(NotMyVBucketTest);
  CPPUNIT_TEST(nmvTableEverySequence);
  CPPUNIT_TEST(viewsDoNotShareLearnedMoves);
  CPPUNIT_TEST(staleReportChangesNothing);
  CPPUNIT_TEST(exhaustedForwardMapFallsBackToRoundRobin);
  CPPUNIT_TEST(serverForKeyFollowsLearnedMoves);
  CPPUNIT_TEST(outOfRangeAndKetama);
  CPPUNIT_TEST(learnedMasterOutranksTheForwardMap);
  CPPUNIT_TEST_SUITE_END();

 public:
  void nmvTableEverySequence() {
    const auto rows = moxi::test::read_tsv(moxi::test::fixture("nmv.tsv"));
    CPPUNIT_ASSERT_EQUAL(size_t(9), rows.size());
    std::map<std::string, std::unique_ptr<VBucketView>> views;  // one view per sequence
    Mismatches m;
    for (const auto& row : rows) {
      const std::string w = where("nmv.tsv", row) + " " + row["sequence"] + " step " + row["step"];
      auto& view = views[row["config_file"] + "/" + row["sequence"]];
      if (!view) view = std::make_unique<VBucketView>(fixture_config(row["config_file"]));
      const int vb = std::stoi(row["vbucket"]);
      m.expect_equal(w, "return", std::stoi(row["expected_return"]),
                     view->found_incorrect_master(vb, std::stoi(row["wrong_server_index"])));
      m.expect_equal(w, "master after", std::stoi(row["expected_master_after"]), view->master(vb));
      std::vector<int> expected, actual;
      for (const std::string& r : moxi::test::split(row["expected_replicas_after"], ','))
        expected.push_back(std::stoi(r));
      for (int i = 0; i < view->config().num_replicas(); ++i) actual.push_back(view->replica(vb, i));
      m.expect_equal(w, "replicas after", expected, actual);
    }
    m.report();
  }

  void viewsDoNotShareLearnedMoves() {
    ConfigPtr config = fixture_config("tests-config/testapp-config");
    VBucketView a(config), b(config);
    CPPUNIT_ASSERT_EQUAL(1, a.found_incorrect_master(0, 0));
    CPPUNIT_ASSERT(a.has_overrides());
    CPPUNIT_ASSERT_EQUAL(1, a.master(0));
    CPPUNIT_ASSERT_EQUAL(0, b.master(0));
    CPPUNIT_ASSERT(!b.has_overrides());
    CPPUNIT_ASSERT_EQUAL(0, config->master(0));  // the shared config never changes
    CPPUNIT_ASSERT_EQUAL(1, a.master(1));        // other rows copied unchanged
    CPPUNIT_ASSERT_EQUAL(0, a.replica(3, 1));
  }

  void staleReportChangesNothing() {
    VBucketView view(fixture_config("tests-config/testapp-config"));
    CPPUNIT_ASSERT_EQUAL(0, view.found_incorrect_master(0, 2));  // 2 is not the master: caller was stale
    CPPUNIT_ASSERT(!view.has_overrides());
  }

  void learnedMasterOutranksTheForwardMap() {
    // A newer config named the master (NOT_MY_VBUCKET body): the view keeps
    // it, and a later refusal by it does not jump to the forward row.
    VBucketView view(fixture_config("tests-config/testapp-config-in-envelope-fft"));
    CPPUNIT_ASSERT(view.learn_master(0, 2));
    CPPUNIT_ASSERT_EQUAL(2, view.master(0));
    CPPUNIT_ASSERT_EQUAL(3, view.found_incorrect_master(0, 2));  // round-robin from 2
    CPPUNIT_ASSERT(!view.learn_master(0, 4));                     // no such server
    CPPUNIT_ASSERT(!view.learn_master(-1, 0));
    CPPUNIT_ASSERT_EQUAL(3, view.master(0));
    // Other vBuckets keep the map's rows.
    VBucketView fresh(fixture_config("tests-config/testapp-config-in-envelope-fft"));
    for (int vb = 1; vb < fresh.config().num_vbuckets(); ++vb) CPPUNIT_ASSERT_EQUAL(fresh.master(vb), view.master(vb));
  }

  void exhaustedForwardMapFallsBackToRoundRobin() {
    // libvbucket would hand out forward master 3 forever; once 3 itself says
    // NOT_MY_VBUCKET we move on round-robin instead (documented deviation).
    VBucketView view(fixture_config("tests-config/testapp-config-in-envelope-fft"));
    CPPUNIT_ASSERT_EQUAL(3, view.found_incorrect_master(0, 0));
    CPPUNIT_ASSERT_EQUAL(3, view.found_incorrect_master(0, 0));  // stale report: still 3
    CPPUNIT_ASSERT_EQUAL(0, view.found_incorrect_master(0, 3));  // (3 + 1) % 4
    CPPUNIT_ASSERT_EQUAL(0, view.master(0));
    CPPUNIT_ASSERT_EQUAL(1, view.found_incorrect_master(0, 0));
    // A forward master that is the very server refusing is not used.
    CPPUNIT_ASSERT_EQUAL(1, view.found_incorrect_master(3, 0));  // forward [0,3,1]; master 1 never refused
    CPPUNIT_ASSERT_EQUAL(0, view.found_incorrect_master(3, 1));  // now the forward row applies
    CPPUNIT_ASSERT_EQUAL(3, view.replica(3, 0));
  }

  void serverForKeyFollowsLearnedMoves() {
    ConfigPtr config = fixture_config("tests-config/testapp-config");
    VBucketView view(config);
    const std::string key = "hello";  // vBucket 0, master 0 (testapp.c)
    CPPUNIT_ASSERT_EQUAL(0, view.server_for_key(key));
    view.found_incorrect_master(0, 0);
    CPPUNIT_ASSERT_EQUAL(1, view.server_for_key(key));
    CPPUNIT_ASSERT_EQUAL(0, config->server_for_key(key));
  }

  void outOfRangeAndKetama() {
    VBucketView view(fixture_config("tests-config/testapp-config"));
    CPPUNIT_ASSERT_EQUAL(-1, view.found_incorrect_master(4, 0));
    CPPUNIT_ASSERT_EQUAL(-1, view.found_incorrect_master(-1, 0));
    CPPUNIT_ASSERT_EQUAL(-1, view.master(99));
    CPPUNIT_ASSERT_EQUAL(-1, view.replica(0, 2));
    CPPUNIT_ASSERT(!view.has_overrides());
    auto ketama = parse_server_list("a:1,b:2");
    CPPUNIT_ASSERT(ketama.ok());
    VBucketView kv(ketama.value());
    CPPUNIT_ASSERT_EQUAL(-1, kv.found_incorrect_master(0, 0));
    CPPUNIT_ASSERT_EQUAL(ketama.value()->server_for_key("x"), kv.server_for_key("x"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(NotMyVBucketTest);

}  // namespace moxi::vbucket::test
