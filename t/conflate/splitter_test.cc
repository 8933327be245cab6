// StreamSplitter, example by example: the delimiter rules of
// cluster-config.md §6.2, heartbeats, trimming, the end of a body, and the
// size cap (an oversized document is reported once and not buffered).
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "conflate/stream_splitter.h"

namespace moxi::conflate {
namespace {

Piece doc(std::string text) { return Piece{Piece::Kind::document, std::move(text)}; }
Piece oversized() { return Piece{Piece::Kind::oversized, {}}; }

std::string show(const std::vector<Piece>& pieces) {
  std::string out;
  for (const auto& p : pieces) out += p.kind == Piece::Kind::oversized ? "<oversized>" : "[" + p.text + "]";
  return out;
}

// Feeds `parts` one by one, then finish().
std::vector<Piece> split(const std::vector<std::string>& parts, std::size_t cap = kDefaultMaxDocumentBytes,
                         bool finish = true) {
  StreamSplitter splitter(cap);
  std::vector<Piece> out;
  for (const auto& part : parts) splitter.feed(part, out);
  if (finish) splitter.finish(out);
  return out;
}

std::vector<std::string> bytes_of(const std::string& s) {
  std::vector<std::string> parts;
  for (char c : s) parts.emplace_back(1, c);
  return parts;
}

}  // namespace

class SplitterTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(SplitterTest);
  CPPUNIT_TEST(one_document_then_delimiter);
  CPPUNIT_TEST(document_is_emitted_when_its_delimiter_arrives);
  CPPUNIT_TEST(delimiter_cut_at_every_byte);
  CPPUNIT_TEST(heartbeats_are_skipped_and_counted);
  CPPUNIT_TEST(leftmost_delimiter_wins);
  CPPUNIT_TEST(white_space_is_trimmed);
  CPPUNIT_TEST(fewer_than_four_newlines_do_not_split);
  CPPUNIT_TEST(finish_delivers_the_remainder);
  CPPUNIT_TEST(finish_of_a_blank_remainder_gives_nothing);
  CPPUNIT_TEST(finish_resets_for_a_new_body);
  CPPUNIT_TEST(reset_drops_a_partial_document);
  CPPUNIT_TEST(document_of_exactly_the_cap_is_kept);
  CPPUNIT_TEST(oversized_in_one_feed);
  CPPUNIT_TEST(oversized_is_reported_before_its_delimiter);
  CPPUNIT_TEST(oversized_is_not_buffered);
  CPPUNIT_TEST(oversized_delimiter_cut_while_skipping);
  CPPUNIT_TEST(oversized_remainder_at_finish);
  CPPUNIT_TEST(nothing_in_nothing_out);
  CPPUNIT_TEST_SUITE_END();

 public:
  void one_document_then_delimiter() {
    auto out = split({"{\"a\":1}\n\n\n\n"}, kDefaultMaxDocumentBytes, false);
    CPPUNIT_ASSERT_EQUAL(std::string("[{\"a\":1}]"), show(out));
  }

  void document_is_emitted_when_its_delimiter_arrives() {
    StreamSplitter splitter;
    std::vector<Piece> out;
    splitter.feed("{\"a\":1}", out);  // the config chunk
    CPPUNIT_ASSERT(out.empty());
    splitter.feed("\n\n\n\n", out);  // its delimiter chunk; the stream goes on
    CPPUNIT_ASSERT_EQUAL(std::string("[{\"a\":1}]"), show(out));
    CPPUNIT_ASSERT_EQUAL(std::size_t(0), splitter.buffered());
  }

  void delimiter_cut_at_every_byte() {
    const std::string stream = "{x}\n\n\n\n{y}\n\n\n\n";
    CPPUNIT_ASSERT_EQUAL(std::string("[{x}][{y}]"), show(split(bytes_of(stream), kDefaultMaxDocumentBytes, false)));
    CPPUNIT_ASSERT_EQUAL(std::string("[{x}][{y}]"), show(split({"{x}\n", "\n", "\n\n{y}\n\n\n", "\n"})));
  }

