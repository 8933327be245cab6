// ConfigCache: atomic replace, private mode, clear errors.
#include <cppunit/extensions/HelperMacros.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "conflate/config_cache.h"
#include "t/support/temp_dir.h"

namespace moxi::conflate {

class ConfigCacheTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ConfigCacheTest);
  CPPUNIT_TEST(save_then_load);
  CPPUNIT_TEST(save_replaces_and_leaves_no_temporary);
  CPPUNIT_TEST(file_is_private);
  CPPUNIT_TEST(missing_file_is_not_an_error);
  CPPUNIT_TEST(empty_or_too_large_file_is_an_error);
  CPPUNIT_TEST(unwritable_place_is_an_error);
  CPPUNIT_TEST_SUITE_END();

 public:
  void save_then_load() {
    test::TempDir dir("conflate-cache");
    ConfigCache cache(dir.file("last.json"));
    std::string error;
    CPPUNIT_ASSERT(cache.save("{\"rev\":1}", error));
    CPPUNIT_ASSERT_EQUAL(std::string(), error);
    auto loaded = cache.load(1024, error);
    CPPUNIT_ASSERT(loaded.has_value());
    CPPUNIT_ASSERT_EQUAL(std::string("{\"rev\":1}"), *loaded);
  }

  void save_replaces_and_leaves_no_temporary() {
    test::TempDir dir("conflate-cache");
    ConfigCache cache(dir.file("last.json"));
    std::string error;
    CPPUNIT_ASSERT(cache.save("{\"rev\":1}", error));
    CPPUNIT_ASSERT(cache.save("{\"rev\":2}", error));
    CPPUNIT_ASSERT_EQUAL(std::string("{\"rev\":2}"), *cache.load(1024, error));
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
      (void)entry;
      ++files;
    }
    CPPUNIT_ASSERT_EQUAL(1, files);
  }

  void file_is_private() {
    test::TempDir dir("conflate-cache");
    ConfigCache cache(dir.file("last.json"));
    std::string error;
    CPPUNIT_ASSERT(cache.save("{\"saslPassword\":\"x\"}", error));
    struct stat st {};
    CPPUNIT_ASSERT_EQUAL(0, ::stat(cache.path().c_str(), &st));
    CPPUNIT_ASSERT_EQUAL(0600, static_cast<int>(st.st_mode & 0777));
  }

  void missing_file_is_not_an_error() {
    test::TempDir dir("conflate-cache");
    std::string error = "stale";
    CPPUNIT_ASSERT(!ConfigCache(dir.file("none.json")).load(1024, error).has_value());
    CPPUNIT_ASSERT_EQUAL(std::string(), error);
  }

  void empty_or_too_large_file_is_an_error() {
    test::TempDir dir("conflate-cache");
    std::ofstream(dir.file("empty.json")) << " \n";
    std::string error;
    CPPUNIT_ASSERT(!ConfigCache(dir.file("empty.json")).load(1024, error).has_value());
    CPPUNIT_ASSERT_EQUAL("config cache " + dir.file("empty.json") + " is empty", error);
    std::ofstream(dir.file("big.json")) << std::string(2000, 'x');
    CPPUNIT_ASSERT(!ConfigCache(dir.file("big.json")).load(1024, error).has_value());
    CPPUNIT_ASSERT_EQUAL("config cache " + dir.file("big.json") + " is larger than 1024 bytes", error);
  }

  void unwritable_place_is_an_error() {
    test::TempDir dir("conflate-cache");
    ConfigCache cache(dir.file("no/such/dir/last.json"));
    std::string error;
    CPPUNIT_ASSERT(!cache.save("{}", error));
    CPPUNIT_ASSERT_MESSAGE(error, error.starts_with("cannot write config cache " + cache.path() + ": "));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ConfigCacheTest);

}  // namespace moxi::conflate
