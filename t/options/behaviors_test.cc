// -Z behaviors: defaults, every key, synonyms, comments, files, and the exact
// error for each kind of bad value.
#include <cppunit/extensions/HelperMacros.h>

#include <cerrno>
#include <cstring>

#include "t/options/helpers.h"

namespace moxi::test {
namespace {

using std::chrono::milliseconds;

Behaviors parsed(std::string_view text) {
  Behaviors b;
  auto e = parse_behaviors(text, b);
  CPPUNIT_ASSERT_MESSAGE(e ? *e : std::string(), !e);
  return b;
}

std::string error_of(std::string_view text) {
  Behaviors b;
  auto e = parse_behaviors(text, b);
  CPPUNIT_ASSERT_MESSAGE("expected an error for " + std::string(text), e.has_value());
  return *e;
}

class BehaviorsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(BehaviorsTest);
  CPPUNIT_TEST(defaults_are_the_originals);
  CPPUNIT_TEST(every_key);
  CPPUNIT_TEST(synonyms);
  CPPUNIT_TEST(protocol_values);
  CPPUNIT_TEST(effective_protocol);
  CPPUNIT_TEST(mcs_opts);
  CPPUNIT_TEST(booleans);
  CPPUNIT_TEST(white_space_newlines_and_comments);
  CPPUNIT_TEST(no_prefix_matching);
  CPPUNIT_TEST(error_messages);
  CPPUNIT_TEST(all_or_nothing);
  CPPUNIT_TEST(ignored_keys);
  CPPUNIT_TEST(default_bucket_name);
  CPPUNIT_TEST(client_passwords_file);
  CPPUNIT_TEST(every_table_key_parses);
  CPPUNIT_TEST(memory_budgets);
  CPPUNIT_TEST(through_the_command_line);
  CPPUNIT_TEST(from_a_file);
  CPPUNIT_TEST(file_errors);
  CPPUNIT_TEST_SUITE_END();

 public:
  void defaults_are_the_originals() {
    Behaviors b;
    CPPUNIT_ASSERT(b.cycle == milliseconds(200));
    CPPUNIT_ASSERT_EQUAL(1024u, b.downstream_max);
    CPPUNIT_ASSERT_EQUAL(1u, b.downstream_conn_max);
    CPPUNIT_ASSERT_EQUAL(1u, b.downstream_retry);
    CPPUNIT_ASSERT(b.downstream_protocol == DownstreamProtocol::Unset);
    CPPUNIT_ASSERT(b.downstream_timeout == milliseconds(5000));
    CPPUNIT_ASSERT(b.downstream_conn_queue_timeout == milliseconds(200));
    CPPUNIT_ASSERT(b.wait_queue_timeout == milliseconds(200));
    CPPUNIT_ASSERT(b.connect_timeout == milliseconds(400));
    CPPUNIT_ASSERT(b.auth_timeout == milliseconds(100));
    CPPUNIT_ASSERT_EQUAL(5u, b.connect_max_errors);
    CPPUNIT_ASSERT(b.connect_retry_interval == milliseconds(30000));
    CPPUNIT_ASSERT(!b.time_stats);
    CPPUNIT_ASSERT_EQUAL(std::string(), b.mcs_opts);
    CPPUNIT_ASSERT_EQUAL(std::string(), b.usr);
    CPPUNIT_ASSERT_EQUAL(std::string(), b.pwd);
    CPPUNIT_ASSERT_EQUAL(uint16_t{11211}, b.port_listen);
    CPPUNIT_ASSERT_EQUAL(std::string(), b.config_cache);
    CPPUNIT_ASSERT_EQUAL(0u, b.nmv_max_retries);
    CPPUNIT_ASSERT(!b.admin_port.has_value());  // off unless asked for
  }

