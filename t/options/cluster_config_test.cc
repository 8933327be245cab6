// -z values: static server lists, {json} sections, ';' between sections,
// files (./ and /), URL lists with credentials, and their exact errors.
#include <cppunit/extensions/HelperMacros.h>

#include <cerrno>
#include <cstring>

#include "t/options/helpers.h"
#include "t/support/tsv.h"

namespace moxi::test {
namespace {

class ClusterConfigTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ClusterConfigTest);
  CPPUNIT_TEST(server_list);
  CPPUNIT_TEST(ipv6_servers);
  CPPUNIT_TEST(server_list_errors);
  CPPUNIT_TEST(static_section_errors);
  CPPUNIT_TEST(json_section);
  CPPUNIT_TEST(json_with_http_inside_is_static);
  CPPUNIT_TEST(several_sections);
  CPPUNIT_TEST(file_path_detection);
  CPPUNIT_TEST(fixture_files);
  CPPUNIT_TEST(file_with_comments_and_sections);
  CPPUNIT_TEST(file_errors);
  CPPUNIT_TEST(url_lists);
  CPPUNIT_TEST(url_key_value_forms);
  CPPUNIT_TEST(url_credentials);
  CPPUNIT_TEST(url_errors);
  CPPUNIT_TEST(url_file);
  CPPUNIT_TEST(data_node_sources);
  CPPUNIT_TEST(data_node_source_errors);
  CPPUNIT_TEST(tls_behaviors);
  CPPUNIT_TEST(not_a_configuration);
  CPPUNIT_TEST(parse_cluster_config_directly);
  CPPUNIT_TEST_SUITE_END();

 public:
  void server_list() {
    Options o = ok({"-z", "11211=mc1:11211,mc2:11222:3, mc3 ,10.0.0.4:1:100"});
    const StaticSection& s = only<StaticSection>(o);
    CPPUNIT_ASSERT_EQUAL(uint16_t{11211}, s.port);
    CPPUNIT_ASSERT(!s.json);
    CPPUNIT_ASSERT(!s.port_from_listen);
    CPPUNIT_ASSERT_EQUAL(std::string("mc1:11211,mc2:11222:3, mc3 ,10.0.0.4:1:100"), s.text);
    CPPUNIT_ASSERT_EQUAL(std::string(), s.file);
    std::vector<ServerSpec> expected{{"mc1", 11211, 0}, {"mc2", 11222, 3}, {"mc3", 11211, 0}, {"10.0.0.4", 1, 100}};
    CPPUNIT_ASSERT(expected == s.servers);
    // Spaces around '=' and the port 0 ("any free port").
    o = ok({"-z", " 0 = localhost "});
    CPPUNIT_ASSERT_EQUAL(uint16_t{0}, only<StaticSection>(o).port);
    CPPUNIT_ASSERT(only<StaticSection>(o).servers == (std::vector<ServerSpec>{{"localhost", 11211, 0}}));
  }

  void ipv6_servers() {
    std::vector<ServerSpec> servers;
    CPPUNIT_ASSERT(!parse_server_list("[::1]:11311,[fe80::1]:5:2,[::1]", servers));
    std::vector<ServerSpec> expected{{"::1", 11311, 0}, {"fe80::1", 5, 2}, {"::1", 11211, 0}};
    CPPUNIT_ASSERT(expected == servers);
  }

  std::string server_error(std::string_view list) {
    std::vector<ServerSpec> servers;
    auto e = parse_server_list(list, servers);
    CPPUNIT_ASSERT_MESSAGE("expected an error for " + std::string(list), e.has_value());
    CPPUNIT_ASSERT(servers.empty());  // all or nothing
    return *e;
  }

