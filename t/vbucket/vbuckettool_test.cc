// vbuckettool: the built binary run through popen (vectors.tsv rows via
// arguments and stdin, options, a bad config), plus describe_key() in-process.
#include "vbucket/vbuckettool.h"

#include <cppunit/extensions/HelperMacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "t/vbucket/fixtures.h"

#ifndef MOXI_BUILDDIR
#error "MOXI_BUILDDIR must name the build tree"
#endif

namespace moxi::vbucket::test {
namespace {

const std::string kTool = MOXI_BUILDDIR "/vbucket/vbuckettool";

// A file under $TMPDIR (or /tmp), removed when the object goes away.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    const char* dir = std::getenv("TMPDIR");
    std::string pattern = std::string(dir && *dir ? dir : "/tmp") + "/vbuckettool_test.XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    const int fd = mkstemp(name.data());
    CPPUNIT_ASSERT_MESSAGE("mkstemp failed", fd >= 0);
    close(fd);
    path_ = name.data();
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Run {
  int status = -1;
  std::string out, err;
};

struct PipeClose {
  void operator()(FILE* f) const { pclose(f); }
};

// Runs vbuckettool with `args` (already quoted), stdin from `input`.
Run run_tool(const std::string& args, const std::string& input = "") {
  TempFile in(input), err("");
  const std::string command =
      shell_quote(kTool) + " " + args + " <" + shell_quote(in.path()) + " 2>" + shell_quote(err.path());
  Run run;
  FILE* pipe = popen(command.c_str(), "r");
  CPPUNIT_ASSERT_MESSAGE("popen failed: " + command, pipe != nullptr);
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) run.out.append(buffer, n);
  const int status = pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.err = moxi::test::read_file(err.path());
  return run;
}

// The line vectors.tsv says vbuckettool must print for a row.
std::string expected_line(const moxi::test::TsvRow& row, const Config& config) {
  std::string line = row["key"] + "\t" + row["expected_vbucket"] + "\t" + row["expected_master_server"] + "\t";
  const auto replicas = moxi::test::split(row["replica_indexes"], ',');
  if (replicas.empty()) return line + "-";
  for (size_t i = 0; i < replicas.size(); ++i) {
    const int index = std::stoi(replicas[i]);
    line += (i ? "," : "") + (index < 0 ? std::string("-") : config.server(index));
  }
  return line;
}

}  // namespace

class VBucketToolTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(VBucketToolTest);
  CPPUNIT_TEST(keysAsArguments);
  CPPUNIT_TEST(keysFromStdinForEveryVectorsConfig);
  CPPUNIT_TEST(ketamaConfig);
  CPPUNIT_TEST(peerPortAndBucketOptions);
  CPPUNIT_TEST(badConfigExitsOneWithMessage);
  CPPUNIT_TEST(usageErrors);
  CPPUNIT_TEST(describeKeyInProcess);
  CPPUNIT_TEST_SUITE_END();

 public:
  void keysAsArguments() {
    const std::string config = moxi::test::fixture("tests-config/testapp-config");
    Run r = run_tool(shell_quote(config) + " hello 'another key' -- name");  // "--" after CONFIG is a key
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.err, 0, r.status);
    CPPUNIT_ASSERT_EQUAL(std::string("hello\t0\tserver1:11211\tserver2:11210,server3:11211\n"
                                     "another key\t2\tserver3:11211\tserver2:11210,-\n"
                                     "--\t0\tserver1:11211\tserver2:11210,server3:11211\n"
                                     "name\t3\tserver2:11210\tserver3:11211,server1:11211\n"),
                         r.out);
    CPPUNIT_ASSERT(r.err.empty());
  }

  void keysFromStdinForEveryVectorsConfig() {
    // All 693 rows of vectors.tsv: one run per config file, keys on stdin.
    const auto rows = moxi::test::read_tsv(moxi::test::fixture("vectors.tsv"));
    std::map<std::string, std::vector<const moxi::test::TsvRow*>> by_file;
    for (const auto& row : rows) by_file[row["config_file"]].push_back(&row);
    Mismatches m;
    for (const auto& [file, file_rows] : by_file) {
      std::string input, expected;
      std::vector<int> lines;  // vectors.tsv line of each expected output line
      ConfigPtr config = fixture_config(file);
      for (const auto* row : file_rows) {
        if ((*row)["key"].empty()) continue;  // stdin skips empty lines
        input += (*row)["key"] + "\r\n";      // a trailing CR is dropped
        expected += expected_line(*row, *config) + "\n";
        lines.push_back(row->line);
      }
      Run r = run_tool(shell_quote(moxi::test::fixture(file)), input + "\n");
      m.expect_equal("vectors.tsv " + file, "exit status", 0, r.status);
      const auto want = moxi::test::split(expected, '\n'), got = moxi::test::split(r.out, '\n');
      m.expect_equal("vectors.tsv " + file, "line count", want.size(), got.size());
      for (size_t i = 0; i < want.size() && i < got.size(); ++i)
        m.expect_equal("vectors.tsv:" + std::to_string(i < lines.size() ? lines[i] : 0) + " " + file, "line", want[i],
                       got[i]);
    }
    m.report();
  }

  void ketamaConfig() {
    const auto rows = moxi::test::read_tsv(moxi::test::fixture("ketama.tsv"));
    std::string args = shell_quote(moxi::test::fixture("tests-config/ketama-eight-nodes")), expected;
    for (const auto& row : rows) {
      if (row["config_file"] != "tests-config/ketama-eight-nodes" || row.line > 40) continue;
      args += " " + shell_quote(row["key"]);
      expected += row["key"] + "\t-\t" + row["expected_server"] + "\t-\n";
    }
    CPPUNIT_ASSERT(!expected.empty());
    Run r = run_tool(args);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.err, 0, r.status);
    CPPUNIT_ASSERT_EQUAL(expected, r.out);
  }

  void peerPortAndBucketOptions() {
    Run peer =
        run_tool("--peer 10.1.2.3 " + shell_quote(moxi::test::fixture("libcouchbase-confdata/terse_30.json")) + " foo");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(peer.err, 0, peer.status);
    CPPUNIT_ASSERT_EQUAL(std::string("foo\t115\t10.1.2.3:11210\t-\n"), peer.out);

    TempFile two_ports(
        "11211 = {\"numReplicas\":0,\"serverList\":[\"a:1\"],\"vBucketMap\":[[0]]};\n"
        "11212 = only:11300\n");
    Run port = run_tool("--port 11212 " + shell_quote(two_ports.path()) + " k");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(port.err, 0, port.status);
    CPPUNIT_ASSERT_EQUAL(std::string("k\t-\tonly:11300\t-\n"), port.out);
    Run first = run_tool(shell_quote(two_ports.path()) + " k");
    CPPUNIT_ASSERT_EQUAL(std::string("k\t0\ta:1\t-\n"), first.out);

    Run bucket = run_tool("--bucket k " + shell_quote(moxi::test::fixture("moxi-t/ketama_rest_mixed.cfg")) + " x");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(bucket.err, 0, bucket.status);
    CPPUNIT_ASSERT_EQUAL(std::string("x\t-\t127.0.0.1:11311\t-\n"), bucket.out);

    // The same terse config on either network (key "foo" is vBucket 115 of
    // 1024, so 3 of 4: row [0,2]).
    const std::string terse = shell_quote(moxi::test::fixture("terse/alternate_addresses.json"));
    Run normal = run_tool(terse + " foo");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(normal.err, 0, normal.status);
    CPPUNIT_ASSERT_EQUAL(std::string("foo\t3\t10.0.0.1:11210\t[fd00::3]:11210\n"), normal.out);
    Run external = run_tool("--network external " + terse + " foo");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(external.err, 0, external.status);
    CPPUNIT_ASSERT_EQUAL(std::string("foo\t3\tdb1.example.com:31210\t[fd00::3]:11210\n"), external.out);
    Run wrong = run_tool("--network public " + terse + " foo");
    CPPUNIT_ASSERT_EQUAL(2, wrong.status);
    CPPUNIT_ASSERT_MESSAGE(wrong.err, wrong.err.find("--network needs default or external, got \"public\"") !=
                                          std::string::npos);
  }

  void badConfigExitsOneWithMessage() {
    const std::string bad = moxi::test::fixture("tests-config/testapp-config-wrong-num-vbuckets");
    Run r = run_tool(shell_quote(bad) + " hello");
    CPPUNIT_ASSERT_EQUAL(1, r.status);
    CPPUNIT_ASSERT(r.out.empty());
    CPPUNIT_ASSERT_EQUAL(
        std::string("vbuckettool: " + bad +
                    ": vBucketMap: Number of vBuckets must be a power of two > 0 and <= 65536 (got 5)\n"),
        r.err);

    TempFile broken(R"({"numReplicas":1,"serverList":["a:1","b:2"],"vBucketMap":[[0,1],[1,2]]})");
    Run field = run_tool(shell_quote(broken.path()) + " k");
    CPPUNIT_ASSERT_EQUAL(1, field.status);
    CPPUNIT_ASSERT_MESSAGE(
        field.err, field.err.find(broken.path() + ": vBucketMap[1][1]: Server ID must be") != std::string::npos);

    Run missing = run_tool("/nonexistent/config.json k");
    CPPUNIT_ASSERT_EQUAL(1, missing.status);
    CPPUNIT_ASSERT_MESSAGE(missing.err, missing.err.find("/nonexistent/config.json: cannot read") != std::string::npos);
  }

  void usageErrors() {
    Run none = run_tool("");
    CPPUNIT_ASSERT_EQUAL(2, none.status);
    CPPUNIT_ASSERT(none.err.find("missing CONFIG") != std::string::npos);
    Run unknown = run_tool("--frobnicate x");
    CPPUNIT_ASSERT_EQUAL(2, unknown.status);
    CPPUNIT_ASSERT(unknown.err.find("unknown option --frobnicate") != std::string::npos);
    Run port = run_tool("--port 0 x");
    CPPUNIT_ASSERT_EQUAL(2, port.status);
    Run help = run_tool("--help");
    CPPUNIT_ASSERT_EQUAL(0, help.status);
    CPPUNIT_ASSERT(help.out.find("usage: vbuckettool") == 0);
  }

  void describeKeyInProcess() {
    ConfigPtr config = fixture_config("tests-config/testapp-config");
    CPPUNIT_ASSERT_EQUAL(std::string("hello\t0\tserver1:11211\tserver2:11210,server3:11211"),
                         describe_key(*config, "hello"));
    std::istringstream in("hello\n\nname\n");
    std::ostringstream out, err;
    CPPUNIT_ASSERT_EQUAL(0, run_vbuckettool({moxi::test::fixture("tests-config/testapp-config")}, in, out, err));
    CPPUNIT_ASSERT_EQUAL(std::string("hello\t0\tserver1:11211\tserver2:11210,server3:11211\n"
                                     "name\t3\tserver2:11210\tserver3:11211,server1:11211\n"),
                         out.str());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(VBucketToolTest);

}  // namespace moxi::vbucket::test
