// Port files: parsing, waiting via inotify for the rename (memcached's way)
// or a direct write, and failing fast -- not at the deadline -- when the
// process that should write the file exits first.
#include <cppunit/extensions/HelperMacros.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "t/harness/check.h"
#include "t/support/port_file.h"
#include "t/support/process.h"
#include "t/support/temp_dir.h"

namespace moxi::test {

using namespace std::chrono_literals;

class PortFileTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(PortFileTest);
  CPPUNIT_TEST(parses_tcp_inet_lines_in_order);
  CPPUNIT_TEST(rejects_malformed_tcp_line);
  CPPUNIT_TEST(waits_for_rename_into_place);
  CPPUNIT_TEST(accepts_file_written_directly);
  CPPUNIT_TEST(returns_existing_file_at_once);
  CPPUNIT_TEST(renamed_file_without_ports_is_an_error);
  CPPUNIT_TEST(times_out_with_clear_error);
  CPPUNIT_TEST(fails_fast_when_writer_exits_first);
  CPPUNIT_TEST(fails_fast_when_memcached_rejects_its_arguments);
  CPPUNIT_TEST_SUITE_END();

 public:
  void parses_tcp_inet_lines_in_order() {
    CPPUNIT_ASSERT(parse_port_file("") == std::vector<int>{});
    auto ports = parse_port_file("TCP INET: 40123\nUDP INET: 1\nTCP INET6: 5\nTCP INET: 40124\r\n");
    CPPUNIT_ASSERT(ports == (std::vector<int>{40123, 40124}));
  }

  void rejects_malformed_tcp_line() {
    CPPUNIT_ASSERT_THROW(parse_port_file("TCP INET: 12ab\n"), std::runtime_error);
    CPPUNIT_ASSERT_THROW(parse_port_file("TCP INET: 70000\n"), std::runtime_error);
    CPPUNIT_ASSERT_THROW(parse_port_file("TCP INET: \n"), std::runtime_error);
  }

  void waits_for_rename_into_place() {
    TempDir dir;
    const std::string path = dir.file("ports");
    // The writer is only started once nothing exists yet; it may finish
    // before or after the wait begins -- both must work.
    Process::Options o;
    o.env = {{"F", path}};
    Process writer({"sh", "-c", "printf 'TCP INET: 1234\\nTCP INET: 2345\\n' > \"$F.lck\" && mv \"$F.lck\" \"$F\""},
                   o);
    CPPUNIT_ASSERT(wait_for_ports(path, 5s) == (std::vector<int>{1234, 2345}));
    auto status = writer.wait_exit(5s);
    CPPUNIT_ASSERT(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  }

  void accepts_file_written_directly() {
    TempDir dir;
    const std::string path = dir.file("ports");
    Process::Options o;
    o.env = {{"F", path}};
    o.out = Process::Output::pipe();
    // The writer stays alive after writing, so it is the inotify event
    // (IN_CLOSE_WRITE), not the writer's exit, that ends the wait.
    Process writer({"sh", "-c", "printf 'TCP INET: 4321\\n' > \"$F\"; echo written; exec sleep 1000"}, o);
    CPPUNIT_ASSERT_EQUAL(4321, wait_for_port_file(path, 5s, &writer));
    CPPUNIT_ASSERT_EQUAL(std::string("written"), read_line_from(writer.stdout_fd(), 5s));
    CPPUNIT_ASSERT(writer.running());
  }

  void returns_existing_file_at_once() {
    TempDir dir;
    const std::string path = dir.file("ports");
    Process::Options o;
    o.env = {{"F", path}};
    Process writer({"sh", "-c", "printf 'TCP INET: 999\\n' > \"$F\""}, o);
    auto status = writer.wait_exit(5s);
    CPPUNIT_ASSERT(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
    // The writer has exited and been reaped: the file alone decides.
    CPPUNIT_ASSERT_EQUAL(999, wait_for_port_file(path, 5s, &writer));
  }

  void renamed_file_without_ports_is_an_error() {
    TempDir dir;
    const std::string path = dir.file("ports");
    Process::Options o;
    o.env = {{"F", path}};
    Process writer({"sh", "-c", "printf 'UDP INET: 1\\n' > \"$F.lck\" && mv \"$F.lck\" \"$F\"; exec sleep 1000"}, o);
    try {
      wait_for_port_file(path, 5s, &writer);
      CPPUNIT_FAIL("a port file without TCP ports should be an error");
    } catch (const std::runtime_error& e) {
      MOXI_ASSERT_CONTAINS(std::string(e.what()), "no 'TCP INET: <port>' line");
      MOXI_ASSERT_CONTAINS(std::string(e.what()), path);
    }
  }

  void times_out_with_clear_error() {
    TempDir dir;
    Process silent({"sleep", "1000"});
    try {
      wait_for_port_file(dir.file("ports"), 100ms, &silent);
      CPPUNIT_FAIL("should time out");
    } catch (const std::runtime_error& e) {
      MOXI_ASSERT_CONTAINS(std::string(e.what()), "timed out waiting for port file " + dir.file("ports"));
      MOXI_ASSERT_CONTAINS(std::string(e.what()), "(still running)");
    }
  }

  void fails_fast_when_writer_exits_first() {
    TempDir dir;
    Process quitter({"sh", "-c", "exit 7"});
    const auto start = Clock::now();
    try {
      wait_for_port_file(dir.file("ports"), 30s, &quitter);
      CPPUNIT_FAIL("should fail when the writer exits");
    } catch (const std::runtime_error& e) {
      MOXI_ASSERT_CONTAINS(std::string(e.what()), "exited with status 7 before writing port file");
    }
    // Far below the 30 s deadline: the exit itself ended the wait.
    CPPUNIT_ASSERT(Clock::now() - start < 5s);
  }

  void fails_fast_when_memcached_rejects_its_arguments() {
    TempDir dir;
    const std::string path = dir.file("ports");
    Process::Options o;
    o.env = {{"MEMCACHED_PORT_FILENAME", path}};
    o.out = o.err = Process::Output::file(dir.file("log"));
    Process mc({"memcached", "--no-such-option-for-the-harness"}, o);
    const auto start = Clock::now();
    try {
      wait_for_port_file(path, 30s, &mc);
      CPPUNIT_FAIL("memcached with a bad option should not report a port");
    } catch (const std::runtime_error& e) {
      MOXI_ASSERT_CONTAINS(std::string(e.what()), "(memcached) exited with status");
    }
    CPPUNIT_ASSERT(Clock::now() - start < 5s);
    CPPUNIT_ASSERT(!mc.running());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PortFileTest);

}  // namespace moxi::test
