// Terse configs: every file of libcouchbase-confdata read through the one
// entry point (parse_document) with the values read off the files by hand,
// $HOST with IPv4 and IPv6 origin hosts and without one, nodesExt (TLS ports,
// nodes without kv, matching by host and kv port), alternateAddresses with
// and without ports, and the errors of missing or garbage fields.
#include <cppunit/extensions/HelperMacros.h>

#include "t/vbucket/fixtures.h"
#include "vbucket/document_parse.h"

namespace moxi::vbucket::test {
namespace {

Result<Document> read(const std::string& json, const std::string& origin = "",
                      Network network = Network::Default) {
  return parse_document(json, ParseOptions{origin, network});
}

Result<Document> read_fixture(const std::string& relative, const std::string& origin = "",
                              Network network = Network::Default) {
  return read(moxi::test::read_file(moxi::test::fixture(relative)), origin, network);
}

// The one bucket of a single-bucket document; fails the test if it does not parse.
ConfigPtr one(const Result<Document>& r, const std::string& what) {
  CPPUNIT_ASSERT_MESSAGE(what + ": " + r.error(), r.ok());
  CPPUNIT_ASSERT_EQUAL_MESSAGE(what, size_t(1), r.value().buckets.size());
  CPPUNIT_ASSERT_MESSAGE(what, !r.value().bucket_list);
  return r.value().buckets[0].config;
}

std::string name_of(const Result<Document>& r) { return r.ok() ? r.value().buckets.at(0).name : "(error)"; }

void expect_error(const Result<Document>& r, const std::vector<std::string>& fragments, const std::string& what) {
  CPPUNIT_ASSERT_MESSAGE(what + " should fail", !r.ok());
  for (const std::string& f : fragments)
    CPPUNIT_ASSERT_MESSAGE(what + ": error \"" + r.error() + "\" lacks \"" + f + "\"",
                           r.error().find(f) != std::string::npos);
}

int tls(const Config& c, int i) {
  const auto& port = c.servers().at(static_cast<size_t>(i)).tls_port;
  return port ? *port : 0;
}

// One vBucket, the servers given, and `ext` as nodesExt.
std::string terse(const std::string& servers, const std::string& ext) {
  return R"({"rev":1,"vBucketServerMap":{"numReplicas":0,"serverList":[)" + servers +
         R"(],"vBucketMap":[[0]]},"nodesExt":)" + ext + "}";
}

}  // namespace

class TerseTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(TerseTest);
  CPPUNIT_TEST(full25);
  CPPUNIT_TEST(terse25);
  CPPUNIT_TEST(terse30);
  CPPUNIT_TEST(memd25);
  CPPUNIT_TEST(memd30);
  CPPUNIT_TEST(memd45);
  CPPUNIT_TEST(memdKetamaConfig);
  CPPUNIT_TEST(ketamaExpectedIsNotAConfig);
  CPPUNIT_TEST(hostWithoutOriginIsAnError);
  CPPUNIT_TEST(ipv6OriginAndIpv6Hosts);
  CPPUNIT_TEST(nodesExtMatchesByHostAndKvPort);
  CPPUNIT_TEST(alternateAddresses);
  CPPUNIT_TEST(garbageNodesExtFields);
  CPPUNIT_TEST_SUITE_END();

 public:
  // 2.5.1 full bucket info: no rev, no nodesExt, no $HOST; needs no origin.
  void full25() {
    auto r = read_fixture("libcouchbase-confdata/full_25.json");
    ConfigPtr c = one(r, "full_25");
    CPPUNIT_ASSERT_EQUAL(std::string("default"), name_of(r));
    CPPUNIT_ASSERT(!c->revision());
    CPPUNIT_ASSERT(!c->network());
    CPPUNIT_ASSERT(c->distribution() == Distribution::vbucket);
    CPPUNIT_ASSERT_EQUAL(64, c->num_vbuckets());
    CPPUNIT_ASSERT_EQUAL(1, c->num_replicas());
    CPPUNIT_ASSERT_EQUAL(1, c->num_servers());
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.120:11210"), c->server(0));
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.120:8091"), *c->servers()[0].rest_api_server);
    CPPUNIT_ASSERT_EQUAL(std::string("http://10.0.0.120:8092/default"), *c->servers()[0].couch_api_base);
    CPPUNIT_ASSERT(c->servers()[0].config_node);
    CPPUNIT_ASSERT(!c->servers()[0].tls_port);
  }

