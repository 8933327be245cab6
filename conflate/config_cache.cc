#include "conflate/config_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "conflate/document_file.h"

namespace moxi::conflate {
namespace {

std::string reason(int err) { return std::strerror(err); }

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

std::optional<std::string> ConfigCache::load(std::size_t max_bytes, std::string& error) const {
  return read_document_file(path_, max_bytes, "config cache", error);
}

bool ConfigCache::save(std::string_view document, std::string& error) const {
  error.clear();
  std::string temp = path_ + ".tmp.XXXXXX";
  std::vector<char> name(temp.begin(), temp.end());
  name.push_back('\0');
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) {
    error = "cannot write config cache " + path_ + ": " + reason(errno);
    return false;
  }
  temp.assign(name.data());
  bool ok = write_all(fd, document) && write_all(fd, "\n") && ::fsync(fd) == 0;
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && ::rename(temp.c_str(), path_.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(temp.c_str());
    error = "cannot write config cache " + path_ + ": " + reason(err);
  }
  return ok;
}

}  // namespace moxi::conflate
