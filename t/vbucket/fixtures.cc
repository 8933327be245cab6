#include "t/vbucket/fixtures.h"

#include <cppunit/extensions/HelperMacros.h>

#include "vbucket/config_parse.h"
#include "vbucket/static_config_parse.h"

namespace moxi::vbucket::test {

Result<ConfigPtr> load_fixture(const std::string& relative, const std::string& peer) {
  const std::string path = moxi::test::fixture(relative);
  const std::string text = moxi::test::read_file(path);
  if (looks_like_static_config(text)) {
    auto sections = parse_static_config(text, ParseOptions{peer});
    if (!sections) return Result<ConfigPtr>::failure(sections.error());
    return Result<ConfigPtr>::success(sections.value().front().config);
  }
  return parse_config_file(path, ParseOptions{peer});
}

ConfigPtr fixture_config(const std::string& relative, const std::string& peer) {
  static std::map<std::pair<std::string, std::string>, ConfigPtr> cache;  // test-only; tests run on one thread
  auto key = std::make_pair(relative, peer);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto config = load_fixture(relative, peer);
  CPPUNIT_ASSERT_MESSAGE(relative + " does not parse: " + config.error(), config.ok());
  cache.emplace(key, config.value());
  return config.value();
}

std::optional<std::string> nullable(const std::string& cell) {
  if (cell == "(null)") return std::nullopt;
  return cell;
}

std::string where(const std::string& table, const moxi::test::TsvRow& row, const std::string& key) {
  std::string out = table + ":" + std::to_string(row.line);
  if (!key.empty() || row.cells.count("key"))
    out += " key '" + (key.size() > 40 ? key.substr(0, 40) + "..." : key) + "'";
  return out;
}

void Mismatches::report() const {
  if (messages_.empty()) return;
  std::string text = std::to_string(messages_.size()) + " mismatch(es):";
  for (size_t i = 0; i < messages_.size() && i < 40; ++i) text += "\n  " + messages_[i];
  CPPUNIT_FAIL(text);
}

}  // namespace moxi::vbucket::test
