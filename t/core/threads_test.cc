// The threaded core under concurrency: net::NotifyQueue (many posting threads,
// one owner), Worker (tasks and snapshot installs from other threads, stop
// and join), and App (two workers serving clients while the main thread
// publishes snapshot after snapshot). These are the tests the TSan build
// (script/test, build-tsan/) runs to find data races; under the normal build
// they check ordering and completeness.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "src/core/app.h"
#include "src/net/notify.h"
#include "src/core/worker.h"
#include "t/support/client.h"
#include "t/support/deadline.h"
#include "t/support/servers.h"
#include "vbucket/server_list_parse.h"

namespace moxi::test {
namespace {

// Waits on a condition variable for a predicate, bounded by a deadline.
class Latch {
 public:
  void add(long n = 1) {
    std::lock_guard<std::mutex> lock(mutex_);
    count_ += n;
    cv_.notify_all();
  }
  bool wait_for(long n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return count_ >= n; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  long count_ = 0;
};

// A snapshot serving `servers` on one port: the first (generation 1), or
// the successor of `previous`.
std::shared_ptr<const Snapshot> snapshot_for(const std::string& servers, const Snapshot* previous = nullptr) {
  auto parsed = vbucket::parse_server_list(servers);
  if (!parsed.ok()) throw std::runtime_error("server list: " + parsed.error());
  auto bucket = make_bucket("default", parsed.value(), protocol::Protocol::Ascii);
  if (!previous) {
    SnapshotBuilder first;
    first.add_port(0, std::move(bucket));
    return first.build();
  }
  SnapshotBuilder next(*previous);
  next.set_bucket(0, std::move(bucket));
  return next.build();
}

class ThreadsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ThreadsTest);
  CPPUNIT_TEST(testNotifyQueueManyPosters);
  CPPUNIT_TEST(testWorkerTasksAndInstallsFromOtherThreads);
  CPPUNIT_TEST(testAppPublishesWhileWorkersServe);
  CPPUNIT_TEST_SUITE_END();

 public:
  // Four threads post 2000 tasks each; every task runs once, on the owner's
  // thread, and each poster's tasks run in its posting order. The tasks
  // touch plain (unsynchronised) owner state: the queue's mutex and eventfd
  // must be what orders them.
  void testNotifyQueueManyPosters() {
    event_base* base = event_base_new();
    CPPUNIT_ASSERT(base);
    constexpr int kPosters = 4, kTasks = 2000;
    std::vector<int> next(kPosters, 0);  // owner thread only
    long ran = 0, out_of_order = 0, wrong_thread = 0;
    std::thread::id owner_id;
    {
      net::NotifyQueue queue(base);
      std::thread owner([&] {
        owner_id = std::this_thread::get_id();
        event_base_dispatch(base);
      });
      std::vector<std::thread> posters;
      for (int p = 0; p < kPosters; ++p)
        posters.emplace_back([&, p] {
          for (int i = 0; i < kTasks; ++i)
            queue.post([&, p, i] {
              if (std::this_thread::get_id() != owner_id) ++wrong_thread;
              if (next[static_cast<size_t>(p)] != i) ++out_of_order;
              next[static_cast<size_t>(p)] = i + 1;
              ++ran;
            });
        });
      for (auto& t : posters) t.join();
      queue.post([base] { event_base_loopbreak(base); });
      owner.join();
    }
    event_base_free(base);
    CPPUNIT_ASSERT_EQUAL(long(kPosters) * kTasks, ran);
    CPPUNIT_ASSERT_EQUAL(0L, out_of_order);
    CPPUNIT_ASSERT_EQUAL(0L, wrong_thread);
  }

