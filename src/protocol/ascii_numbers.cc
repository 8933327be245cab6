// Implementation note: rather than re-deriving strtoul's corner cases (sign
// handling, overflow, whitespace), each parser copies the token into a small
// NUL-terminated buffer and calls the C library exactly as memcached does.
#include "src/protocol/ascii_numbers.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace moxi::protocol {
namespace {

// A NUL-terminated copy of a token; tokens longer than the inline buffer
// (possible: "0000...01" is a valid number) fall back to the heap.
class CString {
 public:
  explicit CString(std::string_view s) {
    if (s.size() < sizeof(small_)) {
      std::memcpy(small_, s.data(), s.size());
      small_[s.size()] = '\0';
      ptr_ = small_;
    } else {
      big_.assign(s);
      ptr_ = big_.c_str();
    }
  }
  const char* c_str() const { return ptr_; }

 private:
  char small_[64];
  std::string big_;
  const char* ptr_;
};

// The common case, a token of plain digits short enough that no 64-bit
// overflow is possible: strtoull would give the same value, so skip the copy
// and the C library. Anything else (sign, whitespace, long) takes the exact path.
bool plain_digits(std::string_view token, uint64_t& out) {
  if (token.empty() || token.size() > 18) return false;
  uint64_t v = 0;
  for (char c : token) {
    const auto d = static_cast<unsigned>(static_cast<unsigned char>(c) - '0');
    if (d > 9) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

bool ends_number(const char* str, const char* endptr) {
  return std::isspace(static_cast<unsigned char>(*endptr)) || (*endptr == '\0' && endptr != str);
}

}  // namespace

bool parse_u32(std::string_view token, uint32_t& out) {
  uint64_t v = 0;
  if (plain_digits(token, v)) {
    out = static_cast<uint32_t>(v);  // strtoul's unsigned long, truncated as below
    return true;
  }
  CString s(token);
  const char* str = s.c_str();
  char* endptr = nullptr;
  errno = 0;
  unsigned long l = std::strtoul(str, &endptr, 10);
  if (errno == ERANGE || str == endptr) return false;
  if (!ends_number(str, endptr)) return false;
  if (static_cast<long>(l) < 0 && std::memchr(str, '-', endptr - str) != nullptr) return false;
  out = static_cast<uint32_t>(l);
  return true;
}

bool parse_i32(std::string_view token, int32_t& out) {
  uint64_t v = 0;
  if (plain_digits(token, v)) {
    out = static_cast<int32_t>(static_cast<long>(v));  // strtol's long, truncated as below
    return true;
  }
  CString s(token);
  const char* str = s.c_str();
  char* endptr = nullptr;
  errno = 0;
  long l = std::strtol(str, &endptr, 10);
  if (errno == ERANGE || str == endptr) return false;
  if (!ends_number(str, endptr)) return false;
  out = static_cast<int32_t>(l);  // memcached truncates the same way
  return true;
}

bool parse_u64(std::string_view token, uint64_t& out) {
  if (plain_digits(token, out)) return true;
  CString s(token);
  const char* str = s.c_str();
  char* endptr = nullptr;
  errno = 0;
  unsigned long long ull = std::strtoull(str, &endptr, 10);
  if (errno == ERANGE || str == endptr) return false;
  if (!ends_number(str, endptr)) return false;
  if (static_cast<long long>(ull) < 0 && std::memchr(str, '-', endptr - str) != nullptr) return false;
  out = ull;
  return true;
}

char* format_u64(uint64_t v, char* buf) {
  // Two digits per division (flags, lengths and cas go out with every value).
  static constexpr char kPairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  if (v < 10) {  // flags are usually 0
    *buf = static_cast<char>('0' + v);
    return buf + 1;
  }
  char tmp[20];
  int n = 20;
  while (v >= 100) {
    const auto pair = static_cast<unsigned>(v % 100) * 2;
    v /= 100;
    tmp[--n] = kPairs[pair + 1];
    tmp[--n] = kPairs[pair];
  }
  if (v >= 10) {
    const auto pair = static_cast<unsigned>(v) * 2;
    tmp[--n] = kPairs[pair + 1];
    tmp[--n] = kPairs[pair];
  } else {
    tmp[--n] = static_cast<char>('0' + v);
  }
  const auto len = static_cast<size_t>(20 - n);
  std::memcpy(buf, tmp + n, len);
  return buf + len;
}

char* format_i64(int64_t v, char* buf) {
  if (v < 0) {
    *buf++ = '-';
    return format_u64(static_cast<uint64_t>(0) - static_cast<uint64_t>(v), buf);
  }
  return format_u64(static_cast<uint64_t>(v), buf);
}

}  // namespace moxi::protocol
