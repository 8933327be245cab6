// Ascii client decoder: every command form and every malformed case. The
// expected texts were checked against memcached 1.6.18 by hand (and, for the
// malformed ones, by memcached_live_test.cc when memcached is installed).
#include <cppunit/extensions/HelperMacros.h>

#include "src/protocol/client_codec.h"
#include "t/protocol/test_util.h"

namespace moxi::protocol {

using test::printable;

namespace {

// Decodes the whole input (as one read) and renders what a client would see
// for the requests that the decoder answers by itself (Op::Invalid: their
// encoded reply), and a short marker for the others ("<set k>"), so a test
// reads like a memcached transcript.
std::string transcript(std::string_view input, const Limits& limits = Limits{}, bool* closed = nullptr,
                       size_t* left = nullptr) {
  auto codec = make_ascii_client_codec(limits);
  ByteChain in;
  ByteChain out;
  in.append(input);
  Request req;
  std::string t;
  for (;;) {
    req.reset();
    DecodeStatus st = codec->decode(in, req);
    if (st == DecodeStatus::NeedMore) break;
    if (st == DecodeStatus::Close) {
      t += "<close>";
      break;
    }
    if (req.op == Op::Invalid) {
      codec->encode(req, out);
      t += test::take(out);
    } else {
      std::string d = test::describe(req);
      t += "<" + d.substr(0, d.find(' ')) + (req.key_count() ? " " + std::string(req.key(0)) : "") + ">";
    }
    if (req.close_after) {
      t += "<close>";
      if (closed) *closed = true;
      break;
    }
  }
  if (left) *left = in.size();
  return t;
}

Request decode1(std::string_view input, DecodeStatus expect = DecodeStatus::Ready, size_t* left = nullptr) {
  auto codec = make_ascii_client_codec(Limits{});
  Request req;
  DecodeStatus st = test::decode_one(*codec, input, req, left);
  CPPUNIT_ASSERT_EQUAL_MESSAGE(printable(input), static_cast<int>(expect), static_cast<int>(st));
  return req;
}

std::string keys_of(const Request& req) {
  std::string s;
  for (size_t i = 0; i < req.key_count(); ++i) s += (i ? "," : "") + std::string(req.key(i));
  return s;
}

#define ASSERT_TRANSCRIPT(expected, input) \
  CPPUNIT_ASSERT_EQUAL_MESSAGE(printable(input), printable(expected), printable(transcript(input)))

}  // namespace

class AsciiClientDecodeTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(AsciiClientDecodeTest);
  CPPUNIT_TEST(testGetForms);
  CPPUNIT_TEST(testGetFastPathMatchesTokenizer);
  CPPUNIT_TEST(testGatForms);
  CPPUNIT_TEST(testGetErrors);
  CPPUNIT_TEST(testStorageForms);
  CPPUNIT_TEST(testCasForms);
  CPPUNIT_TEST(testValueWithEmbeddedCrlf);
  CPPUNIT_TEST(testStorageWaitsForValue);
  CPPUNIT_TEST(testStorageTokenErrors);
  CPPUNIT_TEST(testStorageNumberErrors);
  CPPUNIT_TEST(testValueLengthLimits);
  CPPUNIT_TEST(testTooLargeSwallowsValue);
  CPPUNIT_TEST(testTooLargeSwallowAcrossReads);
  CPPUNIT_TEST(testLoweredLimitAppliesToTheValueArriving);
  CPPUNIT_TEST(testBadDataChunk);
  CPPUNIT_TEST(testKeyLength);
  CPPUNIT_TEST(testIncrDecr);
  CPPUNIT_TEST(testDelete);
  CPPUNIT_TEST(testTouch);
  CPPUNIT_TEST(testFlushAll);
  CPPUNIT_TEST(testVerbosityVersionQuitStats);
  CPPUNIT_TEST(testUnknownAndEmpty);
  CPPUNIT_TEST(testRefusedAdminCommands);
  CPPUNIT_TEST(testHttpClosesSilently);
  CPPUNIT_TEST(testLineEndings);
  CPPUNIT_TEST(testLineTooLong);
  CPPUNIT_TEST(testLongGetLines);
  CPPUNIT_TEST(testHugeGetLinesInParts);
  CPPUNIT_TEST(testIncompleteLineNeedsMore);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testGetForms() {
    Request r = decode1("get a\r\n");
    CPPUNIT_ASSERT(r.op == Op::Get && !r.want_cas && r.protocol == Protocol::Ascii);
    CPPUNIT_ASSERT_EQUAL(std::string("a"), keys_of(r));

    r = decode1("get a b a c\r\n");  // duplicates kept, order kept
    CPPUNIT_ASSERT_EQUAL(std::string("a,b,a,c"), keys_of(r));

    r = decode1("gets   k1  k2 \r\n");
    CPPUNIT_ASSERT(r.op == Op::Get && r.want_cas);
    CPPUNIT_ASSERT_EQUAL(std::string("k1,k2"), keys_of(r));

    r = decode1("   get x\r\n");  // leading spaces are fine
    CPPUNIT_ASSERT_EQUAL(std::string("x"), keys_of(r));

    r = decode1("bget x\r\n");  // memcached's ancient alias
    CPPUNIT_ASSERT(r.op == Op::Get);

    r = decode1("get noreply\r\n");  // "noreply" is just a key for get
    CPPUNIT_ASSERT(!r.noreply);
    CPPUNIT_ASSERT_EQUAL(std::string("noreply"), keys_of(r));

    r = decode1("get a\tb\r\n");  // only spaces separate tokens
    CPPUNIT_ASSERT_EQUAL(std::string("a\tb"), keys_of(r));

    std::string many = "get";
    for (int i = 0; i < 100; ++i) many += " k" + std::to_string(i);
    r = decode1(many + "\r\n");  // more than memcached's 24 tokens per pass
    CPPUNIT_ASSERT_EQUAL(size_t{100}, r.key_count());
    CPPUNIT_ASSERT_EQUAL(std::string("k99"), std::string(r.key(99)));
  }

