// libevent's own messages come out in moxi's log format (event_log.h), not
// as libevent's "[warn] ..." lines on stderr.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <event2/event.h>
#include <event2/util.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>

#include "src/core/event_log.h"
#include "src/util/log.h"
#include "t/support/temp_dir.h"

namespace moxi::test {
namespace {

class EventLogTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(EventLogTest);
  CPPUNIT_TEST(testLibeventWarningsUseMoxisFormat);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testLibeventWarningsUseMoxisFormat() {
    TempDir dir("moxi-eventlog");
    std::string error;
    CPPUNIT_ASSERT_MESSAGE(error, log::configure(0, dir.file("log"), std::chrono::milliseconds(10000), error));
    route_libevent_log();
    // A public libevent call that warns through its log: fcntl on a bad descriptor.
    CPPUNIT_ASSERT_EQUAL(-1, evutil_make_socket_nonblocking(-1));
    CPPUNIT_ASSERT_EQUAL(-1, evutil_make_socket_nonblocking(-1));  // the same event: rate-limited
    event_set_log_callback(nullptr);
    CPPUNIT_ASSERT(log::configure(0, "", std::chrono::milliseconds(10000), error));
    std::ifstream in(dir.file("log"));
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string expected = " WARN  libevent: fcntl(-1, F_GETFL): Bad file descriptor\n";
    CPPUNIT_ASSERT_MESSAGE(text, text.size() == 24 + expected.size());  // one line: stamp + message
    CPPUNIT_ASSERT_EQUAL(expected, text.substr(24));
    CPPUNIT_ASSERT_EQUAL('Z', text[23]);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(EventLogTest);

}  // namespace
}  // namespace moxi::test
