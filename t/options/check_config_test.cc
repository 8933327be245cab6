// moxi --check-config (src/core/check_config.h): every fixture shape of
// cluster config is summarised with exit 0; every broken one exits 1 with a
// message that names the port, the file and the offending value.
#include <cppunit/extensions/HelperMacros.h>

#include <sstream>

#include "src/core/check_config.h"
#include "t/options/helpers.h"
#include "t/support/dns_server.h"
#include "t/support/rest_mock.h"
#include "t/support/vbucket_server.h"
#include "src/backend/sasl_client.h"

#ifndef MOXI_SRCDIR
#error "MOXI_SRCDIR must name the source tree"
#endif

namespace moxi::test {
namespace {

std::string fixture(const std::string& name) { return std::string(MOXI_SRCDIR) + "/t/fixtures/" + name; }

struct Checked {
  int status;
  std::string out;
  std::string err;
};

Checked check(std::vector<std::string> args) {
  args.insert(args.begin(), "--check-config");
  std::ostringstream out, err;
  int status = check_config(run(args), out, err);
  return Checked{status, out.str(), err.str()};
}

void assert_contains(const std::string& text, const std::string& part) {
  CPPUNIT_ASSERT_MESSAGE("expected \"" + part + "\" in:\n" + text, text.find(part) != std::string::npos);
}

class CheckConfigTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(CheckConfigTest);
  CPPUNIT_TEST(requested_only_before_double_dash);
  CPPUNIT_TEST(port_sections_file);
  CPPUNIT_TEST(bare_map_envelope_and_flat_files);
  CPPUNIT_TEST(memcached_bucket_and_server_list);
  CPPUNIT_TEST(unresolvable_names_are_warnings);
  CPPUNIT_TEST(buckets_list_and_inline_json);
  CPPUNIT_TEST(terse_configs_show_revision_network_and_tls_ports);
  CPPUNIT_TEST(url_map_is_fetched);
  CPPUNIT_TEST(url_failures_exit_1);
  CPPUNIT_TEST(data_node_map_is_fetched);
  CPPUNIT_TEST(bad_maps_exit_1_with_the_value);
  CPPUNIT_TEST(bad_options_and_files_exit_1);
  CPPUNIT_TEST_SUITE_END();

 public:
  void requested_only_before_double_dash() {
    CPPUNIT_ASSERT(check_config_requested({"-z", "x", "--check-config"}));
    CPPUNIT_ASSERT(!check_config_requested({"--", "--check-config"}));
    CPPUNIT_ASSERT(!check_config_requested({"-z", "11211=a"}));
  }

  void port_sections_file() {
    Checked c = check({"-z", fixture("moxi-t/vbucket1.cfg")});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(c.err, 0, c.status);
    assert_contains(c.out, "port 11211 from " + fixture("moxi-t/vbucket1.cfg") + ":");
    assert_contains(c.out, "vbucket (CRC32), 1 server, 4 vBuckets, 0 replicas");
    assert_contains(c.out, "server localhost:11311: 4 vBuckets (master)");
    assert_contains(c.out, "configuration OK");
  }

  void bare_map_envelope_and_flat_files() {
    for (const char* name : {"tests-config/testapp-config", "tests-config/testapp-config-in-envelope",
                             "tests-config/testapp-config-flat", "libcouchbase-confdata/full_25.json",
                             "libcouchbase-confdata/terse_25.json"}) {
      Checked c = check({"-z", "11211=" + fixture(name)});
      CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(name) + ": " + c.err, 0, c.status);
      assert_contains(c.out, "port 11211 from " + fixture(name));
      assert_contains(c.out, "vbucket (CRC32)");
      assert_contains(c.out, "(master)");
    }
    // vBuckets per server, replicas counted: rows [0,1,2] [1,2,0] [2,1,-1] [1,2,0].
    Checked c = check({"-z", "11211=" + fixture("tests-config/testapp-config-in-envelope")});
    assert_contains(c.out, "3 servers, 4 vBuckets, 2 replicas");
    assert_contains(c.out, "server server2:11210: 2 vBuckets (master), 2 as replica");
    assert_contains(c.out, "server server3:11211: 1 vBucket (master), 3 as replica");
  }

