// Property: however a config stream is cut into reads, the splitter finds the
// same documents (and the same oversized ones) as from one read. A small
// stream is cut at every single point and every pair of points; a large
// generated stream, whose documents the generator knows, is cut at random.
// Seeds are fixed so a failure reproduces; messages name the cut points.
#include <cppunit/extensions/HelperMacros.h>

#include <random>
#include <string>
#include <vector>

#include "conflate/stream_splitter.h"

namespace moxi::conflate {
namespace {

std::vector<Piece> split_at(const std::string& stream, const std::vector<std::size_t>& cuts, std::size_t cap,
                            std::size_t* max_buffered = nullptr) {
  StreamSplitter splitter(cap);
  std::vector<Piece> out;
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    splitter.feed(std::string_view(stream).substr(from, cut - from), out);
    if (max_buffered) *max_buffered = std::max(*max_buffered, splitter.buffered());
    from = cut;
  }
  splitter.feed(std::string_view(stream).substr(from), out);
  splitter.finish(out);
  return out;
}

std::string show(const std::vector<Piece>& pieces) {
  std::string out;
  for (const auto& p : pieces) out += p.kind == Piece::Kind::oversized ? "<oversized>" : "[" + p.text + "]";
  return out;
}

std::string cuts_text(const std::vector<std::size_t>& cuts) {
  std::string out;
  for (auto c : cuts) out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}

// Heartbeats first and between documents, a delimiter run of five and one of
// eight, white space around documents, newlines inside one, a document too
// large for a cap of 24, and a last document closed only by the end of the body.
const std::string kSmallStream =
    "\n\n\n\n"
    "{\"rev\":1,\"a\":[1,2]}\n\n\n\n"
    "\n\n\n\n"
    " \r\n{\"rev\":2}\n\n\n\n\n"
    "{\"x\":\"0123456789012345678\"}\n\n\n\n\n\n\n\n"
    "{\"n\":\n\n\n3}\n\n\n\n"
    "{\"tail\":true}";

class Generator {
 public:
  explicit Generator(std::uint32_t seed) : random_(seed) {}

  // A stream of `count` documents; `expected` gets what a splitter with
  // `cap` must find.
  std::string stream(int count, std::size_t cap, std::vector<Piece>& expected) {
    std::string s;
    for (int i = 0; i < count; ++i) {
      // Heartbeats and white-space-only pieces before the document.
      for (int h = pick(0, 2); h > 0; --h) s += pick(0, 1) ? std::string(kDocumentDelimiter) : " \n\n\n\n";
      const std::string doc = document(pick(0, 9) == 0 ? pick(static_cast<int>(cap) - 3, static_cast<int>(cap) + 3)
                                                       : pick(1, static_cast<int>(cap) / 2));
      s += doc;
      s += kDocumentDelimiter;
      expected.push_back(doc.size() > cap ? Piece{Piece::Kind::oversized, {}} : Piece{Piece::Kind::document, doc});
    }
    return s;
  }

  std::vector<std::size_t> cuts(std::size_t size) {
    std::vector<std::size_t> out;
    std::size_t at = 0;
    const int mode = pick(0, 2);  // tiny reads, small reads, large reads
    const int most = mode == 0 ? 4 : mode == 1 ? 64 : 16384;
    for (;;) {
      at += static_cast<std::size_t>(pick(1, most));
      if (at >= size) return out;
      out.push_back(at);
    }
  }

 private:
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, std::max(lo, hi))(random_); }

  // Printable text that starts and ends with a non-space and holds runs of
  // at most three newlines, so trimming and splitting leave it whole.
  std::string document(int size) {
    static const std::string alphabet = "{}[]\":,0123456789abcdefghijklmnopqrstuvwxyz ";
    std::string d;
    int newlines = 0;
    while (static_cast<int>(d.size()) < size) {
      const bool edge = d.empty() || static_cast<int>(d.size()) == size - 1;
      if (!edge && newlines < 3 && pick(0, 30) == 0) {
        d += '\n';
        ++newlines;
        continue;
      }
      char c = alphabet[static_cast<std::size_t>(pick(0, static_cast<int>(alphabet.size()) - 1))];
      if (edge && c == ' ') c = 'e';
      d += c;
      newlines = 0;
    }
    return d;
  }

  std::mt19937 random_;
};

}  // namespace

class SplitterPropertyTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(SplitterPropertyTest);
  CPPUNIT_TEST(small_stream_reference);
  CPPUNIT_TEST(small_stream_every_single_cut);
  CPPUNIT_TEST(small_stream_every_pair_of_cuts);
  CPPUNIT_TEST(large_stream_random_cuts);
  CPPUNIT_TEST_SUITE_END();

 public:
  // The uncut stream gives what §6.2 says it should (so that the cut runs
  // below compare against a right answer, not just a consistent one).
  void small_stream_reference() {
    CPPUNIT_ASSERT_EQUAL(std::string("[{\"rev\":1,\"a\":[1,2]}][{\"rev\":2}][{\"x\":\"0123456789012345678\"}]"
                                     "[{\"n\":\n\n\n3}][{\"tail\":true}]"),
                         show(split_at(kSmallStream, {}, kDefaultMaxDocumentBytes)));
    CPPUNIT_ASSERT_EQUAL(std::string("[{\"rev\":1,\"a\":[1,2]}][{\"rev\":2}]<oversized>[{\"n\":\n\n\n3}][{\"tail\":true}]"),
                         show(split_at(kSmallStream, {}, 24)));
  }

  void small_stream_every_single_cut() {
    for (std::size_t cap : {kDefaultMaxDocumentBytes, std::size_t(24)}) {
      const std::string expected = show(split_at(kSmallStream, {}, cap));
      for (std::size_t i = 0; i <= kSmallStream.size(); ++i) {
        CPPUNIT_ASSERT_EQUAL_MESSAGE("cap " + std::to_string(cap) + ", cut at " + std::to_string(i), expected,
                                     show(split_at(kSmallStream, {i}, cap)));
      }
    }
  }

  void small_stream_every_pair_of_cuts() {
    for (std::size_t cap : {kDefaultMaxDocumentBytes, std::size_t(24)}) {
      const std::string expected = show(split_at(kSmallStream, {}, cap));
      for (std::size_t i = 0; i <= kSmallStream.size(); ++i) {
        for (std::size_t j = i; j <= kSmallStream.size(); ++j) {
          const auto got = show(split_at(kSmallStream, {i, j}, cap));
          if (got != expected)
            CPPUNIT_ASSERT_EQUAL_MESSAGE("cap " + std::to_string(cap) + ", cuts at " + std::to_string(i) + "," +
                                             std::to_string(j),
                                         expected, got);
        }
      }
    }
  }

  void large_stream_random_cuts() {
    constexpr std::size_t kCap = 2048;
    for (std::uint32_t seed = 1; seed <= 4; ++seed) {
      Generator gen(seed);
      std::vector<Piece> expected;
      const std::string stream = gen.stream(400, kCap, expected);
      const std::string want = show(expected);
      CPPUNIT_ASSERT_EQUAL_MESSAGE("seed " + std::to_string(seed) + ", one read", want,
                                   show(split_at(stream, {}, kCap)));
      for (int round = 0; round < 40; ++round) {
        const auto cuts = gen.cuts(stream.size());
        std::size_t max_buffered = 0;
        const auto got = show(split_at(stream, cuts, kCap, &max_buffered));
        if (got != want)
          CPPUNIT_ASSERT_EQUAL_MESSAGE("seed " + std::to_string(seed) + ", round " + std::to_string(round) +
                                           ", cuts " + cuts_text(cuts),
                                       want, got);
        // Never more than the cap plus one read (plus a cut delimiter).
        CPPUNIT_ASSERT(max_buffered <= kCap + 16384 + 3);
      }
    }
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SplitterPropertyTest);

}  // namespace moxi::conflate
