// Parsing: parse.tsv (every column of every row), then the validation
// errors one by one (each must name the field and the reason), multi-bucket
// documents, $HOST and libvbucket's cJSON leniencies.
#include <cppunit/extensions/HelperMacros.h>

#include "t/vbucket/fixtures.h"
#include "vbucket/buckets_parse.h"
#include "vbucket/config_parse.h"

namespace moxi::vbucket::test {
namespace {

std::string join_servers(const Config& c) {
  std::string out;
  for (size_t i = 0; i < c.servers().size(); ++i) out += (i ? "|" : "") + c.servers()[i].authority;
  return out;
}

std::string join_optional(const Config& c, std::optional<std::string> Server::*field) {
  std::string out;
  for (size_t i = 0; i < c.servers().size(); ++i) {
    const auto& v = c.servers()[i].*field;
    out += (i ? "|" : "") + (v ? *v : std::string("(null)"));
  }
  return out;
}

std::string join_flags(const Config& c) {
  std::string out;
  for (size_t i = 0; i < c.servers().size(); ++i)
    out += (i ? "|" : "") + std::string(c.servers()[i].config_node ? "1" : "0");
  return out;
}

// A bare map: 3 servers, `replicas` replicas, the given rows.
std::string bare_map(const std::string& rows, int replicas = 1, const std::string& extra = "") {
  return R"({"numReplicas":)" + std::to_string(replicas) +
         R"(,"serverList":["s1:11210","s2:11210","s3:11210"],"vBucketMap":[)" + rows + "]" + extra + "}";
}

// Asserts that parsing fails and that the message contains every fragment.
void expect_error(const std::string& json, const std::vector<std::string>& fragments,
                  const std::string& peer = "localhost") {
  auto r = parse_config(json, ParseOptions{peer});
  CPPUNIT_ASSERT_MESSAGE("should fail: " + json.substr(0, 200), !r.ok());
  for (const std::string& f : fragments)
    CPPUNIT_ASSERT_MESSAGE("error \"" + r.error() + "\" lacks \"" + f + "\"", r.error().find(f) != std::string::npos);
}

ConfigPtr expect_ok(const std::string& json, const std::string& peer = "localhost") {
  auto r = parse_config(json, ParseOptions{peer});
  CPPUNIT_ASSERT_MESSAGE("should parse: " + r.error() + " in " + json.substr(0, 200), r.ok());
  return r.value();
}

std::string rows_of(int n, const std::string& row) {
  std::string out;
  for (int i = 0; i < n; ++i) out += (i ? "," : "") + row;
  return out;
}

}  // namespace

class ParseTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ParseTest);
  CPPUNIT_TEST(parseTableEveryRow);
  CPPUNIT_TEST(revisionsAreReadAndOrdered);
  CPPUNIT_TEST(notJsonSaysWhere);
  CPPUNIT_TEST(topLevelMustBeObject);
  CPPUNIT_TEST(serverListErrors);
  CPPUNIT_TEST(vbucketCountErrors);
  CPPUNIT_TEST(maxVBucketsAndReachableHalf);
  CPPUNIT_TEST(rowErrorsNameVBucketAndValue);
  CPPUNIT_TEST(numReplicasErrors);
  CPPUNIT_TEST(nodeLocatorErrors);
  CPPUNIT_TEST(wrongTypesAreErrors);
  CPPUNIT_TEST(nodesErrors);
  CPPUNIT_TEST(forwardMap);
  CPPUNIT_TEST(ketamaBuckets);
  CPPUNIT_TEST(caseInsensitiveKeysLikeCJson);
  CPPUNIT_TEST(hostSubstitution);
  CPPUNIT_TEST(ipv6Hosts);
  CPPUNIT_TEST(multiBucketFilesFailAsSingleBucket);
  CPPUNIT_TEST(multiBucketFilesParseAsBuckets);
  CPPUNIT_TEST(multiBucketOrderAndErrors);
  CPPUNIT_TEST(documentIsKept);
  CPPUNIT_TEST(missingFileNamesPath);
  CPPUNIT_TEST_SUITE_END();

 public:
  void parseTableEveryRow() {
    const auto rows = moxi::test::read_tsv(moxi::test::fixture("parse.tsv"));
    CPPUNIT_ASSERT_EQUAL(size_t(34), rows.size());
    Mismatches m;
    for (const auto& row : rows) {
      const std::string w = where("parse.tsv", row) + " " + row["config_file"];
      auto r = load_fixture(row["config_file"], row["peername"]);
      if (row["parse_rc"] != "0") {
        m.expect(w, !r.ok(), "should fail");
        m.expect(w, r.error().find(row["error_message"]) != std::string::npos,
                 "error \"" + r.error() + "\" lacks \"" + row["error_message"] + "\"");
        continue;
      }
      if (!r.ok()) {
        m.add(w + ": should parse, got: " + r.error());
        continue;
      }
      const Config& c = *r.value();
      m.expect_equal(w, "distribution", row["distribution"], std::string(to_string(c.distribution())));
      m.expect_equal(w, "num_servers", std::stoi(row["num_servers"]), c.num_servers());
      m.expect_equal(w, "num_replicas", std::stoi(row["num_replicas"]), c.num_replicas());
      m.expect_equal(w, "num_vbuckets", std::stoi(row["num_vbuckets"]), c.num_vbuckets());
      m.expect_equal(w, "user", nullable(row["user"]), c.user());
      m.expect_equal(w, "password", nullable(row["password"]), c.password());
      m.expect_equal(w, "servers", row["servers"], join_servers(c));
      m.expect_equal(w, "rest_api_servers", row["rest_api_servers"], join_optional(c, &Server::rest_api_server));
      m.expect_equal(w, "couch_api_bases", row["couch_api_bases"], join_optional(c, &Server::couch_api_base));
      m.expect_equal(w, "config_node_flags", row["config_node_flags"], join_flags(c));
    }
    m.report();
  }

  void notJsonSaysWhere() {
    expect_error("{\"numReplicas\": 0,\n  \"serverList\" [",
                 {"not JSON", "at offset 34", "line 2, column 16", "Missing a colon"});
    expect_error("", {"not JSON", "offset 0", "empty"});
    expect_error("{} trailing", {"not JSON", "offset 3"});
  }

  void topLevelMustBeObject() {
    expect_error("[1,2]", {"expected a JSON object", "array"});
    expect_error("\"x\"", {"expected a JSON object", "string"});
  }

  void serverListErrors() {
    expect_error(R"({"numReplicas":0,"vBucketMap":[[0]]})", {"serverList: Expected array for serverList (missing)"});
    expect_error(R"({"numReplicas":0,"serverList":"a:1","vBucketMap":[[0]]})",
                 {"serverList: Expected array for serverList (got string)"});
    expect_error(R"({"numReplicas":0,"serverList":[],"vBucketMap":[[0]]})", {"serverList: Empty serverList"});
    expect_error(R"({"numReplicas":0,"serverList":["a:1",2],"vBucketMap":[[0]]})",
                 {"serverList[1]: Expected array of strings for serverList (got number)"});
    expect_error(R"({"vBucketServerMap":{"numReplicas":0,"serverList":["a:1","nohost"],"vBucketMap":[[0]]}})",
                 {"vBucketServerMap.serverList[1]", "host:port", "\"nohost\""});
    expect_error(R"({"numReplicas":0,"serverList":["a:99999"],"vBucketMap":[[0]]})", {"serverList[0]", "a:99999"});
    expect_error(R"({"numReplicas":0,"serverList":[":11210"],"vBucketMap":[[0]]})", {"serverList[0]"});
  }

  void vbucketCountErrors() {
    const std::string power = "Number of vBuckets must be a power of two > 0 and <= 65536";
    expect_error(R"({"numReplicas":0,"serverList":["a:1"]})", {"vBucketMap: Expected array for vBucketMap (missing)"});
    expect_error(R"({"numReplicas":0,"serverList":["a:1"],"vBucketMap":{}})", {"vBucketMap", "got object"});
    expect_error(bare_map("", 1), {"vBucketMap: " + power, "got 0", "no vBuckets available"});
    expect_error(bare_map(rows_of(3, "[0,1]")), {"vBucketMap: " + power, "(got 3)"});
    expect_error(bare_map(rows_of(6, "[0,1]")), {power, "(got 6)"});
    expect_error(bare_map(rows_of(131072, "[0,1]")), {power, "(got 131072)"});
  }

  void maxVBucketsAndReachableHalf() {
    // 65536 is the documented maximum and parses; the 15-bit hash then only
    // ever reaches vBuckets 0..32767 (a documented quirk, not an error).
    ConfigPtr c = expect_ok(bare_map(rows_of(65536, "[2,0]")));
    CPPUNIT_ASSERT_EQUAL(65536, c->num_vbuckets());
    for (int i = 0; i < 5000; ++i) {
      const int vb = c->vbucket_for_key("key" + std::to_string(i));
      CPPUNIT_ASSERT(vb >= 0 && vb < 32768);
    }
    CPPUNIT_ASSERT_EQUAL(2, c->master(65535));
  }

  void rowErrorsNameVBucketAndValue() {
    const std::string rows3 = "[0,1],[1,2],[2,0],";
    expect_error(bare_map(rows3 + "[0,7]"), {"vBucketMap[3][1]: Server ID must be >= -1 and < num_servers",
                                             "vBucket 3 names server 7", "num_servers is 3"});
    expect_error(bare_map(rows3 + "[-2,0]"), {"vBucketMap[3][0]", "names server -2"});
    expect_error(bare_map("[0,1],[1,2,0]"),
                 {"vBucketMap[1]: Expected array of arrays each with numReplicas + 1 ints for vBucketMap",
                  "vBucket 1 has 3 entries; numReplicas is 1"});
    expect_error(bare_map("[0,1],[1]"), {"vBucketMap[1]", "has 1 entries"});
    expect_error(bare_map("[0,1],5"), {"vBucketMap[1]", "vBucket 1 is number, not an array"});
    expect_error(bare_map("[0,1],[1,\"2\"]"), {"vBucketMap[1][1]", "entry 1 is string"});
    expect_error(bare_map("[0,1],[1,0.5]"), {"vBucketMap[1][1]", "entry 1 is number"});
    // -1 (no server) is fine anywhere, 1.0 counts as 1 (cJSON's valueint).
    ConfigPtr c = expect_ok(bare_map("[-1,-1],[1.0,2]"));
    CPPUNIT_ASSERT_EQUAL(-1, c->master(0));
    CPPUNIT_ASSERT_EQUAL(1, c->master(1));
  }

  void numReplicasErrors() {
    const std::string msg = "numReplicas: Expected number <= 4 for numReplicas";
    expect_error(R"({"serverList":["a:1"],"vBucketMap":[[0]]})", {msg, "(missing)"});
    expect_error(R"({"numReplicas":5,"serverList":["a:1"],"vBucketMap":[[0,0,0,0,0,0]]})", {msg, "(got 5)"});
    expect_error(R"({"numReplicas":-1,"serverList":["a:1"],"vBucketMap":[[0]]})", {msg, "(got -1)"});
    expect_error(R"({"numReplicas":"1","serverList":["a:1"],"vBucketMap":[[0,0]]})", {msg, "(got string)"});
    expect_error(R"({"numReplicas":1.5,"serverList":["a:1"],"vBucketMap":[[0,0]]})", {msg, "non-integer"});
    ConfigPtr c = expect_ok(R"({"numReplicas":4,"serverList":["a:1"],"vBucketMap":[[0,0,-1,0,0]]})");
    CPPUNIT_ASSERT_EQUAL(4, c->num_replicas());
    CPPUNIT_ASSERT_EQUAL(-1, c->replica(0, 1));
    CPPUNIT_ASSERT_EQUAL(-1, c->replica(0, 4));  // past numReplicas: none (libvbucket would say 0)
    CPPUNIT_ASSERT_EQUAL(-1, c->replica(1, 0));  // past the vBuckets
  }

  void nodeLocatorErrors() {
    // libvbucket returns an empty config with rc 0 here; we reject it.
    expect_error(
        R"({"nodeLocator":"foo","vBucketServerMap":{"numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0]]}})",
        {"nodeLocator: unknown node locator \"foo\""});
    expect_error(R"({"nodeLocator":1,"numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0]]})",
                 {"nodeLocator: Expected string for nodeLocator (got number)"});
    ConfigPtr c = expect_ok(R"({"nodeLocator":"vbucket","numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0]]})");
    CPPUNIT_ASSERT(c->distribution() == Distribution::vbucket);
  }

  // "rev" and "revEpoch" (Couchbase 6/7 bucket configs) and their order:
  // lexicographic (epoch, rev), a missing epoch counting -1; no rev, no order.
  void revisionsAreReadAndOrdered() {
    const std::string map = R"("numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0]])";
    CPPUNIT_ASSERT(!expect_ok("{" + map + "}")->revision());
    const auto r10 = expect_ok("{\"rev\":10," + map + "}")->revision();
    CPPUNIT_ASSERT(r10 && r10->rev == 10 && r10->epoch == -1);
    const auto e1 = expect_ok("{\"rev\":2,\"revEpoch\":1," + map + "}")->revision();
    CPPUNIT_ASSERT(e1 && e1->rev == 2 && e1->epoch == 1);
    CPPUNIT_ASSERT_EQUAL(std::string("epoch 1 rev 2"), to_string(*e1));
    CPPUNIT_ASSERT_EQUAL(std::string("rev 10"), to_string(*r10));
    CPPUNIT_ASSERT(order_of(e1, r10) == RevisionOrder::Newer);   // a higher epoch wins over a higher rev
    CPPUNIT_ASSERT(order_of(r10, e1) == RevisionOrder::Older);
    CPPUNIT_ASSERT(order_of(r10, r10) == RevisionOrder::Same);
    CPPUNIT_ASSERT(order_of(Revision{-1, 11}, r10) == RevisionOrder::Newer);
    CPPUNIT_ASSERT(order_of(std::nullopt, r10) == RevisionOrder::Unordered);
    CPPUNIT_ASSERT(order_of(r10, std::nullopt) == RevisionOrder::Unordered);
    expect_error("{\"rev\":\"10\"," + map + "}", {"rev: expected a non-negative integer, got string"});
    expect_error("{\"rev\":-1," + map + "}", {"rev: expected a non-negative integer, got number"});
    expect_error("{\"rev\":1,\"revEpoch\":1.5," + map + "}", {"revEpoch: expected a non-negative integer, got number"});
  }

  void wrongTypesAreErrors() {
    const std::string map = R"("numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0]])";
    expect_error("{\"name\":5," + map + "}", {"name: expected a string, got number"});
    expect_error("{\"saslPassword\":[]," + map + "}", {"saslPassword: expected a string, got array"});
    expect_error(R"({"vBucketServerMap":[1]})", {"vBucketServerMap: expected an object, got array"});
    // null is the same as absent
    ConfigPtr c = expect_ok("{\"name\":null,\"saslPassword\":null,\"vBucketServerMap\":null," + map + "}");
    CPPUNIT_ASSERT(!c->user() && !c->password());
  }

  void nodesErrors() {
    const std::string env = R"("vBucketServerMap":{"numReplicas":0,"serverList":["h:11210"],"vBucketMap":[[0]]})";
    expect_error("{\"nodes\":{}," + env + "}", {"nodes: expected an array of objects, got object"});
    expect_error("{\"nodes\":[1]," + env + "}", {"nodes[0]: expected an object, got number"});
    expect_error("{\"nodes\":[{\"ports\":{\"direct\":11210}}]," + env + "}",
                 {"nodes[0].hostname: expected a string (missing)"});
    expect_error("{\"nodes\":[{\"hostname\":\"h:8091\"}]," + env + "}",
                 {"nodes[0].ports: expected an object (missing)"});
    expect_error("{\"nodes\":[{\"hostname\":\"h:8091\",\"ports\":{}}]," + env + "}",
                 {"nodes[0].ports.direct", "missing"});
    expect_error("{\"nodes\":[{\"hostname\":\"h:8091\",\"ports\":{\"direct\":\"x\"}}]," + env + "}",
                 {"nodes[0].ports.direct", "got string"});
    expect_error("{\"nodes\":[{\"hostname\":\"h:8091\",\"ports\":{\"direct\":11210},\"thisNode\":1}]," + env + "}",
                 {"nodes[0].thisNode: expected a boolean"});
    expect_error("{\"nodes\":[{\"hostname\":\"h:8091\",\"ports\":{\"direct\":11210},\"couchApiBase\":1}]," + env + "}",
                 {"nodes[0].couchApiBase: expected a string"});
    // A matching node attaches its REST/couch data and config-node flag; others are ignored.
    ConfigPtr c = expect_ok(
        "{\"nodes\":[{\"hostname\":\"x:8091\",\"ports\":{\"direct\":1}},"
        "{\"hostname\":\"h:8091\",\"ports\":{\"direct\":11210},\"thisNode\":true,\"couchApiBase\":\"http://h:8092/"
        "b\"}]," +
        env + "}");
    CPPUNIT_ASSERT_EQUAL(std::string("h:8091"), *c->servers()[0].rest_api_server);
    CPPUNIT_ASSERT_EQUAL(std::string("http://h:8092/b"), *c->servers()[0].couch_api_base);
    CPPUNIT_ASSERT(c->servers()[0].config_node);
  }

  void forwardMap() {
    const std::string rows = "[0,1],[1,2]";
    ConfigPtr c = expect_ok(bare_map(rows, 1, R"(,"vBucketMapForward":[[2,0],[0,-1],[1,1]])"));  // extra row ignored
    CPPUNIT_ASSERT(c->has_forward_map());
    CPPUNIT_ASSERT_EQUAL(2, c->forward_master(0));
    CPPUNIT_ASSERT_EQUAL(-1, c->forward_replica(1, 0));
    CPPUNIT_ASSERT_EQUAL(-1, c->forward_master(2));
    expect_error(bare_map(rows, 1, R"(,"vBucketMapForward":[[2,0]])"),
                 {"vBucketMapForward: has 1 rows, fewer than the 2 vBuckets"});
    expect_error(bare_map(rows, 1, R"(,"vBucketMapForward":[[2,0],[0,3]])"),
                 {"vBucketMapForward[1][1]: Server ID must be >= -1 and < num_servers"});
    expect_error(bare_map(rows, 1, R"(,"vBucketMapForward":{})"), {"vBucketMapForward: expected an array"});
    CPPUNIT_ASSERT(!expect_ok(bare_map(rows, 1, R"(,"vBucketMapForward":null)"))->has_forward_map());
  }

  void ketamaBuckets() {
    // nodes[] gives host-of-hostname + ":" + ports.direct, sorted with strcmp.
    ConfigPtr c = expect_ok(R"({"name":"m","nodeLocator":"ketama","nodes":[
        {"hostname":"b:8091","ports":{"direct":11210},"status":"unhealthy"},
        {"hostname":"a:8091","ports":{"direct":11212}}]})");
    CPPUNIT_ASSERT(c->distribution() == Distribution::ketama);
    CPPUNIT_ASSERT_EQUAL(std::string("a:11212"), c->server(0));
    CPPUNIT_ASSERT_EQUAL(std::string("b:11210"), c->server(1));  // status is ignored, like libvbucket
    CPPUNIT_ASSERT_EQUAL(-1, c->vbucket_for_key("x"));
    CPPUNIT_ASSERT_EQUAL(-1, c->master(0));
    const int s = c->server_for_key("x");
    CPPUNIT_ASSERT(s == 0 || s == 1);
    // moxi prefers vBucketServerMap.serverList when a ketama bucket has one.
    ConfigPtr k = expect_ok(R"({"nodeLocator":"ketama","nodes":[{"hostname":"n:8091","ports":{"direct":1}}],
        "vBucketServerMap":{"serverList":["z:2","y:3"],"vBucketMap":[]}})");
    CPPUNIT_ASSERT_EQUAL(std::string("y:3"), k->server(0));
    CPPUNIT_ASSERT_EQUAL(std::string("z:2"), k->server(1));
    expect_error(R"({"nodeLocator":"ketama"})", {"nodes: a ketama bucket needs nodes[]"});
    expect_error(R"({"nodeLocator":"ketama","nodes":[]})", {"nodes: a ketama bucket needs at least one node"});
    expect_error(R"({"nodeLocator":"ketama","vBucketServerMap":{"serverList":[]}})",
                 {"vBucketServerMap.serverList: Empty serverList"});
  }

  void caseInsensitiveKeysLikeCJson() {
    ConfigPtr c = expect_ok(R"({"NUMREPLICAS":0,"ServerList":["a:1"],"vbucketmap":[[0]],"Name":"u"})");
    CPPUNIT_ASSERT_EQUAL(std::string("u"), *c->user());
    // An exact match wins over a case-insensitive one.
    ConfigPtr d = expect_ok(R"({"NumReplicas":3,"numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0]]})");
    CPPUNIT_ASSERT_EQUAL(0, d->num_replicas());
  }

  void hostSubstitution() {
    const std::string terse =
        R"({"nodes":[{"hostname":"$HOST:8091","couchApiBase":"http://$HOST:8092/d","ports":{"direct":11210}}],
        "vBucketServerMap":{"numReplicas":0,"serverList":["$HOST:11210","other:11210"],"vBucketMap":[[0],[1]]}})";
    ConfigPtr local = expect_ok(terse);
    CPPUNIT_ASSERT_EQUAL(std::string("localhost:11210"), local->server(0));
    ConfigPtr remote = expect_ok(terse, "10.0.0.7");
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.7:11210"), remote->server(0));
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.7"), remote->servers()[0].host);
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.7:8091"), *remote->servers()[0].rest_api_server);
    CPPUNIT_ASSERT_EQUAL(std::string("http://10.0.0.7:8092/d"), *remote->servers()[0].couch_api_base);
    CPPUNIT_ASSERT(!remote->servers()[1].rest_api_server);
  }

  void ipv6Hosts() {
    const std::string terse = R"({"nodes":[{"hostname":"$HOST:8091","ports":{"direct":11210}},
        {"hostname":"[fe80::2]:8091","ports":{"direct":11210}}],
        "vBucketServerMap":{"numReplicas":0,"serverList":["$HOST:11210","[fe80::2]:11210"],"vBucketMap":[[0],[1]]}})";
    ConfigPtr c = expect_ok(terse, "::1");
    CPPUNIT_ASSERT_EQUAL(std::string("[::1]:11210"), c->server(0));
    CPPUNIT_ASSERT_EQUAL(std::string("[::1]"), c->servers()[0].host);
    CPPUNIT_ASSERT_EQUAL(11210, static_cast<int>(c->servers()[0].port));
    CPPUNIT_ASSERT_EQUAL(std::string("[::1]:8091"), *c->servers()[0].rest_api_server);
    CPPUNIT_ASSERT_EQUAL(std::string("[fe80::2]:8091"), *c->servers()[1].rest_api_server);
  }

  void multiBucketFilesFailAsSingleBucket() {
    for (const char* file : {"moxi-t/ketama_rest_mixed.cfg", "moxi-t/moxi_multitenancy_rest.cfg",
                             "moxi-t/moxi_multitenancy_rest_default.cfg"}) {
      auto r = parse_config_file(moxi::test::fixture(file));
      CPPUNIT_ASSERT_MESSAGE(file, !r.ok());
      CPPUNIT_ASSERT_MESSAGE(r.error(), r.error().find("Expected number <= 4 for numReplicas") != std::string::npos);
      CPPUNIT_ASSERT_MESSAGE(r.error(), r.error().find("parse_buckets()") != std::string::npos);
      CPPUNIT_ASSERT_MESSAGE(r.error(), r.error().find(file) != std::string::npos);
    }
  }

  void multiBucketFilesParseAsBuckets() {
    auto mixed = parse_buckets_file(moxi::test::fixture("moxi-t/ketama_rest_mixed.cfg"));
    CPPUNIT_ASSERT_MESSAGE(mixed.error(), mixed.ok());
    const auto& b = mixed.value();
    CPPUNIT_ASSERT_EQUAL(size_t(3), b.size());
    CPPUNIT_ASSERT_EQUAL(std::string("default"), b[0].name);
    CPPUNIT_ASSERT_EQUAL(std::string("k"), b[1].name);
    CPPUNIT_ASSERT_EQUAL(std::string("v"), b[2].name);
    CPPUNIT_ASSERT(!b[0].config->user());
    CPPUNIT_ASSERT(b[1].config->distribution() == Distribution::ketama);
    CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1:11311"), b[1].config->server(0));  // serverList, not nodes
    CPPUNIT_ASSERT_EQUAL(std::string("k"), *b[1].config->user());
    CPPUNIT_ASSERT(!b[1].config->password());  // map-level "password" is ignored, like libvbucket
    CPPUNIT_ASSERT(b[2].config->distribution() == Distribution::vbucket);
    CPPUNIT_ASSERT_EQUAL(1, b[2].config->num_vbuckets());

    auto tenants = parse_buckets_file(moxi::test::fixture("moxi-t/moxi_multitenancy_rest.cfg"));
    CPPUNIT_ASSERT_MESSAGE(tenants.error(), tenants.ok());
    CPPUNIT_ASSERT_EQUAL(size_t(2), tenants.value().size());
    CPPUNIT_ASSERT_EQUAL(std::string("bucket0"), tenants.value()[0].name);
    CPPUNIT_ASSERT_EQUAL(std::string("passwordGood0"), *tenants.value()[0].config->password());
    CPPUNIT_ASSERT_EQUAL(std::string("bucket1"), *tenants.value()[1].config->user());
    CPPUNIT_ASSERT_EQUAL(std::string("passwordGood1"), *tenants.value()[1].config->password());

    auto with_default = parse_buckets_file(moxi::test::fixture("moxi-t/moxi_multitenancy_rest_default.cfg"));
    CPPUNIT_ASSERT_MESSAGE(with_default.error(), with_default.ok());
    CPPUNIT_ASSERT_EQUAL(size_t(3), with_default.value().size());
    CPPUNIT_ASSERT_EQUAL(std::string("default"), with_default.value()[0].name);
    CPPUNIT_ASSERT(!with_default.value()[0].config->user());
    CPPUNIT_ASSERT_EQUAL(std::string(""), *with_default.value()[0].config->password());
    CPPUNIT_ASSERT_EQUAL(std::string("bucket0"), with_default.value()[1].name);
  }

  void multiBucketOrderAndErrors() {
    const std::string map = R"("vBucketServerMap":{"numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0]]})";
    auto r = parse_buckets("{\"buckets\":[{\"name\":\"a\"," + map + "},{\"name\":\"default\"," + map +
                           "},{\"name\":\"b\"," + map + "}]}");
    CPPUNIT_ASSERT_MESSAGE(r.error(), r.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("default"), r.value()[0].name);
    CPPUNIT_ASSERT_EQUAL(std::string("a"), r.value()[1].name);
    CPPUNIT_ASSERT_EQUAL(std::string("b"), r.value()[2].name);
    // Buckets of one document share it.
    CPPUNIT_ASSERT(r.value()[0].config->document().data() == r.value()[2].config->document().data());

    auto empty = parse_buckets(R"({"buckets":[]})");
    CPPUNIT_ASSERT(empty.ok() && empty.value().empty());

    auto bad = parse_buckets("{\"buckets\":[{\"name\":\"a\"," + map +
                             "},{\"name\":\"b\",\"vBucketServerMap\":{\"numReplicas\":9}}]}");
    CPPUNIT_ASSERT(!bad.ok());
    CPPUNIT_ASSERT_MESSAGE(bad.error(), bad.error().find("bucket \"b\": buckets[1].vBucketServerMap.numReplicas: "
                                                         "Expected number <= 4 for numReplicas (got 9)") == 0);
    auto dup = parse_buckets("{\"buckets\":[{\"name\":\"a\"," + map + "},{\"name\":\"a\"," + map + "}]}");
    CPPUNIT_ASSERT_MESSAGE(dup.error(), !dup.ok() && dup.error().find("buckets[1].name") != std::string::npos &&
                                            dup.error().find("twice") != std::string::npos);
    auto unnamed = parse_buckets("{\"buckets\":[{" + map + "}]}");
    CPPUNIT_ASSERT_MESSAGE(unnamed.error(),
                           !unnamed.ok() && unnamed.error().find("buckets[0].name") != std::string::npos);
    auto single = parse_buckets("{" + map + "}");
    CPPUNIT_ASSERT_MESSAGE(single.error(), !single.ok() && single.error().find("buckets: expected an array") == 0);
    auto notjson = parse_buckets("{");
    CPPUNIT_ASSERT(!notjson.ok() && notjson.error().find("not JSON") == 0);
  }

  void documentIsKept() {
    const std::string text = R"({"numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0]]})";
    ConfigPtr c = expect_ok(text);
    CPPUNIT_ASSERT(c->document() == text);
    CPPUNIT_ASSERT(c->same_document(text));
    CPPUNIT_ASSERT(!c->same_document(text + " "));
  }

  void missingFileNamesPath() {
    auto r = parse_config_file("/nonexistent/vbucket.json");
    CPPUNIT_ASSERT(!r.ok());
    CPPUNIT_ASSERT_MESSAGE(r.error(), r.error().find("/nonexistent/vbucket.json: cannot read") == 0);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ParseTest);

}  // namespace moxi::vbucket::test
