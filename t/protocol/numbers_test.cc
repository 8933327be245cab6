// memcached-compatible number parsing and formatting.
#include <cppunit/extensions/HelperMacros.h>

#include "src/protocol/ascii_numbers.h"

namespace moxi::protocol {

class NumbersTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(NumbersTest);
  CPPUNIT_TEST(testU32LikeSafeStrtoul);
  CPPUNIT_TEST(testI32LikeSafeStrtol);
  CPPUNIT_TEST(testU64LikeSafeStrtoull);
  CPPUNIT_TEST(testFormat);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testU32LikeSafeStrtoul() {
    uint32_t v = 7;
    CPPUNIT_ASSERT(parse_u32("0", v) && v == 0);
    CPPUNIT_ASSERT(parse_u32("4294967295", v) && v == 4294967295u);
    CPPUNIT_ASSERT(parse_u32("4294967296", v) && v == 0);  // memcached truncates
    CPPUNIT_ASSERT(parse_u32("+5", v) && v == 5);
    CPPUNIT_ASSERT(parse_u32("-0", v) && v == 0);
    CPPUNIT_ASSERT(parse_u32("1\t", v) && v == 1);  // a trailing space character ends the number
    CPPUNIT_ASSERT(!parse_u32("-1", v));
    CPPUNIT_ASSERT(!parse_u32("1x", v));
    CPPUNIT_ASSERT(!parse_u32("x", v));
    CPPUNIT_ASSERT(!parse_u32("", v));
    CPPUNIT_ASSERT(!parse_u32("99999999999999999999999", v));  // ERANGE
    CPPUNIT_ASSERT(parse_u32(std::string(100, '0') + "12", v) && v == 12);  // longer than the inline buffer
  }

  void testI32LikeSafeStrtol() {
    int32_t v = 7;
    CPPUNIT_ASSERT(parse_i32("-1", v) && v == -1);
    CPPUNIT_ASSERT(parse_i32("2147483648", v) && v == INT32_MIN);  // truncation, as memcached
    CPPUNIT_ASSERT(parse_i32("4294967297", v) && v == 1);
    CPPUNIT_ASSERT(parse_i32("-4294967295", v) && v == 1);
    CPPUNIT_ASSERT(!parse_i32("abc", v));
    CPPUNIT_ASSERT(!parse_i32("1.5", v));
    CPPUNIT_ASSERT(!parse_i32("99999999999999999999", v));
  }

  void testU64LikeSafeStrtoull() {
    uint64_t v = 7;
    CPPUNIT_ASSERT(parse_u64("18446744073709551615", v) && v == UINT64_MAX);
    CPPUNIT_ASSERT(!parse_u64("18446744073709551616", v));
    CPPUNIT_ASSERT(!parse_u64("-1", v));
    CPPUNIT_ASSERT(parse_u64("-0", v) && v == 0);
    CPPUNIT_ASSERT(!parse_u64("12a", v));
  }

  void testFormat() {
    char buf[24];
    CPPUNIT_ASSERT_EQUAL(std::string("0"), std::string(buf, format_u64(0, buf)));
    CPPUNIT_ASSERT_EQUAL(std::string("18446744073709551615"), std::string(buf, format_u64(UINT64_MAX, buf)));
    CPPUNIT_ASSERT_EQUAL(std::string("-9223372036854775808"), std::string(buf, format_i64(INT64_MIN, buf)));
    CPPUNIT_ASSERT_EQUAL(std::string("-1"), std::string(buf, format_i64(-1, buf)));
    // Every digit count, and the edges of the two-digits-at-a-time steps.
    uint64_t v = 1;
    for (int digits = 1; digits <= 20; ++digits, v *= 10) {
      for (uint64_t x : {v, v + 1, v * 2 + 3, v == 1 ? 9 : v * 10 - 1}) {
        if (digits == 20 && x < v) continue;  // past UINT64_MAX
        CPPUNIT_ASSERT_EQUAL(std::to_string(x), std::string(buf, format_u64(x, buf)));
      }
    }
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(NumbersTest);

}  // namespace moxi::protocol
