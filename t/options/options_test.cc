// Command-line flags: every form of every flag, the flags that need no
// configuration, positional URL arguments, environment, and port checks.
#include <cppunit/extensions/HelperMacros.h>

#include <cstring>

#include "t/options/helpers.h"

namespace moxi::test {
namespace {

const std::string kCfg = "11211=127.0.0.1:11311";

class OptionsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(OptionsTest);
  CPPUNIT_TEST(no_arguments_is_an_error);
  CPPUNIT_TEST(defaults);
  CPPUNIT_TEST(workers);
  CPPUNIT_TEST(max_connections);
  CPPUNIT_TEST(down_policy);
  CPPUNIT_TEST(item_size);
  CPPUNIT_TEST(listen_port);
  CPPUNIT_TEST(listen_port_and_static_sections);
  CPPUNIT_TEST(couchbase_server_command_line);
  CPPUNIT_TEST(exit_on_stdin_end);
  CPPUNIT_TEST(listen_address);
  CPPUNIT_TEST(daemonize_and_pidfile);
  CPPUNIT_TEST(verbosity);
  CPPUNIT_TEST(bundled_short_options);
  CPPUNIT_TEST(log_file);
  CPPUNIT_TEST(check_config_and_describe_stats);
  CPPUNIT_TEST(help_and_version_need_no_config);
  CPPUNIT_TEST(unknown_options);
  CPPUNIT_TEST(missing_values);
  CPPUNIT_TEST(ignored_old_flags_warn);
  CPPUNIT_TEST(refused_flags);
  CPPUNIT_TEST(positional_urls);
  CPPUNIT_TEST(positional_errors);
  CPPUNIT_TEST(double_dash);
  CPPUNIT_TEST(environment_credentials);
  CPPUNIT_TEST(port_conflicts);
  CPPUNIT_TEST(bare_json_uses_port_listen);
  CPPUNIT_TEST(argv_entry_point);
  CPPUNIT_TEST(version_text_names_libraries);
  CPPUNIT_TEST_SUITE_END();

 public:
  void no_arguments_is_an_error() {
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: need cluster configuration (-z or URL); see moxi -h"), err({}));
    // Options alone are not a configuration either.
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: need cluster configuration (-z or URL); see moxi -h"),
                         err({"-t", "2", "-vv"}));
  }

  void defaults() {
    Options o = ok({"-z", kCfg});
    CPPUNIT_ASSERT_EQUAL(std::string(), o.listen_address);
    CPPUNIT_ASSERT_EQUAL(default_workers(), o.workers);
    CPPUNIT_ASSERT(o.workers >= 1);
    CPPUNIT_ASSERT_EQUAL(1024u, o.max_connections);
    CPPUNIT_ASSERT(!o.daemonize);
    CPPUNIT_ASSERT_EQUAL(std::string(), o.pidfile);
    CPPUNIT_ASSERT_EQUAL(0, o.verbosity);
    CPPUNIT_ASSERT_EQUAL(std::string(), o.log_file);
    CPPUNIT_ASSERT(!o.check_config && !o.describe_stats && !o.show_help && !o.show_version);
    CPPUNIT_ASSERT(o.warnings.empty());
    CPPUNIT_ASSERT_EQUAL(uint16_t{11211}, o.behaviors.port_listen);
  }