  // 2.5 terse: rev 19, $HOST in serverList, hostname and couchApiBase.
  void terse25() {
    ConfigPtr c = one(read_fixture("libcouchbase-confdata/terse_25.json", "10.1.1.1"), "terse_25");
    CPPUNIT_ASSERT(c->revision() && *c->revision() == (Revision{-1, 19}));
    CPPUNIT_ASSERT(!c->network());  // no nodesExt
    CPPUNIT_ASSERT_EQUAL(64, c->num_vbuckets());
    CPPUNIT_ASSERT_EQUAL(1, c->num_replicas());
    CPPUNIT_ASSERT_EQUAL(std::string("10.1.1.1:11210"), c->server(0));
    CPPUNIT_ASSERT_EQUAL(std::string("10.1.1.1:8091"), *c->servers()[0].rest_api_server);
    CPPUNIT_ASSERT_EQUAL(std::string("http://10.1.1.1:8092/default"), *c->servers()[0].couch_api_base);
    CPPUNIT_ASSERT_EQUAL(0, c->master(0));
    CPPUNIT_ASSERT_EQUAL(-1, c->replica(0, 0));
    expect_error(read_fixture("libcouchbase-confdata/terse_25.json"),
                 {"vBucketServerMap.serverList[0]: ", "\"$HOST:11210\"", "names $HOST", "not known"}, "terse_25");
  }

  // 3.0 terse: one nodesExt entry without hostname (the origin host), TLS port 11207.
  void terse30() {
    ConfigPtr c = one(read_fixture("libcouchbase-confdata/terse_30.json", "192.168.7.7"), "terse_30");
    CPPUNIT_ASSERT(c->revision() && *c->revision() == (Revision{-1, 17}));
    CPPUNIT_ASSERT(c->network() && *c->network() == Network::Default);
    CPPUNIT_ASSERT_EQUAL(1024, c->num_vbuckets());
    CPPUNIT_ASSERT_EQUAL(1, c->num_replicas());
    CPPUNIT_ASSERT_EQUAL(std::string("192.168.7.7:11210"), c->server(0));
    CPPUNIT_ASSERT_EQUAL(11207, tls(*c, 0));
    CPPUNIT_ASSERT(!c->servers()[0].alternate_address);
    // No alternate addresses: external is the default network.
    ConfigPtr e = one(read_fixture("libcouchbase-confdata/terse_30.json", "192.168.7.7", Network::External), "ext");
    CPPUNIT_ASSERT(*e->network() == Network::External);
    CPPUNIT_ASSERT_EQUAL(std::string("192.168.7.7:11210"), e->server(0));
    CPPUNIT_ASSERT_EQUAL(11207, tls(*e, 0));
    expect_error(read_fixture("libcouchbase-confdata/terse_30.json"), {"serverList[0]", "$HOST"}, "terse_30");
  }

  // 2.5.1 memcached bucket, full info: the server from nodes[]; no origin needed.
  void memd25() {
    auto r = read_fixture("libcouchbase-confdata/memd_25.json");
    ConfigPtr c = one(r, "memd_25");
    CPPUNIT_ASSERT_EQUAL(std::string("memd"), name_of(r));
    CPPUNIT_ASSERT(c->distribution() == Distribution::ketama);
    CPPUNIT_ASSERT(!c->revision());
    CPPUNIT_ASSERT_EQUAL(1, c->num_servers());
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.120:11210"), c->server(0));
    CPPUNIT_ASSERT(!c->servers()[0].tls_port);
  }

  // 3.0 terse memcached bucket: $HOST node, nodesExt without hostname.
  void memd30() {
    ConfigPtr c = one(read_fixture("libcouchbase-confdata/memd_30.json", "mc.example"), "memd_30");
    CPPUNIT_ASSERT(c->distribution() == Distribution::ketama);
    CPPUNIT_ASSERT(*c->revision() == (Revision{-1, 17}));
    CPPUNIT_ASSERT_EQUAL(std::string("mc.example:11210"), c->server(0));
    CPPUNIT_ASSERT_EQUAL(std::string("mc.example:8091"), *c->servers()[0].rest_api_server);
    CPPUNIT_ASSERT_EQUAL(11207, tls(*c, 0));
    expect_error(read_fixture("libcouchbase-confdata/memd_30.json"), {"nodes[0].hostname", "\"$HOST:8091\""}, "memd_30");
  }