  // Threads post tasks and snapshot installs to a running worker; the tasks
  // read the worker's snapshot on its thread. stop() from another thread
  // ends it, join() waits.
  void testWorkerTasksAndInstallsFromOtherThreads() {
    Memcached mc;
    SharedLimits budget;
    Worker worker(0, ProxySettings{}, budget);
    std::shared_ptr<const Snapshot> latest = snapshot_for(mc.address());
    worker.start(latest, {});
    constexpr int kThreads = 3, kTasks = 500;
    Latch done;
    std::atomic<uint64_t> max_seen{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < kTasks; ++i) {
          if (t == 0 && i % 50 == 0) {
            auto next = latest = snapshot_for(mc.address(), latest.get());
            worker.post([&worker, next] { worker.install(next); });
          }
          worker.post([&] {
            const uint64_t g = worker.snapshot().generation;
            if (g > max_seen.load()) max_seen.store(g);
            done.add();
          });
        }
      });
    for (auto& t : threads) t.join();
    CPPUNIT_ASSERT(done.wait_for(long(kThreads) * kTasks, std::chrono::seconds(20)));
    Latch last;
    worker.post([&] {
      max_seen.store(worker.snapshot().generation);
      last.add();
    });
    CPPUNIT_ASSERT(last.wait_for(1, std::chrono::seconds(5)));
    CPPUNIT_ASSERT_EQUAL(uint64_t(2 + (kTasks - 1) / 50), max_seen.load());
    worker.stop();
    worker.join();
  }

  // Two workers serve four clients (sets and gets through a real memcached)
  // while the main thread publishes 40 snapshots; every worker reports every
  // install, no client sees an error, and the App shuts down cleanly.
  void testAppPublishesWhileWorkersServe() {
    Memcached mc;
    AppSettings settings;
    settings.workers = 2;
    settings.listen_address = "127.0.0.1";
    std::atomic<bool> stop{false};
    std::vector<std::string> failures;
    std::mutex failures_mutex;
    std::atomic<long> ops{0};
    Latch progress;
    {
      App app(settings);
      std::string error;
      CPPUNIT_ASSERT_MESSAGE(error, app.start(snapshot_for(mc.address()), error));
      const int port = app.bound_ports().front();
      // Stops and joins the clients even when an assertion throws, before ~App.
      struct Clients {
        std::atomic<bool>& stop;
        std::vector<std::thread> threads;
        ~Clients() {
          stop = true;
          for (auto& t : threads) t.join();
        }
      } clients{stop, {}};
      for (int id = 0; id < 4; ++id)
        clients.threads.emplace_back([&, id] {
          try {
            TestClient c(port, std::chrono::seconds(10));
            for (long n = 0; !stop.load(); ++n) {
              const std::string key = "k" + std::to_string(id) + "-" + std::to_string(n % 20);
              std::string reply = c.set(key, std::to_string(n));
              if (reply != "STORED") throw std::runtime_error("set: " + reply);
              auto got = c.get(key);
              if (!got || *got != std::to_string(n)) throw std::runtime_error("get " + key + ": wrong value");
              ++ops;
              progress.add();
            }
          } catch (const std::exception& e) {
            {
              std::lock_guard<std::mutex> lock(failures_mutex);
              failures.push_back(e.what());
            }
            progress.add(1 << 30);  // wake the waiter: no more progress will come
          }
        });
      Latch installed;
      constexpr int kSwaps = 40;
      for (int g = 2; g < 2 + kSwaps; ++g) {
        app.publish(snapshot_for(mc.address(), app.current().get()), [&] { installed.add(); });
        CPPUNIT_ASSERT(installed.wait_for(long(g - 1) * 2, std::chrono::seconds(10)));
      }
      CPPUNIT_ASSERT_EQUAL(uint64_t(1 + kSwaps), app.current()->generation);
      // Some traffic after the last swap, then stop the clients.
      CPPUNIT_ASSERT(progress.wait_for(ops.load() + 100, std::chrono::seconds(20)));
    }  // ~Clients joins the clients, then ~App stops and joins the workers
    CPPUNIT_ASSERT_MESSAGE(failures.empty() ? "" : failures.front(), failures.empty());
    CPPUNIT_ASSERT(ops.load() >= 100);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ThreadsTest);

}  // namespace
}  // namespace moxi::test
