// libFuzzer target: meta commands from a client (src/protocol/meta_client.cc),
// decoded and answered. The stream goes through the ascii client codec as a
// connection's would (fuzz_client: every request answered, the split
// property), from seeds that are meta streams (t/fuzz/corpus/meta_client/);
// each meta request is answered by a reply built from its op's result or by a
// relayed meta backend's reply, as the seed picks. Then the b-key decoder:
// any bytes decode without a crash, and the standard base64 of the input
// (encoded here, not by the code under test) decodes back to the input.
#include <string>
#include <string_view>

#include "src/protocol/meta_client.h"
#include "t/fuzz/client_fuzz.h"

namespace {

// RFC 4648 base64 with padding.
std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  moxi::fuzz::fuzz_client(false, data, size);

  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string decoded;
  (void)moxi::protocol::decode_meta_base64_key(input, decoded);
  if (!input.empty()) {
    if (!moxi::protocol::decode_meta_base64_key(base64(input), decoded) || decoded != input)
      moxi::fuzz::fail("the base64 of the input does not decode back to the input");
  }
  return 0;
}