  void every_key() {
    Behaviors b = parsed(
        "cycle=10,downstream_max=7,downstream_conn_max=16,downstream_retry=2,downstream_protocol=ascii,"
        "downstream_timeout=0,downstream_conn_queue_timeout=11,wait_queue_timeout=12,connect_timeout=13,"
        "auth_timeout=14,connect_max_errors=3,connect_retry_interval=15,time_stats=1,"
        "mcs_opts=distribution:ketama-weighted,usr=Administrator,pwd=pass word,port_listen=0,"
        "config_cache=/var/cache/moxi.json,nmv_max_retries=9,admin_port=8081");
    CPPUNIT_ASSERT(b.cycle == milliseconds(10));
    CPPUNIT_ASSERT_EQUAL(7u, b.downstream_max);
    CPPUNIT_ASSERT_EQUAL(16u, b.downstream_conn_max);
    CPPUNIT_ASSERT_EQUAL(2u, b.downstream_retry);
    CPPUNIT_ASSERT(b.downstream_protocol == DownstreamProtocol::Ascii);
    CPPUNIT_ASSERT(b.downstream_timeout == milliseconds(0));
    CPPUNIT_ASSERT(b.downstream_conn_queue_timeout == milliseconds(11));
    CPPUNIT_ASSERT(b.wait_queue_timeout == milliseconds(12));
    CPPUNIT_ASSERT(b.connect_timeout == milliseconds(13));
    CPPUNIT_ASSERT(b.auth_timeout == milliseconds(14));
    CPPUNIT_ASSERT_EQUAL(3u, b.connect_max_errors);
    CPPUNIT_ASSERT(b.connect_retry_interval == milliseconds(15));
    CPPUNIT_ASSERT(b.time_stats);
    CPPUNIT_ASSERT_EQUAL(std::string("distribution:ketama-weighted"), b.mcs_opts);
    CPPUNIT_ASSERT_EQUAL(std::string("Administrator"), b.usr);
    CPPUNIT_ASSERT_EQUAL(std::string("pass word"), b.pwd);
    CPPUNIT_ASSERT_EQUAL(uint16_t{0}, b.port_listen);
    CPPUNIT_ASSERT_EQUAL(std::string("/var/cache/moxi.json"), b.config_cache);
    CPPUNIT_ASSERT_EQUAL(9u, b.nmv_max_retries);
    CPPUNIT_ASSERT_EQUAL(uint16_t{8081}, b.admin_port.value());
    // Large but valid values.
    b = parsed("downstream_timeout=2147483647,downstream_max=2147483647,port_listen=65535");
    CPPUNIT_ASSERT(b.downstream_timeout == milliseconds(2147483647));
    CPPUNIT_ASSERT_EQUAL(2147483647u, b.downstream_max);
    CPPUNIT_ASSERT_EQUAL(uint16_t{65535}, b.port_listen);
  }

  void synonyms() {
    Behaviors b = parsed("concurrency=9,timeout=99,protocol=binary,retry=0");
    CPPUNIT_ASSERT_EQUAL(9u, b.downstream_max);
    CPPUNIT_ASSERT(b.downstream_timeout == milliseconds(99));
    CPPUNIT_ASSERT(b.downstream_protocol == DownstreamProtocol::Binary);
    CPPUNIT_ASSERT_EQUAL(0u, b.downstream_retry);
    CPPUNIT_ASSERT(parsed("downstream_conn_timeout=7").downstream_timeout == milliseconds(7));
    // Later items win, whichever name they use.
    CPPUNIT_ASSERT_EQUAL(3u, parsed("downstream_max=1,concurrency=2,downstream_max=3").downstream_max);
    // The error names the key as written.
    CPPUNIT_ASSERT_EQUAL(std::string("timeout: \"5s\" is not a number of milliseconds"), error_of("timeout=5s"));
  }

  void protocol_values() {
    for (const char* v : {"ascii", "memcached-ascii", "membase-ascii"})
      CPPUNIT_ASSERT(parsed(std::string("downstream_protocol=") + v).downstream_protocol == DownstreamProtocol::Ascii);
    for (const char* v : {"binary", "memcached-binary", "membase-binary"})
      CPPUNIT_ASSERT(parsed(std::string("protocol=") + v).downstream_protocol == DownstreamProtocol::Binary);
    CPPUNIT_ASSERT(parsed("downstream_protocol=meta").downstream_protocol == DownstreamProtocol::Meta);
    CPPUNIT_ASSERT_EQUAL(std::string("downstream_protocol: \"ASCII\" is not a protocol (ascii, binary or meta)"),
                         error_of("downstream_protocol=ASCII"));
    // The original took an empty value as ascii; ours refuses it.
    CPPUNIT_ASSERT_EQUAL(std::string("protocol: \"\" is not a protocol (ascii, binary or meta)"), error_of("protocol="));
  }