  // "get <key>" has a fast path that skips the tokenizer; a leading space
  // sends the same line through the tokenizer. Both must agree on every line,
  // under default and tight limits.
  void testGetFastPathMatchesTokenizer() {
    const std::string k250(250, 'k');
    const std::vector<std::string> lines = {
        "get a", "get a b", "get a ", "get  a", "get " + k250, "get " + k250 + "x", "get a\tb", "get noreply",
        "get a\0b", "get ", "get", "gets a", "get\ta", std::string("get \x80\xff", 6), "get a\r"};
    Limits tight;
    tight.max_key_length = 3;
    for (const Limits& limits : {Limits{}, tight}) {
      for (const std::string& line : lines) {
        for (const char* ending : {"\r\n", "\n"}) {
          auto fast_codec = make_ascii_client_codec(limits);
          auto slow_codec = make_ascii_client_codec(limits);
          Request fast;
          Request slow;
          size_t fast_left = 0;
          size_t slow_left = 0;
          const DecodeStatus fs = test::decode_one(*fast_codec, line + ending, fast, &fast_left);
          const DecodeStatus ss = test::decode_one(*slow_codec, " " + line + ending, slow, &slow_left);
          const std::string where = printable(line) + " max_key_length=" + std::to_string(limits.max_key_length);
          CPPUNIT_ASSERT_EQUAL_MESSAGE(where, static_cast<int>(ss), static_cast<int>(fs));
          CPPUNIT_ASSERT_EQUAL_MESSAGE(where, test::describe(slow), test::describe(fast));
          CPPUNIT_ASSERT_EQUAL_MESSAGE(where, static_cast<int>(slow.limit), static_cast<int>(fast.limit));
          CPPUNIT_ASSERT_EQUAL_MESSAGE(where, slow_left, fast_left);
        }
      }
    }
  }

  void testGatForms() {
    Request r = decode1("gat 100 a b\r\n");
    CPPUNIT_ASSERT(r.op == Op::Gat && !r.want_cas);
    CPPUNIT_ASSERT_EQUAL(int64_t{100}, r.exptime);
    CPPUNIT_ASSERT_EQUAL(std::string("a,b"), keys_of(r));

    r = decode1("gats -1 a\r\n");
    CPPUNIT_ASSERT(r.op == Op::Gat && r.want_cas);
    CPPUNIT_ASSERT_EQUAL(int64_t{-1}, r.exptime);

    r = decode1("gat 4294967297 a\r\n");  // truncated to 32 bits like memcached
    CPPUNIT_ASSERT_EQUAL(int64_t{1}, r.exptime);

    r = decode1("gat 100\r\n");  // memcached answers just END
    CPPUNIT_ASSERT(r.op == Op::Gat);
    CPPUNIT_ASSERT_EQUAL(size_t{0}, r.key_count());
  }

  void testGetErrors() {
    ASSERT_TRANSCRIPT("ERROR\r\n", "get\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "gets\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "gat\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "getx a\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "GET a\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR invalid exptime argument\r\n", "gat a\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR invalid exptime argument\r\n", "gat x a\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\n", "get a " + std::string(251, 'k') + " b\r\n");
  }

