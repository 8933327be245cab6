// Small assertions shared by the harness tests.
#pragma once

#include <cppunit/extensions/HelperMacros.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <string>

namespace moxi::test {

// The process is neither our child any more (reaped: waitpid says ECHILD)
// nor alive anywhere (kill(pid, 0) says ESRCH).
inline void assert_gone(pid_t pid) {
  CPPUNIT_ASSERT(pid > 0);
  int status = 0;
  errno = 0;
  CPPUNIT_ASSERT_EQUAL_MESSAGE("waitpid should find no such child", pid_t(-1), ::waitpid(pid, &status, WNOHANG));
  CPPUNIT_ASSERT_EQUAL(ECHILD, errno);
  errno = 0;
  CPPUNIT_ASSERT_EQUAL_MESSAGE("the process should no longer exist", -1, ::kill(pid, 0));
  CPPUNIT_ASSERT_EQUAL(ESRCH, errno);
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

#define MOXI_ASSERT_CONTAINS(haystack, needle)                                                       \
  CPPUNIT_ASSERT_MESSAGE(std::string("expected '") + (needle) + "' in: " + (haystack),             \
                         ::moxi::test::contains((haystack), (needle)))

}  // namespace moxi::test
