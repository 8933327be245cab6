// StreamSplitter: turns the body of a cluster manager's config stream into
// documents (cluster-config.md §6.2).
//
// The server writes each config as one chunk and then a separate chunk of
// exactly "\n\n\n\n"; an empty piece between two delimiters is a heartbeat.
// Reads do not follow chunk boundaries, so the splitter accepts arbitrary
// byte pieces and finds the delimiter wherever it falls, also when it is cut
// across two or more feeds. The result depends only on the concatenated
// bytes, never on how they were cut (t/conflate/splitter_property_test.cc).
//
// Rules:
//   * Everything before the leftmost "\n\n\n\n" is one piece; the splitter
//     then continues right after that delimiter. So "A\n\n\n\n\n\n\n\nB" is
//     A, a heartbeat, then B.
//   * Leading and trailing white space (space, \t, \r, \n) is trimmed from a
//     piece. A piece that is empty after trimming is a heartbeat and is
//     skipped (heartbeats() counts them).
//   * A piece longer than max_document_bytes (counted before trimming) is
//     reported once as Piece::Kind::oversized and dropped. The splitter does
//     not keep its bytes: once the pending piece is known to be too long, it
//     keeps only a count of trailing '\n' bytes (a possible delimiter start)
//     until the next delimiter, so memory stays at max_document_bytes plus
//     one feed plus the 3 bytes of a delimiter cut off at the end of a feed.
//   * finish() ends the body (a non-streaming response, or a stream that
//     ended): whatever remains is one more piece, under the same rules.
//
// The default cap, 16 MiB, is far above the largest real config (a bucket
// with 1024 vBuckets, 3 replicas and 100 nodes is about 1 MiB) and well
// below what would hurt the proxy.
//
// Thread-safety: none; one splitter per stream, used by one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moxi::conflate {

inline constexpr std::size_t kDefaultMaxDocumentBytes = 16 * 1024 * 1024;

// The delimiter written after every config.
inline constexpr std::string_view kDocumentDelimiter = "\n\n\n\n";

struct Piece {
  enum class Kind { document, oversized };
  Kind kind = Kind::document;
  std::string text;  // document: the trimmed text; oversized: empty

  bool operator==(const Piece&) const = default;
};

class StreamSplitter {
 public:
  explicit StreamSplitter(std::size_t max_document_bytes = kDefaultMaxDocumentBytes);

  // Appends `bytes` and adds every piece completed by them to `out`, in order.
  void feed(std::string_view bytes, std::vector<Piece>& out);

  // End of the body: the remainder, if not blank, is one more piece. The
  // splitter is then empty and can take a new body.
  void finish(std::vector<Piece>& out);

  // Forgets any partial piece (for a new connection).
  void reset();

  std::size_t max_document_bytes() const { return max_; }
  // Bytes held for the piece in progress (at most the cap plus one feed).
  std::size_t buffered() const { return buffer_.size(); }
  // Blank pieces skipped so far (not reset by reset()).
  std::uint64_t heartbeats() const { return heartbeats_; }

 private:
  void emit(std::string_view raw, std::vector<Piece>& out);
  void feed_skipping(std::string_view bytes, std::vector<Piece>& out);

  std::size_t max_;
  std::string buffer_;       // the piece in progress (empty while skipping)
  std::size_t scanned_ = 0;  // no delimiter starts in buffer_[0, scanned_)
  bool skipping_ = false;    // the piece in progress is oversized: drop up to the next delimiter
  int newlines_ = 0;         // while skipping: trailing '\n' bytes seen (0..3)
  std::uint64_t heartbeats_ = 0;
};

}  // namespace moxi::conflate
