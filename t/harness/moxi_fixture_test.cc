// The Moxi fixture's plumbing (port file through MOXI_PORT_FILENAME, log
// capture, working directory, startup failure report, cleanup), exercised
// with a stand-in shell script since src/moxi is not built in this branch.
// Tests of moxi itself belong to the proxy suites.
#include <cppunit/extensions/HelperMacros.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "t/harness/check.h"
#include "t/support/servers.h"

namespace moxi::test {

using namespace std::chrono_literals;

class MoxiFixtureTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(MoxiFixtureTest);
  CPPUNIT_TEST(default_binary_is_in_the_build_tree);
  CPPUNIT_TEST(reads_ports_and_captures_log);
  CPPUNIT_TEST(startup_failure_reports_status_and_log);
  CPPUNIT_TEST_SUITE_END();

 public:
  void default_binary_is_in_the_build_tree() {
    CPPUNIT_ASSERT_EQUAL(std::string(MOXI_BUILDDIR "/src/moxi"), Moxi::default_binary());
  }

  void reads_ports_and_captures_log() {
    // Reports two ports the way moxi will, then keeps running.
    const std::string script =
        "echo \"started in $(pwd) with $1 $MOXI_EXTRA\" >&2;"
        "printf 'TCP INET: 1111\\nTCP INET: 2222\\n' > \"$MOXI_PORT_FILENAME.lck\";"
        "mv \"$MOXI_PORT_FILENAME.lck\" \"$MOXI_PORT_FILENAME\";"
        "exec sleep 1000";
    Moxi::Options o;
    o.binary = "/bin/sh";
    o.env = {{"MOXI_EXTRA", "env-ok"}};
    pid_t pid;
    std::string dir;
    {
      Moxi m({"-c", script, "sh", "arg-ok"}, o);
      pid = m.pid();
      dir = m.dir();
      CPPUNIT_ASSERT(m.ports() == (std::vector<int>{1111, 2222}));
      CPPUNIT_ASSERT_EQUAL(1111, m.port());
      CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1:1111"), m.address());
      CPPUNIT_ASSERT(m.running());
      CPPUNIT_ASSERT_EQUAL("started in " + dir + " with arg-ok env-ok\n", m.log());
    }
    assert_gone(pid);
    CPPUNIT_ASSERT(!std::filesystem::exists(dir));
  }

  void startup_failure_reports_status_and_log() {
    Moxi::Options o;
    o.binary = "/bin/sh";
    o.startup = 30s;
    const auto start = Clock::now();
    try {
      Moxi m({"-c", "echo 'bad config: no backends' >&2; exit 2"}, o);
      CPPUNIT_FAIL("startup should fail");
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      MOXI_ASSERT_CONTAINS(what, "moxi did not start");
      MOXI_ASSERT_CONTAINS(what, "exited with status 2");
      MOXI_ASSERT_CONTAINS(what, "bad config: no backends");
    }
    CPPUNIT_ASSERT(Clock::now() - start < 5s);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MoxiFixtureTest);

}  // namespace moxi::test