  void effective_protocol() {
    using D = DownstreamProtocol;
    CPPUNIT_ASSERT(effective_downstream_protocol(D::Unset, false) == D::Binary);  // as the original moxi
    CPPUNIT_ASSERT(effective_downstream_protocol(D::Unset, true) == D::Binary);
    CPPUNIT_ASSERT(effective_downstream_protocol(D::Binary, false) == D::Binary);
    CPPUNIT_ASSERT(effective_downstream_protocol(D::Ascii, false) == D::Ascii);
    CPPUNIT_ASSERT(effective_downstream_protocol(D::Ascii, true) == D::Binary);  // vBucket needs binary
    CPPUNIT_ASSERT(effective_downstream_protocol(D::Binary, true) == D::Binary);
    CPPUNIT_ASSERT(effective_downstream_protocol(D::Meta, false) == D::Meta);
    CPPUNIT_ASSERT(effective_downstream_protocol(D::Meta, true) == D::Binary);  // vBucket needs binary
  }

  void mcs_opts() {
    CPPUNIT_ASSERT_EQUAL(std::string(), parsed("mcs_opts=").mcs_opts);
    CPPUNIT_ASSERT_EQUAL(std::string("mcs_opts: \"distribution:modula\" is not supported (only "
                                     "distribution:ketama-weighted)"),
                         error_of("mcs_opts=distribution:modula"));
    CPPUNIT_ASSERT_EQUAL(std::string("mcs_opts: \"distribution:ketama\" is not supported (only "
                                     "distribution:ketama-weighted)"),
                         error_of("mcs_opts=distribution:ketama"));
  }

  void booleans() {
    CPPUNIT_ASSERT(parsed("time_stats=1").time_stats);
    CPPUNIT_ASSERT(parsed("time_stats=true").time_stats);
    CPPUNIT_ASSERT(!parsed("time_stats=1,time_stats=0").time_stats);
    CPPUNIT_ASSERT(!parsed("time_stats=false").time_stats);
    CPPUNIT_ASSERT(!parsed("").reuse_port);  // ports are exclusive unless asked
    CPPUNIT_ASSERT(parsed("reuse_port=1").reuse_port);
    CPPUNIT_ASSERT_EQUAL(std::string("time_stats: \"yes\" is not a boolean (0, 1, true or false)"),
                         error_of("time_stats=yes"));
  }

  void white_space_newlines_and_comments() {
    Behaviors b = parsed(
        "  downstream_max = 5 ,\tconnect_timeout=6\r\n"
        "# a comment line, with a comma=and an equals sign\n"
        "   # indented comment\n"
        "#skipped=1,wait_queue_timeout=7\n"
        "cycle=8,#inline=comment,usr = me \n"
        ",,\n"
        "\n");
    CPPUNIT_ASSERT_EQUAL(5u, b.downstream_max);
    CPPUNIT_ASSERT(b.connect_timeout == milliseconds(6));
    CPPUNIT_ASSERT(b.wait_queue_timeout == milliseconds(200));  // the whole # line is a comment
    CPPUNIT_ASSERT(b.cycle == milliseconds(8));
    CPPUNIT_ASSERT_EQUAL(std::string("me"), b.usr);
    // Nothing at all is fine.
    parsed("");
    parsed("  \n ");
    // A value may contain '=' (only the first one splits).
    CPPUNIT_ASSERT_EQUAL(std::string("a=b"), parsed("pwd=a=b").pwd);
  }

  void no_prefix_matching() {
    // The original matched any prefix of a key ("c=" was cycle); ours needs the whole name.
    CPPUNIT_ASSERT_EQUAL(std::string("c: unknown behavior key"), error_of("c=1"));
    CPPUNIT_ASSERT_EQUAL(std::string("downstream: unknown behavior key"), error_of("downstream=1"));
    CPPUNIT_ASSERT_EQUAL(std::string("Downstream_Max: unknown behavior key"),
                         error_of("Downstream_Max=1"));
    CPPUNIT_ASSERT_EQUAL(std::string("downstream_maxx: unknown behavior key"),
                         error_of("downstream_maxx=1"));
  }

