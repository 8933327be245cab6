// Operations: `stats proxy` and its sub-commands summed over workers, the
// admin HTTP endpoint (/metrics in the Prometheus text format, /healthz,
// /readyz, /config), --describe-stats, and one counter per limit. Counts are
// checked exactly: every request a test sends is accounted for.
#include <cppunit/extensions/HelperMacros.h>

#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "src/stats/metrics.h"
#include "t/proxy/cluster.h"
#include "t/support/rest_mock.h"
#include "t/support/temp_dir.h"
#include "t/support/tsv.h"

namespace moxi::test {
namespace {

std::string admin_url(const Moxi& moxi, const std::string& path) {
  if (moxi.admin_port() <= 0) throw std::runtime_error("moxi reported no admin port");
  return "http://127.0.0.1:" + std::to_string(moxi.admin_port()) + path;
}

// Parses a Prometheus text exposition and checks it line by line: every
// sample belongs to a family announced by HELP and TYPE before it; histogram
// buckets are cumulative, end with le="+Inf", and _count equals that bucket.
// Returns the samples by "name{labels}".
std::map<std::string, double> parse_exposition(const std::string& text) {
  std::map<std::string, std::string> type_of;  // family -> type
  std::set<std::string> helped;
  std::map<std::string, double> samples;
  // Per histogram series (family + labels without le): buckets in order.
  std::map<std::string, std::vector<std::pair<std::string, double>>> buckets;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    CPPUNIT_ASSERT_MESSAGE("exposition must end with a newline", nl != std::string::npos);
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    CPPUNIT_ASSERT_MESSAGE("empty line in exposition", !line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      CPPUNIT_ASSERT_MESSAGE(line, name.rfind("moxi_", 0) == 0 && helped.insert(name).second);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const size_t sp = line.find(' ', 7);
      const std::string name = line.substr(7, sp - 7);
      const std::string type = line.substr(sp + 1);
      CPPUNIT_ASSERT_MESSAGE(line, helped.count(name) == 1);
      CPPUNIT_ASSERT_MESSAGE(line, type == "counter" || type == "gauge" || type == "histogram");
      if (type == "counter") CPPUNIT_ASSERT_MESSAGE(line, name.size() > 6 && name.substr(name.size() - 6) == "_total");
      type_of[name] = type;
      continue;
    }
    CPPUNIT_ASSERT_MESSAGE(line, line[0] != '#');
    const size_t value_at = line.rfind(' ');
    const std::string key = line.substr(0, value_at);
    const double value = std::stod(line.substr(value_at + 1));
    const std::string name = key.substr(0, key.find('{'));
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (!type_of.count(family) && name.size() > s.size() && name.substr(name.size() - s.size()) == s)
        family = name.substr(0, name.size() - s.size());
    }
    CPPUNIT_ASSERT_MESSAGE("sample without HELP/TYPE: " + line, type_of.count(family) == 1);
    CPPUNIT_ASSERT_MESSAGE("duplicate sample: " + line, samples.emplace(key, value).second);
    if (type_of[family] == "histogram" && name == family + "_bucket") {
      const size_t le = key.find(",le=\"");
      CPPUNIT_ASSERT_MESSAGE(line, le != std::string::npos);
      const std::string series = family + key.substr(key.find('{'), le - key.find('{')) + "}";
      buckets[series].emplace_back(key.substr(le + 5, key.size() - le - 7), value);
    }
  }
  for (const auto& [series, list] : buckets) {
    CPPUNIT_ASSERT_MESSAGE(series, !list.empty() && list.back().first == "+Inf");
    for (size_t i = 1; i < list.size(); ++i) {
      CPPUNIT_ASSERT_MESSAGE(series + " buckets not cumulative", list[i].second >= list[i - 1].second);
      if (i + 1 < list.size()) CPPUNIT_ASSERT(std::stod(list[i].first) > std::stod(list[i - 1].first));
    }
    const std::string family = series.substr(0, series.find('{'));
    const std::string labels = series.substr(series.find('{'));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(series + " _count", list.back().second, samples.at(family + "_count" + labels));
    CPPUNIT_ASSERT_MESSAGE(series + " _sum", samples.count(family + "_sum" + labels) == 1);
  }
  return samples;
}

std::map<std::string, double> scrape(const Moxi& moxi) {
  HttpResponse r = http_get(admin_url(moxi, "/metrics"));
  CPPUNIT_ASSERT_EQUAL(200L, r.status);
  CPPUNIT_ASSERT(r.header("content-type").find("version=0.0.4") != std::string::npos);
  return parse_exposition(r.body);
}

ClusterOptions with_admin(std::vector<std::string> behaviors = {}) {
  ClusterOptions o;
  o.behaviors = std::move(behaviors);
  o.behaviors.push_back("admin_port=0");
  return o;
}

