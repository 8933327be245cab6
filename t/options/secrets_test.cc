// Passwords on the command line: no error or warning of -z, -Z or an
// argument shows any piece of one, whatever separators it contains (a
// password may hold , % = | ;, so what follows it on its line may be part
// of it), and each form carries the characters the man page says it does
// (PASSWORDS in moxi(1)).
#include <cppunit/extensions/HelperMacros.h>

#include "t/options/helpers.h"

namespace moxi::test {
namespace {

const std::string kCfg = "11211=127.0.0.1:11311";

// The pieces of every password below; none may appear in any message.
const std::vector<std::string> kPieces = {"Alpha1", "Bravo2", "Charlie3", "Delta4", "Echo5", "Foxtrot6"};

// Passwords with each separator, and with all of them.
const std::vector<std::string> kPasswords = {
    "Alpha1",
    "Alpha1,Bravo2",
    "Alpha1%Bravo2",
    "Alpha1=Bravo2",
    "Alpha1|Bravo2",
    "Alpha1;Bravo2",
    "Alpha1,Bravo2=Charlie3|Delta4%Echo5;Foxtrot6",
    "Alpha1,Bravo2,Charlie3=x",       // looks like a -z item
    "Alpha1,downstream_max=Bravo2",  // looks like a -Z item with a bad value
    "Alpha1,url=Bravo2,11211=Charlie3",
    "Alpha1;11211=Bravo2:Charlie3",  // looks like a static section
    "Alpha1;11211=./Bravo2",         // a static section with a file
    "Alpha1@Bravo2:Charlie3",
};

std::string replaced(std::string text, const std::string& password) {
  for (size_t at = text.find("<PW>"); at != std::string::npos; at = text.find("<PW>", at + password.size()))
    text.replace(at, 4, password);
  return text;
}

class SecretsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(SecretsTest);
  CPPUNIT_TEST(no_message_shows_a_password);
  CPPUNIT_TEST(the_tail_after_a_comma_is_hidden);
  CPPUNIT_TEST(what_is_not_after_a_password_is_still_shown);
  CPPUNIT_TEST(each_form_carries_what_the_man_page_says);
  CPPUNIT_TEST_SUITE_END();

  // Runs `args` and returns every message it gave (the error, the warnings).
  static std::vector<std::string> messages(const std::vector<std::string>& args,
                                           const std::map<std::string, std::string>& env = {}) {
    ParseOutcome out = run(args, env);
    std::vector<std::string> all = out.ok() ? out.options->warnings : std::vector<std::string>{out.error};
    return all;
  }

  static void assert_hidden(const std::vector<std::string>& args, const std::string& password, size_t& errors) {
    ParseOutcome out = run(args);
    if (!out.ok()) ++errors;
    std::vector<std::string> all = out.ok() ? out.options->warnings : std::vector<std::string>{out.error};
    std::string line;
    for (const auto& a : args) line += " " + a;
    for (const auto& m : all)
      for (const auto& piece : kPieces)
        CPPUNIT_ASSERT_MESSAGE("password " + password + " shown:" + line + "\n-> " + m,
                               m.find(piece) == std::string::npos);
  }

