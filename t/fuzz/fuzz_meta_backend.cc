// libFuzzer target: the meta backend codec's reply decoder (src/protocol/meta_backend.cc).
#include "t/fuzz/backend_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  moxi::fuzz::fuzz_backend(moxi::protocol::Protocol::Meta, data, size);
  return 0;
}