// The streaming REST config of a bucket whose document carries a SASL password.
std::string bucket_with_password(const std::string& server) {
  return R"({"name":"default","saslPassword":"t0pS3cret","nodeLocator":"vbucket","vBucketServerMap":{"hashAlgorithm":"CRC","numReplicas":0,"serverList":[")" +
         server + R"("],"vBucketMap":[[0],[0],[0],[0]]}})";
}

// The runs of `letters` that follow each `prefix` in `text` (a plain scan:
// std::regex trips GCC 12's maybe-uninitialized warning in sanitizer builds).
std::vector<std::string> words_after(const std::string& text, const std::string& prefix, const std::string& letters) {
  std::vector<std::string> out;
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
    const size_t start = at + prefix.size();
    const size_t end = text.find_first_not_of(letters, start);
    std::string word = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!word.empty()) out.push_back(std::move(word));
  }
  return out;
}

class StatsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(StatsTest);
  CPPUNIT_TEST(testDescribeStatsPrintsTheTable);
  CPPUNIT_TEST(testStatsProxySumsOverWorkers);
  CPPUNIT_TEST(testResetZeroesCountersAndHistograms);
  CPPUNIT_TEST(testSubCommands);
  CPPUNIT_TEST(testMetricsExpositionCountsRequestsExactly);
  CPPUNIT_TEST(testBackendHistogramsWithTimeStats);
  CPPUNIT_TEST(testPerServerAndPerBucketCounters);
  CPPUNIT_TEST(testHealthAndNotFound);
  CPPUNIT_TEST(testReadyAfterUrlConfigAndPasswordsMasked);
  CPPUNIT_TEST(testNotReadyWhileABackendIsDownWhenAllMustBeUp);
  CPPUNIT_TEST(testReadyWhileABucketCanBeReached);
  CPPUNIT_TEST(testNotReadyWhileDraining);
  CPPUNIT_TEST(testKeyValueAndLineLimitsAreCounted);
  CPPUNIT_TEST(testConnectionLimitIsCounted);
  CPPUNIT_TEST(testAlertRulesUseMetricsMoxiServes);
  CPPUNIT_TEST(testClientBufferBudgetsAreCounted);
  CPPUNIT_TEST(testFailedReloadsAreCounted);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testDescribeStatsPrintsTheTable() {
    ProcessOptions po;
    po.out = ProcessOutput::pipe();
    Process p({Moxi::default_binary(), "--describe-stats"}, po);
    for (const MetricInfo& m : metric_table()) {
      const std::string line = read_line_from(p.stdout_fd(), Deadline(std::chrono::seconds(5)));
      CPPUNIT_ASSERT_EQUAL(std::string(m.name) + "\t" + std::string(metric_type_name(m.type)), line.substr(0, line.find('\t', line.find('\t') + 1)));
      CPPUNIT_ASSERT_MESSAGE(line, line.find(std::string(m.help)) != std::string::npos);
    }
    auto status = p.wait_exit(Deadline(std::chrono::seconds(5)));
    CPPUNIT_ASSERT(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  }

  void testStatsProxySumsOverWorkers() {
    Cluster cluster;  // -t 2
    TestClient stats = cluster.client();
    const Stats before = stats_proxy(stats);
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, stat(before, "workers"));
    // Many connections (the kernel spreads them over both workers), each
    // sending a known number of requests.
    constexpr int kConnections = 16, kPerConnection = 5;
    std::vector<TestClient> clients;
    for (int i = 0; i < kConnections; ++i) clients.push_back(cluster.client());
    for (int i = 0; i < kConnections; ++i)
      for (int r = 0; r < kPerConnection; ++r)
        CPPUNIT_ASSERT_EQUAL(std::string("STORED"), clients[static_cast<size_t>(i)].set("k" + std::to_string(i), "v"));
    const Stats after = stats_proxy(stats);
    // Plus one: the second "stats proxy" itself.
    CPPUNIT_ASSERT_EQUAL(uint64_t{kConnections * kPerConnection + 1},
                         stat(after, "requests_total") - stat(before, "requests_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{kConnections}, stat(after, "client_connections_total") -
                                                     stat(before, "client_connections_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{kConnections + 1}, stat(after, "client_connections_current"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(after, "request_errors_total"));
    // Pipelined requests behind a stats proxy keep their order.
    stats.send("stats proxy\r\nversion\r\n");
    while (stats.read_line() != "END") {
    }
    CPPUNIT_ASSERT_EQUAL(std::string("VERSION 2.0.0"), stats.read_line());
  }

  void testResetZeroesCountersAndHistograms() {
    Cluster cluster;
    TestClient c = cluster.client();
    for (int i = 0; i < 10; ++i) CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k", "v"));
    CPPUNIT_ASSERT(stat(stats_proxy(c), "requests_total") >= 10);
    CPPUNIT_ASSERT(stats_proxy(c, "timings").count("request_duration_us:set:count") == 1);
    CPPUNIT_ASSERT_EQUAL(std::string("OK"), c.request("stats proxy reset"));
    // The resets were posted to every worker before the next sum's copy
    // requests, and each worker runs its queue in order.
    const Stats after = stats_proxy(c);
    CPPUNIT_ASSERT(stat(after, "requests_total") <= 1);  // this request, if decoded after the reset
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(after, "backend_connects_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(after, "client_connections_current"));  // gauges stay
    CPPUNIT_ASSERT(stats_proxy(c, "timings").count("request_duration_us:set:count") == 0);
  }

  void testSubCommands() {
    Cluster cluster(with_admin({"pwd=hunter2", "usr=me"}));
    TestClient c = cluster.client();
    // "all" is "stats proxy".
    Stats all = stats_proxy(c, "all");
    CPPUNIT_ASSERT_EQUAL(std::string("static"), all.at("config_source"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(all, "config_generation"));
    CPPUNIT_ASSERT(all.count("config_age_seconds") == 1 && all.count("uptime_seconds") == 1);
    for (const MetricInfo& m : metric_table())
      if (m.type != MetricType::Histogram && m.label.empty())
        CPPUNIT_ASSERT_MESSAGE(std::string(m.name), all.count(std::string(m.name)) == 1);
    Stats behaviors = stats_proxy(c, "behaviors");
    CPPUNIT_ASSERT_EQUAL(std::string("****"), behaviors.at("behavior:pwd"));
    CPPUNIT_ASSERT_EQUAL(std::string("me"), behaviors.at("behavior:usr"));
    CPPUNIT_ASSERT_EQUAL(std::string("0"), behaviors.at("behavior:admin_port"));
    Stats config = stats_proxy(c, "config");
    CPPUNIT_ASSERT_EQUAL(size_t{2}, config.size());  // PORT:NAME:config and PORT:NAME:rev
    CPPUNIT_ASSERT(config.begin()->first.ends_with(":default:config"));
    CPPUNIT_ASSERT_MESSAGE(config.begin()->second,
                           config.begin()->second.find(cluster.backend(1).address()) != std::string::npos);
    CPPUNIT_ASSERT_EQUAL(std::string("none"), std::next(config.begin())->second);  // a server list has no rev
    // Unknown: just END, as the original.
    CPPUNIT_ASSERT_EQUAL(size_t{0}, stats_proxy(c, "buckets").size());
    // Binary: the same stats as STAT packets.
    TestClient b = cluster.client();
    b.send_binary(bin::request(bin::kStat, "proxy", "", "", 9));
    std::set<std::string> names;
    for (BinaryPacket p = b.read_binary(); !p.key.empty(); p = b.read_binary()) names.insert(p.key);
    CPPUNIT_ASSERT(names.count("requests_total") == 1 && names.count("config_generation") == 1);
  }

  void testMetricsExpositionCountsRequestsExactly() {
    Cluster cluster(with_admin());
    const auto before = scrape(cluster.moxi());
    TestClient c = cluster.client();
    constexpr int kSets = 7, kGets = 4, kDeletes = 3;
    for (int i = 0; i < kSets; ++i) CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("k" + std::to_string(i), "v"));
    for (int i = 0; i < kGets; ++i) CPPUNIT_ASSERT(c.get("k" + std::to_string(i)).has_value());
    for (int i = 0; i < kDeletes; ++i) CPPUNIT_ASSERT_EQUAL(std::string("DELETED"), c.request("delete k" + std::to_string(i)));
    const auto after = scrape(cluster.moxi());
    auto delta = [&](const std::string& key) { return after.at(key) - (before.count(key) ? before.at(key) : 0.0); };
    CPPUNIT_ASSERT_EQUAL(double{kSets + kGets + kDeletes}, delta("moxi_requests_total"));
    CPPUNIT_ASSERT_EQUAL(double{kSets}, delta("moxi_request_duration_seconds_count{command=\"set\"}"));
    CPPUNIT_ASSERT_EQUAL(double{kGets}, delta("moxi_request_duration_seconds_count{command=\"get\"}"));
    CPPUNIT_ASSERT_EQUAL(double{kDeletes}, delta("moxi_request_duration_seconds_count{command=\"delete\"}"));
    CPPUNIT_ASSERT_EQUAL(double{kSets}, delta("moxi_request_duration_seconds_bucket{command=\"set\",le=\"+Inf\"}"));
    CPPUNIT_ASSERT(delta("moxi_request_duration_seconds_sum{command=\"set\"}") > 0);
    CPPUNIT_ASSERT_EQUAL(1.0, after.at("moxi_client_connections_current"));
    CPPUNIT_ASSERT_EQUAL(2.0, after.at("moxi_workers"));
    // moxi_build_info{version="...",revision="..."} 1: what runs, for dashboards.
    bool build_info = false;
    for (const auto& [key, value] : after)
      if (key.rfind("moxi_build_info{version=\"", 0) == 0 && key.find(",revision=\"") != std::string::npos)
        build_info = value == 1.0;
    CPPUNIT_ASSERT(build_info);
    // Without time_stats there are no per-server histograms.
    for (const auto& [key, value] : after)
      CPPUNIT_ASSERT_MESSAGE(key, key.rfind("moxi_backend_request_duration_seconds", 0) != 0);
  }

  // Requests, errors, hits, misses by bucket; requests, errors and bytes by
  // backend server; counted exactly, in /metrics and stats proxy.
  void testPerServerAndPerBucketCounters() {
    Cluster cluster(with_admin({"connect_max_errors=100"}));
    TestClient c = cluster.client();
    std::map<int, int> per_backend;
    constexpr int kSets = 10;
    for (int i = 0; i < kSets; ++i) {
      CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("pk" + std::to_string(i), "v"));
      ++per_backend[cluster.owner("pk" + std::to_string(i))];
    }
    // One multiget of 4 hits and 2 misses, spread over the servers.
    c.send("get pk0 pk1 pk2 pk3 nope0 nope1\r\n");
    int values = 0;
    for (std::string line; (line = c.read_line()) != "END";)
      if (line.rfind("VALUE ", 0) == 0) ++values, c.read_line();
    CPPUNIT_ASSERT_EQUAL(4, values);
    std::set<int> multiget_servers;
    for (const char* k : {"pk0", "pk1", "pk2", "pk3", "nope0", "nope1"}) multiget_servers.insert(cluster.owner(k));
    CPPUNIT_ASSERT(!c.get("nope2").has_value());
    // A dead server: its request is an error of the bucket and of the server.
    std::string k1;
    for (int i = 0; k1.empty(); ++i)
      if (cluster.owner("dead" + std::to_string(i)) == 1) k1 = "dead" + std::to_string(i);
    cluster.backend(1).stop();
    CPPUNIT_ASSERT_EQUAL("SERVER_ERROR proxy write to downstream " + cluster.backend(1).address(), c.set(k1, "x"));
    const auto m = scrape(cluster.moxi());
    const std::string bucket = "{bucket=\"default\"}";
    CPPUNIT_ASSERT_EQUAL(double{kSets + 3}, m.at("moxi_bucket_requests_total" + bucket));
    CPPUNIT_ASSERT_EQUAL(1.0, m.at("moxi_bucket_errors_total" + bucket));
    CPPUNIT_ASSERT_EQUAL(4.0, m.at("moxi_bucket_get_hits_total" + bucket));
    CPPUNIT_ASSERT_EQUAL(3.0, m.at("moxi_bucket_get_misses_total" + bucket));
    for (int b = 0; b < cluster.backend_count(); ++b) {
      const std::string server = "{server=\"" + cluster.backend(b).address() + "\"}";
      const int nope2 = cluster.owner("nope2") == b ? 1 : 0;
      const int expected = per_backend[b] + static_cast<int>(multiget_servers.count(b)) + nope2 + (b == 1 ? 1 : 0);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(server, double(expected), m.at("moxi_backend_requests_total" + server));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(server, b == 1 ? 1.0 : 0.0, m.at("moxi_backend_errors_total" + server));
      CPPUNIT_ASSERT_MESSAGE(server, m.at("moxi_backend_bytes_sent_total" + server) > 0);
      CPPUNIT_ASSERT_MESSAGE(server, m.at("moxi_backend_bytes_received_total" + server) > 0);
    }
    // Errors by kind, per server: the stopped one's refused connect.
    const std::string dead = "{server=\"" + cluster.backend(1).address() + "\",kind=";
    CPPUNIT_ASSERT(m.at("moxi_backend_failures_total" + dead + "\"connect\"}") +
                       m.at("moxi_backend_failures_total" + dead + "\"closed\"}") >= 1);
    CPPUNIT_ASSERT_EQUAL(0.0, m.at("moxi_backend_failures_total" + dead + "\"timeout\"}"));
    const std::string alive = "{server=\"" + cluster.backend(0).address() + "\",kind=";
    for (const char* kind : {"connect", "closed", "garbage", "auth", "timeout", "slow"})
      CPPUNIT_ASSERT_EQUAL(0.0, m.at("moxi_backend_failures_total" + alive + "\"" + kind + "\"}"));
    Stats stats = stats_proxy(c);
    CPPUNIT_ASSERT(stats.count("backend_failures_total:" + cluster.backend(1).address() + ":connect") == 1);
    CPPUNIT_ASSERT_EQUAL(uint64_t{4}, stat(stats, "bucket_get_hits_total:default"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats, "backend_errors_total:" + cluster.backend(1).address()));
  }

  // packaging/moxi-alerts.yml: every moxi_* name its expressions use is a
  // family moxi really exports (a misspelt name would make an alert that
  // never fires), and every alert is explained in the man page. One request first, so that the per-server families
  // (backend_health, backend_server_downs_total) have a series.
  void testAlertRulesUseMetricsMoxiServes() {
    const std::string rules = read_file(std::string(MOXI_SRCDIR) + "/packaging/moxi-alerts.yml");
    std::set<std::string> used;
    std::istringstream lines(rules);
    bool in_expr = false;
    for (std::string line; std::getline(lines, line);) {
      // An expression is an "expr:" line and the lines indented below it.
      const size_t key = line.find_first_not_of(' ');
      if (key == std::string::npos) continue;
      if (line.compare(key, 5, "expr:") == 0) in_expr = true;
      else if (line.compare(key, 2, "- ") == 0 || line.find(':') != std::string::npos) in_expr = false;
      if (!in_expr) continue;
      for (auto name : words_after(line, "moxi_", "abcdefghijklmnopqrstuvwxyz_")) used.insert("moxi_" + name);
    }
    CPPUNIT_ASSERT_MESSAGE("no moxi_* names found in the rules' expressions", used.size() >= 10);
    // Each alert is explained in the man page's ALERTS (".B NAME" tag).
    const std::string man = read_file(std::string(MOXI_SRCDIR) + "/man/moxi.1");
    const std::string alerts = man.substr(man.find(".SH ALERTS\n"), man.find(".SH LIMITS\n") - man.find(".SH ALERTS\n"));
    int alert_count = 0;
    for (const std::string& alert :
         words_after(rules, "- alert: ", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")) {
      ++alert_count;
      CPPUNIT_ASSERT_MESSAGE(alert + " is not explained in ALERTS of man/moxi.1",
                             alerts.find(".TP\n.B " + alert + "\n") != std::string::npos);
    }
    CPPUNIT_ASSERT(alert_count >= 10);

    Cluster cluster(with_admin());
    TestClient c = cluster.client();
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("alert-rules", "v"));
    std::set<std::string> families;
    for (const auto& [key, value] : scrape(cluster.moxi())) families.insert(key.substr(0, key.find('{')));
    for (const std::string& metric : used)
      CPPUNIT_ASSERT_MESSAGE(metric + " (packaging/moxi-alerts.yml) is not in moxi's /metrics", families.count(metric) == 1);
  }

  void testBackendHistogramsWithTimeStats() {
    Cluster cluster(with_admin({"time_stats=1"}));
    TestClient c = cluster.client();
    constexpr int kSets = 20;
    for (int i = 0; i < kSets; ++i) CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("key" + std::to_string(i), "v"));
    std::map<int, int> per_backend;
    for (int i = 0; i < kSets; ++i) ++per_backend[cluster.owner("key" + std::to_string(i))];
    const auto m = scrape(cluster.moxi());
    for (int b = 0; b < cluster.backend_count(); ++b) {
      const std::string labels = "{server=\"" + cluster.backend(b).address() + "\"}";
      const std::string key = "moxi_backend_request_duration_seconds_count" + labels;
      CPPUNIT_ASSERT_EQUAL_MESSAGE(key, double(per_backend[b]), m.count(key) ? m.at(key) : 0.0);
      CPPUNIT_ASSERT_EQUAL(0.0, m.at("moxi_backend_in_backoff" + labels));
    }
    Stats timings = stats_proxy(c, "timings");
    CPPUNIT_ASSERT_EQUAL(std::to_string(kSets), timings.at("request_duration_us:set:count"));
  }

  void testHealthAndNotFound() {
    Cluster cluster(with_admin());
    HttpResponse health = http_get(admin_url(cluster.moxi(), "/healthz"));
    CPPUNIT_ASSERT_EQUAL(200L, health.status);
    CPPUNIT_ASSERT_EQUAL(std::string("ok\n"), health.body);
    CPPUNIT_ASSERT_EQUAL(200L, http_get(admin_url(cluster.moxi(), "/readyz")).status);
    CPPUNIT_ASSERT_EQUAL(404L, http_get(admin_url(cluster.moxi(), "/nope")).status);
    HttpResponse config = http_get(admin_url(cluster.moxi(), "/config"));
    CPPUNIT_ASSERT_EQUAL(200L, config.status);
    CPPUNIT_ASSERT(config.body.find("\"source\":\"static\"") != std::string::npos);
    CPPUNIT_ASSERT(config.body.find("\"" + cluster.backend(1).address() + "\"") != std::string::npos);
  }

  void testReadyAfterUrlConfigAndPasswordsMasked() {
    Memcached mc;
    RestMock mock;
    mock.fail_next(503, 1000000);  // no map yet
    Moxi moxi({"-l", "127.0.0.1", "-t", "2", "-Z", "port_listen=0,admin_port=0",
               "auth=bucketuser%s3cretpw,url=" + mock.url("/pools/default/bucketsStreaming/default")});
    HttpResponse not_ready = http_get(admin_url(moxi, "/readyz"));
    CPPUNIT_ASSERT_EQUAL(503L, not_ready.status);
    CPPUNIT_ASSERT_MESSAGE(not_ready.body, not_ready.body.find("no cluster map loaded yet") != std::string::npos);
    CPPUNIT_ASSERT(http_get(admin_url(moxi, "/config")).body.find("\"bucket\":null") != std::string::npos);

    mock.set_config(bucket_with_password(mc.address()));
    mock.fail_next(503, 0);
    Deadline deadline(std::chrono::seconds(10));
    long status = 0;
    while ((status = http_get(admin_url(moxi, "/readyz")).status) != 200 && !deadline.expired()) {
    }
    CPPUNIT_ASSERT_EQUAL(200L, status);

    const std::string config = http_get(admin_url(moxi, "/config")).body;
    CPPUNIT_ASSERT_MESSAGE(config, config.find("t0pS3cret") == std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(config, config.find("s3cretpw") == std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(config, config.find(R"(\"saslPassword\":\"****\")") != std::string::npos);
    CPPUNIT_ASSERT(config.find("bucketsStreaming") != std::string::npos);  // the source URL
    TestClient c(moxi.port());
    Stats stats = stats_proxy(c, "config");
    CPPUNIT_ASSERT_EQUAL(size_t{2}, stats.size());  // PORT:NAME:config and PORT:NAME:rev
    CPPUNIT_ASSERT(stats.begin()->first.ends_with(":config"));
    const std::string doc = stats.begin()->second;
    CPPUNIT_ASSERT_MESSAGE(doc, doc.find("t0pS3cret") == std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(doc, doc.find(R"("saslPassword":"****")") != std::string::npos);
    Stats all = stats_proxy(c);
    CPPUNIT_ASSERT(all.at("config_source").find("s3cretpw") == std::string::npos);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(all, "config_generation"));  // the first map loaded
  }

  // -Z ready_when=all: any server down makes moxi not ready, naming it.
  void testNotReadyWhileABackendIsDownWhenAllMustBeUp() {
    Cluster cluster(with_admin({"connect_max_errors=1", "ready_when=all"}));
    std::string key;  // a key the dead backend owns
    for (int i = 0; key.empty(); ++i)
      if (cluster.owner("k" + std::to_string(i)) == 0) key = "k" + std::to_string(i);
    TestClient c = cluster.client();
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set(key, "v"));
    CPPUNIT_ASSERT_EQUAL(200L, http_get(admin_url(cluster.moxi(), "/readyz")).status);
    cluster.backend(0).stop();
    // Each failed request is a failed connect; past connect_max_errors the
    // server is down and /readyz says which one.
    Deadline deadline(std::chrono::seconds(10));
    HttpResponse r;
    while ((r = http_get(admin_url(cluster.moxi(), "/readyz"))).status == 200 && !deadline.expired())
      CPPUNIT_ASSERT(c.request("get " + key).rfind("SERVER_ERROR", 0) == 0);
    CPPUNIT_ASSERT_EQUAL(503L, r.status);
    CPPUNIT_ASSERT_MESSAGE(r.body, r.body.find(cluster.backend(0).address()) != std::string::npos);
    CPPUNIT_ASSERT_EQUAL(1.0, scrape(cluster.moxi()).at("moxi_backend_in_backoff{server=\"" +
                                                          cluster.backend(0).address() + "\"}"));
    // Back up: a probe finds it.
    cluster.backend(0).restart();
    while (http_get(admin_url(cluster.moxi(), "/readyz")).status != 200 && !deadline.expired()) {
    }
    CPPUNIT_ASSERT_EQUAL(200L, http_get(admin_url(cluster.moxi(), "/readyz")).status);
  }

  // The default (reachable): one dead server of two leaves moxi ready (every
  // moxi would otherwise leave its load balancer at once); a bucket with
  // every server down does not.
  void testReadyWhileABucketCanBeReached() {
    Cluster cluster(with_admin({"connect_max_errors=1"}));
    auto key_of = [&](int backend) {
      for (int i = 0;; ++i)
        if (cluster.owner("k" + std::to_string(i)) == backend) return "k" + std::to_string(i);
    };
    const std::string k0 = key_of(0), k1 = key_of(1);
    TestClient c = cluster.client();
    cluster.backend(0).stop();
    const std::string down0 = "moxi_backend_in_backoff{server=\"" + cluster.backend(0).address() + "\"}";
    Deadline deadline(std::chrono::seconds(10));
    auto is_down = [&](const std::string& series) {
      const auto m = scrape(cluster.moxi());
      auto it = m.find(series);
      return it != m.end() && it->second >= 1.0;
    };
    while (!is_down(down0)) {
      CPPUNIT_ASSERT_MESSAGE("backend 0 never went down", !deadline.expired());
      c.request("get " + k0);
    }
    CPPUNIT_ASSERT_EQUAL(200L, http_get(admin_url(cluster.moxi(), "/readyz")).status);
    const auto m = scrape(cluster.moxi());
    const std::string label = "{server=\"" + cluster.backend(0).address() + "\"}";
    CPPUNIT_ASSERT(m.at("moxi_backend_health" + label) >= 2.0);  // probing or down
    CPPUNIT_ASSERT_EQUAL(1.0, m.at("moxi_backend_server_downs_total" + label));
    CPPUNIT_ASSERT_EQUAL(0.0, m.at("moxi_backend_health{server=\"" + cluster.backend(1).address() + "\"}"));
    cluster.backend(1).stop();
    HttpResponse r;
    while ((r = http_get(admin_url(cluster.moxi(), "/readyz"))).status == 200) {
      CPPUNIT_ASSERT_MESSAGE("never unready with both servers down", !deadline.expired());
      c.request("get " + k1);
    }
    CPPUNIT_ASSERT_EQUAL(503L, r.status);
    CPPUNIT_ASSERT_MESSAGE(r.body, r.body.find("every server is down") != std::string::npos);
  }

  // Draining (SIGTERM): not ready, so that the load balancer sends no more
  // clients, while the clients still connected are served.
  void testNotReadyWhileDraining() {
    Cluster cluster(with_admin({"drain_timeout=10000"}));
    TestClient idle = cluster.client();
    CPPUNIT_ASSERT(idle.request("version").rfind("VERSION ", 0) == 0);
    CPPUNIT_ASSERT_EQUAL(200L, http_get(admin_url(cluster.moxi(), "/readyz")).status);
    cluster.moxi().process().kill(SIGTERM);
    HttpResponse r;
    for (Deadline d(std::chrono::seconds(5)); (r = http_get(admin_url(cluster.moxi(), "/readyz"))).status == 200;)
      CPPUNIT_ASSERT(!d.expired());
    CPPUNIT_ASSERT_EQUAL(503L, r.status);
    CPPUNIT_ASSERT_MESSAGE(r.body, r.body.find("draining") != std::string::npos);
    CPPUNIT_ASSERT_EQUAL(200L, http_get(admin_url(cluster.moxi(), "/healthz")).status);  // alive all the same
  }

  void testKeyValueAndLineLimitsAreCounted() {
    Cluster cluster(with_admin());
    TestClient c = cluster.client();
    const std::string long_key(251, 'k');
    CPPUNIT_ASSERT_EQUAL(std::string("CLIENT_ERROR bad command line format"), c.request("get " + long_key));
    CPPUNIT_ASSERT_EQUAL(std::string("CLIENT_ERROR bad command line format"), c.request("delete " + long_key));
    c.send("set big 0 0 1048577\r\n" + std::string(1048577, 'x') + "\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("SERVER_ERROR object too large for cache"), c.read_line());
    std::string many = "get";  // no limit on keys, as in memcached
    for (int i = 0; i < 4097; ++i) many += " k" + std::to_string(i);
    CPPUNIT_ASSERT_EQUAL(std::string("END"), c.request(many));
    Stats s = stats_proxy(c);
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, stat(s, "limit_key_length_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(s, "limit_value_size_total"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(s, "limit_line_length_total"));
    TestClient d = cluster.client();
    d.send("set " + std::string(3000, 'x') + "\r\n");
    CPPUNIT_ASSERT_EQUAL(std::string("CLIENT_ERROR line too long"), d.read_line());
    CPPUNIT_ASSERT_EQUAL(1.0, scrape(cluster.moxi()).at("moxi_limit_line_length_total"));
    // Binary: a key over 250 bytes.
    TestClient b = cluster.client();
    b.send_binary(bin::request(bin::kGet, long_key, "", "", 1));
    CPPUNIT_ASSERT_EQUAL(uint16_t(0x04), b.read_binary().status());
    CPPUNIT_ASSERT_EQUAL(3.0, scrape(cluster.moxi()).at("moxi_limit_key_length_total"));
  }

  void testConnectionLimitIsCounted() {
    ClusterOptions o;
    o.extra_args = {"-c", "2"};
    Cluster cluster(o);
    TestClient a = cluster.client();
    TestClient b = cluster.client();
    CPPUNIT_ASSERT_EQUAL(std::string("VERSION 2.0.0"), a.request("version"));
    CPPUNIT_ASSERT_EQUAL(std::string("VERSION 2.0.0"), b.request("version"));
    TestClient refused = cluster.client();
    CPPUNIT_ASSERT_EQUAL(std::string("ERROR Too many open connections"), refused.read_line());
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, stat(stats_proxy(a), "client_connections_rejected_total"));
  }

  // A SIGHUP reload that fails is counted in stats proxy and /metrics
  // (process-wide, so every worker reports the same count); one that
  // succeeds is not.
  void testFailedReloadsAreCounted() {
    Memcached a, b;
    TempDir dir("moxi-reload");
    const std::string file = dir.file("pool.cfg");
    auto write = [&file](const std::string& text) {
      std::ofstream out(file, std::ios::trunc);
      out << text;
    };
    write("0 = " + a.address() + "\n");
    Moxi moxi({"-l", "127.0.0.1", "-t", "2", "-Z", "admin_port=0", "-z", file});
    TestClient c(moxi.port());
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, stat(stats_proxy(c), "config_reload_failures_total"));
    const std::string exposition = http_get(admin_url(moxi, "/metrics")).body;
    CPPUNIT_ASSERT_MESSAGE(exposition, exposition.find("# HELP moxi_config_reload_failures_total SIGHUP reloads that "
                                                       "failed") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(exposition,
                           exposition.find("# TYPE moxi_config_reload_failures_total counter\n") != std::string::npos);
    CPPUNIT_ASSERT_EQUAL(0.0, scrape(moxi).at("moxi_config_reload_failures_total"));
    // Each SIGHUP is handled in turn; the stats read after it sees its count.
    auto reload_and_wait = [&](uint64_t failures) {
      moxi.process().kill(SIGHUP);
      Deadline deadline(std::chrono::seconds(10));
      while (stat(stats_proxy(c), "config_reload_failures_total") != failures)
        CPPUNIT_ASSERT_MESSAGE("never " + std::to_string(failures) + " failures\n" + moxi.log(), !deadline.expired());
    };
    write("0 = " + a.address() + ":notaport\n");  // invalid
    reload_and_wait(1);
    std::remove(file.c_str());  // unreadable
    reload_and_wait(2);
    CPPUNIT_ASSERT_EQUAL(2.0, scrape(moxi).at("moxi_config_reload_failures_total"));
    TestClient d(moxi.port());  // most likely on the other worker: the count is the process's
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, stat(stats_proxy(d), "config_reload_failures_total"));
    // A good file: a new generation, no failure more.
    write("0 = " + b.address() + "\n");
    moxi.process().kill(SIGHUP);
    for (Deadline deadline(std::chrono::seconds(10)); generation(c) != 2;)
      CPPUNIT_ASSERT_MESSAGE(moxi.log(), !deadline.expired());
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, stat(stats_proxy(c), "config_reload_failures_total"));
    CPPUNIT_ASSERT_EQUAL(2.0, scrape(moxi).at("moxi_config_reload_failures_total"));
  }

  void testClientBufferBudgetsAreCounted() {
    Cluster cluster;
    TestClient c = cluster.client();
    // More pipelined requests than max_client_inflight (128) in one write.
    std::string burst;
    for (int i = 0; i < 300; ++i) burst += "get nokey\r\n";
    c.send(burst);
    for (int i = 0; i < 300; ++i) CPPUNIT_ASSERT_EQUAL(std::string("END"), c.read_line());
    CPPUNIT_ASSERT(stat(stats_proxy(c), "limit_client_inflight_total") >= 1);
    // A client that asks for far more than max_client_output (4 MiB) and
    // reads nothing: moxi stops reading it and counts the pause.
    const std::string value(512 * 1024, 'v');
    CPPUNIT_ASSERT_EQUAL(std::string("STORED"), c.set("big", value));
    TestClient hog = cluster.client();
    std::string gets;
    for (int i = 0; i < 64; ++i) gets += "get big\r\n";  // 32 MiB of replies
    hog.send(gets);
    Deadline deadline(std::chrono::seconds(10));
    uint64_t paused = 0;
    while ((paused = stat(stats_proxy(c), "limit_client_output_total")) == 0 && !deadline.expired()) {
    }
    CPPUNIT_ASSERT(paused >= 1);
    CPPUNIT_ASSERT_EQUAL(std::string("VERSION 2.0.0"), c.request("version"));  // others are still served
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(StatsTest);

}  // namespace
}  // namespace moxi::test
