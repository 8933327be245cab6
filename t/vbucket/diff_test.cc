// Config diff: diff.tsv row by row, plus the "nothing changed" checks a
// proxy uses to skip work.
#include <cppunit/extensions/HelperMacros.h>

#include "t/vbucket/fixtures.h"
#include "vbucket/config_diff.h"
#include "vbucket/config_parse.h"

namespace moxi::vbucket::test {
namespace {

ConfigPtr parse(const std::string& json) {
  auto r = parse_config(json);
  CPPUNIT_ASSERT_MESSAGE(r.error(), r.ok());
  return r.value();
}

std::string map_json(const std::string& rows, const std::string& extra = "") {
  return R"({"numReplicas":1,"serverList":["a:1","b:2","c:3"],"vBucketMap":[)" + rows + "]" + extra + "}";
}

}  // namespace

class DiffTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DiffTest);
  CPPUNIT_TEST(diffTableEveryRow);
  CPPUNIT_TEST(sameFileIsIdentical);
  CPPUNIT_TEST(statisticsOnlyChangeIsIdenticalButNotSameDocument);
  CPPUNIT_TEST(replicaOrForwardChangeIsNotIdentical);
  CPPUNIT_TEST(absentVersusEmptyPasswordIsASequenceChange);
  CPPUNIT_TEST_SUITE_END();

 public:
  void diffTableEveryRow() {
    const auto rows = moxi::test::read_tsv(moxi::test::fixture("diff.tsv"));
    CPPUNIT_ASSERT_EQUAL(size_t(10), rows.size());
    Mismatches m;
    for (const auto& row : rows) {
      const std::string w = where("diff.tsv", row) + " " + row["from_config"] + " -> " + row["to_config"];
      const ConfigDiff d = compare(*fixture_config(row["from_config"]), *fixture_config(row["to_config"]));
      m.expect_equal(w, "servers_added", moxi::test::split(row["servers_added"], '|'), d.servers_added);
      m.expect_equal(w, "servers_removed", moxi::test::split(row["servers_removed"], '|'), d.servers_removed);
      m.expect_equal(w, "sequence_changed", row["sequence_changed"] == "1", d.sequence_changed);
      m.expect_equal(w, "n_vb_changes", std::stoi(row["n_vb_changes"]), d.n_vb_changes);
    }
    m.report();
  }

  void sameFileIsIdentical() {
    auto a = fixture_config("tests-config/vbucket-eight-nodes");
    auto b = load_fixture("tests-config/vbucket-eight-nodes");
    CPPUNIT_ASSERT(b.ok());
    CPPUNIT_ASSERT(compare(*a, *b.value()).identical);
    CPPUNIT_ASSERT(a->same_document(b.value()->document()));
    // ketama-ordered-eight-nodes routes the same, but its nodes' REST names
    // pair up with other servers, so it is not identical.
    const ConfigDiff k = compare(*fixture_config("tests-config/ketama-eight-nodes"),
                                 *fixture_config("tests-config/ketama-ordered-eight-nodes"));
    CPPUNIT_ASSERT(!k.sequence_changed && k.n_vb_changes == 0 && !k.identical);
  }

  void statisticsOnlyChangeIsIdenticalButNotSameDocument() {
    const std::string text = moxi::test::read_file(moxi::test::fixture("tests-config/testapp-config-in-envelope2"));
    std::string changed = text;
    const size_t at = changed.find("\"cacheSize\": 64");
    CPPUNIT_ASSERT(at != std::string::npos);
    changed.replace(at, 15, "\"cacheSize\": 99");
    ConfigPtr a = parse(text), b = parse(changed);
    CPPUNIT_ASSERT(compare(*a, *b).identical);
    CPPUNIT_ASSERT(equivalent(*a, *b));
    CPPUNIT_ASSERT(!a->same_document(b->document()));
  }

  void replicaOrForwardChangeIsNotIdentical() {
    ConfigPtr base = parse(map_json("[0,1],[1,2]"));
    const ConfigDiff replica = compare(*base, *parse(map_json("[0,2],[1,2]")));
    CPPUNIT_ASSERT(!replica.sequence_changed && replica.n_vb_changes == 0 && !replica.identical);
    const ConfigDiff forward = compare(*base, *parse(map_json("[0,1],[1,2]", R"(,"vBucketMapForward":[[1,0],[1,2]])")));
    CPPUNIT_ASSERT(!forward.sequence_changed && forward.n_vb_changes == 0 && !forward.identical);
    const ConfigDiff master = compare(*base, *parse(map_json("[2,1],[1,2]")));
    CPPUNIT_ASSERT_EQUAL(1, master.n_vb_changes);
    CPPUNIT_ASSERT(!master.identical);
    CPPUNIT_ASSERT(master.servers_added.empty() && master.servers_removed.empty());
  }

  void absentVersusEmptyPasswordIsASequenceChange() {
    ConfigPtr none = parse(map_json("[0,1],[1,2]"));
    ConfigPtr empty = parse(map_json("[0,1],[1,2]", R"(,"saslPassword":"")"));
    const ConfigDiff d = compare(*none, *empty);
    CPPUNIT_ASSERT(d.sequence_changed);
    CPPUNIT_ASSERT_EQUAL(0, d.n_vb_changes);
    CPPUNIT_ASSERT(!d.identical);
    // "default" means no user: same as no name at all.
    CPPUNIT_ASSERT(!compare(*none, *parse(map_json("[0,1],[1,2]", R"(,"name":"default")"))).sequence_changed);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DiffTest);

}  // namespace moxi::vbucket::test
