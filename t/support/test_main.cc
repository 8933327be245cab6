// CppUnit runner shared by every test binary in t/.
//
// Runs all registered suites (or only those whose name contains argv[1]) and
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

// Selects tests whose full name contains a substring.
void collect(CppUnit::Test* test, const std::string& filter, CppUnit::TestRunner& runner) {
  if (test->getChildTestCount() == 0) {
    if (test->getName().find(filter) != std::string::npos) runner.addTest(test);
    return;
  }
  if (test->getName().find(filter) != std::string::npos) {
    runner.addTest(test);
    return;
  }
  for (int i = 0; i < test->getChildTestCount(); ++i) collect(test->getChildTestAt(i), filter, runner);
}

}  // namespace

int main(int argc, char** argv) {
  // Tests talk to sockets that peers may close; a broken pipe must be an error code, not a kill.
  std::signal(SIGPIPE, SIG_IGN);
  CppUnit::Test* all = CppUnit::TestFactoryRegistry::getRegistry().makeTest();
  CppUnit::TestRunner runner;
  if (argc > 1) {
    collect(all, argv[1], runner);
  } else {
    runner.addTest(all);
  }
  CppUnit::TestResult controller;
  CppUnit::TestResultCollector collector;
  CountingListener counter;
  CppUnit::BriefTestProgressListener progress;
  controller.addListener(&collector);
  controller.addListener(&counter);
  controller.addListener(&progress);
  runner.run(controller);
  CppUnit::CompilerOutputter(&collector, std::cerr).write();
  std::cout << counter.passed << " passed, " << counter.failed << " failed" << std::endl;
  return counter.failed == 0 ? 0 : 1;
}
