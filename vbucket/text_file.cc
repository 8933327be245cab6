#include "vbucket/text_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

namespace moxi::vbucket::detail {
namespace {

struct FileClose {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

}  // namespace

Result<std::string> read_text_file(const std::string& path) noexcept {
  using R = Result<std::string>;
  try {
    std::unique_ptr<std::FILE, FileClose> file(std::fopen(path.c_str(), "rb"));
    if (!file) return R::failure(std::string("cannot read: ") + std::strerror(errno));
    std::string text;
    char buffer[64 * 1024];
    for (;;) {
      const size_t n = std::fread(buffer, 1, sizeof buffer, file.get());
      if (n > 0) {
        if (text.size() + n > kMaxConfigFileBytes) return R::failure("file is larger than 100 MiB");
        text.append(buffer, n);
      }
      if (n < sizeof buffer) {
        if (std::ferror(file.get())) return R::failure(std::string("cannot read: ") + std::strerror(errno));
        break;
      }
    }
    return R::success(std::move(text));
  } catch (const std::bad_alloc&) {
    return R::failure("out of memory while reading the file");
  } catch (...) {
    return R::failure("unexpected error while reading the file");
  }
}

}  // namespace moxi::vbucket::detail
