// CppUnit runner shared by every test binary in t/.
//
// Runs all registered suites (or only the tests and suites whose name
// contains one of the arguments: "t/proxy_tests LiveConfig Rebalance") and
// ends with the line "N passed, N failed" that script/test aggregates.
#include <cppunit/BriefTestProgressListener.h>
#include <cppunit/CompilerOutputter.h>
#include <cppunit/TestListener.h>
#include <cppunit/TestResult.h>
#include <cppunit/TestResultCollector.h>
#include <cppunit/TestRunner.h>
#include <cppunit/extensions/TestFactoryRegistry.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace {

// Counts tests and failures (a test that fails several assertions counts once).
class CountingListener : public CppUnit::TestListener {
 public:
  void startTest(CppUnit::Test*) override { failed_this_ = false; }
  void addFailure(const CppUnit::TestFailure&) override { failed_this_ = true; }
  void endTest(CppUnit::Test*) override {
    if (failed_this_) {
      ++failed;
    } else {
      ++passed;
    }
  }
  int passed = 0;
  int failed = 0;

 private:
  bool failed_this_ = false;
};

// Paths ("All Tests/Suite/test") of the tests or suites whose name contains
// `filter`; a matching suite is taken whole.
void collect(CppUnit::Test* test, const std::string& filter, const std::string& prefix,
             std::vector<std::string>& paths) {
  const std::string path = prefix.empty() ? test->getName() : prefix + "/" + test->getName();
  if (!prefix.empty() && test->getName().find(filter) != std::string::npos) {
    paths.push_back(path);
    return;
  }
  for (int i = 0; i < test->getChildTestCount(); ++i) collect(test->getChildTestAt(i), filter, path, paths);
}

}  // namespace

int main(int argc, char** argv) {
  // Tests talk to sockets that peers may close; a broken pipe must be an error code, not a kill.
  std::signal(SIGPIPE, SIG_IGN);
  CppUnit::Test* all = CppUnit::TestFactoryRegistry::getRegistry().makeTest();
  CppUnit::TestRunner runner;
  runner.addTest(all);  // the runner owns the whole tree, selected or not
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    const size_t before = paths.size();
    collect(all, argv[i], "", paths);
    if (paths.size() == before) {
      std::cerr << "no test matches '" << argv[i] << "'\n";
      return 2;
    }
  }
  CppUnit::TestResult controller;
  CppUnit::TestResultCollector collector;
  CountingListener counter;
  CppUnit::BriefTestProgressListener progress;
  controller.addListener(&collector);
  controller.addListener(&counter);
  controller.addListener(&progress);
  if (paths.empty()) {
    runner.run(controller);
  } else {
    for (const auto& path : paths) runner.run(controller, path);
  }
  CppUnit::CompilerOutputter(&collector, std::cerr).write();
  std::cout << counter.passed << " passed, " << counter.failed << " failed" << std::endl;
  return counter.failed == 0 ? 0 : 1;
}
