// parse_down_policy and DownPolicy::ejects (src/routing/down_policy.h).
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "src/routing/down_policy.h"

namespace moxi::test {
namespace {

class DownPolicyTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DownPolicyTest);
  CPPUNIT_TEST(testWholeProcess);
  CPPUNIT_TEST(testPerPort);
  CPPUNIT_TEST(testErrorsNameTheItem);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testWholeProcess() {
    DownPolicy p;
    CPPUNIT_ASSERT(!parse_down_policy("fail", p));
    CPPUNIT_ASSERT(!p.ejects(11211));
    CPPUNIT_ASSERT(!parse_down_policy("eject", p));
    CPPUNIT_ASSERT(p.ejects(11211) && p.ejects(0));
  }

  void testPerPort() {
    DownPolicy p;
    CPPUNIT_ASSERT(!parse_down_policy("11211:eject|11212:fail|11213:eject", p));
    CPPUNIT_ASSERT(p.ejects(11211));
    CPPUNIT_ASSERT(!p.ejects(11212));
    CPPUNIT_ASSERT(p.ejects(11213));
    CPPUNIT_ASSERT(!p.ejects(11214));  // not named: fail
  }

  void testErrorsNameTheItem() {
    DownPolicy p;
    CPPUNIT_ASSERT_EQUAL(std::string("\"rehash\" is not fail, eject, or PORT:fail|PORT:eject ..."),
                         parse_down_policy("rehash", p).value_or(""));
    CPPUNIT_ASSERT_EQUAL(std::string("\"11211:drop\": drop is not fail or eject"),
                         parse_down_policy("11211:eject|11211:drop", p).value_or(""));
    CPPUNIT_ASSERT_EQUAL(std::string("\"0:eject\": 0 is not a port (1-65535)"),
                         parse_down_policy("0:eject", p).value_or(""));
    CPPUNIT_ASSERT_EQUAL(std::string("\"x:eject\": x is not a port (1-65535)"),
                         parse_down_policy("x:eject", p).value_or(""));
    CPPUNIT_ASSERT(parse_down_policy("", p).has_value());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DownPolicyTest);

}  // namespace
}  // namespace moxi::test