 public:
  void no_message_shows_a_password() {
    const std::vector<std::vector<std::string>> forms = {
        // -z auth= / apikey=, alone, before and after the URL, with more items.
        {"-z", "auth=user%<PW>"},
        {"-z", "apikey=user%<PW>"},
        {"-z", "auth=user%<PW>,url=http://h/x"},
        {"-z", "url=http://h/x,auth=user%<PW>"},
        {"-z", "url=http://h/x,auth = user%<PW> ,config=/tmp/c"},
        {"-z", "AUTH=user%<PW>"},
        {"-z", "url=http://h/x,auth=user%<PW>;url=http://i/x"},
        // URL user info, every place a URL goes.
        {"-z", "http://user:<PW>@h/x"},
        {"-z", "http://user:<PW>@h/x,"},
        {"-z", "http://user:<PW>@"},
        {"-z", "url=http://user:<PW>@h/x"},
        {"-z", "url=http://user:<PW>@"},
        {"-z", "host=http://h/x|http://user:<PW>@i/x"},
        {"-z", "11211=a:1;url=http://user:<PW>@h/x"},
        {"http://user:<PW>@h/x"},
        {"url=http://user:<PW>@"},
        {"-Z", "port_listen=11500", "http://user:<PW>@h/x", "-z", "11500=a"},
        // The old JID form, and pwd= where it does not belong.
        {"-z", "user@host%<PW>"},
        {"user@host%<PW>"},
        {"-z", "pwd=<PW>"},
        {"pwd=<PW>"},
        {"auth=user%<PW>"},
        // -Z pwd=, alone and among other items.
        {"-Z", "pwd=<PW>", "-z", kCfg},
        {"-Z", "usr=u,pwd=<PW>", "-z", kCfg},
        {"-Z", "usr=u,pwd=<PW>,downstream_max=x", "-z", kCfg},
        {"-Z", "usr=u, pwd = <PW>,bogus", "-z", kCfg},
        {"-Z", "PWD=<PW>,bogus", "-z", kCfg},
    };
    size_t errors = 0, runs = 0;
    for (const auto& password : kPasswords) {
      for (const auto& form : forms) {
        std::vector<std::string> args;
        for (const auto& a : form) args.push_back(replaced(a, password));
        assert_hidden(args, password, errors);
        ++runs;
      }
      // The same in -z and -Z files, the password on a line of its own or not.
      for (const std::string text : {"auth = user%<PW>\nurl = http://h/x\n", "url = http://h/x, auth = user%<PW>\n",
                                     "auth=user%<PW>\n", "url = http://user:<PW>@h/x\n# done\n"}) {
        TempFile f(replaced(text, password));
        assert_hidden({"-z", f.path()}, password, errors);
        ++runs;
      }
      for (const std::string text : {"usr=u\npwd=<PW>\n", "usr=u,pwd=<PW>,downstream_max=x\n", "pwd = <PW>\nbogus\n"}) {
        TempFile f(replaced(text, password));
        assert_hidden({"-Z", f.path(), "-z", kCfg}, password, errors);
        ++runs;
      }
    }
    // Most of these are errors: the check above ran on real error paths.
    CPPUNIT_ASSERT_MESSAGE(std::to_string(errors) + " of " + std::to_string(runs), errors * 3 > runs * 2);
  }

  // The case that showed a piece: the comma ended the password.
  void the_tail_after_a_comma_is_hidden() {
    const std::string note = " (what follows a password on its line is not shown: see PASSWORDS in moxi(1))";
    CPPUNIT_ASSERT_EQUAL("moxi: -z: \"****\" is not a configuration (expected PORT=SERVERS, PORT={json}, URL, url=URL "
                         "or ./FILE)" + note,
                         err({"-z", "auth=a%Secret,Tail"}));
    CPPUNIT_ASSERT_EQUAL("moxi: -z: \"****\" is not a configuration (expected PORT=SERVERS, PORT={json}, URL, url=URL "
                         "or ./FILE)" + note,
                         err({"-z", "url=http://h/x,auth=a%Secret,Tail"}));
    CPPUNIT_ASSERT_EQUAL("moxi: -Z ****: missing \"=VALUE\"" + note, err({"-Z", "pwd=Secret,Tail", "-z", kCfg}));
    CPPUNIT_ASSERT_EQUAL("moxi: -Z ****: \"****\" is not a whole number" + note,
                         err({"-Z", "pwd=Secret,downstream_max=Tail", "-z", kCfg}));
    CPPUNIT_ASSERT_EQUAL("moxi: -z: \"****\" is not an http://, https:// or couchbase:// URL" + note,
                         err({"-z", "http://u:Secret,Tail@h/x"}));
    CPPUNIT_ASSERT_EQUAL("moxi: -z: port ****: server \"****\": \"****\" is not a port number (1-65535)" + note,
                         err({"-z", "url=http://h/x,auth=u%Secret;11211=Tail:x"}));
    CPPUNIT_ASSERT_EQUAL("moxi: -z: port ****: ****: cannot read: No such file or directory" + note,
                         err({"-z", "url=http://h/x,auth=u%Secret;11211=./Tail"}, kExitNoInput));
    CPPUNIT_ASSERT_EQUAL("moxi: unexpected argument \"pwd=****\" (give a configuration with -z, or an http:// URL)" + note,
                         err({"pwd=Secret"}));
  }