  // 4.5 terse memcached bucket, cluster_run: four nodes on one host, three
  // of them $HOST, told apart by their kv ports (each its own kvSSL).
  void memd45() {
    ConfigPtr c = one(read_fixture("libcouchbase-confdata/memd_45.json", "localhost"), "memd_45");
    CPPUNIT_ASSERT(*c->revision() == (Revision{-1, 49}));
    CPPUNIT_ASSERT_EQUAL(4, c->num_servers());
    // Sorted by host:port (libvbucket's order for memcached buckets).
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.195:12000"), c->server(0));
    CPPUNIT_ASSERT_EQUAL(std::string("localhost:12002"), c->server(1));
    CPPUNIT_ASSERT_EQUAL(std::string("localhost:12004"), c->server(2));
    CPPUNIT_ASSERT_EQUAL(std::string("localhost:12006"), c->server(3));
    CPPUNIT_ASSERT_EQUAL(11996, tls(*c, 0));
    CPPUNIT_ASSERT_EQUAL(11992, tls(*c, 1));
    CPPUNIT_ASSERT_EQUAL(11988, tls(*c, 2));
    CPPUNIT_ASSERT_EQUAL(11984, tls(*c, 3));
    CPPUNIT_ASSERT_EQUAL(std::string("localhost:9003"), *c->servers()[3].rest_api_server);
  }

  // Four ketama nodes, one of them $HOST; no rev, no nodesExt.
  void memdKetamaConfig() {
    ConfigPtr c = one(read_fixture("libcouchbase-confdata/memd_ketama_config.json", "192.168.1.104"), "memd_ketama");
    CPPUNIT_ASSERT(!c->revision());
    CPPUNIT_ASSERT(!c->network());
    CPPUNIT_ASSERT_EQUAL(4, c->num_servers());
    CPPUNIT_ASSERT_EQUAL(std::string("192.168.1.101:11210"), c->server(0));
    CPPUNIT_ASSERT_EQUAL(std::string("192.168.1.102:11210"), c->server(1));
    CPPUNIT_ASSERT_EQUAL(std::string("192.168.1.103:11210"), c->server(2));
    CPPUNIT_ASSERT_EQUAL(std::string("192.168.1.104:11210"), c->server(3));
    expect_error(read_fixture("libcouchbase-confdata/memd_ketama_config.json"), {"nodes[3].hostname", "$HOST:8091"},
                 "memd_ketama_config");
  }

  // The continuum libcouchbase expects for memd_ketama_config.json (checked
  // in ketama_test): a JSON array, not a config.
  void ketamaExpectedIsNotAConfig() {
    expect_error(read_fixture("libcouchbase-confdata/ketama_expected.json", "localhost"),
                 {"(document): expected a JSON object, got array"}, "ketama_expected");
  }

  void hostWithoutOriginIsAnError() {
    const std::string servers = R"("a:11210")";
    // A nodesExt entry without hostname means $HOST too.
    expect_error(read(terse(servers, R"([{"services":{"kv":11210}}])")),
                 {"nodesExt[0].hostname: missing, which means $HOST"}, "no hostname");
    expect_error(read(terse(servers, R"([{"hostname":"$HOST","services":{"kv":11210}}])")),
                 {"nodesExt[0].hostname: \"$HOST\" names $HOST"}, "$HOST hostname");
    expect_error(read(R"({"nodes":[{"hostname":"a:8091","couchApiBase":"http://$HOST:8092/d","ports":{"direct":1}}],
        "vBucketServerMap":{"numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0]]}})"),
                 {"nodes[0].couchApiBase: \"http://$HOST:8092/d\" names $HOST"}, "couchApiBase");
    // With an origin, "$HOST" and a missing hostname are both the origin.
    ConfigPtr c = one(read(terse(R"("$HOST:11210","b:11210")",
                                 R"([{"services":{"kv":11210,"kvSSL":1}},{"hostname":"$HOST","services":{"kv":11210,"kvSSL":2}},
                                     {"hostname":"b","services":{"kv":11210,"kvSSL":3}}])"),
                            "10.0.0.9"),
                      "origin");
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.9:11210"), c->server(0));
    CPPUNIT_ASSERT_EQUAL(1, tls(*c, 0));  // the first entry that matches
    CPPUNIT_ASSERT_EQUAL(3, tls(*c, 1));
  }

