// Meta commands from clients, end to end: the same bytes to a real memcached
// and to moxi in front of real memcached, compared byte for byte (after a
// half-close, everything up to the close). What the binary protocol can
// express must read the same through every front end (ketama with a meta
// and a binary downstream, and a vBucket map); what only memcached's meta
// semantics can do reads the same through a meta downstream and is refused
// by name elsewhere. Quiet pipelines across servers keep their order, and a
// base64 key lands on the server its decoded bytes map to (the routing
// oracle, not moxi's code, says which).
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "t/proxy/cluster.h"

namespace moxi::test {
namespace {

ClusterOptions front_end(const std::string& downstream, Routing routing = Routing::Ketama, int backends = 1) {
  ClusterOptions o;
  o.backends = backends;
  o.routing = routing;
  o.downstream_protocol = downstream;
  return o;
}

std::string describe(const ClusterOptions& o) {
  return o.routing == Routing::VBucket ? "vBucket" : "ketama/" + o.downstream_protocol;
}

// Every front end a plain meta request must read the same through.
std::vector<ClusterOptions> every_front_end(int backends = 1) {
  return {front_end("meta", Routing::Ketama, backends), front_end("binary", Routing::Ketama, backends),
          front_end("", Routing::VBucket, backends)};
}

void assert_like_memcached(const std::string& what, const std::string& input, const std::vector<ClusterOptions>& fronts) {
  Memcached reference;
  const std::string expected = transcript(reference.port(), input);
  for (const auto& o : fronts) {
    Cluster cluster(o);
    const std::string got = transcript(cluster.port(), input);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what + " via " + describe(o) + "\n" + cluster.moxi().log(), escape_bytes(expected, 4000),
                                 escape_bytes(got, 4000));
  }
}

std::string base64(const std::string& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? table[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? table[n & 63] : '=';
  }
  return out;
}

}  // namespace

class MetaProxyTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(MetaProxyTest);
  CPPUNIT_TEST(testPlainMetaLikeMemcachedThroughEveryFrontEnd);
  CPPUNIT_TEST(testErrorsLikeMemcachedThroughEveryFrontEnd);
  CPPUNIT_TEST(testMetaSemanticsThroughAMetaDownstream);
  CPPUNIT_TEST(testMetaOnlyFlagsRefusedByName);
  CPPUNIT_TEST(testQuietPipelineAcrossServersKeepsOrder);
  CPPUNIT_TEST(testBase64KeysLandWhereTheirBytesMap);
  CPPUNIT_TEST_SUITE_END();

 public:
  // Everything the binary protocol can express: get, gat, the storage modes
  // with cas, delete with cas, incr/decr with create, every return flag a
  // plain op answers (O k s c f v), q on each command, base64 keys.
  void testPlainMetaLikeMemcachedThroughEveryFrontEnd() {
    const std::string input =
        "mg foo v\r\n"
        "mg foo v k O123 q\r\n"
        "mg nokey O1 k v\r\n"
        "md nokey O2 k\r\n"
        "ma nokey O3 k\r\n"
        "ms foo 3 T0 F5\r\nbar\r\n"
        "mg foo v f k s c\r\n"
        "mg foo\r\n"
        "mg foo v q\r\n"
        "mg foo q k\r\n"
        "mg foo P L v\r\n"
        "mg foo T30 v c\r\n"
        "ms foo 3 q MA\r\nbaz\r\n"
        "mg foo v\r\n"
        "ms foo 3 q ME\r\nbar\r\n"
        "ms foo 1 ME c k\r\nx\r\n"
        "ms foo 1 C999 c k O4\r\nx\r\n"
        "ms miss 1 MR O5 k\r\nx\r\n"
        "ms miss 1 MS C999 O5 k\r\nx\r\n"
        "ms miss 1 MA\r\nx\r\n"
        "ms foo 1 MS k O1 c\r\nx\r\n"
        "ms foo 2 MP C1\r\nab\r\n"
        "mg foo c\r\n"
        // C by mode: a set or replace compares it (C0 fails), an add ignores
        // it, an append or prepend compares only a non-zero one.
        "ms foo 2 MA C0\r\nab\r\n"
        "ms foo 2 MP C0 k\r\nab\r\n"
        "ms foo 2 MR C0\r\nab\r\n"
        "ms foo 2 C0\r\nab\r\n"
        "ms foo 2 ME C0\r\nab\r\n"
        "ms new1 2 ME C999\r\nab\r\n"
        "ms new2 2 MA C0\r\nab\r\n"
        "ms new3 2 MR C0\r\nab\r\n"
        "mg foo v\r\n"
        "mg new1 v\r\n"
        "md foo C1 q\r\n"
        "md foo q\r\n"
        "md foo q\r\n"
        "ms foo 3 F4294967295\r\nabc\r\n"
        "mg foo f v\r\n"
        "ms foo 0\r\n\r\n"
        "mg foo v s\r\n"
        "ma cnt N0 J5 v\r\n"
        "ma cnt D10 v c\r\n"
        "ma cnt MD D3 v\r\n"
        "ma cnt M- v k O9\r\n"
        "ma cnt q v\r\n"
        "ma cnt q\r\n"
        "md cnt q\r\n"
        "ma cnt N0 J5 q\r\n"
        "ma cnt C1\r\n"
        "ma foo v\r\n"
        "ma n1 N0 J10 v\r\n"
        "ma n1 v\r\n"
        "ms Zm9vMg== 2 b k O9 c\r\nhi\r\n"
        "mg Zm9vMg== b k v\r\n"
        "mg Zh== b k\r\n"
        "md Zm9vMg== b k\r\n"
        "mg Zm9vMg== b v\r\n"
        "mn\r\n"
        "mg  foo   v\r\n";
    assert_like_memcached("plain meta", input, every_front_end());
  }

  // The decoder's errors (moxi's own, before any routing), and what ms
  // swallows after them, in one stream with valid commands between them.
  void testErrorsLikeMemcachedThroughEveryFrontEnd() {
    std::string b64_186;
    for (int i = 0; i < 62; ++i) b64_186 += "YWFh";
    const std::string k251(251, 'k');
    const std::string input =
        "mg\r\nms\r\nmd\r\nma\r\nme\r\nmx foo\r\n"
        "mg ZZZ b v\r\n"
        "mg Zm=v b k\r\n"
        "mg " + b64_186 + " b v\r\n"
        "mg " + b64_186 + "YQ== b v\r\n"
        "mg foo v v\r\nmg foo zz\r\nmg foo E5\r\nmg foo Tx\r\nmg foo N\r\nmg foo Fx\r\nmg foo MSS\r\n"
        "mg foo O1234567890123456789012345678901 k\r\n"
        "mg foo O12345678901234567890123456789012\r\n"
        "mg " + k251 + " v\r\n"
        "ms foo 3 MX\r\nbar\r\n"
        "ms foo 1 zz\r\nx\r\n"
        "ms foo 1 T1 T2\r\nx\r\n"
        "ms foo 2\r\nabc\r\n"
        "ms foo S3\r\nbar\r\n"
        "ms " + k251 + " 1\r\nx\r\n"
        "ms foo\r\n"
        "ms big 2000000 T0\r\n" + std::string(2000000, 'x') + "\r\n"
        "ms foo 1 MSS\r\nx\r\n"
        "md foo v v\r\nmd foo Cx\r\n"
        "ma cnt MX\r\nma cnt Dabc\r\nma foo Jx\r\n"
        "mg foo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\r\n"
        "md foo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19\r\n"
        "ms foo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19\r\nx\r\n"
        "mg foo v\r\n";
    assert_like_memcached("meta errors", input, every_front_end());
  }

  // Vivify, win/stale tokens, recache, invalidation, ttl and access flags,
  // me, and the k flag of a plainly stored key read with b: memcached's own
  // answers, relayed.
  void testMetaSemanticsThroughAMetaDownstream() {
    const std::string input =
        "ms foo 1 T0\r\nx\r\n"
        "mg foo v t\r\n"
        "md foo I T30\r\n"
        "mg foo v c t\r\n"
        "mg foo v c t\r\n"
        "ms foo 1 I C1\r\ny\r\n"
        "mg foo s v h l\r\n"
        "mg newk N30 v c t s\r\n"
        "mg newk N30 v c t s\r\n"
        "mg newk v q\r\n"
        "mg foo v R30 t\r\n"
        "mg foo v f c k s O1 P L T0 h l u t\r\n"
        "ms bar 3\r\nabc\r\n"
        "mg YmFy b k v\r\n"
        "me bar\r\n"
        "me nokey\r\n"
        "me YmFy b\r\n"
        "ma cnt N0 J7 v t T60\r\n"
        "ma cnt v t\r\n"
        "md bar q\r\n"
        "ms miss2 1 MA N0\r\nx\r\n";
    assert_like_memcached("meta semantics", input, {front_end("meta")});
  }

  void testMetaOnlyFlagsRefusedByName() {
    struct Case {
      std::string input;
      std::string reply;
    };
    auto flag = [](const char* f) { return std::string("CLIENT_ERROR meta flag '") + f + "' needs a meta backend\r\n"; };
    const std::vector<Case> cases = {
        {"mg foo N30 v\r\n", flag("N")},   {"mg foo v R30\r\n", flag("R")},   {"mg foo t\r\n", flag("t")},
        {"mg foo h\r\n", flag("h")},       {"mg foo l\r\n", flag("l")},       {"mg foo u v\r\n", flag("u")},
        {"md foo I T30\r\n", flag("I")},   {"ms foo 1 I\r\nx\r\n", flag("I")}, {"ms foo 1 MA N0\r\nx\r\n", flag("N")},
        {"ma foo T30\r\n", flag("T")},     {"ma foo t\r\n", flag("t")},
        {"me foo\r\n", "CLIENT_ERROR meta command me needs a meta backend\r\n"},
    };
    std::string input, expected;
    for (const Case& c : cases) {
      input += c.input;
      expected += c.reply;
    }
    input += "mg foo v\r\n";  // nothing of the refused ones reached a server
    expected += "EN\r\n";
    for (const auto& o : {front_end("binary"), front_end("", Routing::VBucket)}) {
      Cluster cluster(o);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(o), escape_bytes(expected), escape_bytes(transcript(cluster.port(), input)));
    }
    // The ascii protocol has no cas on delete and arithmetic, none after a
    // store, and compares one only on a set (an append's would be compared).
    Cluster ascii(front_end("ascii"));
    const std::string got =
        transcript(ascii.port(), "ms foo 1 c\r\nx\r\nmd foo C1\r\nma foo C1\r\nms foo 1 MA C5\r\nx\r\nmg foo v\r\n");
    CPPUNIT_ASSERT_EQUAL(escape_bytes(flag("c") + flag("C") + flag("C") + flag("C") + "EN\r\n"), escape_bytes(got));
    // What it can carry of ms C (a set's or replace's cas, an add's ignored
    // one, an append's C0) is answered as memcached answers it.
    assert_like_memcached("ms C by mode", "ms foo 1\r\nx\r\nms foo 2 MA C0\r\nab\r\nms foo 2 MR C0\r\nab\r\n"
                          "ms foo 2 ME C9\r\nab\r\nms new1 2 ME C9\r\nab\r\nms foo 2 C0\r\nab\r\nms new2 2 MR C0\r\nab\r\n"
                          "mg foo v\r\nmg new1 v\r\n",
                          {front_end("ascii")});
  }

  // The multi-key pattern: quiet gets then mn, over keys spread on three
  // servers, with quiet sets and plain commands in between. Hits come back in
  // the client's order, misses not at all, and everything before each mn
  // comes before its MN.
  void testQuietPipelineAcrossServersKeepsOrder() {
    std::string input;
    for (int i = 0; i < 120; i += 2) input += "ms key" + std::to_string(i) + " 2 q F" + std::to_string(i) + "\r\nv" + std::to_string(i % 10) + "\r\n";
    input += "mn\r\n";
    for (int round = 0; round < 2; ++round) {
      for (int i = 0; i < 120; ++i) input += "mg key" + std::to_string(i) + " v f k q O" + std::to_string(i) + "\r\n";
      input += "mn\r\nget key2 key3 key4\r\nmg key6 s v\r\n";
      for (int i = 0; i < 120; i += 3) input += "md key" + std::to_string(i) + " q\r\n";
      input += "mn\r\n";
    }
    assert_like_memcached("quiet pipeline", input, every_front_end(3));
  }

  void testBase64KeysLandWhereTheirBytesMap() {
    for (const auto& o : every_front_end(3)) {
      Cluster cluster(o);
      TestClient c = cluster.client();
      for (int i = 0; i < 24; ++i) {
        const std::string key = "user:" + std::to_string(i) + (i % 2 ? "" : std::string("\x01 \xff", 3));
        c.send("ms " + base64(key) + " 1 b T0\r\nx\r\n");
        CPPUNIT_ASSERT_EQUAL(std::string("HD"), c.read_line());
        // On its decoded bytes' server, and on no other: asked there with the same base64 form.
        for (int b = 0; b < cluster.backend_count(); ++b) {
          TestClient d = cluster.direct(b);
          d.send("mg " + base64(key) + " b v\r\n");
          const std::string line = d.read_line();
          const bool here = b == cluster.owner(key);
          CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(o) + " key " + escape_bytes(key) + " backend " + std::to_string(b),
                                       std::string(here ? "VA 1" : "EN"), line);
          if (here) CPPUNIT_ASSERT_EQUAL(std::string("x"), d.read_line());
        }
      }
    }
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MetaProxyTest);

}  // namespace moxi::test
