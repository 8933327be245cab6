// Helpers shared by the vbucket tests: loading fixture configs the way
// parse.tsv describes them, and collecting table-test mismatches so that one
// run reports every failing row (file:line and key), not just the first.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "t/support/tsv.h"
#include "vbucket/config.h"
#include "vbucket/result.h"

namespace moxi::vbucket::test {

// A fixture config (path relative to t/fixtures/) as parse.tsv parsed it:
// a moxi static file ("PORT = {json}") gives its first section; anything
// else goes to parse_config_file() as one bucket.
Result<ConfigPtr> load_fixture(const std::string& relative, const std::string& peer = "localhost");

// Like load_fixture(), cached per (file, peer), and failing the test if the
// fixture does not parse.
ConfigPtr fixture_config(const std::string& relative, const std::string& peer = "localhost");

// parse.tsv's "(null)" means absent.
std::optional<std::string> nullable(const std::string& cell);

// "file:line key 'k'" for messages.
std::string where(const std::string& table, const moxi::test::TsvRow& row, const std::string& key = {});

// Collects mismatches; report() fails the current test with all of them.
class Mismatches {
 public:
  template <class A, class B>
  void expect_equal(const std::string& where, const char* what, const A& expected, const B& actual) {
    if (!(expected == actual)) add(where + ": " + what + ": expected " + show(expected) + ", got " + show(actual));
  }
  void expect(const std::string& where, bool ok, const std::string& message) {
    if (!ok) add(where + ": " + message);
  }
  void add(std::string message) { messages_.push_back(std::move(message)); }
  bool empty() const { return messages_.empty(); }
  // Fails the test (CPPUNIT) listing up to 40 mismatches, if there are any.
  void report() const;

  static std::string show(const std::string& s) { return "\"" + s + "\""; }
  static std::string show(const char* s) { return show(std::string(s)); }
  static std::string show(bool b) { return b ? "true" : "false"; }
  static std::string show(int v) { return std::to_string(v); }
  static std::string show(long v) { return std::to_string(v); }
  static std::string show(unsigned v) { return std::to_string(v); }
  static std::string show(unsigned long v) { return std::to_string(v); }
  static std::string show(const std::optional<std::string>& s) { return s ? show(*s) : "(null)"; }
  template <class T>
  static std::string show(const std::vector<T>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + show(v[i]);
    return out + "]";
  }

 private:
  std::vector<std::string> messages_;
};

}  // namespace moxi::vbucket::test
