// libFuzzer target: the binary backend codec's reply decoder (src/protocol/binary_backend.cc).
#include "t/fuzz/backend_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  moxi::fuzz::fuzz_backend(moxi::protocol::Protocol::Binary, data, size);
  return 0;
}
