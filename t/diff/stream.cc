#include "t/diff/stream.h"

#include "t/support/client.h"

namespace moxi::test::diff {

const char* to_string(Protocol p) { return p == Protocol::Ascii ? "ascii" : "binary"; }

const char* to_string(EndMode e) {
  switch (e) {
    case EndMode::Sentinel:
      return "sentinel";
    case EndMode::Quit:
      return "quit";
    case EndMode::HalfClose:
      return "half-close";
  }
  return "?";
}

std::string describe(const Stream& stream) {
  std::string out = std::string(to_string(stream.protocol)) + " stream, family " + stream.family + ", end " +
                    to_string(stream.end) + ", " +
                    (stream.chunk_seed ? "written in chunks (cut seed " + std::to_string(stream.chunk_seed) + ")"
                                       : std::string("written per segment")) +
                    ", " + std::to_string(stream.commands.size()) + " command(s):\n";
  for (const auto& c : stream.commands) {
    out += "  ";
    if (c.sync_before) out += "[sync] ";
    out += c.label;
    if (c.cas_class >= 0) out += "  (cas of class " + std::to_string(c.cas_class) + ")";
    out += "\n      '" + escape_bytes(c.bytes, 300) + "'\n";
  }
  return out;
}

std::string total_bytes(const Stream& stream) {
  std::string all;
  for (const auto& c : stream.commands) all += c.bytes;
  return escape_bytes(all, 4000);
}

}  // namespace moxi::test::diff