  void error_messages() {
    CPPUNIT_ASSERT_EQUAL(std::string("downstream_timeout: \"abc\" is not a number of milliseconds"),
                         error_of("downstream_timeout=abc"));
    CPPUNIT_ASSERT_EQUAL(std::string("downstream_timeout: \"\" is not a number of milliseconds"),
                         error_of("downstream_timeout="));
    CPPUNIT_ASSERT_EQUAL(std::string("connect_timeout: \"-1\" is not a number of milliseconds"),
                         error_of("connect_timeout=-1"));
    CPPUNIT_ASSERT_EQUAL(std::string("connect_timeout: \"1.5\" is not a number of milliseconds"),
                         error_of("connect_timeout=1.5"));
    CPPUNIT_ASSERT_EQUAL(std::string("wait_queue_timeout: \"2147483648\" is too large (at most 2147483647 ms)"),
                         error_of("wait_queue_timeout=2147483648"));
    CPPUNIT_ASSERT_EQUAL(std::string("downstream_max: \"x\" is not a whole number"), error_of("downstream_max=x"));
    CPPUNIT_ASSERT_EQUAL(std::string("downstream_max: \"+4\" is not a whole number"), error_of("downstream_max=+4"));
    CPPUNIT_ASSERT_EQUAL(std::string("downstream_conn_max: \"99999999999\" is too large (at most 2147483647)"),
                         error_of("downstream_conn_max=99999999999"));
    CPPUNIT_ASSERT_EQUAL(std::string("port_listen: \"65536\" is not a port number (0-65535)"),
                         error_of("port_listen=65536"));
    CPPUNIT_ASSERT_EQUAL(std::string("admin_port: \"http\" is not a port number (0-65535)"),
                         error_of("admin_port=http"));
    CPPUNIT_ASSERT_EQUAL(std::string("foo: unknown behavior key"), error_of("downstream_max=1,foo=bar"));
    CPPUNIT_ASSERT_EQUAL(std::string("downstream_max: missing \"=VALUE\""), error_of("downstream_max"));
    CPPUNIT_ASSERT_EQUAL(std::string(": unknown behavior key"), error_of("=5"));
    // Long values are shortened in messages.
    std::string long_value(100, '9');
    CPPUNIT_ASSERT_EQUAL("cycle: \"" + std::string(60, '9') + "...\" is not a number of milliseconds",
                         error_of("cycle=" + long_value));
  }

  void all_or_nothing() {
    Behaviors b;
    b.downstream_max = 77;
    auto e = parse_behaviors("downstream_max=5,connect_timeout=bad", b);
    CPPUNIT_ASSERT(e.has_value());
    CPPUNIT_ASSERT_EQUAL(77u, b.downstream_max);
    // On success the previous values not named are kept.
    CPPUNIT_ASSERT(!parse_behaviors("connect_timeout=1", b));
    CPPUNIT_ASSERT_EQUAL(77u, b.downstream_max);
  }