  void workers() {
    CPPUNIT_ASSERT_EQUAL(4u, ok({"-t4", "-z", kCfg}).workers);
    CPPUNIT_ASSERT_EQUAL(4u, ok({"-t", "4", "-z", kCfg}).workers);
    CPPUNIT_ASSERT_EQUAL(1u, ok({"-t", "1", "-z", kCfg}).workers);
    CPPUNIT_ASSERT_EQUAL(1024u, ok({"-t", "1024", "-z", kCfg}).workers);
    CPPUNIT_ASSERT_EQUAL(2u, ok({"-t", "8", "-t2", "-z", kCfg}).workers);  // the last one wins
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -t: \"0\" is not a number of workers (1-1024)"),
                         err({"-t", "0", "-z", kCfg}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -t: \"1025\" is not a number of workers (1-1024)"),
                         err({"-t1025", "-z", kCfg}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -t: \"abc\" is not a number of workers (1-1024)"),
                         err({"-t", "abc", "-z", kCfg}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -t: \"-1\" is not a number of workers (1-1024)"),
                         err({"-t", "-1", "-z", kCfg}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -t: \"4x\" is not a number of workers (1-1024)"),
                         err({"-t4x", "-z", kCfg}));
  }

  // memcached's -I forms, and the -Z key that means the same.
  void item_size() {
    CPPUNIT_ASSERT_EQUAL(0u, ok({"-z", kCfg}).behaviors.item_size_max);  // auto: per bucket
    CPPUNIT_ASSERT_EQUAL(2u << 20, ok({"-I", "2m", "-z", kCfg}).behaviors.item_size_max);
    CPPUNIT_ASSERT_EQUAL(512u << 10, ok({"-I512K", "-z", kCfg}).behaviors.item_size_max);
    CPPUNIT_ASSERT_EQUAL(5000u, ok({"-I", "5000", "-z", kCfg}).behaviors.item_size_max);
    CPPUNIT_ASSERT_EQUAL(1u << 30, ok({"-I", "1024m", "-z", kCfg}).behaviors.item_size_max);
    CPPUNIT_ASSERT_EQUAL(3u << 20, ok({"-Z", "item_size_max=3m", "-z", kCfg}).behaviors.item_size_max);
    for (const char* bad : {"0", "1000", "1025m", "2g", "m", "-1", "1.5m"}) {
      CPPUNIT_ASSERT_EQUAL(std::string("moxi: -I: \"") + bad + "\" is not a size from 1k to 1024m (bytes, or a number with k or m)",
                           err({"-I", bad, "-z", kCfg}));
    }
  }

  void down_policy() {
    CPPUNIT_ASSERT_EQUAL(std::string("fail"), ok({"-z", kCfg}).behaviors.down_policy);
    CPPUNIT_ASSERT_EQUAL(std::string("eject"), ok({"-Z", "down_policy=eject", "-z", kCfg}).behaviors.down_policy);
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -Z down_policy: \"rehash\" is not fail, eject, or PORT:fail|PORT:eject ..."),
                         err({"-Z", "down_policy=rehash", "-z", kCfg}));
  }

  void max_connections() {
    CPPUNIT_ASSERT_EQUAL(10u, ok({"-c", "10", "-z", kCfg}).max_connections);
    CPPUNIT_ASSERT_EQUAL(5000u, ok({"-c5000", "-z", kCfg}).max_connections);
    // Only a -c given is held to the descriptor limit at start (main.cc).
    CPPUNIT_ASSERT(ok({"-c", "10", "-z", kCfg}).max_connections_given);
    CPPUNIT_ASSERT(!ok({"-z", kCfg}).max_connections_given);
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -c: \"0\" is not a number of connections (1-1048576)"),
                         err({"-c", "0", "-z", kCfg}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -c: \"many\" is not a number of connections (1-1048576)"),
                         err({"-c", "many", "-z", kCfg}));
  }

  // -p was the original's embedded memcached port: 0 (off) changes nothing;
  // another port is the proxy's unless -Z port_listen names one.
  void listen_port() {
    CPPUNIT_ASSERT_EQUAL(uint16_t{11411}, ok({"-p", "11411", "-z", kCfg}).behaviors.port_listen);
    Options o = ok({"-p0", "-z", kCfg});
    CPPUNIT_ASSERT_EQUAL(uint16_t{11211}, o.behaviors.port_listen);
    CPPUNIT_ASSERT(o.warnings.empty());  // silently
    o = ok({"-p", "0", "-Z", "port_listen=0", "-z", kCfg});
    CPPUNIT_ASSERT_EQUAL(uint16_t{0}, o.behaviors.port_listen);
    CPPUNIT_ASSERT(o.warnings.empty());
    // port_listen wins, whatever the order, and -p is warned about.
    for (const auto& args : {std::vector<std::string>{"-p", "1", "-Z", "port_listen=2", "-z", kCfg},
                             std::vector<std::string>{"-Z", "port_listen=2", "-p", "1", "-z", kCfg}}) {
      o = ok(args);
      CPPUNIT_ASSERT_EQUAL(uint16_t{2}, o.behaviors.port_listen);
      CPPUNIT_ASSERT_EQUAL(size_t{1}, o.warnings.size());
      CPPUNIT_ASSERT_EQUAL(std::string("moxi: warning: -p 1: ignored: -Z port_listen=2 is the listen port (-p was "
                                       "the original's embedded memcached port)"),
                           o.warnings[0]);
    }
    // Even when port_listen names the default, and from a -Z file.
    CPPUNIT_ASSERT_EQUAL(uint16_t{11211},
                         ok({"-p", "11311", "-Z", "port_listen=11211", "-z", kCfg}).behaviors.port_listen);
    TempFile f("port_listen = 11500\n");
    CPPUNIT_ASSERT_EQUAL(uint16_t{11500}, ok({"-p", "11311", "-Z", f.path(), "-z", kCfg}).behaviors.port_listen);
    // Other -Z keys leave -p in charge; the last -p wins.
    CPPUNIT_ASSERT_EQUAL(uint16_t{11311},
                         ok({"-Z", "downstream_max=4", "-p", "11311", "-z", kCfg}).behaviors.port_listen);
    CPPUNIT_ASSERT_EQUAL(uint16_t{11211}, ok({"-p", "11311", "-p", "0", "-z", kCfg}).behaviors.port_listen);
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -p: \"65536\" is not a port number (0-65535)"),
                         err({"-p", "65536", "-z", kCfg}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -p: \"x\" is not a port number (0-65535)"), err({"-px", "-z", kCfg}));
  }

  // Static PORT = ... sections carry their own port: -p changes none of them.
  void listen_port_and_static_sections() {
    for (const char* p : {"0", "11311"}) {
      Options o = ok({"-p", p, "-z", "11211=a;0=b"});
      CPPUNIT_ASSERT_EQUAL(size_t{2}, o.sources.size());
      CPPUNIT_ASSERT_EQUAL(uint16_t{11211}, std::get<StaticSection>(o.sources[0]).port);
      CPPUNIT_ASSERT_EQUAL(uint16_t{0}, std::get<StaticSection>(o.sources[1]).port);
      CPPUNIT_ASSERT(o.warnings.empty());
    }
    // A bare {json} listens on port_listen: -p 0 leaves it at 11211.
    CPPUNIT_ASSERT_EQUAL(uint16_t{11211}, only<StaticSection>(ok({"-p", "0", "-z", "{}"})).port);
    CPPUNIT_ASSERT_EQUAL(uint16_t{0}, only<StaticSection>(ok({"-p", "0", "-Z", "port_listen=0", "-z", "{}"})).port);
  }

  // The command line Couchbase Server ran moxi with.
  void couchbase_server_command_line() {
    Options o = ok({"-Z",
                    "port_listen=11211,default_bucket_name=default,downstream_max=1024,downstream_conn_max=4,"
                    "connect_max_errors=5,connect_retry_interval=30000,connect_timeout=400,auth_timeout=100,cycle=200",
                    "-z", "url=http://127.0.0.1:8091/pools/default/saslBucketsStreaming", "-p", "0", "-Y", "y", "-O",
                    "stderr"});
    const Behaviors& b = o.behaviors;
    CPPUNIT_ASSERT_EQUAL(uint16_t{11211}, b.port_listen);
    CPPUNIT_ASSERT_EQUAL(1024u, b.downstream_max);
    CPPUNIT_ASSERT_EQUAL(4u, b.downstream_conn_max);
    CPPUNIT_ASSERT_EQUAL(5u, b.connect_max_errors);
    CPPUNIT_ASSERT_EQUAL(int64_t{30000}, static_cast<int64_t>(b.connect_retry_interval.count()));
    CPPUNIT_ASSERT_EQUAL(int64_t{400}, static_cast<int64_t>(b.connect_timeout.count()));
    CPPUNIT_ASSERT_EQUAL(int64_t{100}, static_cast<int64_t>(b.auth_timeout.count()));
    CPPUNIT_ASSERT_EQUAL(std::string("http://127.0.0.1:8091/pools/default/saslBucketsStreaming"),
                         only<UrlSource>(o).urls.at(0));
    CPPUNIT_ASSERT(o.exit_on_stdin_end);
    CPPUNIT_ASSERT_EQUAL(std::string(), o.log_file);  // stderr
    // Neither -p 0 nor -Y warns; only the -Z keys that have no effect do.
    for (const auto& w : o.warnings)
      CPPUNIT_ASSERT_MESSAGE(w, w.starts_with("moxi: warning: -Z ") && w.ends_with(": accepted but ignored (not implemented)"));
  }

  void exit_on_stdin_end() {
    CPPUNIT_ASSERT(!ok({"-z", kCfg}).exit_on_stdin_end);
    CPPUNIT_ASSERT(ok({"-Y", "y", "-z", kCfg}).exit_on_stdin_end);
    CPPUNIT_ASSERT(ok({"-Yy", "-z", kCfg}).exit_on_stdin_end);
    CPPUNIT_ASSERT(!ok({"-Y", "y", "-Y", "n", "-z", kCfg}).exit_on_stdin_end);  // the last one wins
    CPPUNIT_ASSERT(ok({"-Y", "n", "-z", kCfg}).warnings.empty());
    for (const char* bad : {"", "yes", "Y", "1", "x"})
      CPPUNIT_ASSERT_EQUAL(std::string("moxi: -Y: \"") + bad + "\" is not y or n (y: exit when standard input ends)",
                           err({"-Y", bad, "-z", kCfg}));
    // A daemon's stdin is /dev/null: it would end at once.
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -Y y and -d: a daemon's standard input is /dev/null, so moxi would exit at "
                                     "once; give one of them"),
                         err({"-d", "-Y", "y", "-z", kCfg}));
    CPPUNIT_ASSERT(ok({"-d", "-Y", "n", "-z", kCfg}).daemonize);
  }

  void listen_address() {
    CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), ok({"-l", "127.0.0.1", "-z", kCfg}).listen_address);
    CPPUNIT_ASSERT_EQUAL(std::string("::1"), ok({"-l::1", "-z", kCfg}).listen_address);
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -l: empty address"), err({"-l", "", "-z", kCfg}));
  }

  void daemonize_and_pidfile() {
    Options o = ok({"-d", "-P", "/run/moxi.pid", "-z", kCfg});
    CPPUNIT_ASSERT(o.daemonize);
    CPPUNIT_ASSERT_EQUAL(std::string("/run/moxi.pid"), o.pidfile);
    CPPUNIT_ASSERT_EQUAL(std::string("x.pid"), ok({"-Px.pid", "-z", kCfg}).pidfile);
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -P: empty file name"), err({"-P", "", "-z", kCfg}));
  }

  void verbosity() {
    CPPUNIT_ASSERT_EQUAL(1, ok({"-v", "-z", kCfg}).verbosity);
    CPPUNIT_ASSERT_EQUAL(2, ok({"-vv", "-z", kCfg}).verbosity);
    CPPUNIT_ASSERT_EQUAL(3, ok({"-vvv", "-z", kCfg}).verbosity);
    CPPUNIT_ASSERT_EQUAL(2, ok({"-v", "-v", "-z", kCfg}).verbosity);
    CPPUNIT_ASSERT_EQUAL(3, ok({"-vvvvv", "-z", kCfg}).verbosity);  // capped
  }

  void bundled_short_options() {
    Options o = ok({"-dvvt4", "-z", kCfg});
    CPPUNIT_ASSERT(o.daemonize);
    CPPUNIT_ASSERT_EQUAL(2, o.verbosity);
    CPPUNIT_ASSERT_EQUAL(4u, o.workers);
    // The option that takes a value takes the next argument when nothing follows it.
    o = ok({"-vz", kCfg});
    CPPUNIT_ASSERT_EQUAL(1, o.verbosity);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, o.sources.size());
    o = ok({"-z" + kCfg});
    CPPUNIT_ASSERT_EQUAL(uint16_t{11211}, only<StaticSection>(o).port);
  }

  void log_file() {
    CPPUNIT_ASSERT_EQUAL(std::string("/var/log/moxi.log"), ok({"-o", "/var/log/moxi.log", "-z", kCfg}).log_file);
    CPPUNIT_ASSERT_EQUAL(std::string("m.log"), ok({"-Om.log", "-z", kCfg}).log_file);
    CPPUNIT_ASSERT_EQUAL(std::string(), ok({"-o", "stderr", "-z", kCfg}).log_file);
    CPPUNIT_ASSERT_EQUAL(std::string(), ok({"-o", "", "-z", kCfg}).log_file);
  }

  void check_config_and_describe_stats() {
    CPPUNIT_ASSERT(ok({"--check-config", "-z", kCfg}).check_config);
    // --check-config checks a configuration, so it needs one.
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: need cluster configuration (-z or URL); see moxi -h"),
                         err({"--check-config"}));
    Options o = ok({"--describe-stats"});
    CPPUNIT_ASSERT(o.describe_stats);
    CPPUNIT_ASSERT(o.sources.empty());
  }

  void help_and_version_need_no_config() {
    CPPUNIT_ASSERT(ok({"-h"}).show_help);
    CPPUNIT_ASSERT(ok({"--help"}).show_help);
    CPPUNIT_ASSERT(ok({"-V"}).show_version);
    CPPUNIT_ASSERT(ok({"--version"}).show_version);
    CPPUNIT_ASSERT(ok({"-t", "2", "-h"}).show_help);
    // Errors before -h still count: options are read in order.
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -t: \"0\" is not a number of workers (1-1024)"), err({"-t0", "-h"}));
  }

  void unknown_options() {
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: unknown option \"-Q\" (see moxi -h)"), err({"-Q", "-z", kCfg}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: unknown option \"-i\" (see moxi -h)"), err({"-di", "-z", kCfg}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: unknown option \"--foo\" (see moxi -h)"), err({"--foo"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: unknown option \"--threads\" (see moxi -h)"), err({"--threads=4"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: --help takes no value"), err({"--help=yes"}));
  }

  void missing_values() {
    for (const char* flag : {"-z", "-Z", "-p", "-l", "-t", "-c", "-P", "-o", "-O", "-Y"}) {
      ParseOutcome out = run({"-z", kCfg, flag});
      CPPUNIT_ASSERT(!out.ok());
      CPPUNIT_ASSERT_EQUAL(kExitUsage, out.exit_status);
      CPPUNIT_ASSERT_MESSAGE(out.error, out.error.starts_with(std::string("moxi: ") + flag + ": missing "));
    }
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -t: missing NUM"), err({"-z", kCfg, "-t"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: missing CONFIG"), err({"-z"}));
  }

  void ignored_old_flags_warn() {
    Options o = ok({"-m", "64", "-M", "-k", "-f", "1.25", "-n", "48", "-L", "-C", "-D", ":", "-U", "0", "-r",
                    "-a", "0700", "-R", "20", "-b", "1024", "-B", "auto", "-z", kCfg});
    CPPUNIT_ASSERT_EQUAL(size_t{14}, o.warnings.size());
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: warning: -m: ignored (embedded server memory)"), o.warnings[0]);
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: warning: -B: ignored (client protocol (moxi always detects it))"),
                         o.warnings[13]);
    // An ignored flag's value is consumed: it is not read as an option or an argument.
    o = ok({"-m64", "-U", "-z", "-z", kCfg});
    CPPUNIT_ASSERT_EQUAL(size_t{2}, o.warnings.size());
    CPPUNIT_ASSERT_EQUAL(size_t{1}, o.sources.size());
  }

  void refused_flags() {
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -s: UNIX socket: not supported; listen on TCP with -l/-p"),
                         err({"-s", "/tmp/moxi.sock", "-z", kCfg}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -u: setuid: not supported; start moxi as that user"),
                         err({"-u", "nobody", "-z", kCfg}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -X: mcmux mode: not supported"), err({"-X", "-z", kCfg}));
  }

  void positional_urls() {
    Options o = ok({"http://a:8091/pools/default/bucketsStreaming/default,http://b:8091/p"});
    const UrlSource& u = only<UrlSource>(o);
    CPPUNIT_ASSERT_EQUAL(size_t{2}, u.urls.size());
    CPPUNIT_ASSERT_EQUAL(std::string("http://a:8091/pools/default/bucketsStreaming/default"), u.urls[0]);
    CPPUNIT_ASSERT_EQUAL(std::string("http://b:8091/p"), u.urls[1]);
    CPPUNIT_ASSERT(!u.auth);
    CPPUNIT_ASSERT(!u.auth_given);

    o = ok({"-Z", "port_listen=11311", "http://Administrator:password@127.0.0.1:8091/pools/default/saslBucketsStreaming"});
    const UrlSource& v = only<UrlSource>(o);
    CPPUNIT_ASSERT_EQUAL(std::string("http://127.0.0.1:8091/pools/default/saslBucketsStreaming"), v.urls.at(0));
    CPPUNIT_ASSERT(v.auth == (Credentials{"Administrator", "password"}));
    CPPUNIT_ASSERT_EQUAL(uint16_t{11311}, o.behaviors.port_listen);

    // The url= and auth= forms are accepted as an argument too, and https.
    o = ok({"auth=u%p,url=https://h/x|https://i/x"});
    CPPUNIT_ASSERT_EQUAL(size_t{2}, only<UrlSource>(o).urls.size());
    CPPUNIT_ASSERT(only<UrlSource>(o).auth == (Credentials{"u", "p"}));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, ok({"HTTP://H/x"}).sources.size());
    // -z and an argument together: a static section plus a URL source.
    o = ok({"-z", "11311=mc:1", "http://h/x"});
    CPPUNIT_ASSERT_EQUAL(size_t{2}, o.sources.size());
  }

  void positional_errors() {
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: unexpected argument \"vbucket1.cfg\" (give a configuration with -z, or an "
                                     "http:// URL)"),
                         err({"vbucket1.cfg"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: unexpected argument \"./vbucket1.cfg\" (give a configuration with -z, or "
                                     "an http:// URL)"),
                         err({"./vbucket1.cfg"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: argument \"user@host%****\": not a config URL (XMPP/JID configurations "
                                     "are not supported; give an http:// URL) (what follows a password on its line is not shown: see PASSWORDS in moxi(1))"),
                         err({"user@host%pw"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: unexpected argument \"-\" (give a configuration with -z, or an http:// "
                                     "URL)"),
                         err({"-"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: argument: \"http://\" has no host"), err({"http://"}));
  }

  void double_dash() {
    Options o = ok({"-v", "--", "http://h/x"});
    CPPUNIT_ASSERT_EQUAL(1, o.verbosity);
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: unexpected argument \"-v\" (give a configuration with -z, or an http:// "
                                     "URL)"),
                         err({"--", "-v"}));
  }

  void environment_credentials() {
    std::map<std::string, std::string> env{{"MOXI_SASL_PLAIN_USR", "bucket"}, {"MOXI_SASL_PLAIN_PWD", "secret"}};
    Options o = ok({"http://h/x"}, env);
    CPPUNIT_ASSERT_EQUAL(std::string("bucket"), o.behaviors.usr);
    CPPUNIT_ASSERT_EQUAL(std::string("secret"), o.behaviors.pwd);
    // URLs without credentials of their own use usr/pwd for HTTP.
    CPPUNIT_ASSERT(only<UrlSource>(o).auth == (Credentials{"bucket", "secret"}));
    CPPUNIT_ASSERT(!only<UrlSource>(o).auth_given);
    // -Z overrides the environment.
    o = ok({"-Z", "usr=other,pwd=", "http://h/x"}, env);
    CPPUNIT_ASSERT_EQUAL(std::string("other"), o.behaviors.usr);
    CPPUNIT_ASSERT_EQUAL(std::string(), o.behaviors.pwd);
    CPPUNIT_ASSERT(only<UrlSource>(o).auth == (Credentials{"other", ""}));
    // Credentials in the URL or auth= win; an empty auth= means no HTTP auth at all.
    o = ok({"http://a:b@h/x"}, env);
    CPPUNIT_ASSERT(only<UrlSource>(o).auth == (Credentials{"a", "b"}));
    o = ok({"-z", "auth=,url=http://h/x"}, env);
    CPPUNIT_ASSERT(!only<UrlSource>(o).auth);
    CPPUNIT_ASSERT(only<UrlSource>(o).auth_given);
    // Without a user there is no HTTP auth.
    CPPUNIT_ASSERT(!only<UrlSource>(ok({"http://h/x"})).auth);
  }

  void port_conflicts() {
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: port 11211 is given to two configurations"),
                         err({"-z", "11211=a;11211=b"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: port 11211 is given to two configurations"),
                         err({"-z", "11211=a", "-z", "11211=b"}));
    // Port 0 means "any free port": several are fine.
    CPPUNIT_ASSERT_EQUAL(size_t{2}, ok({"-z", "0=a;0=b"}).sources.size());
    // A URL config listens on port_listen, which must not clash with a static port.
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: port 11211 is both a -z PORT and port_listen (-p)"),
                         err({"-z", "11211=a", "http://h/x"}));
    CPPUNIT_ASSERT_EQUAL(size_t{2}, ok({"-z", "11211=a", "-p", "11311", "http://h/x"}).sources.size());
    CPPUNIT_ASSERT_EQUAL(size_t{2}, ok({"-z", "0=a", "-Z", "port_listen=0", "http://h/x"}).sources.size());
    // -p 0 leaves port_listen at 11211.
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: port 11211 is both a -z PORT and port_listen (-p)"),
                         err({"-z", "11211=a", "-p", "0", "http://h/x"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: only one configuration may listen on port_listen (11211): write PORT = "
                                     "{json}, and put failover URLs in one list (URL,URL)"),
                         err({"-z", "url=http://a/x;url=http://b/x"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -Z admin_port: 11211 is also a proxy listen port"),
                         err({"-Z", "admin_port=11211", "-z", "11211=a"}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -Z admin_port: 11211 is also a proxy listen port"),
                         err({"-Z", "admin_port=11211", "http://h/x"}));
    CPPUNIT_ASSERT_EQUAL(uint16_t{8080}, ok({"-Z", "admin_port=8080", "-z", "11211=a"}).behaviors.admin_port.value());
  }

  void bare_json_uses_port_listen() {
    Options o = ok({"-p", "11500", "-z", "{\"serverList\":[\"a:1\"],\"vBucketMap\":[[0]]}"});
    const StaticSection& s = only<StaticSection>(o);
    CPPUNIT_ASSERT(s.json);
    CPPUNIT_ASSERT(s.port_from_listen);
    CPPUNIT_ASSERT_EQUAL(uint16_t{11500}, s.port);
    CPPUNIT_ASSERT_EQUAL(uint16_t{11211}, only<StaticSection>(ok({"-z", "{}"})).port);
  }

  void argv_entry_point() {
    std::vector<std::string> words{"moxi", "-t", "3", "-z", kCfg};
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    ParseOutcome out = parse_options(static_cast<int>(words.size()), argv.data());
    CPPUNIT_ASSERT_MESSAGE(out.error, out.ok());
    CPPUNIT_ASSERT_EQUAL(3u, out.options->workers);
    // argv[0] alone: no configuration.
    out = parse_options(1, argv.data());
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: need cluster configuration (-z or URL); see moxi -h"), out.error);
  }

  void version_text_names_libraries() {
    std::string v = version_text();
    CPPUNIT_ASSERT_MESSAGE(v, v.starts_with("moxi 2."));
    CPPUNIT_ASSERT_MESSAGE(v, v.find("libevent 2.") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(v, v.find("libcurl ") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(v, v.find("libmemcached ") != std::string::npos);
    CPPUNIT_ASSERT(v.ends_with("\n"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(OptionsTest);

}  // namespace
}  // namespace moxi::test
