// vectors.tsv: key -> vBucket -> master and replicas, for every row.
#include <cppunit/extensions/HelperMacros.h>

#include "t/vbucket/fixtures.h"
#include "vbucket/vbucket_view.h"

namespace moxi::vbucket::test {

class VectorsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(VectorsTest);
  CPPUNIT_TEST(everyRow);
  CPPUNIT_TEST_SUITE_END();

 public:
  void everyRow() {
    const auto rows = moxi::test::read_tsv(moxi::test::fixture("vectors.tsv"));
    CPPUNIT_ASSERT_EQUAL(size_t(693), rows.size());
    Mismatches m;
    for (const auto& row : rows) {
      const std::string key = row["key"];
      const std::string w = where("vectors.tsv", row, key) + " (" + row["config_file"] + ")";
      ConfigPtr config = fixture_config(row["config_file"]);
      const int vb = config->vbucket_for_key(key);
      m.expect_equal(w, "vbucket", std::stoi(row["expected_vbucket"]), vb);
      m.expect_equal(w, "master index", std::stoi(row["expected_master_index"]), config->master(vb));
      m.expect_equal(w, "master server", row["expected_master_server"], config->server(config->master(vb)));
      m.expect_equal(w, "server_for_key", std::stoi(row["expected_master_index"]), config->server_for_key(key));

      std::vector<int> expected_replicas;
      for (const std::string& r : moxi::test::split(row["replica_indexes"], ','))
        expected_replicas.push_back(std::stoi(r));
      std::vector<int> replicas;
      for (int i = 0; i < config->num_replicas(); ++i) replicas.push_back(config->replica(vb, i));
      m.expect_equal(w, "replicas", expected_replicas, replicas);

      // A fresh per-worker view answers exactly like the config.
      VBucketView view(config);
      m.expect_equal(w, "view master", config->master(vb), view.master(vb));
      m.expect_equal(w, "view server_for_key", config->server_for_key(key), view.server_for_key(key));
    }
    m.report();
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(VectorsTest);

}  // namespace moxi::vbucket::test