  void client_passwords_file() {
    TempFile good("# bucket:password\nb1:p,1=%|x\r\n\ndefault:\nb2:a:b\n");
    ParseOutcome out = run({"-Z", "client_passwords=" + good.path(), "-z", "11211=127.0.0.1:1"});
    CPPUNIT_ASSERT_MESSAGE(out.error, out.ok());
    const auto& table = out.options->behaviors.client_passwords;
    CPPUNIT_ASSERT_EQUAL(size_t{3}, table.size());
    CPPUNIT_ASSERT_EQUAL(std::string("p,1=%|x"), table.at("b1"));  // CR dropped, any character kept
    CPPUNIT_ASSERT_EQUAL(std::string(""), table.at("default"));
    CPPUNIT_ASSERT_EQUAL(std::string("a:b"), table.at("b2"));       // split at the first colon
    // Errors name the file and the line, never its text.
    TempFile bad("b1:fine\nsecret-without-colon\n");
    out = run({"-Z", "client_passwords=" + bad.path(), "-z", "11211=127.0.0.1:1"});
    CPPUNIT_ASSERT(!out.ok());
    CPPUNIT_ASSERT_MESSAGE(out.error, out.error.find(bad.path() + " line 2") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(out.error, out.error.find("secret") == std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(out.error, out.error.find("fine") == std::string::npos);
    TempFile twice("b1:one\nb1:two\n");
    out = run({"-Z", "client_passwords=" + twice.path(), "-z", "11211=127.0.0.1:1"});
    CPPUNIT_ASSERT_MESSAGE(out.error, out.error.find("listed twice") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(out.error, out.error.find("one") == std::string::npos && out.error.find("two") == std::string::npos);
    out = run({"-Z", "client_passwords=/nonexistent/moxi-passwords", "-z", "11211=127.0.0.1:1"});
    CPPUNIT_ASSERT_MESSAGE(out.error, out.error.find("/nonexistent/moxi-passwords") != std::string::npos);
  }

  void default_bucket_name() {
    Behaviors unset;
    CPPUNIT_ASSERT(!parse_behaviors("downstream_max=1", unset));
    CPPUNIT_ASSERT(!unset.default_bucket_name);  // the first bucket
    Behaviors empty;
    CPPUNIT_ASSERT(!parse_behaviors("default_bucket_name=", empty));
    CPPUNIT_ASSERT(empty.default_bucket_name && empty.default_bucket_name->empty());  // none
    Behaviors named;
    CPPUNIT_ASSERT(!parse_behaviors("default_bucket_name=default", named));
    CPPUNIT_ASSERT_EQUAL(std::string("default"), named.default_bucket_name.value_or("<unset>"));
  }

  void ignored_keys() {
    Behaviors b;
    std::vector<std::string> ignored;
    auto e = parse_behaviors(
        "front_cache_max=1000,front_cache_lifespan=3000,front_cache_spec=yes|a,front_cache_unspec=no,"
        "key_stats_max=1,key_stats_lifespan=2,key_stats_spec=k,key_stats_unspec=u,optimize_set=s|t,"
        "downstream_weight=2,weight=3,host=h,port=1,front_cache_max=2",
        b, &ignored);
    CPPUNIT_ASSERT(!e);
    std::vector<std::string> expected{"front_cache_max", "front_cache_lifespan", "front_cache_spec",
                                      "front_cache_unspec", "key_stats_max", "key_stats_lifespan",
                                      "key_stats_spec", "key_stats_unspec", "optimize_set",
                                      "downstream_weight", "weight", "host", "port"};
    CPPUNIT_ASSERT(expected == ignored);  // each once, in order
    CPPUNIT_ASSERT_EQUAL(uint16_t{11211}, b.port_listen);
    // Their values are still checked.
    CPPUNIT_ASSERT_EQUAL(std::string("front_cache_lifespan: \"3s\" is not a number of milliseconds"),
                         error_of("front_cache_lifespan=3s"));
    CPPUNIT_ASSERT_EQUAL(std::string("port: \"x\" is not a port number (0-65535)"), error_of("port=x"));
  }

  // Every key of the table is known to the parser with a value of its kind.
  void every_table_key_parses() {
    for (const auto& k : behavior_keys()) {
      std::string value;
      switch (k.kind) {
        case ValueKind::Millis:
        case ValueKind::Count:
        case ValueKind::Port:
        case ValueKind::Bool: value = "1"; break;
        case ValueKind::Protocol: value = "binary"; break;
        case ValueKind::String: value = "text"; break;
        case ValueKind::McsOpts: value = "distribution:ketama-weighted"; break;
        case ValueKind::Size: value = "1m"; break;
        case ValueKind::Memory: value = "2g"; break;
      }
      Behaviors b;
      std::vector<std::string> ignored;
      auto e = parse_behaviors(std::string(k.name) + "=" + value, b, &ignored);
      CPPUNIT_ASSERT_MESSAGE(std::string(k.name) + ": " + (e ? *e : ""), !e);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(k.name), k.support == Support::Ignored, !ignored.empty());
      if (!k.synonym_of.empty()) {
        bool primary_found = false;
        for (const auto& p : behavior_keys())
          if (p.name == k.synonym_of && p.synonym_of.empty()) {
            primary_found = true;
            CPPUNIT_ASSERT(p.kind == k.kind);
            CPPUNIT_ASSERT(p.support == k.support);
          }
        CPPUNIT_ASSERT_MESSAGE(std::string(k.name), primary_found);
      }
    }
  }

  // buffer_max: a budget of the whole process, so sizes up to 1 TiB with a
  // g suffix; "auto" (the default) is 0 here and an eighth of RAM in main.
  void memory_budgets() {
    Behaviors b;
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, b.buffer_max);
    CPPUNIT_ASSERT(b.buffer_wait == milliseconds(1000));
    CPPUNIT_ASSERT(!parse_behaviors("buffer_max=3g,buffer_wait=250", b));
    CPPUNIT_ASSERT_EQUAL(uint64_t{3} << 30, b.buffer_max);
    CPPUNIT_ASSERT(b.buffer_wait == milliseconds(250));
    CPPUNIT_ASSERT(!parse_behaviors("buffer_max=64m", b));
    CPPUNIT_ASSERT_EQUAL(uint64_t{64} << 20, b.buffer_max);
    CPPUNIT_ASSERT(!parse_behaviors("buffer_max=1048576", b));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1} << 20, b.buffer_max);
    CPPUNIT_ASSERT(!parse_behaviors("buffer_max=auto", b));
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, b.buffer_max);
    const std::string why = "is not auto or a size from 1m to 1024g (bytes, or a number with k, m or g)";
    CPPUNIT_ASSERT_EQUAL("buffer_max: \"512k\" " + why, error_of("buffer_max=512k"));
    CPPUNIT_ASSERT_EQUAL("buffer_max: \"1025g\" " + why, error_of("buffer_max=1025g"));
    CPPUNIT_ASSERT_EQUAL("buffer_max: \"1t\" " + why, error_of("buffer_max=1t"));
    CPPUNIT_ASSERT_EQUAL("buffer_max: \"\" " + why, error_of("buffer_max="));
  }

  void through_the_command_line() {
    Options o = ok({"-Z", "downstream_max=5", "-Z", "connect_timeout=6", "-z", "11211=a"});
    CPPUNIT_ASSERT_EQUAL(5u, o.behaviors.downstream_max);
    CPPUNIT_ASSERT(o.behaviors.connect_timeout == milliseconds(6));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -Z downstream_timeout: \"abc\" is not a number of milliseconds"),
                         err({"-Z", "downstream_timeout=abc", "-z", "11211=a"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -Z foo: unknown behavior key"), err({"-Zfoo=1"}));
    o = ok({"-Z", "front_cache_max=10,optimize_set=x", "-z", "11211=a"});
    CPPUNIT_ASSERT_EQUAL(size_t{2}, o.warnings.size());
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: warning: -Z front_cache_max: accepted but ignored (not implemented)"),
                         o.warnings[0]);
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: warning: -Z optimize_set: accepted but ignored (not implemented)"),
                         o.warnings[1]);
    // -Z network: the vbucket library's choice, checked at parse time.
    CPPUNIT_ASSERT(config_network(ok({"-z", "11211=a"}).behaviors) == vbucket::Network::Default);
    CPPUNIT_ASSERT(config_network(ok({"-Z", "network=external", "-z", "11211=a"}).behaviors) ==
                   vbucket::Network::External);
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -Z network: \"public\" is not default or external"),
                         err({"-Z", "network=public", "-z", "11211=a"}));
  }

  void from_a_file() {
    TempFile f("# moxi behaviors\nusr=Administrator,\npwd=secret%pass\n\ndownstream_max = 3\n");
    Options o = ok({"-Z", f.path(), "-z", "11211=a"});
    CPPUNIT_ASSERT_EQUAL(std::string("Administrator"), o.behaviors.usr);
    CPPUNIT_ASSERT_EQUAL(std::string("secret%pass"), o.behaviors.pwd);
    CPPUNIT_ASSERT_EQUAL(3u, o.behaviors.downstream_max);
    // A relative path starting with '.' is a file too.
    // (Enough "../" to climb from any working directory to "/".)
    std::string relative = ".";
    for (int i = 0; i < 40; ++i) relative += "/..";
    relative += f.path();
    CPPUNIT_ASSERT_EQUAL(3u, ok({"-Z", relative, "-z", "11211=a"}).behaviors.downstream_max);
    // Later -Z options override the file and the other way round.
    CPPUNIT_ASSERT_EQUAL(4u, ok({"-Z", f.path(), "-Z", "downstream_max=4", "-z", "11211=a"}).behaviors.downstream_max);
    CPPUNIT_ASSERT_EQUAL(3u, ok({"-Z", "downstream_max=4", "-Z", f.path(), "-z", "11211=a"}).behaviors.downstream_max);
  }

  void file_errors() {
    TempFile bad("connect_timeout=400\ndownstream_timeout=5s\n");
    CPPUNIT_ASSERT_EQUAL("moxi: -Z " + bad.path() + ": downstream_timeout: \"5s\" is not a number of milliseconds",
                         err({"-Z", bad.path(), "-z", "11211=a"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -Z /nonexistent/moxi.behaviors: cannot read: ") + std::strerror(ENOENT),
                         err({"-Z", "/nonexistent/moxi.behaviors", "-z", "11211=a"}, kExitNoInput));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -Z /tmp: cannot read: ") + std::strerror(EISDIR),
                         err({"-Z", "/tmp", "-z", "11211=a"}, kExitNoInput));
    TempFile empty(" \n\n");
    CPPUNIT_ASSERT_EQUAL("moxi: -Z " + empty.path() + ": file is empty", err({"-Z", empty.path(), "-z", "11211=a"}));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BehaviorsTest);

}  // namespace
}  // namespace moxi::test