  void testStorageForms() {
    struct Case {
      const char* line;
      Op op;
    } cases[] = {{"set", Op::Set}, {"add", Op::Add}, {"replace", Op::Replace}, {"append", Op::Append},
                 {"prepend", Op::Prepend}};
    for (const auto& c : cases) {
      Request r = decode1(std::string(c.line) + " k 42 -5 3\r\nabc\r\n");
      CPPUNIT_ASSERT(r.op == c.op);
      CPPUNIT_ASSERT_EQUAL(std::string("k"), keys_of(r));
      CPPUNIT_ASSERT_EQUAL(uint32_t{42}, r.flags);
      CPPUNIT_ASSERT_EQUAL(int64_t{-5}, r.exptime);  // negative passes through: "expired"
      CPPUNIT_ASSERT_EQUAL(std::string("abc"), r.value.str());
      CPPUNIT_ASSERT(!r.noreply);
      CPPUNIT_ASSERT_EQUAL(uint64_t{0}, r.cas);
    }
    Request r = decode1("set k 0 0 1 noreply\r\nx\r\n");
    CPPUNIT_ASSERT(r.noreply);
    r = decode1("set k 0 0 1 whatever\r\nx\r\n");  // a 6th token that is not noreply is ignored
    CPPUNIT_ASSERT(!r.noreply && r.op == Op::Set);
    r = decode1("set k 0 0 0\r\n\r\n");  // empty value
    CPPUNIT_ASSERT_EQUAL(std::string(""), r.value.str());
    r = decode1("set k 4294967295 0 1\r\nx\r\n");
    CPPUNIT_ASSERT_EQUAL(uint32_t{4294967295u}, r.flags);
    r = decode1("set k 4294967296 0 1\r\nx\r\n");  // memcached truncates flags
    CPPUNIT_ASSERT_EQUAL(uint32_t{0}, r.flags);
    r = decode1("set k 0 2147483648 1\r\nx\r\n");  // ... and exptime (to a negative: expired)
    CPPUNIT_ASSERT_EQUAL(int64_t{INT32_MIN}, r.exptime);
    r = decode1("set k 0 0 4294967297\r\nx\r\n");  // ... and even the length
    CPPUNIT_ASSERT_EQUAL(std::string("x"), r.value.str());
    r = decode1("set k 0 0 +1\r\nx\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("x"), r.value.str());
  }

  void testCasForms() {
    Request r = decode1("cas k 1 2 3 99\r\nabc\r\n");
    CPPUNIT_ASSERT(r.op == Op::Set);
    CPPUNIT_ASSERT_EQUAL(uint64_t{99}, r.cas);
    CPPUNIT_ASSERT(!r.noreply);
    r = decode1("cas k 1 2 3 99 noreply\r\nabc\r\n");
    CPPUNIT_ASSERT(r.noreply);
    // memcached can never satisfy cas 0 (EXISTS or NOT_FOUND); it must not
    // become an unconditional set.
    r = decode1("cas k 0 0 1 0\r\nx\r\n");
    CPPUNIT_ASSERT_EQUAL(UINT64_MAX, r.cas);
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\nERROR\r\n", "cas k 0 0 1 -1\r\nx\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\nERROR\r\n", "cas k 0 0 1\r\nx\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\nERROR\r\n", "cas k 0 0 1 2 noreply x\r\nx\r\n");
  }

  void testValueWithEmbeddedCrlf() {
    Request r = decode1("set k 0 0 8\r\na\r\nb\r\n\r\n\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("a\r\nb\r\n\r\n"), r.value.str());
    r = decode1(std::string("set k 0 0 3\r\n\0\r\n\r\n", 18));  // binary-safe values
    CPPUNIT_ASSERT_EQUAL(std::string("\0\r\n", 3), r.value.str());
  }

  void testStorageWaitsForValue() {
    auto codec = make_ascii_client_codec(Limits{});
    ByteChain in;
    Request req;
    in.append("set k 0 0 5\r\nab");
    CPPUNIT_ASSERT(codec->decode(in, req) == DecodeStatus::NeedMore);
    CPPUNIT_ASSERT_EQUAL(size_t{15}, in.size());  // nothing consumed
    CPPUNIT_ASSERT(req.key_count() == 0 && req.op == Op::Invalid);  // req untouched
    in.append("cde\r");
    CPPUNIT_ASSERT(codec->decode(in, req) == DecodeStatus::NeedMore);
    in.append("\nget k\r\n");
    CPPUNIT_ASSERT(codec->decode(in, req) == DecodeStatus::Ready);
    CPPUNIT_ASSERT_EQUAL(std::string("abcde"), req.value.str());
    req.reset();
    CPPUNIT_ASSERT(codec->decode(in, req) == DecodeStatus::Ready);
    CPPUNIT_ASSERT(req.op == Op::Get);
    CPPUNIT_ASSERT_EQUAL(size_t{0}, in.size());
  }

  void testStorageTokenErrors() {
    // Wrong token counts: ERROR, and the value line is read as a command.
    ASSERT_TRANSCRIPT("ERROR\r\n", "set a 0 0\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\nERROR\r\n", "set a 0 0 1 noreply extra\r\nx\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\nERROR\r\n", "add a 0 0 1 2 3\r\nx\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "append\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\nERROR\r\n", "prepend k\r\nx\r\n");
  }

  void testStorageNumberErrors() {
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\nERROR\r\n", "set a x 0 1\r\nx\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\nERROR\r\n", "set a -1 0 1\r\nx\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\nERROR\r\n", "set a 0 abc 1\r\nx\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\nERROR\r\n", "set a 0 0 1x\r\nx\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\nERROR\r\n", "replace a 0 0 -1\r\nabc\r\n");
    // noreply silences the error, but the value line still reads as a command
    ASSERT_TRANSCRIPT("ERROR\r\n", "set a 0 0 noreply\r\nx\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "set a x 0 1 noreply\r\nx\r\n");
    ASSERT_TRANSCRIPT("<set a>", "set a 0 0 1 foo\r\nx\r\n");
    ASSERT_TRANSCRIPT("<set a>", "set a 0  0 1\r\nx\r\n");
    ASSERT_TRANSCRIPT("<set a>", "set a -0 0 1\r\nx\r\n");
  }

  void testValueLengthLimits() {
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\n", "set a 0 0 2147483646\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\nERROR\r\n", "set a 0 0 2147483648\r\nx\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\n", "set a 0 0 99999999999999999999\r\n");
  }

  void testTooLargeSwallowsValue() {
    Limits small;
    small.max_value_length = 10;
    std::string input = "set a 0 0 11\r\n" + std::string(11, 'z') + "\r\nget a\r\n";
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR object too large for cache\\r\\n<get a>"),
                         printable(transcript(input, small)));
    // exactly <bytes>+2 are swallowed, whatever they are (as memcached)
    input = "set a 0 0 11\r\n" + std::string(11, 'z') + "XXget a\r\n";
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR object too large for cache\\r\\n<get a>"),
                         printable(transcript(input, small)));
    input = "set a 0 0 11 noreply\r\n" + std::string(11, 'z') + "\r\nget a\r\n";
    CPPUNIT_ASSERT_EQUAL(std::string("<get a>"), printable(transcript(input, small)));
    // 10 bytes are fine
    CPPUNIT_ASSERT_EQUAL(std::string("<set a>"), printable(transcript("set a 0 0 10\r\n0123456789\r\n", small)));

    // The rejected set keeps its key (the core may unlink the stale item, as memcached does).
    auto codec = make_ascii_client_codec(small);
    Request req;
    test::decode_one(*codec, "set a 0 0 11\r\n", req);
    CPPUNIT_ASSERT(req.op == Op::Invalid);
    CPPUNIT_ASSERT_EQUAL(std::string("a"), keys_of(req));
    // Default limit: 1 MiB.
    std::string big = "set a 0 0 1048577\r\n" + std::string(1048577, 'v') + "\r\nversion\r\n";
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR object too large for cache\\r\\n<version>"),
                         printable(transcript(big)));
  }

  // The proxy lowers the limit when it must stop buffering (its total
  // budget is full): a set already waiting for its value is refused and
  // swallowed from then on, not buffered to its end under the old limit.
  void testLoweredLimitAppliesToTheValueArriving() {
    auto codec = make_ascii_client_codec(Limits{});
    ByteChain in;
    Request req;
    in.append("set a 0 0 100\r\n0123456789");
    CPPUNIT_ASSERT(codec->decode(in, req) == DecodeStatus::NeedMore);
    in.append("0123456789");
    CPPUNIT_ASSERT(codec->decode(in, req) == DecodeStatus::NeedMore);
    codec->set_max_value_length(0);
    CPPUNIT_ASSERT(codec->decode(in, req) == DecodeStatus::Ready);
    CPPUNIT_ASSERT(req.op == Op::Invalid);
    CPPUNIT_ASSERT(req.limit == Limit::ValueSize);
    CPPUNIT_ASSERT_EQUAL(std::string("a"), keys_of(req));
    CPPUNIT_ASSERT_EQUAL(size_t{0}, in.size());
    in.append(std::string(80, 'x') + "\r\nversion\r\n");
    req.reset();
    CPPUNIT_ASSERT(codec->decode(in, req) == DecodeStatus::Ready);
    CPPUNIT_ASSERT(req.op == Op::Version);
    // Raising it again changes nothing for what is decoded.
    codec->set_max_value_length(1 << 20);
    in.append("set b 0 0 1\r\nz\r\n");
    req.reset();
    CPPUNIT_ASSERT(codec->decode(in, req) == DecodeStatus::Ready);
    CPPUNIT_ASSERT(req.op == Op::Set);
  }

  void testTooLargeSwallowAcrossReads() {
    Limits small;
    small.max_value_length = 10;
    auto codec = make_ascii_client_codec(small);
    ByteChain in;
    Request req;
    in.append("set a 0 0 100\r\n0123456789");
    CPPUNIT_ASSERT(codec->decode(in, req) == DecodeStatus::Ready);
    CPPUNIT_ASSERT(req.op == Op::Invalid);
    CPPUNIT_ASSERT_EQUAL(size_t{0}, in.size());
    for (int i = 0; i < 9; ++i) {
      in.append("0123456789");
      req.reset();
      CPPUNIT_ASSERT(codec->decode(in, req) == DecodeStatus::NeedMore);
      CPPUNIT_ASSERT_EQUAL(size_t{0}, in.size());  // swallowed as it arrives, never buffered
    }
    in.append("\r");
    CPPUNIT_ASSERT(codec->decode(in, req) == DecodeStatus::NeedMore);
    in.append("\nversion\r\n");
    CPPUNIT_ASSERT(codec->decode(in, req) == DecodeStatus::Ready);
    CPPUNIT_ASSERT(req.op == Op::Version);
  }

  void testBadDataChunk() {
    // memcached reads <bytes>+2 and then checks for \r\n; the rest is the next command.
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad data chunk\r\nERROR\r\n", "set a 0 0 1\r\nxyz\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad data chunk\r\nERROR\r\n", "set a 0 0 1\r\nx\nget a\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n<get a>", "set a 0 0 1 noreply\r\nxyz\r\nget a\r\n");
    Request r = decode1("set a 0 0 1\r\nxyz");
    CPPUNIT_ASSERT(r.op == Op::Invalid && r.value.empty());
  }

  void testKeyLength() {
    const std::string k250(250, 'k');
    const std::string k251(251, 'k');
    CPPUNIT_ASSERT(decode1("get " + k250 + "\r\n").op == Op::Get);
    CPPUNIT_ASSERT(decode1("set " + k250 + " 0 0 1\r\nx\r\n").op == Op::Set);
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\n", "get " + k251 + "\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\nERROR\r\n", "set " + k251 + " 0 0 1\r\nx\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\n", "delete " + k251 + "\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\n", "incr " + k251 + " 1\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\n", "touch " + k251 + " 1\r\n");
    ASSERT_TRANSCRIPT("", "touch " + k251 + " 1 noreply\r\n");
  }

  void testIncrDecr() {
    Request r = decode1("incr n 5\r\n");
    CPPUNIT_ASSERT(r.op == Op::Incr && !r.create && !r.noreply);
    CPPUNIT_ASSERT_EQUAL(uint64_t{5}, r.delta);
    r = decode1("decr n 18446744073709551615 noreply\r\n");
    CPPUNIT_ASSERT(r.op == Op::Decr && r.noreply);
    CPPUNIT_ASSERT_EQUAL(UINT64_MAX, r.delta);
    r = decode1("incr n 1 foo\r\n");
    CPPUNIT_ASSERT(r.op == Op::Incr && !r.noreply);
    ASSERT_TRANSCRIPT("ERROR\r\n", "incr n\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "incr\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "incr n 1 2 3\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR invalid numeric delta argument\r\n", "incr n x\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR invalid numeric delta argument\r\n", "decr n -1\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR invalid numeric delta argument\r\n", "incr n 18446744073709551616\r\n");
    ASSERT_TRANSCRIPT("", "incr n x noreply\r\n");
  }

  void testDelete() {
    Request r = decode1("delete k\r\n");
    CPPUNIT_ASSERT(r.op == Op::Delete && !r.noreply);
    CPPUNIT_ASSERT(decode1("delete k 0\r\n").op == Op::Delete);
    r = decode1("delete k noreply\r\n");
    CPPUNIT_ASSERT(r.op == Op::Delete && r.noreply);
    r = decode1("delete k 0 noreply\r\n");
    CPPUNIT_ASSERT(r.op == Op::Delete && r.noreply);
    const std::string usage = "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n";
    ASSERT_TRANSCRIPT(usage, "delete k 1\r\n");
    ASSERT_TRANSCRIPT(usage, "delete k 0 foo\r\n");
    ASSERT_TRANSCRIPT(usage, "delete k 1 0\r\n");
    ASSERT_TRANSCRIPT("", "delete k foo noreply\r\n");
    ASSERT_TRANSCRIPT("", "delete k 1 noreply\r\n");  // the usage error is silenced by noreply
    ASSERT_TRANSCRIPT("ERROR\r\n", "delete\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "delete a b c d\r\n");
  }

  void testTouch() {
    Request r = decode1("touch k 10\r\n");
    CPPUNIT_ASSERT(r.op == Op::Touch && !r.noreply);
    CPPUNIT_ASSERT_EQUAL(int64_t{10}, r.exptime);
    r = decode1("touch k -1 noreply\r\n");
    CPPUNIT_ASSERT(r.noreply);
    CPPUNIT_ASSERT_EQUAL(int64_t{-1}, r.exptime);
    CPPUNIT_ASSERT(decode1("touch k 10 foo\r\n").op == Op::Touch);
    ASSERT_TRANSCRIPT("ERROR\r\n", "touch k\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "touch a 1 2 3\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR invalid exptime argument\r\n", "touch k x\r\n");
  }

  void testFlushAll() {
    Request r = decode1("flush_all\r\n");
    CPPUNIT_ASSERT(r.op == Op::Flush && !r.has_exptime && !r.noreply);
    r = decode1("flush_all 0\r\n");
    CPPUNIT_ASSERT(r.has_exptime);
    CPPUNIT_ASSERT_EQUAL(int64_t{0}, r.exptime);
    r = decode1("flush_all noreply\r\n");
    CPPUNIT_ASSERT(r.noreply && !r.has_exptime);
    r = decode1("flush_all 10 noreply\r\n");
    CPPUNIT_ASSERT(r.noreply && r.has_exptime);
    CPPUNIT_ASSERT_EQUAL(int64_t{10}, r.exptime);
    r = decode1("flush_all -1\r\n");
    CPPUNIT_ASSERT_EQUAL(int64_t{-1}, r.exptime);
    r = decode1("flush_all 1 2\r\n");  // memcached: the 2 is ignored
    CPPUNIT_ASSERT(r.op == Op::Flush && !r.noreply);
    CPPUNIT_ASSERT_EQUAL(int64_t{1}, r.exptime);
    ASSERT_TRANSCRIPT("CLIENT_ERROR invalid exptime argument\r\n", "flush_all x\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR invalid exptime argument\r\n", "flush_all noreply x\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "flush_all 1 2 3\r\n");
    ASSERT_TRANSCRIPT("", "flush_all x noreply\r\n");
  }

  void testVerbosityVersionQuitStats() {
    Request r = decode1("verbosity 1\r\n");
    CPPUNIT_ASSERT(r.op == Op::Verbosity && !r.noreply);
    CPPUNIT_ASSERT_EQUAL(uint32_t{1}, r.verbosity);
    CPPUNIT_ASSERT(decode1("verbosity 1 noreply\r\n").noreply);
    CPPUNIT_ASSERT(decode1("verbosity 1 2\r\n").op == Op::Verbosity);
    CPPUNIT_ASSERT_EQUAL(uint32_t{0}, decode1("verbosity 4294967296\r\n").verbosity);
    ASSERT_TRANSCRIPT("ERROR\r\n", "verbosity\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "verbosity 1 2 3\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\n", "verbosity x\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\n", "verbosity -1\r\n");
    ASSERT_TRANSCRIPT("", "verbosity noreply\r\n");

    CPPUNIT_ASSERT(decode1("version\r\n").op == Op::Version);
    CPPUNIT_ASSERT(decode1("version x y\r\n").op == Op::Version);

    r = decode1("quit\r\n");
    CPPUNIT_ASSERT(r.op == Op::Quit && r.close_after);
    CPPUNIT_ASSERT(decode1("quit x\r\n").close_after);
    bool closed = false;
    CPPUNIT_ASSERT_EQUAL(std::string("<quit><close>"), transcript("quit\r\nversion\r\n", Limits{}, &closed));

    r = decode1("stats\r\n");
    CPPUNIT_ASSERT(r.op == Op::Stats && r.stats_args.empty());
    r = decode1("stats  slabs\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("slabs"), r.stats_args);
    r = decode1("stats proxy  config x\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("proxy config x"), r.stats_args);
    r = decode1("stats reset\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("reset"), r.stats_args);
  }

  void testUnknownAndEmpty() {
    ASSERT_TRANSCRIPT("ERROR\r\n", "bogus\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "x\r\n");  // single-character commands do not exist
    ASSERT_TRANSCRIPT("ERROR\r\n", "\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "   \r\n");
    ASSERT_TRANSCRIPT("MN\r\n", "mn\r\n");  // the meta no-op is answered in order
    ASSERT_TRANSCRIPT("ERROR\r\n", "mg\r\n");  // meta commands (meta_client_test.cc) need a key
    ASSERT_TRANSCRIPT("ERROR\r\n", "mz foo\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "gx foo\r\n");  // memcached's get branch
  }

  // Admin commands a proxy does not carry: memcached's own argument checks
  // first, then memcached's text for the feature being off.
  void testRefusedAdminCommands() {
    ASSERT_TRANSCRIPT("CLIENT_ERROR slab reassignment disabled\r\n", "slabs reassign 1 2\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR slab reassignment disabled\r\n", "slabs automove 1\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\n", "slabs automove invalid\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "slabs automove 3\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "slabs reassign x\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "slabs foo\r\n");
    ASSERT_TRANSCRIPT("ERROR: shutdown not enabled\r\n", "shutdown\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR lru crawler disabled\r\n", "lru_crawler crawl all\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "lru_crawler foo\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "lru mode flat\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "cache_memlimit 100\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "watch\r\n");
    ASSERT_TRANSCRIPT("Error TLS not enabled\r\n", "refresh_certs\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR usage: stats detail on|off|dump\r\n", "stats detail\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR usage: stats detail on|off|dump\r\n", "stats detail foo\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "stats detail on\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\n", "verbosity invalid\r\n");
    // Every command of the table is recognised (none falls through to the
    // unknown-command path, whose HTTP check would close the connection).
    for (const auto& c : ascii_commands()) {
      CPPUNIT_ASSERT_MESSAGE(std::string(c.name), !c.name.empty());
      if (c.route == CommandRoute::Refused) CPPUNIT_ASSERT_MESSAGE(std::string(c.name), !c.reply.empty());
    }
    ASSERT_TRANSCRIPT("ERROR\r\nERROR\r\n<version>", "foo\r\nbar baz\r\nversion\r\n");
  }

  void testHttpClosesSilently() {
    bool closed = false;
    CPPUNIT_ASSERT_EQUAL(std::string("<close>"), transcript("GET / HTTP/1.1\r\nHost: x\r\n\r\n", Limits{}, &closed));
    CPPUNIT_ASSERT(closed);
    CPPUNIT_ASSERT_EQUAL(std::string("<close>"), transcript("POST /x HTTP/1.0\r\n"));
    // commands memcached knows take their own path (no HTTP check)
    ASSERT_TRANSCRIPT("<get />", "get / HTTP/1.1\r\n");
    ASSERT_TRANSCRIPT("ERROR\r\n", "slabs HTTP/1.1\r\n");
    ASSERT_TRANSCRIPT("<stats>", "stats / HTTP/1.1\r\n");
  }

  void testLineEndings() {
    CPPUNIT_ASSERT(decode1("get a\n").op == Op::Get);  // bare \n is a line end
    Request r = decode1("set a 0 0 1\nx\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("x"), r.value.str());
    r = decode1("set a 0 0 1\r\r\nx\r\n");  // "1\r": the \r ends the number like a space
    CPPUNIT_ASSERT_EQUAL(std::string("x"), r.value.str());
    r = decode1("get a\r\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("a\r"), keys_of(r));  // only one \r is dropped
    // memcached tokenizes with strlen: the line ends at a NUL
    r = decode1(std::string("get a\0b c\r\n", 11));
    CPPUNIT_ASSERT_EQUAL(std::string("a"), keys_of(r));
  }

  void testLineTooLong() {
    bool closed = false;
    size_t left = 1;
    // No newline within 2048 bytes of a non-get line: memcached closes.
    std::string t = transcript(std::string(2049, 'x'), Limits{}, &closed, &left);
    CPPUNIT_ASSERT_EQUAL(std::string("CLIENT_ERROR line too long\\r\\n<close>"), printable(t));
    CPPUNIT_ASSERT(closed);
    CPPUNIT_ASSERT_EQUAL(size_t{0}, left);
    // The decision does not depend on how the line arrived (memcached's does).
    ASSERT_TRANSCRIPT("CLIENT_ERROR line too long\r\n<close>", std::string(3000, 'x') + "\r\nversion\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR line too long\r\n<close>", "set " + std::string(3000, 'k') + " 0 0 1\r\nx\r\n");
    // 2048 bytes before the \n are still fine ("x..x\r" = 2048 here)
    ASSERT_TRANSCRIPT("ERROR\r\n<version>", std::string(2047, 'x') + "\r\nversion\r\n");
    ASSERT_TRANSCRIPT("CLIENT_ERROR line too long\r\n<close>", std::string(2048, 'x') + "\r\nversion\r\n");
  }

  void testLongGetLines() {
    std::string keys;
    for (int i = 0; i < 3000; ++i) keys += " k";
    ASSERT_TRANSCRIPT("<get k><version>", "get" + keys + "\r\nversion\r\n");
    ASSERT_TRANSCRIPT("<get k>", "  gets" + keys + "\r\n");
    ASSERT_TRANSCRIPT("<gat k>", "gat 0" + keys + "\r\n");
    // too many leading spaces: not treated as a get line
    ASSERT_TRANSCRIPT("CLIENT_ERROR line too long\r\n<close>", std::string(101, ' ') + "get" + keys + "\r\n");
    // a long get line with an over-long key is a normal key error
    ASSERT_TRANSCRIPT("CLIENT_ERROR bad command line format\r\n", "  get " + std::string(3000, 'k') + "\r\n");
  }

  // A get line longer than get_part_bytes becomes several requests, cut
  // after a space, the first with the command, every key exactly once, in
  // order, whether the line arrives whole or a byte at a time.
  void testHugeGetLinesInParts() {
    Limits small;
    small.get_part_bytes = 40;
    std::string line = "gats 7";
    std::vector<std::string> keys;
    for (int i = 0; i < 50; ++i) keys.push_back("key" + std::to_string(i));
    for (const auto& k : keys) line += " " + k;
    for (size_t chunk : {size_t{1}, size_t{7}, line.size() + 20}) {
      auto codec = make_ascii_client_codec(small);
      ByteChain in;
      const std::string bytes = line + "\r\nversion\r\n";
      std::vector<std::string> got;
      int parts = 0;
      bool saw_last = false;
      for (size_t off = 0; off < bytes.size(); off += chunk) {
        in.append(bytes.substr(off, chunk));
        for (;;) {
          Request r;
          if (codec->decode(in, r) != DecodeStatus::Ready) break;
          if (r.op == Op::Version) {
            saw_last = true;
            continue;
          }
          CPPUNIT_ASSERT(r.op == Op::Gat);
          CPPUNIT_ASSERT(r.want_cas);
          CPPUNIT_ASSERT_EQUAL(int64_t{7}, r.exptime);
          CPPUNIT_ASSERT(r.get_part);
          ++parts;
          for (size_t k = 0; k < r.key_count(); ++k) got.push_back(std::string(r.key(k)));
        }
      }
      CPPUNIT_ASSERT_MESSAGE(std::to_string(chunk), saw_last);
      CPPUNIT_ASSERT_MESSAGE(std::to_string(parts), parts >= 7);  // ~300 bytes in parts of at most 40
      CPPUNIT_ASSERT(keys == got);
    }
    // The encoder: END only after the last part.
    auto codec = make_ascii_client_codec(small);
    Request part;
    part.op = Op::Get;
    part.get_part = part.get_continues = true;
    part.add_key("a");
    part.prepare_results();
    part.results[0].server_error(Status::InternalError, "proxy downstream closed 127.0.0.1:1");
    ByteChain out;
    codec->encode(part, out);
    CPPUNIT_ASSERT_EQUAL(std::string(), out.str());  // a failed key of a part reads as a miss
    part.get_continues = false;
    codec->encode(part, out);
    CPPUNIT_ASSERT_EQUAL(std::string("END\r\n"), out.str());
    // Only get lines are decoded in parts: a longer non-get line under the
    // line limit is one request however it arrives (found by the fuzzer).
    const std::string cas = "cas k 0 0 3 77 " + std::string(60, 'x') + "\r\nabc\r\n";
    CPPUNIT_ASSERT_EQUAL(std::string("<set k>"), printable(transcript(cas, small)));
    // A NUL ends a long get line as it ends any line: the keys after it are dropped.
    const std::string nul =
        std::string("get a b c d e f g h i j k l m n o p q r s t") + '\0' + "u v w x y z a b c d e f g h i j\r\nversion\r\n";
    CPPUNIT_ASSERT_EQUAL(std::string("<get a><get s><version>"), printable(transcript(nul, small)));
    // A key too long in a later part: CLIENT_ERROR, the rest of the line dropped.
    const std::string bad = "get a b c d e f g h i j k l m n o p q r s t u v w x y z " + std::string(300, 'K') +
                            " zz\r\nversion\r\n";
    CPPUNIT_ASSERT_EQUAL(std::string("<get a><get s>CLIENT_ERROR bad command line format\\r\\n<version>"),
                         printable(transcript(bad, small)));
  }

  void testIncompleteLineNeedsMore() {
    size_t left = 0;
    decode1("get a", DecodeStatus::NeedMore, &left);
    CPPUNIT_ASSERT_EQUAL(size_t{5}, left);
    decode1("", DecodeStatus::NeedMore, &left);
    decode1("set a 0 0 1\r\nx\r", DecodeStatus::NeedMore, &left);
    CPPUNIT_ASSERT_EQUAL(size_t{15}, left);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AsciiClientDecodeTest);

}  // namespace moxi::protocol
