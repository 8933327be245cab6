// libFuzzer target: conflate's StreamSplitter. Byte 0 picks the document cap
// (small, so "oversized" is reachable), byte 1 seeds the cut points; the rest
// is the stream body. Checks the documented property: the pieces depend only
// on the bytes, never on how they were cut, and the buffer stays bounded.
#include <string_view>
#include <vector>

#include "conflate/stream_splitter.h"
#include "t/fuzz/fuzz_util.h"

using moxi::conflate::Piece;
using moxi::conflate::StreamSplitter;

namespace {

std::vector<Piece> split(std::string_view body, size_t cap, const std::vector<size_t>& cuts) {
  StreamSplitter s(cap);
  std::vector<Piece> out;
  size_t at = 0, largest_feed = 0;
  std::vector<size_t> points = cuts;
  points.push_back(body.size());
  for (size_t p : points) {
    s.feed(body.substr(at, p - at), out);
    largest_feed = std::max(largest_feed, p - at);
    // At most the cap plus one feed, plus a delimiter cut short (3 bytes).
    if (s.buffered() > cap + largest_feed + moxi::conflate::kDocumentDelimiter.size() - 1)
      moxi::fuzz::fail("splitter buffers more than the cap plus one feed");
    at = p;
  }
  s.finish(out);
  if (s.buffered() != 0) moxi::fuzz::fail("finish() left bytes buffered");
  for (const Piece& p : out)
    if (p.kind == Piece::Kind::document && (p.text.empty() || p.text.size() > cap))
      moxi::fuzz::fail("a document piece is blank or over the cap");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);
  const size_t cap = data[0] == 0 ? moxi::conflate::kDefaultMaxDocumentBytes : data[0];
  const auto whole = split(body, cap, {});
  const auto cut = split(body, cap, moxi::fuzz::cuts(moxi::fuzz::hash(body) ^ data[1], body.size()));
  std::vector<size_t> bytewise;
  if (data[1] & 1)
    for (size_t i = 1; i < body.size(); ++i) bytewise.push_back(i);
  const auto bytes = split(body, cap, bytewise);
  if (whole != cut || whole != bytes) moxi::fuzz::fail("cutting the stream changed the pieces");
  return 0;
}
