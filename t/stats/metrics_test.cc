// The metrics table's naming rules, the histogram's bucket arithmetic, the
// summing and reset of per-worker Metrics, and the masking of secrets.
#include <cppunit/extensions/HelperMacros.h>

#include <set>
#include <string>

#include "src/stats/metrics.h"
#include "src/stats/render.h"

namespace moxi::test {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

class MetricsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(MetricsTest);
  CPPUNIT_TEST(testTableNamesFollowTheRules);
  CPPUNIT_TEST(testHistogramBuckets);
  CPPUNIT_TEST(testSumAndReset);
  CPPUNIT_TEST(testMaskPasswords);
  CPPUNIT_TEST(testMaskUrl);
  CPPUNIT_TEST(testDescribeHasOneLinePerMetric);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testTableNamesFollowTheRules() {
    std::set<std::string_view> names;
    for (const MetricInfo& m : metric_table()) {
      CPPUNIT_ASSERT_MESSAGE(std::string(m.name), names.insert(m.name).second);
      CPPUNIT_ASSERT_MESSAGE(std::string(m.name), !m.help.empty() && !m.unit.empty());
      CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(m.name), m.type == MetricType::Counter, ends_with(m.name, "_total"));
      if (m.type == MetricType::Histogram) CPPUNIT_ASSERT(ends_with(m.name, "_seconds") && !m.label.empty());
      for (char c : m.name) CPPUNIT_ASSERT((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    }
    CPPUNIT_ASSERT_EQUAL(kMetricCount, metric_table().size());
    CPPUNIT_ASSERT_EQUAL(std::string_view("requests_total"), metric_info(Metric::requests_total).name);
  }

  void testHistogramBuckets() {
    CPPUNIT_ASSERT_EQUAL(size_t{0}, Histogram::bucket_for(0));
    CPPUNIT_ASSERT_EQUAL(size_t{0}, Histogram::bucket_for(8));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, Histogram::bucket_for(9));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, Histogram::bucket_for(16));
    CPPUNIT_ASSERT_EQUAL(size_t{2}, Histogram::bucket_for(17));
    // Every value lands in the first bucket whose upper bound holds it.
    for (uint64_t us : {1ull, 100ull, 1000ull, 1024ull, 1025ull, 999999ull, 8388608ull}) {
      size_t i = Histogram::bucket_for(us);
      CPPUNIT_ASSERT(us <= Histogram::upper_us(i));
      if (i > 0) CPPUNIT_ASSERT(us > Histogram::upper_us(i - 1));
    }
    CPPUNIT_ASSERT_EQUAL(Histogram::kFinite, Histogram::bucket_for(8388609));  // +Inf
    CPPUNIT_ASSERT_EQUAL(Histogram::kFinite, Histogram::bucket_for(UINT64_MAX));
    Histogram h;
    h.record(5);
    h.record(20);
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, h.count());
    CPPUNIT_ASSERT_EQUAL(uint64_t{25}, h.sum_us);
  }

  void testSumAndReset() {
    Metrics a, b;
    a.inc(Metric::requests_total, 3);
    b.inc(Metric::requests_total);
    a.inc(Metric::client_connections_current);
    b.inc(Metric::client_connections_current);
    a.command(protocol::Op::Get).record(10);
    b.server("h:1").latency.record(100);
    a += b;
    CPPUNIT_ASSERT_EQUAL(uint64_t{4}, a.get(Metric::requests_total));
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, a.get(Metric::client_connections_current));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, a.command(protocol::Op::Get).count());
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, a.servers().at("h:1").latency.count());
    a.reset();
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, a.get(Metric::requests_total));
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, a.get(Metric::client_connections_current));  // a gauge
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, a.command(protocol::Op::Get).count());
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, a.servers().at("h:1").latency.count());
  }

  void testMaskPasswords() {
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"saslPassword":"****","name":"b"})"),
                         mask_passwords(R"({"saslPassword":"se\"cret","name":"b"})"));
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"password" : "****"})"), mask_passwords(R"({"password" : "x"})"));
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"password":"****"})"), mask_passwords(R"({"password":""})"));
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"password":null,"a":"b"})"), mask_passwords(R"({"password":null,"a":"b"})"));
    CPPUNIT_ASSERT_EQUAL(std::string("no secrets"), mask_passwords("no secrets"));
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"password":"****)"), mask_passwords(R"({"password":"unterminated)"));
  }

  void testMaskUrl() {
    CPPUNIT_ASSERT_EQUAL(std::string("http://u:****@h:8091/p"), mask_url("http://u:pw@h:8091/p"));
    CPPUNIT_ASSERT_EQUAL(std::string("http://h:8091/p@x"), mask_url("http://h:8091/p@x"));
    CPPUNIT_ASSERT_EQUAL(std::string("http://u@h/"), mask_url("http://u@h/"));
  }

  void testDescribeHasOneLinePerMetric() {
    const std::string text = describe_metrics();
    size_t lines = 0;
    for (char c : text) lines += c == '\n';
    CPPUNIT_ASSERT_EQUAL(kMetricCount, lines);
    CPPUNIT_ASSERT(text.find("requests_total\tcounter\t") != std::string::npos);
    CPPUNIT_ASSERT(text.find("request_duration_seconds\thistogram\tby command: ") != std::string::npos);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MetricsTest);

}  // namespace
}  // namespace moxi::test
