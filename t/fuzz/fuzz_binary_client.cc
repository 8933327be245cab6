// libFuzzer target: the binary client decoder and encoder (src/protocol/binary_client.cc).
#include "t/fuzz/client_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  moxi::fuzz::fuzz_client(true, data, size);
  return 0;
}
