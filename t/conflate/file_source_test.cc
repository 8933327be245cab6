// FileSource: delivers a JSON config file at start and on reload(), through
// the same validation as the HTTP source.
#include <cppunit/extensions/HelperMacros.h>

#include <fstream>

#include "conflate/file_source.h"
#include "t/conflate/collector.h"
#include "t/conflate/configs.h"
#include "t/support/temp_dir.h"

namespace moxi::conflate {

using test::bucket_json;
using Kind = SourceStatus::Kind;

namespace {
void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::trunc) << text; }
}  // namespace

class FileSourceTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(FileSourceTest);
  CPPUNIT_TEST(start_delivers_the_file);
  CPPUNIT_TEST(reload_delivers_changes_only);
  CPPUNIT_TEST(invalid_file_keeps_the_last_good_and_reports_once);
  CPPUNIT_TEST(missing_file_is_reported);
  CPPUNIT_TEST(multi_bucket_file_and_dollar_host);
  CPPUNIT_TEST(too_large_file_is_refused);
  CPPUNIT_TEST(stop_ends_reloads);
  CPPUNIT_TEST_SUITE_END();

 public:
  void start_delivers_the_file() {
    moxi::test::TempDir dir("conflate-file");
    write(dir.file("c.json"), bucket_json("beer", 1) + "\n");
    test::Collector seen;
    FileSource source(dir.file("c.json"), seen.on_update(), seen.on_status());
    source.start();  // synchronous: the callback has run when start() returns
    auto updates = seen.updates();
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), updates.size());
    CPPUNIT_ASSERT_EQUAL(bucket_json("beer", 1), updates[0].document);
    CPPUNIT_ASSERT_EQUAL(dir.file("c.json"), updates[0].source);
    CPPUNIT_ASSERT(!updates[0].from_cache);
    CPPUNIT_ASSERT_EQUAL(std::string("beer"), updates[0].buckets.at(0).name);
  }

  void reload_delivers_changes_only() {
    moxi::test::TempDir dir("conflate-file");
    write(dir.file("c.json"), bucket_json("a", 1));
    test::Collector seen;
    FileSource source(dir.file("c.json"), seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT(source.reload() == FileSource::Reload::unchanged);
    write(dir.file("c.json"), bucket_json("a", 2));
    CPPUNIT_ASSERT(source.reload() == FileSource::Reload::delivered);
    CPPUNIT_ASSERT_EQUAL(std::size_t(2), seen.updates().size());
    CPPUNIT_ASSERT_EQUAL(bucket_json("a", 2), seen.updates()[1].document);
    CPPUNIT_ASSERT(seen.statuses().empty());
  }

  void invalid_file_keeps_the_last_good_and_reports_once() {
    moxi::test::TempDir dir("conflate-file");
    write(dir.file("c.json"), bucket_json("a", 1));
    test::Collector seen;
    FileSource source(dir.file("c.json"), seen.on_update(), seen.on_status());
    source.start();
    write(dir.file("c.json"), "{\"serverList\":");
    CPPUNIT_ASSERT(source.reload() == FileSource::Reload::invalid);
    CPPUNIT_ASSERT(source.reload() == FileSource::Reload::invalid);
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), seen.updates().size());
    auto reports = seen.statuses(Kind::invalid_document);
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), reports.size());
    CPPUNIT_ASSERT_MESSAGE(reports[0].message, reports[0].message.starts_with("invalid config in " + dir.file("c.json") + ": not JSON"));
    // Restored to the text last delivered: the proxy has it, nothing to do.
    write(dir.file("c.json"), bucket_json("a", 1));
    CPPUNIT_ASSERT(source.reload() == FileSource::Reload::unchanged);
  }

  void missing_file_is_reported() {
    moxi::test::TempDir dir("conflate-file");
    test::Collector seen;
    FileSource source(dir.file("none.json"), seen.on_update(), seen.on_status());
    source.start();
    CPPUNIT_ASSERT(source.reload() == FileSource::Reload::unreadable);
    auto reports = seen.statuses(Kind::invalid_document);
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), reports.size());
    CPPUNIT_ASSERT_EQUAL("cannot read config file " + dir.file("none.json") + ": No such file or directory",
                         reports[0].message);
  }

  void multi_bucket_file_and_dollar_host() {
    moxi::test::TempDir dir("conflate-file");
    write(dir.file("c.json"), test::buckets_json({"x", "default"}, 1));
    test::Collector seen;
    FileSource a(dir.file("c.json"), seen.on_update(), seen.on_status());
    a.start();
    CPPUNIT_ASSERT_EQUAL(std::size_t(2), seen.updates().at(0).buckets.size());
    CPPUNIT_ASSERT_EQUAL(std::string("default"), seen.updates().at(0).buckets[0].name);

    FileSource terse(test::terse_25_path(), seen.on_update(), seen.on_status());
    terse.start();
    CPPUNIT_ASSERT_EQUAL(std::string("localhost:11210"), seen.updates().at(1).buckets.at(0).config->server(0));
    FileSource peer(test::terse_25_path(), seen.on_update(), seen.on_status(), "10.9.8.7");
    peer.start();
    CPPUNIT_ASSERT_EQUAL(std::string("10.9.8.7:11210"), seen.updates().at(2).buckets.at(0).config->server(0));
  }

  void too_large_file_is_refused() {
    moxi::test::TempDir dir("conflate-file");
    write(dir.file("c.json"), bucket_json("a", 1));
    test::Collector seen;
    FileSource source(dir.file("c.json"), seen.on_update(), seen.on_status(), "localhost", 16);
    source.start();
    CPPUNIT_ASSERT(seen.updates().empty());
    CPPUNIT_ASSERT_EQUAL("config file " + dir.file("c.json") + " is larger than 16 bytes",
                         seen.statuses(Kind::invalid_document).at(0).message);
  }

  void stop_ends_reloads() {
    moxi::test::TempDir dir("conflate-file");
    write(dir.file("c.json"), bucket_json("a", 1));
    test::Collector seen;
    FileSource source(dir.file("c.json"), seen.on_update(), seen.on_status());
    source.start();
    source.stop();
    write(dir.file("c.json"), bucket_json("a", 2));
    CPPUNIT_ASSERT(source.reload() == FileSource::Reload::stopped);
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), seen.updates().size());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(FileSourceTest);

}  // namespace moxi::conflate
