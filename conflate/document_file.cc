#include "conflate/document_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace moxi::conflate {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Closes the descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::optional<std::string> read_document_file(const std::string& path, std::size_t max_bytes, std::string_view what,
                                              std::string& error) {
  error.clear();
  const std::string name = std::string(what) + " " + path;
  const std::string too_large = name + " is larger than " + std::to_string(max_bytes) + " bytes";
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno != ENOENT) error = "cannot read " + name + ": " + std::strerror(errno);
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<unsigned long long>(st.st_size) > max_bytes) {
    error = too_large;
    return std::nullopt;
  }
  std::string text;
  char block[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), block, sizeof block);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "cannot read " + name + ": " + std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(block, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) {
      error = too_large;
      return std::nullopt;
    }
  }
  std::size_t begin = 0, end = text.size();
  while (begin < end && is_space(text[begin])) ++begin;
  while (end > begin && is_space(text[end - 1])) --end;
  if (begin == end) {
    error = name + " is empty";
    return std::nullopt;
  }
  return text.substr(begin, end - begin);
}

}  // namespace moxi::conflate