  // Text before a password, and on other lines, is still quoted in full.
  void what_is_not_after_a_password_is_still_shown() {
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: \"bogus\" is not a configuration (expected PORT=SERVERS, PORT={json}, "
                                     "URL, url=URL or ./FILE)"),
                         err({"-z", "bogus,auth=u%Secret,url=http://h/x"}));
    TempFile f("url = http://h/x\nauth = u%Secret\nbogus\n");
    CPPUNIT_ASSERT_EQUAL("moxi: -z " + f.path() + ": \"bogus\" is not a configuration (expected PORT=SERVERS, "
                         "PORT={json}, URL, url=URL or ./FILE)",
                         err({"-z", f.path()}));
    TempFile g("pwd = Secret\ndownstream_max = x\n");
    CPPUNIT_ASSERT_EQUAL("moxi: -Z " + g.path() + ": downstream_max: \"x\" is not a whole number",
                         err({"-Z", g.path(), "-z", kCfg}));
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -Z downstream_max: \"x\" is not a whole number"),
                         err({"-Z", "downstream_max=x,pwd=Secret", "-z", kCfg}));
    // A user alone (no '%') is no password.
    CPPUNIT_ASSERT_EQUAL(std::string("moxi: -z: missing url=URL in \"auth=user\""), err({"-z", "auth=user"}));
  }

  // PASSWORDS in moxi(1): which form carries which character.
  void each_form_carries_what_the_man_page_says() {
    // -Z pwd= (and a -Z file): everything but ',' (and a line break); white space around it is dropped.
    CPPUNIT_ASSERT_EQUAL(std::string("a%b=c|d;e"), ok({"-Z", "pwd=a%b=c|d;e", "-z", kCfg}).behaviors.pwd);
    TempFile z("usr = u\npwd = a%b=c|d;e\n");
    CPPUNIT_ASSERT_EQUAL(std::string("a%b=c|d;e"), ok({"-Z", z.path(), "-z", kCfg}).behaviors.pwd);
    CPPUNIT_ASSERT_EQUAL(std::string("a"), ok({"-Z", "pwd=a,downstream_max=1", "-z", kCfg}).behaviors.pwd);
    // -z auth=USER%PASSWORD (and a -z file): % = | but neither ',' nor ';'.
    CPPUNIT_ASSERT(only<UrlSource>(ok({"-z", "auth=u%a%b=c|d,url=http://h/x"})).auth == (Credentials{"u", "a%b=c|d"}));
    TempFile f("auth = u%a%b=c|d\nurl = http://h/x\n");
    CPPUNIT_ASSERT(only<UrlSource>(ok({"-z", f.path()})).auth == (Credentials{"u", "a%b=c|d"}));
    CPPUNIT_ASSERT(!run({"-z", "auth=u%a,b,url=http://h/x"}).ok());  // ",b" is an item of its own
    CPPUNIT_ASSERT(!run({"-z", "auth=u%a;b,url=http://h/x"}).ok());  // ";" starts a section
    // URL user info: every character, %-escaped: , %2C  % %25  | %7C  ; %3B  (= as it is, or %3D).
    for (const char* url : {"http://u:a%2Cb%25c=d%7Ce%3Bf@h/x", "url=http://u:a%2Cb%25c%3Dd%7Ce%3Bf@h/x"})
      CPPUNIT_ASSERT(only<UrlSource>(ok({"-z", url})).auth == (Credentials{"u", "a,b%c=d|e;f"}));
    // The environment: every character, for the backends and for URLs without credentials.
    const std::map<std::string, std::string> env{{"MOXI_SASL_PLAIN_USR", "u"}, {"MOXI_SASL_PLAIN_PWD", "a,b%c=d|e;f"}};
    Options o = ok({"-z", "url=http://h/x"}, env);
    CPPUNIT_ASSERT_EQUAL(std::string("a,b%c=d|e;f"), o.behaviors.pwd);
    CPPUNIT_ASSERT(only<UrlSource>(o).auth == (Credentials{"u", "a,b%c=d|e;f"}));
    CPPUNIT_ASSERT(messages({"-z", "url=http://h/x"}, env).empty());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SecretsTest);

}  // namespace
}  // namespace moxi::test
