// moxi answers exactly as one memcached would: each test sends the same bytes
// to a real memcached and to moxi in front of real memcached (ketama with a
// binary and an ascii downstream, and a vBucket map), half-closes, and
// compares everything that comes back up to the close, byte for byte.
// Half-closing is itself what one of these tests is about: memcached answers
// every request it read before the end of file, and so must moxi.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "t/proxy/cluster.h"

namespace moxi::test {
namespace {

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string binary_frames(const std::vector<BinaryPacket>& packets) {
  std::string out;
  for (const auto& p : packets) out += encode_binary(p);
  return out;
}

std::string ascii_set(const std::string& verb, const std::string& key, size_t bytes, char fill = 'v',
                      const std::string& extra = "") {
  return verb + " " + key + " 0 0 " + std::to_string(bytes) + extra + "\r\n" + std::string(bytes, fill) + "\r\n";
}

// Binary clients through an ascii downstream cannot learn the cas of a
// mutation (ascii replies carry none: a documented difference), so binary
// streams are compared through the binary downstreams only.
enum class Client { Ascii, Binary };

// The ways moxi sits in front of memcached in these tests.
std::vector<ClusterOptions> front_ends(std::vector<std::string> backend_args = {},
                                       std::vector<std::string> moxi_args = {}, Client client = Client::Ascii) {
  std::vector<ClusterOptions> out(3);
  out[0].downstream_protocol = "binary";
  out[1].downstream_protocol = "ascii";
  out[2].routing = Routing::VBucket;
  if (client == Client::Binary) out.erase(out.begin() + 1);
  for (auto& o : out) {
    o.backends = 1;
    o.backend_args = backend_args;
    o.extra_args = moxi_args;
  }
  return out;
}

std::string describe(const ClusterOptions& o) {
  return o.routing == Routing::VBucket ? "vBucket" : "ketama/" + o.downstream_protocol;
}

// The same input through a fresh memcached and each front end; every
// transcript must equal memcached's.
void assert_like_memcached(const std::string& what, const std::string& input,
                           std::vector<std::string> backend_args = {}, std::vector<std::string> moxi_args = {}) {
  Memcached reference(backend_args);
  const std::string expected = transcript(reference.port(), input);
  const Client client = !input.empty() && static_cast<unsigned char>(input[0]) == 0x80 ? Client::Binary : Client::Ascii;
  for (const auto& o : front_ends(backend_args, moxi_args, client)) {
    Cluster cluster(o);
    const std::string got = transcript(cluster.port(), input);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what + " via " + describe(o) + "\n" + cluster.moxi().log(), escape_bytes(expected, 2000),
                                 escape_bytes(got, 2000));
  }
}

class ConformanceTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ConformanceTest);
  CPPUNIT_TEST(testHalfCloseGetsEveryReply);
  CPPUNIT_TEST(testNothingAfterQuitIsExecuted);
  CPPUNIT_TEST(testTooLargeSetUnlinksTheOldValue);
  CPPUNIT_TEST(testTooLargeBinarySetUnlinksTheOldValue);
  CPPUNIT_TEST(testItemSizeSetting);
  CPPUNIT_TEST(testBackendRefusalsAreRelayed);
  CPPUNIT_TEST(testBroadcastWithAServerDown);
  CPPUNIT_TEST(testStatsSettingsAreNotAdded);
  CPPUNIT_TEST(testAdminCommandsParseLikeMemcached);
  CPPUNIT_TEST(testHugeMultigets);
  CPPUNIT_TEST(testUnknownBinaryOpcodes);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testHalfCloseGetsEveryReply() {
    // printf 'set k 0 0 1\r\nv\r\nget k\r\n' | nc -q1 HOST PORT
    assert_like_memcached("set+get, then end of file", "set k 0 0 1\r\nv\r\nget k\r\n");
    assert_like_memcached("a half-sent request after complete ones", "set k 0 0 1\r\nv\r\nget k\r\nget k");
    // A value cut short by the end of file: memcached, waiting in its value
    // state, closes without flushing the STORED it owes (whether it does
    // depends on how the bytes were segmented); moxi answers every complete
    // request, a documented difference.
    {
      Cluster cluster;
      CPPUNIT_ASSERT_EQUAL(std::string("STORED\r\n"), transcript(cluster.port(), "set k 0 0 1\r\nv\r\nset j 0 0 10\r\nabc"));
    }
    assert_like_memcached("nothing at all", "");
    assert_like_memcached("binary set+get+noop",
                          binary_frames({bin::request(bin::kSet, "k", "v", bin::set_extras(0, 0), 1),
                                         bin::request(bin::kGet, "k", "", "", 2), bin::request(bin::kNoop, "", "", "", 3)}));
    // `echo stats | nc -q1`: the merged stats differ in values, not in being there.
    Cluster cluster;
    const std::string stats = transcript(cluster.port(), "stats\r\n");
    CPPUNIT_ASSERT_MESSAGE(escape_bytes(stats), stats.rfind("STAT pid ", 0) == 0);
    CPPUNIT_ASSERT_MESSAGE(escape_bytes(stats), stats.ends_with("END\r\n"));
  }

  void testNothingAfterQuitIsExecuted() {
    assert_like_memcached("quit then set", "quit\r\nset q 0 0 1\r\n1\r\n");
    assert_like_memcached("set, quit, set", "set a 0 0 1\r\n1\r\nquit\r\nset q 0 0 1\r\n1\r\nget q\r\n");
    assert_like_memcached("binary QUIT then SET",
                          binary_frames({bin::request(bin::kQuit, "", "", "", 7),
                                         bin::request(bin::kSet, "q", "1", bin::set_extras(0, 0), 8)}));
    assert_like_memcached("binary QUITQ then SET",
                          binary_frames({bin::request(0x17 /* QUITQ */, "", "", "", 7),
                                         bin::request(bin::kSet, "q", "1", bin::set_extras(0, 0), 8)}));
    // And the key really was not stored behind the quit.
    for (const auto& o : front_ends()) {
      Cluster cluster(o);
      transcript(cluster.port(), "quit\r\nset q 0 0 1\r\n1\r\n");
      CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(o), std::string("END\r\n"), transcript(cluster.port(), "get q\r\n"));
    }
  }

  // moxi's limit is set to the backends' (memcached's default 1 MiB) so the
  // refusal is moxi's own on every front end: vBucket buckets would
  // otherwise pass 2 MiB on (their default is 20 MiB), and memcached's binary
  // SET-with-cas, which an ascii cas becomes there, unlinks where ascii cas
  // does not (a documented difference).
  void testTooLargeSetUnlinksTheOldValue() {
    const size_t too_large = 2 * 1024 * 1024;
    const std::vector<std::string> limit = {"-I", "1m"};
    // memcached unlinks the old item of a SET it refuses (no stale read after
    // a failed write); add/replace/append/prepend/cas keep it.
    for (const std::string verb : {"set", "add", "replace", "append", "prepend"}) {
      assert_like_memcached(verb + " too large",
                            ascii_set("set", "k", 3) + ascii_set(verb, "k", too_large, 'x') + "get k\r\n", {}, limit);
    }
    assert_like_memcached("cas too large", ascii_set("set", "k", 3) + ascii_set("cas", "k", too_large, 'x', " 1") + "get k\r\n", {}, limit);
    assert_like_memcached("set too large noreply",
                          ascii_set("set", "k", 3) + ascii_set("set", "k", too_large, 'x', " noreply") + "get k\r\n", {}, limit);
    assert_like_memcached("set too large, key never stored", ascii_set("set", "fresh", too_large, 'x') + "get fresh\r\n", {}, limit);
  }

  void testTooLargeBinarySetUnlinksTheOldValue() {
    const std::string big(2 * 1024 * 1024, 'x');
    for (uint8_t opcode : {bin::kSet, bin::kSetQ, bin::kAdd, bin::kReplace, bin::kAppend}) {
      std::string extras = opcode == bin::kAppend ? "" : bin::set_extras(0, 0);
      assert_like_memcached("binary opcode " + std::to_string(opcode) + " too large",
                            binary_frames({bin::request(bin::kSet, "k", "old", bin::set_extras(0, 0), 1),
                                           bin::request(opcode, "k", big, extras, 2),
                                           bin::request(bin::kGet, "k", "", "", 3)}),
                            {}, {"-I", "1m"});
    }
  }

  void testItemSizeSetting() {
    // Backends that take 4 MiB items behind a moxi limited to 2 MiB: 1.5 MiB
    // goes through; 3 MiB is refused by moxi exactly as a memcached -I 2m
    // refuses it (the old value unlinked), and the connection stays in sync.
    const std::string input = ascii_set("set", "k", 1536 * 1024) + "get k\r\n" + ascii_set("set", "k", 3 * 1024 * 1024) +
                              "get k\r\n" + ascii_set("set", "j", 1) + "get j\r\n";
    Memcached limited({"-I", "2m"});
    const std::string expected = transcript(limited.port(), input);
    CPPUNIT_ASSERT_MESSAGE(escape_bytes(expected), expected.find("SERVER_ERROR object too large for cache") != std::string::npos);
    for (const std::string flag : {"-I", "-Z"}) {
      ClusterOptions o;
      o.backends = 1;
      o.backend_args = {"-I", "4m"};
      o.extra_args = {flag, flag == "-I" ? "2m" : "item_size_max=2097152"};
      Cluster cluster(o);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(flag, escape_bytes(expected, 400), escape_bytes(transcript(cluster.port(), input), 400));
    }
    // vBucket buckets take Couchbase's 20 MiB by default: 3 MiB reaches a
    // backend that accepts it; memcached pools stop at memcached's 1 MiB.
    const std::string three = ascii_set("set", "k", 3 * 1024 * 1024);
    ClusterOptions vb;
    vb.backends = 1;
    vb.routing = Routing::VBucket;
    vb.backend_args = {"-I", "32m"};
    Cluster couchbase(vb);
    CPPUNIT_ASSERT_EQUAL(std::string("STORED\r\n"), transcript(couchbase.port(), three));
    ClusterOptions pool;
    pool.backends = 1;
    pool.backend_args = {"-I", "32m"};
    Cluster memcached_pool(pool);
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR object too large for cache\r\n"),
                         transcript(memcached_pool.port(), three));
  }

  // memcached -F refuses flush_all; moxi relays that instead of inventing OK.
  void testBackendRefusalsAreRelayed() {
    assert_like_memcached("flush_all on memcached -F", "flush_all\r\nflush_all 10\r\nflush_all noreply\r\n", {"-F"});
    assert_like_memcached("binary FLUSH on memcached -F",
                          binary_frames({bin::request(bin::kFlush, "", "", "", 4), bin::request(bin::kNoop, "", "", "", 5)}),
                          {"-F"});
  }

  // stats answers what the live servers say and counts the missing one;
  // flush_all flushes the live ones and names the failing one.
  void testBroadcastWithAServerDown() {
    for (const std::string downstream : {"binary", "ascii"}) {
      ClusterOptions o;
      o.downstream_protocol = downstream;
      o.behaviors = {"downstream_timeout=2000"};
      Cluster cluster(o);
      std::string live_key;
      for (int i = 0; live_key.empty(); ++i)
        if (cluster.owner("k" + std::to_string(i)) == 1) live_key = "k" + std::to_string(i);
      TestClient c = cluster.client();
      CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(live_key, "v"));
      cluster.backend(0).stop();
      const std::string stats = transcript(cluster.port(), "stats\r\n");
      CPPUNIT_ASSERT_MESSAGE(downstream + ": " + escape_bytes(stats, 400),
                             stats.find("STAT curr_items 1\r\n") != std::string::npos);
      const std::string tail = "STAT moxi_servers_missing 1\r\nEND\r\n";
      CPPUNIT_ASSERT_EQUAL_MESSAGE(downstream, escape_bytes(tail), escape_bytes(stats.substr(stats.size() - std::min(stats.size(), tail.size()))));
      const std::string flush = transcript(cluster.port(), "flush_all\r\n");
      CPPUNIT_ASSERT_MESSAGE(downstream + ": " + flush, flush.rfind("SERVER_ERROR proxy ", 0) == 0);
      CPPUNIT_ASSERT_EQUAL(std::string("END\r\n"), transcript(cluster.port(), "get " + live_key + "\r\n"));
    }
  }

  void testStatsSettingsAreNotAdded() {
    Cluster cluster;  // two backends started alike ("-p -1", so tcpport reads -1 on both)
    const std::string settings = transcript(cluster.port(), "stats settings\r\n");
    CPPUNIT_ASSERT_MESSAGE(settings, settings.find("STAT tcpport -1\r\n") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(settings, settings.find("STAT hot_max_factor 0.20\r\n") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(settings, settings.find("STAT maxconns 1024\r\n") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(settings, settings.find("STAT num_threads 1\r\n") != std::string::npos);
    const std::string stats = transcript(cluster.port(), "stats\r\n");
    CPPUNIT_ASSERT_MESSAGE(stats, stats.find("STAT pid mixed\r\n") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(stats, stats.find("STAT threads 1\r\n") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(stats, stats.find("STAT max_connections 1024\r\n") != std::string::npos);
  }

  // The forms memcached itself rejects are rejected alike (the valid forms of
  // refused commands get memcached's "feature off" text: see the decoder tests).
  void testAdminCommandsParseLikeMemcached() {
    assert_like_memcached("admin commands",
                          "verbosity invalid\r\nverbosity 1\r\nverbosity\r\nslabs automove invalid\r\n"
                          "slabs automove 3\r\nslabs foo\r\nslabs reassign x\r\nstats detail foo\r\n"
                          "stats detail\r\nmn\r\nlru_crawler foo\r\ngx k\r\nmz\r\nmisbehave\r\n");
  }

  // memcached answers a get line of any length key by key; so does moxi,
  // for 10 to 20,000 keys (a 128 KiB line), duplicates included.
  void testHugeMultigets() {
    std::string setup;
    for (int i = 0; i < 100; ++i) setup += ascii_set("set", "k" + std::to_string(i), static_cast<size_t>(i % 7));
    std::string input = setup;
    for (int count : {10, 1000, 20000}) {
      for (const std::string verb : {"get", "gets"}) {
        std::string line = verb;
        for (int i = 0; i < count; ++i) line += " k" + std::to_string((i * 7) % 200);
        input += line + "\r\n";
      }
    }
    assert_like_memcached("huge multigets", input + "get k1\r\n");
    // memcached closes on a long gat line (its long-line check knows only
    // get and gets: a documented difference); moxi answers it like a get.
    std::string gat = "gat 100";
    for (int i = 0; i < 19000; ++i) gat += " k" + std::to_string(i % 150);
    Cluster cluster;
    const std::string reply = transcript(cluster.port(), setup + gat + "\r\nget k1\r\n");
    size_t hits = 0;  // keys k0..k99 exist
    for (int i = 0; i < 19000; ++i) hits += i % 150 < 100;
    CPPUNIT_ASSERT_EQUAL(hits + 1, count_of(reply, "VALUE k"));
    CPPUNIT_ASSERT_MESSAGE(escape_bytes(reply.substr(reply.size() - 40)),
                           reply.ends_with("END\r\nVALUE k1 0 1\r\nv\r\nEND\r\n"));
  }

  // memcached 1.6 loses its place on an unknown opcode with a key and drops
  // the connection; a memcached pool behind moxi answers each unknown
  // opcode "Unknown command" (0x81) and keeps serving, as the protocol
  // documents (a documented difference). A keyless unknown opcode gets the
  // same answer from both. (vBucket buckets pass keyed ones to the key's
  // server: live_config_test.)
  void testUnknownBinaryOpcodes() {
    assert_like_memcached("keyless unknown opcode",
                          binary_frames({bin::request(0x30, "", "", "", 9), bin::request(bin::kNoop, "", "", "", 10)}));
    std::vector<BinaryPacket> frames;
    uint32_t opaque = 100;
    // (SASL is the proxy's own: gateway_test.)
    const std::vector<uint8_t> opcodes = {0x94, 0x95, 0x83, 0xa0, 0x30, 0x89};
    for (uint8_t opcode : opcodes)
      frames.push_back(bin::request(opcode, opcode == 0x30 ? "" : "k", "", opcode == 0x94 ? std::string(4, '\0') : "",
                                    opaque++));
    frames.push_back(bin::request(bin::kSet, "k", "v", bin::set_extras(0, 0), opaque++));
    frames.push_back(bin::request(bin::kGetK, "k", "", "", opaque++));
    Cluster cluster;
    TestClient c = cluster.client();
    c.send(binary_frames(frames));
    for (size_t i = 0; i < opcodes.size(); ++i) {
      BinaryPacket r = c.read_binary();
      CPPUNIT_ASSERT_EQUAL(int{opcodes[i]}, int{r.opcode});
      CPPUNIT_ASSERT_EQUAL(uint32_t(100 + i), r.opaque);
      CPPUNIT_ASSERT_EQUAL(bin::kUnknownCommand, r.status());
      CPPUNIT_ASSERT_EQUAL(std::string("Unknown command"), r.value);
    }
    CPPUNIT_ASSERT_EQUAL(bin::kSuccess, c.read_binary().status());
    CPPUNIT_ASSERT_EQUAL(std::string("v"), c.read_binary().value);
    // Ascii getl/unl are Couchbase's: a memcached pool answers ERROR, as memcached does.
    const std::string locking = "getl lk\r\ngetl lk 5\r\nunl lk 1\r\nunl lk\r\nget lk\r\n";
    Memcached reference;
    const std::string expected = transcript(reference.port(), locking);
    CPPUNIT_ASSERT_EQUAL(std::string("ERROR\r\nERROR\r\nERROR\r\nERROR\r\nEND\r\n"), expected);
    CPPUNIT_ASSERT_EQUAL(expected, transcript(cluster.port(), locking));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ConformanceTest);

}  // namespace
}  // namespace moxi::test
