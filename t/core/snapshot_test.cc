// SnapshotBuilder: the one place snapshots are numbered and dated. A
// successor is the next generation and is dated when built (so config_age
// restarts after a SIGHUP reload as after a URL map); the first snapshot is
// generation 1 only when it serves a map.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <memory>

#include "src/routing/snapshot.h"
#include "vbucket/server_list_parse.h"

namespace moxi::test {
namespace {

std::shared_ptr<const Bucket> bucket_for(const std::string& servers) {
  auto parsed = vbucket::parse_server_list(servers);
  CPPUNIT_ASSERT(parsed.ok());
  return make_bucket("default", parsed.value(), protocol::Protocol::Ascii);
}

class SnapshotBuilderTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(SnapshotBuilderTest);
  CPPUNIT_TEST(testFirstIsGenerationOneWithAMap);
  CPPUNIT_TEST(testFirstWithoutAnyMapIsGenerationZero);
  CPPUNIT_TEST(testSuccessorIsNumberedAndDatedAnew);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testFirstIsGenerationOneWithAMap() {
    SnapshotBuilder b;
    b.add_port(11211, bucket_for("127.0.0.1:1"));
    b.add_port(11212, nullptr);  // a URL port waiting for its map
    const uint64_t before = monotonic_us();
    auto s = b.build();
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, s->generation);
    CPPUNIT_ASSERT(s->loaded_at_us >= before);
    CPPUNIT_ASSERT_EQUAL(size_t{2}, s->ports.size());
    CPPUNIT_ASSERT_EQUAL(11212, s->ports[1].port);
  }

  void testFirstWithoutAnyMapIsGenerationZero() {
    SnapshotBuilder b;
    b.add_port(11211, nullptr);
    b.set_source("http://127.0.0.1:8091/pools/default/bucketsStreaming/default");
    auto s = b.build();
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, s->generation);
    CPPUNIT_ASSERT_EQUAL(std::string("http://127.0.0.1:8091/pools/default/bucketsStreaming/default"), s->source);
  }

  void testSuccessorIsNumberedAndDatedAnew() {
    SnapshotBuilder first;
    first.add_port(0, bucket_for("127.0.0.1:1"));
    first.add_port(0, bucket_for("127.0.0.1:2"));
    auto one = first.build();
    // A copy of a snapshot must not keep its date: wait for the clock to move.
    while (monotonic_us() == one->loaded_at_us) {
    }
    SnapshotBuilder next(*one);
    auto replaced = bucket_for("127.0.0.1:3");
    next.set_bucket(1, replaced);
    auto two = next.build();
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, two->generation);
    CPPUNIT_ASSERT(two->loaded_at_us > one->loaded_at_us);
    CPPUNIT_ASSERT(two->ports[0].bucket == one->ports[0].bucket);  // unchanged ports are shared
    CPPUNIT_ASSERT(two->ports[1].bucket == replaced);
    CPPUNIT_ASSERT(one->ports[1].bucket != replaced);  // the old snapshot is untouched
    CPPUNIT_ASSERT_EQUAL(uint64_t{3}, SnapshotBuilder(*two).build()->generation);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SnapshotBuilderTest);

}  // namespace
}  // namespace moxi::test
