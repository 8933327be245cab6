// libFuzzer target: the ascii client decoder and encoder (src/protocol/ascii_client.cc).
#include "t/fuzz/client_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  moxi::fuzz::fuzz_client(false, data, size);
  return 0;
}