  void server_list_errors() {
    CPPUNIT_ASSERT_EQUAL(std::string("server \"mc1:abc\": \"abc\" is not a port number (1-65535)"),
                         server_error("mc1:abc"));
    CPPUNIT_ASSERT_EQUAL(std::string("server \"mc1:0\": \"0\" is not a port number (1-65535)"),
                         server_error("ok:1,mc1:0"));
    CPPUNIT_ASSERT_EQUAL(std::string("server \"mc1:\": \"\" is not a port number (1-65535)"), server_error("mc1:"));
    CPPUNIT_ASSERT_EQUAL(std::string("server \"mc1:1:0\": \"0\" is not a weight (a whole number from 1)"),
                         server_error("mc1:1:0"));
    CPPUNIT_ASSERT_EQUAL(std::string("server \"mc1:1:x\": \"x\" is not a weight (a whole number from 1)"),
                         server_error("mc1:1:x"));
    CPPUNIT_ASSERT_EQUAL(std::string("server \"::1\": empty host name"), server_error("::1"));
    CPPUNIT_ASSERT_EQUAL(std::string("server \"fe80::1:2:3\": \"\" is not a port number (1-65535)"),
                         server_error("fe80::1:2:3"));
    CPPUNIT_ASSERT_EQUAL(std::string("server \"a:1:2:3\": too many ':' (write IPv6 addresses as [ADDR]:PORT)"),
                         server_error("a:1:2:3"));
    CPPUNIT_ASSERT_EQUAL(std::string("server \":11211\": empty host name"), server_error(":11211"));
    CPPUNIT_ASSERT_EQUAL(std::string("server \"[::1\": missing ']'"), server_error("[::1"));
    CPPUNIT_ASSERT_EQUAL(std::string("server \"[::1]11\": expected ':' after ']'"), server_error("[::1]11"));
    CPPUNIT_ASSERT_EQUAL(std::string("empty server entry in \"a,b,\""), server_error("a,b,"));
    CPPUNIT_ASSERT_EQUAL(std::string("empty server entry in \"a,,b\""), server_error("a,,b"));
    // Through the command line the section's port says where.
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: port 11211: server \"mc1:abc\": \"abc\" is not a port number "
                                     "(1-65535)"),
                         err({"-z", "11211=mc1:abc"}));
  }

  void static_section_errors() {
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: port \"70000\" is not a port number (0-65535)"),
                         err({"-z", "70000=mc1"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: port 11211: empty configuration"), err({"-z", "11211="}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: port 11211: empty configuration"), err({"-z", "11211 =  ;"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: empty configuration"), err({"-z", ""}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: empty configuration"), err({"-z", " ; ;"}));
  }

  void json_section() {
    Options o = ok({"-z", "11211={\"hashAlgorithm\":\"CRC\",\"serverList\":[\"a:1\",\"b:2\"],\"vBucketMap\":[[0],[1]]}"});
    const StaticSection& s = only<StaticSection>(o);
    CPPUNIT_ASSERT(s.json);
    CPPUNIT_ASSERT(s.servers.empty());
    CPPUNIT_ASSERT(s.text.starts_with("{\"hashAlgorithm\""));
    CPPUNIT_ASSERT(s.text.ends_with("]]}"));
    // JSON is not checked here (the vbucket module does that), only framed.
    CPPUNIT_ASSERT(only<StaticSection>(ok({"-z", "11211 = {not json"})).json);
  }

  void json_with_http_inside_is_static() {
    // The original sent any -z containing "http://" or '@' down the URL path.
    Options o = ok({"-z", "11211={\"couchApiBase\":\"http://u@h:8092/default\",\"serverList\":[\"a:1\"]}"});
    CPPUNIT_ASSERT(only<StaticSection>(o).json);
    CPPUNIT_ASSERT_EQUAL(uint16_t{11211}, only<StaticSection>(o).port);
  }

  void several_sections() {
    Options o = ok({"-z", "11211=mc1:11411;11311=mc2:11211;11411={\"a\":\"x;y\",\"b\":[1,{\"c\":\";\"}]};"});
    CPPUNIT_ASSERT_EQUAL(size_t{3}, o.sources.size());
    const auto& a = std::get<StaticSection>(o.sources[0]);
    const auto& b = std::get<StaticSection>(o.sources[1]);
    const auto& c = std::get<StaticSection>(o.sources[2]);
    CPPUNIT_ASSERT_EQUAL(uint16_t{11211}, a.port);
    CPPUNIT_ASSERT(a.servers == (std::vector<ServerSpec>{{"mc1", 11411, 0}}));
    CPPUNIT_ASSERT_EQUAL(uint16_t{11311}, b.port);
    CPPUNIT_ASSERT(b.servers == (std::vector<ServerSpec>{{"mc2", 11211, 0}}));
    CPPUNIT_ASSERT_EQUAL(uint16_t{11411}, c.port);
    CPPUNIT_ASSERT_EQUAL(std::string("{\"a\":\"x;y\",\"b\":[1,{\"c\":\";\"}]}"), c.text);
    // Escaped quotes inside JSON strings do not end them.
    o = ok({"-z", "1={\"a\":\"q\\\";r\"};2=b"});
    CPPUNIT_ASSERT_EQUAL(size_t{2}, o.sources.size());
    CPPUNIT_ASSERT_EQUAL(std::string("{\"a\":\"q\\\";r\"}"), std::get<StaticSection>(o.sources[0]).text);
    // Several -z options add up, in order.
    o = ok({"-z", "11211=a", "-z", "11311=b"});
    CPPUNIT_ASSERT_EQUAL(size_t{2}, o.sources.size());
    CPPUNIT_ASSERT_EQUAL(uint16_t{11311}, std::get<StaticSection>(o.sources[1]).port);
  }

  void file_path_detection() {
    TempFile f("11311 = mc9:1\n", ".cfg");
    // "/abs" is a file, "./rel" is a file; anything else is a configuration.
    Options o = ok({"-z", f.path()});
    CPPUNIT_ASSERT_EQUAL(f.path(), only<StaticSection>(o).file);
    CPPUNIT_ASSERT_EQUAL(uint16_t{11311}, only<StaticSection>(o).port);
    std::string relative = ".";
    for (int i = 0; i < 40; ++i) relative += "/..";
    relative += f.path();
    CPPUNIT_ASSERT_EQUAL(relative, only<StaticSection>(ok({"-z", relative})).file);
    CPPUNIT_ASSERT_EQUAL(std::string(), only<StaticSection>(ok({"-z", "11211={\"x\":\"./a\"}"})).file);
  }

  void fixture_files() {
    Options o = ok({"-z", fixture("moxi-t/vbucket1.cfg")});
    const StaticSection& s = only<StaticSection>(o);
    CPPUNIT_ASSERT_EQUAL(uint16_t{11211}, s.port);
    CPPUNIT_ASSERT(s.json);
    CPPUNIT_ASSERT(s.text.starts_with("{\n  \"hashAlgorithm\": \"CRC\""));
    CPPUNIT_ASSERT(s.text.ends_with("]\n}"));
    CPPUNIT_ASSERT_EQUAL(fixture("moxi-t/vbucket1.cfg"), s.file);
    CPPUNIT_ASSERT_EQUAL(uint16_t{11333}, only<StaticSection>(ok({"-z", fixture("moxi-t/moxi_mock.cfg")})).port);
    // A bare REST document listens on port_listen.
    o = ok({"-Z", "port_listen=0", "-z", fixture("moxi-t/vbucket_rest1.cfg")});
    CPPUNIT_ASSERT(only<StaticSection>(o).port_from_listen);
    CPPUNIT_ASSERT_EQUAL(uint16_t{0}, only<StaticSection>(o).port);
  }

  void file_with_comments_and_sections() {
    TempFile f(
        "# two buckets\n"
        "11211 = mc1:11211,\n"
        "        mc2:11212:2;\n"
        "  # the second one\n"
        "11311 = {\n"
        "  \"serverList\": [\"a:1\"],\n"
        "  \"vBucketMap\": [[0]]\n"
        "}\n");
    Options o = ok({"-z", f.path()});
    CPPUNIT_ASSERT_EQUAL(size_t{2}, o.sources.size());
    const auto& a = std::get<StaticSection>(o.sources[0]);
    CPPUNIT_ASSERT(a.servers == (std::vector<ServerSpec>{{"mc1", 11211, 0}, {"mc2", 11212, 2}}));
    CPPUNIT_ASSERT_EQUAL(f.path(), a.file);
    const auto& b = std::get<StaticSection>(o.sources[1]);
    CPPUNIT_ASSERT(b.json);
    CPPUNIT_ASSERT_EQUAL(f.path(), b.file);
    CPPUNIT_ASSERT(b.text.find('#') == std::string::npos);
  }

  void file_errors() {
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z ./no-such-moxi.cfg: cannot read: ") + std::strerror(ENOENT),
                         err({"-z", "./no-such-moxi.cfg"}, kExitNoInput));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z /: cannot read: ") + std::strerror(EISDIR),
                         err({"-z", "/"}, kExitNoInput));
    TempFile empty("\n  \n");
    CPPUNIT_ASSERT_EQUAL("moxi: -z " + empty.path() + ": file is empty", err({"-z", empty.path()}));
    TempFile comments("# nothing but comments\n");
    CPPUNIT_ASSERT_EQUAL("moxi: -z " + comments.path() + ": empty configuration", err({"-z", comments.path()}));
    TempFile bad("11211 = mc1:11211,\n  mc2:x\n");
    CPPUNIT_ASSERT_EQUAL("moxi: -z " + bad.path() + ": port 11211: server \"mc2:x\": \"x\" is not a port number "
                         "(1-65535)",
                         err({"-z", bad.path()}));
  }

  void url_lists() {
    // A bare URL list: ',' (the original's form) or '|' between failover URLs.
    for (const char* v : {"http://a/x,http://b/y", "http://a/x|http://b/y", " http://a/x , http://b/y "}) {
      const UrlSource u = only<UrlSource>(ok({"-z", v}));
      CPPUNIT_ASSERT((u.urls == std::vector<std::string>{"http://a/x", "http://b/y"}));
      CPPUNIT_ASSERT(!u.auth_given);
      CPPUNIT_ASSERT_EQUAL(std::string(), u.file);
    }
  }

  void url_key_value_forms() {
    const UrlSource a = only<UrlSource>(ok({"-z", "url=http://a/x|http://b/y"}));
    CPPUNIT_ASSERT((a.urls == std::vector<std::string>{"http://a/x", "http://b/y"}));
    // The usage text's comma form works too.
    const UrlSource b = only<UrlSource>(ok({"-z", "url=http://a/x,http://b/y"}));
    CPPUNIT_ASSERT((b.urls == std::vector<std::string>{"http://a/x", "http://b/y"}));
    // host= is url=, apikey= is auth=, and the order of the keys does not matter.
    Options o = ok({"-z", "host=http://h:8091/pools/default/bucketsStreaming/default,apikey=Administrator%pass%word"});
    CPPUNIT_ASSERT(only<UrlSource>(o).auth == (Credentials{"Administrator", "pass%word"}));
    CPPUNIT_ASSERT(only<UrlSource>(o).auth_given);
    o = ok({"-z", "auth=u%p,url=http://h/x"});
    CPPUNIT_ASSERT(only<UrlSource>(o).auth == (Credentials{"u", "p"}));
    CPPUNIT_ASSERT((only<UrlSource>(o).urls == std::vector<std::string>{"http://h/x"}));
    // auth=USER without a password.
    CPPUNIT_ASSERT(only<UrlSource>(ok({"-z", "auth=u,url=http://h/x"})).auth == (Credentials{"u", ""}));
    // Comments, newlines and config=/dbpath= (ignored with a warning).
    o = ok({"-z", "url = http://h/x,#comment\n# a comment line, url=http://x/\nconfig=/var/lib/moxi.cfg"});
    CPPUNIT_ASSERT((only<UrlSource>(o).urls == std::vector<std::string>{"http://h/x"}));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, o.warnings.size());
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: warning: -z: config=/var/lib/moxi.cfg: ignored (use -Z config_cache=PATH)"),
                         o.warnings[0]);
  }

  void url_credentials() {
    Options o = ok({"-z", "http://Administrator:pass%40word@h:8091/pools/default/bucketsStreaming/default"});
    const UrlSource& u = only<UrlSource>(o);
    CPPUNIT_ASSERT((u.urls == std::vector<std::string>{"http://h:8091/pools/default/bucketsStreaming/default"}));
    CPPUNIT_ASSERT(u.auth == (Credentials{"Administrator", "pass@word"}));
    CPPUNIT_ASSERT(u.auth_given);
    // User only; the same credentials on every URL; no path.
    CPPUNIT_ASSERT(only<UrlSource>(ok({"-z", "http://bucket@h"})).auth == (Credentials{"bucket", ""}));
    o = ok({"-z", "http://u:p@a/x,http://u:p@b/x,http://c/x"});
    CPPUNIT_ASSERT((only<UrlSource>(o).urls == std::vector<std::string>{"http://a/x", "http://b/x", "http://c/x"}));
    CPPUNIT_ASSERT(only<UrlSource>(o).auth == (Credentials{"u", "p"}));
    // An '@' after the host is part of the path, not credentials.
    o = ok({"-z", "http://h/x@y"});
    CPPUNIT_ASSERT_EQUAL(std::string("http://h/x@y"), only<UrlSource>(o).urls.at(0));
    CPPUNIT_ASSERT(!only<UrlSource>(o).auth_given);
    // auth= and URL credentials may agree.
    CPPUNIT_ASSERT(only<UrlSource>(ok({"-z", "auth=u%p,url=http://u:p@h/x"})).auth == (Credentials{"u", "p"}));
  }

  void url_errors() {
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: the URLs carry different user:password credentials"),
                         err({"-z", "http://u:p@a/x,http://v:p@b/x"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: auth= and the user:password in the URL differ"),
                         err({"-z", "auth=u%q,url=http://u:p@h/x"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: \"ftp://h/x\" is not an http://, https:// or couchbase:// URL"),
                         err({"-z", "url=ftp://h/x"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: empty URL in \"http://a/x||http://b/x\""),
                         err({"-z", "url=http://a/x||http://b/x"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: empty URL in \"http://a/x,\""), err({"-z", "http://a/x,"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: url= has no URL"), err({"-z", "url=,auth=u%p"}));
    // A password is never shown (t/options/secrets_test.cc has them all).
    const std::string note = " (what follows a password on its line is not shown: see PASSWORDS in moxi(1))";
    CPPUNIT_ASSERT_EQUAL("moxi: -z: missing url=URL in \"auth=u%****\"" + note, err({"-z", "auth=u%p"}));
    CPPUNIT_ASSERT_EQUAL("moxi: -z: \"https://****\" has no host" + note, err({"-z", "https://u:p@"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: \"https://\" has no host"), err({"-z", "https://"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: unknown configuration key \"urls\" (expected url=, auth=, or PORT=...)"),
                         err({"-z", "urls=http://h/x"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: unknown configuration key \"mc\" (expected url=, auth=, or PORT=...)"),
                         err({"-z", "mc=a:1"}));
  }

  // couchbase://HOST[:PORT][/BUCKET]: data nodes asked for the config; in
  // one list with REST URLs or alone, served on port_listen.
  void data_node_sources() {
    Options o = ok({"-Z", "usr=Administrator,pwd=password", "-z", "couchbase://10.0.0.1/travel,couchbase://10.0.0.2:12000/travel"});
    const UrlSource& u = only<UrlSource>(o);
    CPPUNIT_ASSERT((u.urls == std::vector<std::string>{"couchbase://10.0.0.1/travel", "couchbase://10.0.0.2:12000/travel"}));
    o = ok({"-Z", "usr=Administrator,pwd=password",
            "url=http://10.0.0.1:8091/pools/default/bs/travel,url=couchbase://10.0.0.1/travel"});
    CPPUNIT_ASSERT_EQUAL(size_t{2}, only<UrlSource>(o).urls.size());
    // As the trailing argument too, and without a bucket (-Z bucket, else "default").
    o = ok({"-Z", "usr=a,pwd=b", "couchbase://[::1]"});
    CPPUNIT_ASSERT_EQUAL(std::string("couchbase://[::1]"), only<UrlSource>(o).urls.at(0));
    CPPUNIT_ASSERT_EQUAL(std::string("default"), data_node_bucket(o.behaviors, ""));
    o = ok({"-Z", "usr=a,pwd=b,bucket=beer", "-z", "couchbase://h"});
    CPPUNIT_ASSERT_EQUAL(std::string("beer"), data_node_bucket(o.behaviors, ""));
    CPPUNIT_ASSERT_EQUAL(std::string("travel"), data_node_bucket(o.behaviors, "travel"));
    CPPUNIT_ASSERT_EQUAL(2500L, static_cast<long>(o.behaviors.node_config_interval.count()));
    o = ok({"-Z", "usr=a,pwd=b,node_config_interval=100", "-z", "couchbase://h"});
    CPPUNIT_ASSERT_EQUAL(100L, static_cast<long>(o.behaviors.node_config_interval.count()));
  }

  void data_node_source_errors() {
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: couchbase:// URLs need a login: give -Z usr=USER,pwd=PASSWORD (the data "
                                     "nodes and the data connections are asked with it)"),
                         err({"-z", "couchbase://h/b"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: the couchbase:// URLs of one source name different buckets (\"a\" and \"b\")"),
                         err({"-Z", "usr=u,pwd=p", "-z", "couchbase://h/a,couchbase://i/b"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: \"couchbase://h:0/b\": port \"0\" is not 1 to 65535"),
                         err({"-Z", "usr=u,pwd=p", "-z", "couchbase://h:0/b"}));
    // A password in one is refused, and not shown.
    const std::string e = err({"-Z", "usr=u,pwd=p", "-z", "couchbase://u:secret@h/b"});
    CPPUNIT_ASSERT_MESSAGE(e, e.find("secret") == std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(e, e.find("takes no user") != std::string::npos || e.find("not shown") != std::string::npos);
  }

  // The TLS keys: what goes together, and the ports downstream_tls names.
  void tls_behaviors() {
    Options o = ok({"-Z", "tls_port=11207,tls_cert=c.pem,tls_key=k.pem,downstream_tls=11211|11311", "-z",
                    "11211=a:1;11311=b:1;11411=c:1"});
    CPPUNIT_ASSERT_EQUAL(uint16_t{11207}, o.behaviors.tls_port.value());
    const TlsPorts ports = downstream_tls_ports(o.behaviors);
    CPPUNIT_ASSERT(ports.includes(11211) && ports.includes(11311) && !ports.includes(11411));
    CPPUNIT_ASSERT(downstream_tls_ports(ok({"-Z", "downstream_tls=1", "-z", "11211=a:1"}).behaviors).includes(11411));
    CPPUNIT_ASSERT(!downstream_tls_ports(ok({"-z", "11211=a:1"}).behaviors).any());
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -Z tls_port=11207 needs tls_cert=FILE and tls_key=FILE"),
                         err({"-Z", "tls_port=11207,tls_cert=c.pem", "-z", "11211=a:1"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -Z tls_cert, tls_key and tls_client_ca are for a TLS listener: give tls_port=PORT too"),
                         err({"-Z", "tls_cert=c.pem,tls_key=k.pem", "-z", "11211=a:1"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -Z tls_port: 11211 is also a plain listen port (give TLS a port of its own)"),
                         err({"-Z", "tls_port=11211,tls_cert=c.pem,tls_key=k.pem", "-z", "11211=a:1"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -Z tls_min_version: \"1.1\" is not 1.2 or 1.3"),
                         err({"-Z", "tls_port=11207,tls_cert=c.pem,tls_key=k.pem,tls_min_version=1.1", "-z", "11211=a:1"}));
    CPPUNIT_ASSERT_EQUAL(
        std::string("moxi: -Z downstream_tls: \"yes\" is not 0, 1 or a port 1 to 65535 (give PORT|PORT for the pools served there)"),
        err({"-Z", "downstream_tls=yes", "-z", "11211=a:1"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -Z downstream_tls_cert and downstream_tls_key go together"),
                         err({"-Z", "downstream_tls=1,downstream_tls_cert=c.pem", "-z", "11211=a:1"}));
    CPPUNIT_ASSERT_EQUAL(
        std::string("moxi: -Z downstream_tls_ca and downstream_tls_cert are for TLS to the backends: give downstream_tls=1 too"),
        err({"-Z", "downstream_tls_ca=ca.pem", "-z", "11211=a:1"}));
  }

  void url_file() {
    // Keeps the password off ps: the whole -z value in a file.
    TempFile f("auth = Administrator%password,\n url = http://127.0.0.1:8091/pools/default/bucketsStreaming/default\n");
    Options o = ok({"-z", f.path()});
    const UrlSource& u = only<UrlSource>(o);
    CPPUNIT_ASSERT(u.auth == (Credentials{"Administrator", "password"}));
    CPPUNIT_ASSERT_EQUAL(f.path(), u.file);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, u.urls.size());
    // The man page's example: url= repeated, one per line.
    TempFile g("url = http://h1:8091/pools/default/bucketsStreaming/default\n"
               "url = http://h2:8091/pools/default/bucketsStreaming/default\n");
    const UrlSource v = only<UrlSource>(ok({"-z", g.path()}));
    CPPUNIT_ASSERT((v.urls == std::vector<std::string>{"http://h1:8091/pools/default/bucketsStreaming/default",
                                                       "http://h2:8091/pools/default/bucketsStreaming/default"}));
  }

  void not_a_configuration() {
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: \"vbucket1.cfg\" is not a configuration (to read a file, write "
                                     "./vbucket1.cfg)"),
                         err({"-z", "vbucket1.cfg"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: \"cfg/vbucket1.cfg\" is not a configuration (to read a file, write "
                                     "./cfg/vbucket1.cfg)"),
                         err({"-z", "cfg/vbucket1.cfg"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: \"mc1:11211\" is not a configuration (expected PORT=SERVERS, "
                                     "PORT={json}, URL, url=URL or ./FILE)"),
                         err({"-z", "mc1:11211"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: \"user@host%****\" is not a configuration (expected PORT=SERVERS, "
                                     "PORT={json}, URL, url=URL or ./FILE) (what follows a password on its line is not shown: see PASSWORDS in moxi(1))"),
                         err({"-z", "user@host%pw"}));
    // A URL given a port the way servers are: where the port goes instead,
    // and not the URL (it may carry a password).
    const std::string url_hint =
        "moxi: -z: port 11311: a URL configuration takes no PORT= (URLs are served on -Z port_listen, default 11211): "
        "write -Z port_listen=11311 -z URL";
    CPPUNIT_ASSERT_EQUAL(url_hint, err({"-z", "11311=http://127.0.0.1:8091/pools/default/bucketsStreaming/default"}));
    CPPUNIT_ASSERT_EQUAL(url_hint, err({"-z", "11311=url=http://u:secret@h:8091/pools/default/bucketsStreaming/b"}));
    CPPUNIT_ASSERT_EQUAL(url_hint, err({"-z", "11311 = HTTPS://h:18091/pools/default/bucketsStreaming/b"}));
  }

  void parse_cluster_config_directly() {
    std::vector<ConfigSource> out;
    std::vector<std::string> warnings;
    CPPUNIT_ASSERT(!parse_cluster_config("11211=a;dbpath=/x,url=http://h/", "/etc/moxi.cfg", out, &warnings));
    CPPUNIT_ASSERT_EQUAL(size_t{2}, out.size());
    CPPUNIT_ASSERT_EQUAL(std::string("/etc/moxi.cfg"), std::get<StaticSection>(out[0]).file);
    CPPUNIT_ASSERT_EQUAL(std::string("/etc/moxi.cfg"), std::get<UrlSource>(out[1]).file);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, warnings.size());
    // All or nothing.
    CPPUNIT_ASSERT(parse_cluster_config("11311=b;11411=c:x", "", out, nullptr).has_value());
    CPPUNIT_ASSERT_EQUAL(size_t{2}, out.size());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ClusterConfigTest);

}  // namespace
}  // namespace moxi::test