  void ipv6OriginAndIpv6Hosts() {
    const std::string doc = terse(R"("$HOST:11210","[fd00::1]:11210")",
                                  R"([{"services":{"kv":11210,"kvSSL":11207}},
                                      {"hostname":"fd00::1","services":{"kv":11210,"kvSSL":11217},
                                       "alternateAddresses":{"external":{"hostname":"fd00::99","ports":{"kv":21210}}}}])");
    ConfigPtr c = one(read(doc, "::1"), "ipv6");
    CPPUNIT_ASSERT_EQUAL(std::string("[::1]:11210"), c->server(0));
    CPPUNIT_ASSERT_EQUAL(std::string("[::1]"), c->servers()[0].host);
    CPPUNIT_ASSERT_EQUAL(11207, tls(*c, 0));
    CPPUNIT_ASSERT_EQUAL(std::string("[fd00::1]:11210"), c->server(1));
    CPPUNIT_ASSERT_EQUAL(std::string("[fd00::1]"), c->servers()[1].host);
    CPPUNIT_ASSERT_EQUAL(11217, tls(*c, 1));
    // A bracketed origin (as a URL's host comes) is the same.
    CPPUNIT_ASSERT_EQUAL(std::string("[::1]:11210"), one(read(doc, "[::1]"), "bracketed")->server(0));
    ConfigPtr e = one(read(doc, "::1", Network::External), "ipv6 external");
    CPPUNIT_ASSERT_EQUAL(std::string("[::1]:11210"), e->server(0));
    CPPUNIT_ASSERT_EQUAL(std::string("[fd00::99]:21210"), e->server(1));
    CPPUNIT_ASSERT_EQUAL(21210, static_cast<int>(e->servers()[1].port));
    CPPUNIT_ASSERT_EQUAL(11217, tls(*e, 1));
  }

  void nodesExtMatchesByHostAndKvPort() {
    // nodesExt in another order than serverList, a node without kv (query
    // only), a node that holds no vBucket, and a server nodesExt lacks.
    ConfigPtr c = one(read(terse(R"("h:12002","h:12000","z:11210")",
                                 R"([{"hostname":"q","services":{"mgmt":8091,"n1ql":8093}},
                                     {"hostname":"h","services":{"kv":12000,"kvSSL":11996,"mgmt":9000}},
                                     {"hostname":"h","services":{"kv":12002,"kvSSL":11992,"mgmt":9001}},
                                     {"hostname":"spare","services":{"kv":11210,"kvSSL":11207}}])")),
                      "match");
    CPPUNIT_ASSERT_EQUAL(3, c->num_servers());  // serverList's, in its order
    CPPUNIT_ASSERT_EQUAL(std::string("h:12002"), c->server(0));
    CPPUNIT_ASSERT_EQUAL(11992, tls(*c, 0));
    CPPUNIT_ASSERT_EQUAL(11996, tls(*c, 1));
    CPPUNIT_ASSERT_EQUAL(0, tls(*c, 2));
    CPPUNIT_ASSERT(*c->network() == Network::Default);
  }

  void alternateAddresses() {
    const std::string file = "terse/alternate_addresses.json";
    auto d = read_fixture(file);
    ConfigPtr c = one(d, file);
    CPPUNIT_ASSERT_EQUAL(std::string("travel"), name_of(d));
    CPPUNIT_ASSERT(*c->revision() == (Revision{2, 5}));
    CPPUNIT_ASSERT(*c->network() == Network::Default);
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.1:11210"), c->server(0));
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.2:11210"), c->server(1));
    CPPUNIT_ASSERT_EQUAL(std::string("[fd00::3]:11210"), c->server(2));
    CPPUNIT_ASSERT_EQUAL(11207, tls(*c, 0));
    CPPUNIT_ASSERT_EQUAL(11207, tls(*c, 1));
    CPPUNIT_ASSERT_EQUAL(11217, tls(*c, 2));
    for (const Server& s : c->servers()) CPPUNIT_ASSERT(!s.alternate_address);

    ConfigPtr e = one(read_fixture(file, "", Network::External), file + " external");
    CPPUNIT_ASSERT(*e->network() == Network::External);
    // With ports: the external host and its ports.
    CPPUNIT_ASSERT_EQUAL(std::string("db1.example.com:31210"), e->server(0));
    CPPUNIT_ASSERT_EQUAL(std::string("db1.example.com"), e->servers()[0].host);
    CPPUNIT_ASSERT_EQUAL(31207, tls(*e, 0));
    CPPUNIT_ASSERT(e->servers()[0].alternate_address);
    // Without ports: the external host and the normal ports.
    CPPUNIT_ASSERT_EQUAL(std::string("db2.example.com:11210"), e->server(1));
    CPPUNIT_ASSERT_EQUAL(11207, tls(*e, 1));
    CPPUNIT_ASSERT(e->servers()[1].alternate_address);
    // No external address: the default one.
    CPPUNIT_ASSERT_EQUAL(std::string("[fd00::3]:11210"), e->server(2));
    CPPUNIT_ASSERT(!e->servers()[2].alternate_address);
    // The map is the same; only the addresses differ.
    for (int v = 0; v < 4; ++v) CPPUNIT_ASSERT(std::ranges::equal(c->row(v), e->row(v)));
  }

  void garbageNodesExtFields() {
    const std::string s = R"("a:11210")";
    auto bad = [&](const std::string& ext, const std::string& message) {
      expect_error(read(terse(s, ext), "h"), {message}, ext);
    };
    bad(R"("x")", "nodesExt: expected an array of objects, got string");
    bad(R"([5])", "nodesExt[0]: expected an object, got number");
    bad(R"([{"hostname":"a"}])", "nodesExt[0].services: expected an object of service ports (missing)");
    bad(R"([{"hostname":"a","services":[]}])", "nodesExt[0].services: expected an object of service ports (got array)");
    bad(R"([{"hostname":"a","services":{"kv":"11210"}}])",
        "nodesExt[0].services.kv: expected a port number 1..65535 (got string)");
    bad(R"([{"hostname":"a","services":{"kv":11210,"kvSSL":70000}}])",
        "nodesExt[0].services.kvSSL: expected a port number 1..65535 (got 70000)");
    bad(R"([{"hostname":"a","services":{"mgmt":0}}])", "nodesExt[0].services.mgmt: expected a port number 1..65535 (got 0)");
    bad(R"([{"hostname":7,"services":{}}])", "nodesExt[0].hostname: expected a string, got number");
    bad(R"([{"hostname":"","services":{}}])", "nodesExt[0].hostname: expected a host name, got \"\"");
    bad(R"([{"hostname":"a","services":{},"thisNode":"yes"}])", "nodesExt[0].thisNode: expected a boolean, got string");
    bad(R"([{"hostname":"a","services":{},"alternateAddresses":[]}])",
        "nodesExt[0].alternateAddresses: expected an object, got array");
    bad(R"([{"hostname":"a","services":{},"alternateAddresses":{"external":"e"}}])",
        "nodesExt[0].alternateAddresses.external: expected an object, got string");
    bad(R"([{"hostname":"a","services":{},"alternateAddresses":{"external":{}}}])",
        "nodesExt[0].alternateAddresses.external.hostname: expected a non-empty string (missing)");
    bad(R"([{"hostname":"a","services":{},"alternateAddresses":{"external":{"hostname":""}}}])",
        "nodesExt[0].alternateAddresses.external.hostname: expected a non-empty string (got \"\")");
    bad(R"([{"hostname":"a","services":{},"alternateAddresses":{"external":{"hostname":"e","ports":3}}}])",
        "nodesExt[0].alternateAddresses.external.ports: expected an object, got number");
    bad(R"([{"hostname":"a","services":{},"alternateAddresses":{"external":{"hostname":"e","ports":{"kv":-1}}}}])",
        "nodesExt[0].alternateAddresses.external.ports.kv: expected a port number 1..65535 (got -1)");
    // Unknown services and networks are not moxi's business.
    one(read(terse(s, R"([{"hostname":"a","services":{"kv":11210,"fts":"?"},"alternateAddresses":{"other":1}}])"), "h"),
        "unknown keys");
    // The second entry is named in the error.
    bad(R"([{"hostname":"a","services":{}},{"hostname":"b","services":{"kv":null,"kvSSL":true}}])",
        "nodesExt[1].services.kvSSL: expected a port number 1..65535 (got bool");
    // Revision fields.
    expect_error(read(R"({"rev":"7","numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0]]})"),
                 {"rev: expected a non-negative integer, got string"}, "rev");
    expect_error(read(R"({"rev":7,"revEpoch":-2,"numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0]]})"),
                 {"revEpoch: expected a non-negative integer"}, "revEpoch");
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(TerseTest);

}  // namespace moxi::vbucket::test