  void memcached_bucket_and_server_list() {
    Checked c = check({"-z", "11211=" + fixture("libcouchbase-confdata/memd_ketama_config.json"), "-z",
                       "11311=127.0.0.1:11411,127.0.0.1:11412:3"});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(c.err, 0, c.status);
    assert_contains(c.out, "port 11211 from");
    assert_contains(c.out, "ketama (MD5, libmemcached ketama-weighted), 4 servers");
    assert_contains(c.out, "port 11311:\n  bucket default, ketama (MD5, libmemcached ketama-weighted), 2 servers");
    assert_contains(c.out, "server 127.0.0.1:11412: weight 3");
  }

  // Names are resolved as the workers would (-Z dns_servers); one that does
  // not resolve is a warning: moxi would start and serve the rest.
  void unresolvable_names_are_warnings() {
    FakeDns dns;
    dns.set("a.moxi.test", "127.0.0.1");
    Checked c = check({"-Z", "dns_servers=" + dns.address(), "-z", "11311=a.moxi.test:11411,nowhere.moxi.test:11412"});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(c.err, 0, c.status);
    assert_contains(c.out, "server a.moxi.test:11411: weight 1\n");
    assert_contains(c.out, "server nowhere.moxi.test:11412: weight 1 [warning: resolve failed: nowhere.moxi.test: ");
    assert_contains(c.out, "configuration OK");
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, dns.queries("nowhere.moxi.test"));
    Checked bad = check({"-Z", "dns_servers=127.0.0.1|dns.example", "-z", "11311=a.moxi.test:11411"});
    CPPUNIT_ASSERT_EQUAL(1, bad.status);
    assert_contains(bad.err, "-Z dns_servers: \"dns.example\" is not a nameserver address");
  }

  void buckets_list_and_inline_json() {
    TempFile buckets(
        "{\"buckets\":[{\"name\":\"default\",\"nodeLocator\":\"vbucket\",\"vBucketServerMap\":"
        "{\"hashAlgorithm\":\"CRC\",\"numReplicas\":0,\"serverList\":[\"127.0.0.1:11311\",\"127.0.0.1:11312\"],"
        "\"vBucketMap\":[[0],[1],[1],[1]]}}]}");
    Checked c = check({"-z", "0=" + buckets.path(), "-z",
                       "11211={\"hashAlgorithm\":\"CRC\",\"numReplicas\":0,\"serverList\":[\"127.0.0.1:1\"],"
                       "\"vBucketMap\":[[0],[0]]}"});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(c.err, 0, c.status);
    assert_contains(c.out, "port 0 (any free port) from " + buckets.path());
    assert_contains(c.out, "server 127.0.0.1:11312: 3 vBuckets (master)");
    assert_contains(c.out, "port 11211:\n  bucket default, vbucket (CRC32), 1 server, 2 vBuckets");
  }

  // A static single-bucket port serves it as "default". Names are resolved
  // by a loopback nameserver: nothing leaves the machine.
  void terse_configs_show_revision_network_and_tls_ports() {
    FakeDns dns;
    dns.set("db1.example.com", "127.0.0.1");
    const std::string behaviors = "dns_servers=" + dns.address();
    Checked c = check({"-Z", behaviors + ",network=external", "-z", "11211=" + fixture("terse/alternate_addresses.json")});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(c.err, 0, c.status);
    assert_contains(c.out, "bucket default, vbucket (CRC32), 3 servers, 4 vBuckets, 1 replica, binary downstream\n"
                           "    revision epoch 2 rev 5\n"
                           "    terse config (nodesExt), network external: 2 of 3 servers on an external address\n");
    assert_contains(c.out, "server db1.example.com:31210: 2 vBuckets (master), 1 as replica (TLS port 31207)\n");
    assert_contains(c.out, "server db2.example.com:11210: 1 vBucket (master), 1 as replica (TLS port 11207)");
    assert_contains(c.out, "server [fd00::3]:11210: 1 vBucket (master), 2 as replica (TLS port 11217)");
    Checked d = check({"-Z", behaviors, "-z", "11211=" + fixture("terse/alternate_addresses.json")});
    assert_contains(d.out, "    terse config (nodesExt), network default\n");
    assert_contains(d.out, "server 10.0.0.1:11210: 2 vBuckets (master), 1 as replica (TLS port 11207)");
    // A file's $HOST is this host; no nodesExt, no network line.
    Checked t = check({"-Z", behaviors, "-z", "11211=" + fixture("libcouchbase-confdata/terse_25.json")});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(t.err, 0, t.status);
    assert_contains(t.out, "    revision rev 19\n    server localhost:11210: 64 vBuckets (master), 0 as replica");
    // No revision at all.
    Checked n = check({"-Z", behaviors, "-z", "11311=127.0.0.1:11411"});
    assert_contains(n.out, "    revision none\n");
  }

  // A URL's first map is fetched (auth included) and summarised like a file's.
  void url_map_is_fetched() {
    RestMockOptions o;
    o.config_json =
        R"({"name":"default","nodeLocator":"vbucket","vBucketServerMap":{"hashAlgorithm":"CRC","numReplicas":0,)"
        R"("serverList":["127.0.0.1:11312","127.0.0.1:11313"],"vBucketMap":[[0],[1],[1],[1]]}})";
    o.user = "admin";
    o.password = "s3cret";
    RestMock mock(o);
    const std::string url = mock.url("/pools/default/bucketsStreaming/default");
    Checked c = check({"-p", "11500", "-z", "url=" + url + ",auth=admin%s3cret"});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(c.err, 0, c.status);
    assert_contains(c.out, "port 11500: follows " + url + " (HTTP user admin)");
    assert_contains(c.out, "  fetched from ");
    assert_contains(c.out, "bucket default, vbucket (CRC32), 2 servers, 4 vBuckets");
    assert_contains(c.out, "server 127.0.0.1:11313: 3 vBuckets (master)");
    CPPUNIT_ASSERT_MESSAGE(c.out, c.out.find("s3cret") == std::string::npos);
    assert_contains(c.out, "configuration OK");
  }

  // A data node's config (GET_CLUSTER_CONFIG, logged in as -Z usr),
  // $HOST read as the node's host, and its revision shown; a node that
  // refuses the login is an error with its reason.
  void data_node_map_is_fetched() {
    std::string error;
    CPPUNIT_ASSERT_MESSAGE(error, backend::init_sasl_library(error));
    VBucketServer node(VBucketServer::data_node({"travel"}, {{"app", "app-pw", {"travel"}, ""}}));
    const std::string port = std::to_string(node.port());
    node.set_cluster_config(R"({"rev":12,"revEpoch":2,"name":"travel","nodeLocator":"vbucket",)"
                            R"("vBucketServerMap":{"hashAlgorithm":"CRC","numReplicas":0,"serverList":["$HOST:)" +
                            port + R"("],"vBucketMap":[[0],[0],[0],[0]]}})");
    const std::string url = "couchbase://127.0.0.1:" + port + "/travel";
    Checked c = check({"-p", "11500", "-Z", "usr=app,pwd=app-pw", "-z", url});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(c.err, 0, c.status);
    assert_contains(c.out, "port 11500: follows " + url + " (data nodes: user app, bucket travel)");
    assert_contains(c.out, "  fetched from " + url + ":");
    assert_contains(c.out, "bucket travel, vbucket (CRC32), 1 server, 4 vBuckets");
    assert_contains(c.out, "server 127.0.0.1:" + port + ": 4 vBuckets (master)");
    assert_contains(c.out, "    revision epoch 2 rev 12\n");
    CPPUNIT_ASSERT(c.out.find("app-pw") == std::string::npos);

    c = check({"-Z", "usr=app,pwd=nope", "-z", url});
    CPPUNIT_ASSERT_EQUAL(1, c.status);
    assert_contains(c.err, "moxi: port 11211: no valid map fetched: login to " + url + " failed: user \"app\" was refused");
    CPPUNIT_ASSERT(c.err.find("nope") == std::string::npos);
  }

  // Wrong credentials, a refused port, garbage: exit 1 with the source's error.
  void url_failures_exit_1() {
    RestMockOptions o;
    o.user = "admin";
    o.password = "s3cret";
    RestMock mock(o);
    const std::string url = mock.url("/pools/default/bucketsStreaming/default");
    Checked c = check({"-z", "url=" + url + ",auth=admin%wrong"});
    CPPUNIT_ASSERT_EQUAL(1, c.status);
    assert_contains(c.err, "moxi: port 11211: no valid map fetched: ");
    assert_contains(c.err, "HTTP 401");
    CPPUNIT_ASSERT(c.err.find("wrong") == std::string::npos);
    CPPUNIT_ASSERT(c.out.find("configuration OK") == std::string::npos);

    c = check({"http://127.0.0.1:1/pools/default/bucketsStreaming/default"});
    CPPUNIT_ASSERT_EQUAL(1, c.status);
    assert_contains(c.err, "moxi: port 11211: no valid map fetched: ");
    assert_contains(c.err, "127.0.0.1:1");

    // A config cache that holds garbage is an error too.
    TempFile cache("not json");
    c = check({"-Z", "config_cache=" + cache.path(), "http://127.0.0.1:1/pools/default/bucketsStreaming/default"});
    CPPUNIT_ASSERT_EQUAL(1, c.status);
    assert_contains(c.err, "moxi: config_cache " + cache.path() + ": ");
  }

  void bad_maps_exit_1_with_the_value() {
    Checked c = check({"-z", "11211=" + fixture("tests-config/testapp-config-wrong-num-vbuckets")});
    CPPUNIT_ASSERT_EQUAL(1, c.status);
    assert_contains(c.err, "moxi: -z port 11211 (" + fixture("tests-config/testapp-config-wrong-num-vbuckets") + "): ");
    CPPUNIT_ASSERT(c.out.find("configuration OK") == std::string::npos);
    TempFile bad_server("{\"hashAlgorithm\":\"CRC\",\"numReplicas\":0,\"serverList\":[\"a:1\"],\"vBucketMap\":[[0],[3]]}");
    c = check({"-z", "11211=" + bad_server.path()});
    CPPUNIT_ASSERT_EQUAL(1, c.status);
    assert_contains(c.err, "vBucketMap[1][0]");
    assert_contains(c.err, "names server 3");
    // One good and one bad port: the good one is still described, the status is 1.
    c = check({"-z", "11311=127.0.0.1:11411", "-z", "11211={\"hashAlgorithm\":\"CRC\"}"});
    CPPUNIT_ASSERT_EQUAL(1, c.status);
    assert_contains(c.out, "port 11311:");
    assert_contains(c.err, "moxi: -z port 11211: ");
  }

  void bad_options_and_files_exit_1() {
    Checked c = check({"-z", "11211=127.0.0.1:99999"});
    CPPUNIT_ASSERT_EQUAL(1, c.status);
    assert_contains(c.err, "\"99999\" is not a port number");
    c = check({"-z", "11211=/nonexistent/moxi.cfg"});
    CPPUNIT_ASSERT_EQUAL(1, c.status);
    assert_contains(c.err, "port 11211: /nonexistent/moxi.cfg: cannot read: No such file or directory");
    c = check({"-Z", "drain_timeout=soon", "-z", "11211=a"});
    CPPUNIT_ASSERT_EQUAL(1, c.status);
    assert_contains(c.err, "drain_timeout: \"soon\" is not a number of milliseconds");
    c = check({});
    CPPUNIT_ASSERT_EQUAL(1, c.status);
    assert_contains(c.err, "need cluster configuration");
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CheckConfigTest);

}  // namespace
}  // namespace moxi::test
