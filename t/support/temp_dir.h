// A private temporary directory for one test fixture (port files, logs).
#pragma once

#include <string>
#include <string_view>

namespace moxi::test {

class TempDir {
 public:
  // mkdtemp under $TMPDIR (or /tmp) named "<prefix>.XXXXXX"; throws on failure.
  explicit TempDir(std::string_view prefix = "moxi-test");
  ~TempDir();  // removes the directory and everything in it; never throws

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string file(std::string_view name) const;

 private:
  std::string path_;
};

}  // namespace moxi::test
