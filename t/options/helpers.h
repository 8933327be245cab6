// Helpers for the options tests: run the parser on an argument list with a
// fake environment, and temporary files (mkstemps under /tmp, removed when
// the object goes away).
#pragma once

#include <cppunit/extensions/HelperMacros.h>
#include <unistd.h>

#include <map>
#include <vector>

#include "src/config/help.h"
#include "src/config/options.h"

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace moxi::test {

class TempFile {
 public:
  explicit TempFile(std::string_view contents, std::string_view suffix = "") {
    std::string pattern = "/tmp/moxi-options-XXXXXX" + std::string(suffix);
    int fd = mkstemps(pattern.data(), static_cast<int>(suffix.size()));
    if (fd < 0) throw std::runtime_error("mkstemps failed");
    size_t done = 0;
    while (done < contents.size()) {
      ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
      if (n <= 0) {
        ::close(fd);
        ::unlink(pattern.c_str());
        throw std::runtime_error("write to temp file failed");
      }
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    path_ = pattern;
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline ParseOutcome run(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env = {}) {
  EnvLookup lookup = [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  return parse_options(args, lookup);
}

// Parses and asserts success.
inline Options ok(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) {
  ParseOutcome out = run(args, env);
  CPPUNIT_ASSERT_MESSAGE("unexpected error: " + out.error, out.ok());
  CPPUNIT_ASSERT_EQUAL(kExitOk, out.exit_status);
  return std::move(*out.options);
}

// Parses, asserts failure with EX_USAGE (or `status`) and returns the message.
inline std::string err(const std::vector<std::string>& args, int status = kExitUsage,
                       const std::map<std::string, std::string>& env = {}) {
  ParseOutcome out = run(args, env);
  CPPUNIT_ASSERT_MESSAGE("expected an error", !out.ok());
  CPPUNIT_ASSERT_EQUAL(status, out.exit_status);
  return out.error;
}

template <typename T>
const T& only(const Options& o) {
  CPPUNIT_ASSERT_EQUAL(size_t{1}, o.sources.size());
  const T* p = std::get_if<T>(&o.sources[0]);
  CPPUNIT_ASSERT_MESSAGE("source of the wrong kind", p != nullptr);
  return *p;
}

}  // namespace moxi::test
