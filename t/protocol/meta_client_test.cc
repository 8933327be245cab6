// The meta client side (mg, ms, md, ma, me through the ascii client codec):
// what each line decodes into (op, key, arguments, flags), memcached 1.6.18's
// error texts and what is swallowed after them, and the replies built from
// a plain backend's results (flags in request order, q, c0 after a failed
// ms, a base64 key re-encoded) or relayed from a meta backend. The bytes
// memcached itself writes are pinned in memcached_live_test.cc; the proxy
// suites compare moxi with memcached side by side.
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "src/protocol/client_codec.h"
#include "src/protocol/meta_client.h"
#include "t/protocol/test_util.h"

namespace moxi::protocol {

using test::printable;

namespace {

struct Decode {
  Request req;
  DecodeStatus status = DecodeStatus::NeedMore;
  size_t left = 0;
};

Decode decode(std::string_view input, const Limits& limits = Limits{}) {
  auto codec = make_ascii_client_codec(limits);
  Decode d;
  d.status = test::decode_one(*codec, input, d.req, &d.left);
  return d;
}

// Every reply the codec gives to `input`, as one string (each request
// decoded, answered as Op::Invalid only: errors and local replies).
std::string errors_for(std::string_view input) {
  auto codec = make_ascii_client_codec(Limits{});
  ByteChain in, out;
  in.append(input);
  Request req;
  for (;;) {
    req.reset();
    if (codec->decode(in, req) != DecodeStatus::Ready) break;
    req.prepare_results();
    if (req.op == Op::Invalid) {
      codec->encode(req, out);
    } else {
      out.append("<request>\r\n", 11);
    }
  }
  return out.str();
}

// The reply to the meta request `line` (decoded for real) with results[0]
// set up by `fill`.
template <typename F>
std::string reply(std::string_view line, F&& fill) {
  auto codec = make_ascii_client_codec(Limits{});
  Request req;
  std::string input(line);
  CPPUNIT_ASSERT(test::decode_one(*codec, input, req) == DecodeStatus::Ready);
  CPPUNIT_ASSERT_MESSAGE(test::describe(req), req.op != Op::Invalid);
  req.prepare_results();
  fill(req.results[0], req);
  ByteChain out;
  codec->encode(req, out);
  return out.str();
}

void hit(Result& r, std::string_view value, uint32_t flags, uint64_t cas) {
  r.hit = true;
  r.flags = flags;
  r.cas = cas;
  r.value.append(value);
}

}  // namespace

class MetaClientTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(MetaClientTest);
  CPPUNIT_TEST(testGetMapsToGetOrGat);
  CPPUNIT_TEST(testSetModesMapToStorageOps);
  CPPUNIT_TEST(testDeleteAndArithmetic);
  CPPUNIT_TEST(testBase64Keys);
  CPPUNIT_TEST(testMemcachedsBase64Decoding);
  CPPUNIT_TEST(testErrorTexts);
  CPPUNIT_TEST(testWhatIsSwallowedAfterAnMsError);
  CPPUNIT_TEST(testTooLargeUnlinksAndSwallows);
  CPPUNIT_TEST(testSetWaitsForItsDataBlock);
  CPPUNIT_TEST(testGetReplies);
  CPPUNIT_TEST(testSetReplies);
  CPPUNIT_TEST(testDeleteAndArithmeticReplies);
  CPPUNIT_TEST(testQuiet);
  CPPUNIT_TEST(testRelayedReplies);
  CPPUNIT_TEST(testProxyErrors);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testGetMapsToGetOrGat() {
    Decode d = decode("mg foo v f c k O12 q s P L\r\n");
    CPPUNIT_ASSERT(d.status == DecodeStatus::Ready);
    CPPUNIT_ASSERT(d.req.op == Op::Get);
    CPPUNIT_ASSERT_EQUAL(std::string("foo"), std::string(d.req.key(0)));
    CPPUNIT_ASSERT(d.req.meta.command == MetaCommand::Get);
    CPPUNIT_ASSERT(d.req.meta.quiet);
    CPPUNIT_ASSERT_EQUAL(size_t{9}, d.req.meta.flags.size());
    CPPUNIT_ASSERT_EQUAL(std::string("12"), d.req.meta.find('O')->token);
    CPPUNIT_ASSERT_EQUAL(std::string("mg foo v f c k O12 q s P L"), d.req.meta.line);
    CPPUNIT_ASSERT_EQUAL(size_t{0}, d.left);

    d = decode("mg foo T30 v\r\n");
    CPPUNIT_ASSERT(d.req.op == Op::Gat);
    CPPUNIT_ASSERT_EQUAL(int64_t{30}, d.req.exptime);
    d = decode("mg foo T-1\r\n");
    CPPUNIT_ASSERT(d.req.op == Op::Gat);
    CPPUNIT_ASSERT_EQUAL(int64_t{-1}, d.req.exptime);
    // Spaces are separators, as memcached's tokenizer reads them; the line is kept as sent.
    d = decode("mg  foo   v\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("foo"), std::string(d.req.key(0)));
    CPPUNIT_ASSERT_EQUAL(std::string("mg  foo   v"), d.req.meta.line);
    // me: a get a meta backend answers with its debug line.
    d = decode("me foo\r\n");
    CPPUNIT_ASSERT(d.req.op == Op::Get && d.req.meta.command == MetaCommand::Debug);
    CPPUNIT_ASSERT_EQUAL(std::string("me foo"), d.req.meta.line);
  }

  void testSetModesMapToStorageOps() {
    struct Case {
      const char* line;
      Op op;
      uint64_t cas;
    };
    const Case cases[] = {
        {"ms k 1\r\nx\r\n", Op::Set, 0},           {"ms k 1 MS\r\nx\r\n", Op::Set, 0},
        {"ms k 1 ME\r\nx\r\n", Op::Add, 0},         {"ms k 1 ME C7\r\nx\r\n", Op::Add, 0},  // add ignores a cas
        {"ms k 1 MA\r\nx\r\n", Op::Append, 0},      {"ms k 1 MP C7\r\nx\r\n", Op::Prepend, 7},
        {"ms k 1 MR\r\nx\r\n", Op::Replace, 0},     {"ms k 1 MR C7\r\nx\r\n", Op::Set, 7},  // replace + cas: a cas
        {"ms k 1 C7\r\nx\r\n", Op::Set, 7},         {"ms k 1 C0\r\nx\r\n", Op::Set, UINT64_MAX},
    };
    for (const Case& c : cases) {
      Decode d = decode(c.line);
      CPPUNIT_ASSERT_MESSAGE(c.line, d.status == DecodeStatus::Ready);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(c.line, std::string(op_name(c.op)), std::string(op_name(d.req.op)));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(c.line, c.cas, d.req.cas);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(c.line, std::string("x"), d.req.value.str());
      CPPUNIT_ASSERT_EQUAL_MESSAGE(c.line, size_t{0}, d.left);
    }
    Decode d = decode("ms k 3 F4294967295 T-1 I\r\nabc\r\n");
    CPPUNIT_ASSERT_EQUAL(uint32_t{4294967295u}, d.req.flags);
    CPPUNIT_ASSERT_EQUAL(int64_t{-1}, d.req.exptime);
    CPPUNIT_ASSERT(d.req.meta.has('I'));
    CPPUNIT_ASSERT_EQUAL(std::string("ms k 3 F4294967295 T-1 I"), d.req.meta.line);
    d = decode("ms k 0\r\n\r\n");
    CPPUNIT_ASSERT(d.req.op == Op::Set && d.req.value.str().empty());
  }

  void testDeleteAndArithmetic() {
    Decode d = decode("md k C9 q\r\n");
    CPPUNIT_ASSERT(d.req.op == Op::Delete);
    CPPUNIT_ASSERT_EQUAL(uint64_t{9}, d.req.cas);
    d = decode("md k C0\r\n");
    CPPUNIT_ASSERT_EQUAL(uint64_t{UINT64_MAX}, d.req.cas);  // memcached compares 0: no item has it
    d = decode("ma k\r\n");
    CPPUNIT_ASSERT(d.req.op == Op::Incr);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, d.req.delta);  // memcached's default delta
    CPPUNIT_ASSERT(!d.req.create);
    for (const char* decr : {"ma k MD\r\n", "ma k M-\r\n"}) CPPUNIT_ASSERT(decode(decr).req.op == Op::Decr);
    for (const char* incr : {"ma k MI\r\n", "ma k M+\r\n"}) CPPUNIT_ASSERT(decode(incr).req.op == Op::Incr);
    d = decode("ma k N60 J5 D18446744073709551615 C3 v\r\n");
    CPPUNIT_ASSERT(d.req.create);
    CPPUNIT_ASSERT_EQUAL(int64_t{60}, d.req.exptime);
    CPPUNIT_ASSERT_EQUAL(uint64_t{5}, d.req.initial);
    CPPUNIT_ASSERT_EQUAL(uint64_t{UINT64_MAX}, d.req.delta);
    CPPUNIT_ASSERT_EQUAL(uint64_t{3}, d.req.cas);
    d = decode("ma k N0\r\n");
    CPPUNIT_ASSERT(d.req.create);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, d.req.initial);
    // ma's C0 is no cas (memcached 1.6.18: "ma k C0 v" on k=5 answers VA 1 / 6),
    // where ms's and md's C0 compares 0 (found by the differential harness).
    d = decode("ma k C0 v\r\n");
    CPPUNIT_ASSERT(d.req.op == Op::Incr);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, d.req.cas);
    // mg and md ignore M: memcached answers "md k MX" HD/NF, not invalid mode.
    for (const char* ignored : {"md k MX\r\n", "md k Mi q\r\n", "mg k MX v\r\n"}) {
      d = decode(ignored);
      CPPUNIT_ASSERT_MESSAGE(ignored, d.req.op == (ignored[1] == 'd' ? Op::Delete : Op::Get));
    }
  }

  void testBase64Keys() {
    // Routing and every plain backend see the decoded bytes; the line keeps the client's text.
    Decode d = decode("mg Zm9vIGJhcgA= b v\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("foo bar\0", 8), std::string(d.req.key(0)));
    CPPUNIT_ASSERT(d.req.meta.base64_key);
    CPPUNIT_ASSERT_EQUAL(std::string("mg Zm9vIGJhcgA= b v"), d.req.meta.line);
    d = decode("ms Zm9v 2 b\r\nhi\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("foo"), std::string(d.req.key(0)));
    CPPUNIT_ASSERT_EQUAL(std::string("hi"), d.req.value.str());
    d = decode("me Zm9v b\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("foo"), std::string(d.req.key(0)));
    // me takes b only as its second token.
    d = decode("me Zm9v x b\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("Zm9v"), std::string(d.req.key(0)));
    // The 250-byte limit is on the text: 248 base64 bytes (186 decoded) pass, 252 do not.
    std::string b64_186;
    for (int i = 0; i < 62; ++i) b64_186 += "YWFh";
    d = decode("mg " + b64_186 + " b v\r\n");
    CPPUNIT_ASSERT_EQUAL(size_t{186}, d.req.key(0).size());
    d = decode("mg " + b64_186 + "YQ== b v\r\n");
    CPPUNIT_ASSERT(d.req.op == Op::Invalid && d.req.limit == Limit::KeyLength);
  }

  void testMemcachedsBase64Decoding() {
    std::string out;
    CPPUNIT_ASSERT(decode_meta_base64_key("Zm9v", out) && out == "foo");
    CPPUNIT_ASSERT(decode_meta_base64_key("Zg==", out) && out == "f");
    CPPUNIT_ASSERT(decode_meta_base64_key("Zh==", out) && out == "f");          // spare bits dropped
    CPPUNIT_ASSERT(decode_meta_base64_key("Zm=v", out) && out == "f\x60");      // '=' counts as 0
    CPPUNIT_ASSERT(decode_meta_base64_key("Zm9vZg==Zm9v", out) && out == "foof");  // ends at padding
    CPPUNIT_ASSERT(decode_meta_base64_key("Zm.9v", out) && out == "foo");      // others skipped
    for (const char* bad : {"Zm9vMQ", "Zm9vMQ=", "Zm9v====", "Zm9vM", "====", "Zm9v.A==", "..."})
      CPPUNIT_ASSERT_MESSAGE(bad, !decode_meta_base64_key(bad, out));
  }

  void testErrorTexts() {
    struct Case {
      std::string input;
      const char* reply;
    };
    const std::string k251(251, 'k');
    const Case cases[] = {
        {"mg\r\n", "ERROR\r\n"},
        {"md\r\n", "ERROR\r\n"},
        {"ma\r\n", "ERROR\r\n"},
        {"ms\r\n", "ERROR\r\n"},
        {"me\r\n", "CLIENT_ERROR bad command line format\r\n"},
        {"mx foo\r\n", "ERROR\r\n"},
        {"mg " + k251 + " v\r\n", "CLIENT_ERROR bad command line format\r\n"},
        {"me " + k251 + "\r\n", "CLIENT_ERROR bad command line format\r\n"},
        {"me foo b\r\n", "CLIENT_ERROR bad command line format\r\n"},  // me's decoding error
        {"mg foo v v\r\n", "CLIENT_ERROR duplicate flag\r\n"},
        {"mg foo k k\r\n", "CLIENT_ERROR duplicate flag\r\n"},
        {"mg foo \x80\r\n", "CLIENT_ERROR duplicate flag\r\n"},  // memcached: a byte >= 127
        {"mg foo zz\r\n", "CLIENT_ERROR invalid flag\r\n"},
        {"mg foo E5\r\n", "CLIENT_ERROR invalid flag\r\n"},  // not in memcached 1.6.18
        {"mg foo C1 F1 M1 J1 D1 I E1\r\n", "CLIENT_ERROR invalid flag\r\n"},  // invalid ends the scan
        {"mg foo Tx\r\n", "CLIENT_ERROR bad token in command line format\r\n"},
        {"mg foo N\r\n", "CLIENT_ERROR bad token in command line format\r\n"},
        {"mg foo Rx\r\n", "CLIENT_ERROR bad token in command line format\r\n"},
        {"mg foo Cx\r\n", "CLIENT_ERROR bad token in command line format\r\n"},
        {"mg foo Fx\r\n", "CLIENT_ERROR bad command line format\r\n"},
        {"mg foo MSS\r\n", "CLIENT_ERROR incorrect length for M token\r\n"},
        {"mg foo Jx\r\n", "CLIENT_ERROR invalid numeric initial value\r\n"},
        {"mg foo Dx\r\n", "CLIENT_ERROR invalid numeric delta value\r\n"},
        {"mg foo Jx Tx\r\n", "CLIENT_ERROR bad token in command line format\r\n"},  // the last error
        {"mg ZZZ b v\r\n", "CLIENT_ERROR error decoding key\r\n"},
        {"mg foo O1234567890123456789012345678901\r\n", "<request>\r\n"},
        {"mg foo O12345678901234567890123456789012\r\n", "CLIENT_ERROR opaque token too long\r\n"},
        {"md foo O12345678901234567890123456789012\r\n", "CLIENT_ERROR opaque token too long\r\n"},
        {"md foo v v\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n"},
        {"md foo zz\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n"},
        {"md foo Cx\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n"},
        {"ma foo Jx\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n"},
        {"ma foo Dabc\r\n", "CLIENT_ERROR invalid or duplicate flag\r\n"},
        {"ma foo MX\r\n", "CLIENT_ERROR invalid mode for ma M token\r\n"},
        {"ma foo Mi\r\n", "CLIENT_ERROR invalid mode for ma M token\r\n"},
        {"ma foo MX O12345678901234567890123456789012\r\n", "CLIENT_ERROR invalid mode for ma M token\r\n"},
        {"mg foo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\r\n", "CLIENT_ERROR invalid flag\r\n"},
        {"mg foo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\r\n", "CLIENT_ERROR options flags are too long\r\n"},
        {"md foo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\r\n", "CLIENT_ERROR options flags too long\r\n"},
        {"ma foo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26\r\n",
         "CLIENT_ERROR options flags too long\r\n"},
    };
    for (const Case& c : cases) ASSERT_BYTES(std::string(c.reply), errors_for(c.input));
  }

  void testWhatIsSwallowedAfterAnMsError() {
    // Flag, mode and opaque errors come after the length: the data block goes with them.
    for (const char* line : {"ms foo 1 zz\r\nx\r\n", "ms foo 1 T1 T2\r\nx\r\n", "ms foo 1 MX\r\nx\r\n",
                             "ms foo 1 b\r\nx\r\n", "ms foo 1 O12345678901234567890123456789012\r\nx\r\n"}) {
      // One reply line: had the block been read as a command, an ERROR line would follow.
      const std::string got = errors_for(line);
      CPPUNIT_ASSERT_MESSAGE(printable(got), got.starts_with("CLIENT_ERROR ") && got.find("\r\n") == got.size() - 2);
    }
    ASSERT_BYTES(std::string("CLIENT_ERROR invalid mode for ms M token\r\n"), errors_for("ms foo 1 Ma\r\nx\r\n"));
    // Before the length (or when it is bad) nothing is swallowed: the block is read as a command.
    ASSERT_BYTES(std::string("CLIENT_ERROR bad command line format\r\nERROR\r\n"), errors_for("ms foo S3\r\nbar\r\n"));
    ASSERT_BYTES(std::string("CLIENT_ERROR bad command line format\r\nERROR\r\n"), errors_for("ms foo -1\r\nx\r\n"));
    ASSERT_BYTES(std::string("CLIENT_ERROR bad command line format\r\nERROR\r\n"),
                 errors_for("ms " + std::string(251, 'k') + " 1\r\nx\r\n"));
    ASSERT_BYTES(std::string("CLIENT_ERROR options flags too long\r\nERROR\r\n"),
                 errors_for("ms foo 1 T1 T2 T3 T4 T5 T6 T7 T8 T9 T10 T11 T12 T13 T14 T15 T16 T17\r\nx\r\n"));
    ASSERT_BYTES(std::string("CLIENT_ERROR bad command line format\r\n"), errors_for("ms foo\r\n"));
    // A block of the wrong length: exactly length + 2 bytes are read, the rest is a line.
    ASSERT_BYTES(std::string("CLIENT_ERROR bad data chunk\r\nERROR\r\n"), errors_for("ms foo 2\r\nabc\r\n"));
  }

  void testTooLargeUnlinksAndSwallows() {
    Limits limits;
    limits.max_value_length = 10;
    auto codec = make_ascii_client_codec(limits);
    ByteChain in;
    in.append("ms big 11 MA q\r\n01234567890\r\nmn\r\n");
    Request req;
    CPPUNIT_ASSERT(codec->decode(in, req) == DecodeStatus::Ready);
    CPPUNIT_ASSERT(req.op == Op::Invalid && req.limit == Limit::ValueSize);
    CPPUNIT_ASSERT_EQUAL(std::string("object too large for cache"), req.error_text);
    // The key stays for the core's unlink, whatever the mode (memcached unlinks then too).
    CPPUNIT_ASSERT_EQUAL(size_t{1}, req.key_count());
    CPPUNIT_ASSERT_EQUAL(std::string("big"), std::string(req.key(0)));
    CPPUNIT_ASSERT(req.meta.command == MetaCommand::None);  // answered as the plain error it is
    req.reset();
    CPPUNIT_ASSERT(codec->decode(in, req) == DecodeStatus::Ready);
    CPPUNIT_ASSERT_EQUAL(std::string("MN"), req.error_text);
  }

  void testSetWaitsForItsDataBlock() {
    // Byte by byte: nothing is decoded until the block and its line end are in.
    const std::string input = "ms foo 5 T0 F3 c\r\nhello\r\nmg foo v\r\n";
    std::vector<size_t> cuts;
    for (size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
    auto codec = make_ascii_client_codec(Limits{});
    test::Decoded d = test::decode_stream(*codec, input, cuts);
    CPPUNIT_ASSERT_EQUAL(size_t{2}, d.requests.size());
    auto whole = make_ascii_client_codec(Limits{});
    test::Decoded at_once = test::decode_stream(*whole, input);
    CPPUNIT_ASSERT_EQUAL(at_once.requests[0], d.requests[0]);
    CPPUNIT_ASSERT_EQUAL(at_once.requests[1], d.requests[1]);
    CPPUNIT_ASSERT(d.requests[0].find("value=hello") != std::string::npos);
  }

  void testGetReplies() {
    ASSERT_BYTES(std::string("VA 3 f5 kfoo s3 c7 O9\r\nbar\r\n"),
                 reply("mg foo v f k s c O9 q T0 P\r\n", [](Result& r, Request&) { hit(r, "bar", 5, 7); }));
    ASSERT_BYTES(std::string("HD c7\r\n"), reply("mg foo c q\r\n", [](Result& r, Request&) { hit(r, "bar", 5, 7); }));
    ASSERT_BYTES(std::string("HD\r\n"), reply("mg foo\r\n", [](Result& r, Request&) { hit(r, "bar", 0, 1); }));
    ASSERT_BYTES(std::string("VA 0 s0\r\n\r\n"), reply("mg foo v s\r\n", [](Result& r, Request&) { hit(r, "", 0, 1); }));
    // A miss carries O and k only, in request order.
    ASSERT_BYTES(std::string("EN O1 knokey\r\n"),
                 reply("mg nokey O1 k v s f c\r\n", [](Result& r, Request&) { r.status = Status::KeyNotFound; }));
    // A base64 key comes back re-encoded (memcached's form), then b.
    ASSERT_BYTES(std::string("EN kZg== b\r\n"),
                 reply("mg Zh== b k\r\n", [](Result& r, Request&) { r.status = Status::KeyNotFound; }));
    ASSERT_BYTES(std::string("VA 2 kZm9vIGJhcgA= b\r\nhi\r\n"),
                 reply("mg Zm9vIGJhcgA= b k v\r\n", [](Result& r, Request&) { hit(r, "hi", 0, 1); }));
  }

  void testSetReplies() {
    auto with = [](Status s, uint64_t cas = 0) {
      return [s, cas](Result& r, Request&) {
        r.status = s;
        r.cas = cas;
      };
    };
    ASSERT_BYTES(std::string("HD kfoo O1 c3\r\n"), reply("ms foo 1 MS k O1 c\r\nx\r\n", with(Status::Success, 3)));
    // c0 on every outcome that stored nothing, as memcached.
    ASSERT_BYTES(std::string("EX c0 kfoo\r\n"), reply("ms foo 1 C999 c k\r\nx\r\n", with(Status::KeyExists, 9)));
    ASSERT_BYTES(std::string("NS c0 kfoo\r\n"), reply("ms foo 1 ME c k\r\nx\r\n", with(Status::KeyExists)));
    ASSERT_BYTES(std::string("NF O5 kmiss\r\n"), reply("ms miss 1 MS C999 O5 k\r\nx\r\n", with(Status::KeyNotFound)));
    ASSERT_BYTES(std::string("NS O5 kmiss\r\n"), reply("ms miss 1 MR O5 k\r\nx\r\n", with(Status::KeyNotFound)));
    ASSERT_BYTES(std::string("NS\r\n"), reply("ms miss 1 MA\r\nx\r\n", with(Status::NotStored)));
    ASSERT_BYTES(std::string("SERVER_ERROR object too large for cache\r\n"),
                 reply("ms foo 1\r\nx\r\n", with(Status::TooLarge)));
  }

  void testDeleteAndArithmeticReplies() {
    auto with = [](Status s, uint64_t number = 0, uint64_t cas = 0) {
      return [=](Result& r, Request&) {
        r.status = s;
        r.number = number;
        r.cas = cas;
      };
    };
    ASSERT_BYTES(std::string("HD kfoo O1\r\n"), reply("md foo c k O1 v s f\r\n", with(Status::Success)));
    ASSERT_BYTES(std::string("NF kfoo O1\r\n"), reply("md foo c k O1\r\n", with(Status::KeyNotFound)));
    ASSERT_BYTES(std::string("EX\r\n"), reply("md foo C1\r\n", with(Status::KeyExists)));
    ASSERT_BYTES(std::string("VA 2 c18 kn1 O7\r\n12\r\n"), reply("ma n1 c v k O7 N5\r\n", with(Status::Success, 12, 18)));
    ASSERT_BYTES(std::string("HD\r\n"), reply("ma n1\r\n", with(Status::Success, 12)));
    ASSERT_BYTES(std::string("NF knope O1\r\n"), reply("ma nope c k O1 v\r\n", with(Status::KeyNotFound)));
    ASSERT_BYTES(std::string("EX\r\n"), reply("ma n1 C5\r\n", with(Status::KeyExists)));
    ASSERT_BYTES(std::string("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"),
                 reply("ma foo v\r\n", with(Status::DeltaBadValue)));
  }

  void testQuiet() {
    auto status = [](Status s, uint64_t number = 0) {
      return [=](Result& r, Request&) {
        r.status = s;
        r.number = number;
      };
    };
    ASSERT_BYTES(std::string(), reply("mg foo v q\r\n", status(Status::KeyNotFound)));
    ASSERT_BYTES(std::string(), reply("ms foo 1 q\r\nx\r\n", status(Status::Success)));
    ASSERT_BYTES(std::string("NS\r\n"), reply("ms foo 1 q ME\r\nx\r\n", status(Status::KeyExists)));
    ASSERT_BYTES(std::string(), reply("md foo q\r\n", status(Status::Success)));
    ASSERT_BYTES(std::string("NF\r\n"), reply("md foo q\r\n", status(Status::KeyNotFound)));
    ASSERT_BYTES(std::string("EX\r\n"), reply("md foo C1 q\r\n", status(Status::KeyExists)));
    ASSERT_BYTES(std::string(), reply("ma cnt q v\r\n", status(Status::Success, 12)));
    // A counter N just created (its value is J's) is answered despite q.
    ASSERT_BYTES(std::string("HD\r\n"), reply("ma cnt N0 J5 q\r\n", status(Status::Success, 5)));
    ASSERT_BYTES(std::string(), reply("ma cnt N0 J5 q\r\n", status(Status::Success, 6)));
    ASSERT_BYTES(std::string("NF\r\n"), reply("ma cnt q\r\n", status(Status::KeyNotFound)));
  }

  void testRelayedReplies() {
    auto relayed = [](std::string line, std::string data = {}) {
      return [=](Result& r, Request&) {
        r.meta_reply = true;
        r.message = line;
        r.value.append(data);
      };
    };
    ASSERT_BYTES(std::string("VA 3 t-1 W\r\nbar\r\n"), reply("mg foo v t N30\r\n", relayed("VA 3 t-1 W", "bar")));
    ASSERT_BYTES(std::string("VA 0\r\n\r\n"), reply("mg foo v\r\n", relayed("VA 0")));
    ASSERT_BYTES(std::string("ME foo exp=-1 la=0 cas=1 fetch=no cls=1 size=64\r\n"),
                 reply("me foo\r\n", relayed("ME foo exp=-1 la=0 cas=1 fetch=no cls=1 size=64")));
    ASSERT_BYTES(std::string(), reply("mg foo q\r\n", relayed("")));  // elided by the server
  }

  void testProxyErrors() {
    auto failed = [](Result& r, Request&) { r.server_error(Status::InternalError, "proxy downstream timeout"); };
    for (const char* line : {"mg foo v q\r\n", "ms foo 1 q\r\nx\r\n", "md foo q\r\n", "ma foo q\r\n"})
      ASSERT_BYTES(std::string("SERVER_ERROR proxy downstream timeout\r\n"), reply(line, failed));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MetaClientTest);

}  // namespace moxi::protocol
