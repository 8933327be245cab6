// Big-endian integers in byte strings, for the tests' wire formats
// (memcached binary, DNS): put appends, get reads at an offset (the caller
// checks the length).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace moxi::test {

inline void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}
inline void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v & 0xffff));
}
inline void put64(std::string& out, uint64_t v) {
  put32(out, static_cast<uint32_t>(v >> 32));
  put32(out, static_cast<uint32_t>(v & 0xffffffffu));
}
inline uint8_t get8(std::string_view in, std::size_t at) { return static_cast<uint8_t>(in[at]); }
inline uint16_t get16(std::string_view in, std::size_t at) {
  return static_cast<uint16_t>(get8(in, at) << 8 | get8(in, at + 1));
}
inline uint32_t get32(std::string_view in, std::size_t at) {
  return static_cast<uint32_t>(get16(in, at)) << 16 | get16(in, at + 2);
}
inline uint64_t get64(std::string_view in, std::size_t at) {
  return static_cast<uint64_t>(get32(in, at)) << 32 | get32(in, at + 4);
}

}  // namespace moxi::test