  void heartbeats_are_skipped_and_counted() {
    StreamSplitter splitter;
    std::vector<Piece> out;
    splitter.feed("\n\n\n\n", out);
    splitter.feed("\n\n\n\n", out);
    splitter.feed(" \t \n\n\n\n", out);
    CPPUNIT_ASSERT(out.empty());
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), splitter.heartbeats());
    splitter.feed("{a}\n\n\n\n\n\n\n\n", out);  // a config, then a heartbeat
    CPPUNIT_ASSERT_EQUAL(std::string("[{a}]"), show(out));
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(4), splitter.heartbeats());
  }

  void leftmost_delimiter_wins() {
    // Five newlines: the delimiter is the first four, the fifth is white
    // space in front of the next document.
    CPPUNIT_ASSERT_EQUAL(std::string("[A][B]"), show(split({"A\n\n\n\n\nB\n\n\n\n"})));
    // A document ending in a newline: the same.
    CPPUNIT_ASSERT_EQUAL(std::string("[A][B]"), show(split({"A\n", "\n\n\n\nB"})));
  }

  void white_space_is_trimmed() {
    CPPUNIT_ASSERT_EQUAL(std::string("[{ \"a\" : 1 }]"), show(split({" \r\n\t{ \"a\" : 1 } \r\n\n\n\n"})));
  }

  void fewer_than_four_newlines_do_not_split() {
    CPPUNIT_ASSERT_EQUAL(std::string("[a\n\n\nb]"), show(split({"a\n\n\nb\n\n\n\n"})));
    CPPUNIT_ASSERT_EQUAL(std::string("[a\n\n\nb]"), show(split(bytes_of("a\n\n\nb\n\n\n\n"))));
  }

  void finish_delivers_the_remainder() {
    // A non-streaming response: the whole body, no delimiter.
    CPPUNIT_ASSERT_EQUAL(std::string("[{\"a\":1}]"), show(split({"{\"a\"", ":1}\n"})));
    // nc-style HTTP/1.0 stream closed after its last delimiter, and one without it.
    CPPUNIT_ASSERT_EQUAL(std::string("[{a}][{b}]"), show(split({"{a}\n\n\n\n{b}\n\n\n\n"})));
    CPPUNIT_ASSERT_EQUAL(std::string("[{a}][{b}]"), show(split({"{a}\n\n\n\n{b}"})));
  }

  void finish_of_a_blank_remainder_gives_nothing() {
    StreamSplitter splitter;
    std::vector<Piece> out;
    splitter.feed("{a}\n\n\n\n \n", out);
    splitter.finish(out);
    CPPUNIT_ASSERT_EQUAL(std::string("[{a}]"), show(out));
    CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), splitter.heartbeats());
  }

  void finish_resets_for_a_new_body() {
    StreamSplitter splitter;
    std::vector<Piece> out;
    splitter.feed("{a", out);
    splitter.finish(out);
    splitter.feed("{b}", out);
    splitter.finish(out);
    CPPUNIT_ASSERT_EQUAL(std::string("[{a][{b}]"), show(out));
  }

  void reset_drops_a_partial_document() {
    StreamSplitter splitter;
    std::vector<Piece> out;
    splitter.feed("{half", out);
    splitter.reset();
    splitter.feed("{b}\n\n\n\n", out);
    CPPUNIT_ASSERT_EQUAL(std::string("[{b}]"), show(out));
  }

  void document_of_exactly_the_cap_is_kept() {
    const std::string ten = "0123456789";
    CPPUNIT_ASSERT_EQUAL("[" + ten + "]", show(split({ten + "\n\n\n\n"}, 10)));
    CPPUNIT_ASSERT_EQUAL("[" + ten + "]", show(split(bytes_of(ten + "\n\n\n\n"), 10)));
    CPPUNIT_ASSERT_EQUAL("[" + ten + "]", show(split({ten}, 10)));  // at finish
  }

  void oversized_in_one_feed() {
    auto out = split({"0123456789A\n\n\n\nok\n\n\n\n"}, 10);
    CPPUNIT_ASSERT_EQUAL(std::string("<oversized>[ok]"), show(out));
    CPPUNIT_ASSERT(out[0] == oversized());
    CPPUNIT_ASSERT(out[1] == doc("ok"));
  }

  void oversized_is_reported_before_its_delimiter() {
    StreamSplitter splitter(10);
    std::vector<Piece> out;
    splitter.feed("0123456789ABCD", out);  // 14 bytes, no delimiter: at least 11 of them are the document
    CPPUNIT_ASSERT_EQUAL(std::string("<oversized>"), show(out));
    splitter.feed("EFG\n\n\n\nok\n\n\n\n", out);
    CPPUNIT_ASSERT_EQUAL(std::string("<oversized>[ok]"), show(out));  // reported once
  }

  void oversized_is_not_buffered() {
    StreamSplitter splitter(1000);
    std::vector<Piece> out;
    const std::string block(4096, 'x');
    for (int i = 0; i < 256; ++i) {  // 1 MiB of one document
      splitter.feed(block, out);
      CPPUNIT_ASSERT(splitter.buffered() <= 4096 + 1000);
    }
    CPPUNIT_ASSERT_EQUAL(std::size_t(0), splitter.buffered());
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), out.size());
    splitter.feed("\n\n\n\n{ok}\n\n\n\n", out);
    CPPUNIT_ASSERT_EQUAL(std::string("<oversized>[{ok}]"), show(out));
  }

  void oversized_delimiter_cut_while_skipping() {
    // While skipping, the delimiter may be cut anywhere, and newline runs
    // shorter than four must not end the skip.
    for (const auto& parts : std::vector<std::vector<std::string>>{
             {"0123456789AB\n", "\n\n", "\nok\n\n\n\n"},
             {"0123456789AB\n\n\n", "x\n\n\n", "y", "\n", "\n", "\n", "\n", "ok"},
             {"0123456789AB", "\n\n\n", "\n", "ok"},
             {"0123456789AB\n\n", "\n\n\n\nok"},
         }) {
      CPPUNIT_ASSERT_EQUAL(std::string("<oversized>[ok]"), show(split(parts, 10)));
    }
  }

  void oversized_remainder_at_finish() {
    CPPUNIT_ASSERT_EQUAL(std::string("[a]<oversized>"), show(split({"a\n\n\n\n0123456789A"}, 10)));
    CPPUNIT_ASSERT_EQUAL(std::string("[a]<oversized>"), show(split(bytes_of("a\n\n\n\n0123456789A"), 10)));
  }

  void nothing_in_nothing_out() {
    CPPUNIT_ASSERT(split({}).empty());
    CPPUNIT_ASSERT(split({"", "", ""}).empty());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SplitterTest);

}  // namespace moxi::conflate
