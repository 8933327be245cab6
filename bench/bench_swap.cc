// How long a config swap takes, from a new document's arrival to every
// worker serving it: parse and validate (vbucket/), build the snapshot
// (resolve 100 servers), publish, and wait until both workers installed it.
// Target: < 10 ms for 1024 vBuckets and 100 servers.
#include <benchmark/benchmark.h>

#include <condition_variable>
#include <mutex>
#include <string>

#include "src/core/app.h"
#include "vbucket/config_parse.h"

namespace {

// 100 servers, 1024 vBuckets, one replica; `shift` moves every master.
std::string cluster_map(int servers, int vbuckets, int shift) {
  std::string json = R"({"name":"default","vBucketServerMap":{"hashAlgorithm":"CRC","numReplicas":1,"serverList":[)";
  for (int s = 0; s < servers; ++s) json += (s ? ",\"" : "\"") + std::string("127.0.0.1:") + std::to_string(20000 + s) + "\"";
  json += R"(],"vBucketMap":[)";
  for (int v = 0; v < vbuckets; ++v)
    json += (v ? ",[" : "[") + std::to_string((v + shift) % servers) + "," + std::to_string((v + shift + 1) % servers) + "]";
  return json + "]}}";
}

std::shared_ptr<const moxi::Bucket> build(const std::string& json) {
  auto parsed = moxi::vbucket::parse_config(json);
  if (!parsed.ok()) throw std::runtime_error(parsed.error());
  return moxi::make_bucket("default", parsed.value(), moxi::protocol::Protocol::Binary);
}

void BM_SwapToEveryWorker(benchmark::State& state) {
  const int servers = static_cast<int>(state.range(0));
  const int vbuckets = static_cast<int>(state.range(1));
  const std::string docs[2] = {cluster_map(servers, vbuckets, 0), cluster_map(servers, vbuckets, 1)};
  moxi::AppSettings settings;
  settings.workers = 2;
  settings.listen_address = "127.0.0.1";
  moxi::App app(settings);
  moxi::SnapshotBuilder builder;
  builder.add_port(0, build(docs[0]));
  std::shared_ptr<const moxi::Snapshot> first = builder.build();
  std::string error;
  if (!app.start(first, error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  std::mutex mutex;
  std::condition_variable cv;
  size_t installed = 0;
  uint64_t generation = 1;
  for (auto _ : state) {
    moxi::SnapshotBuilder builder(*app.current());
    builder.set_bucket(0, build(docs[++generation % 2]));
    std::shared_ptr<const moxi::Snapshot> next = builder.build();
    {
      std::lock_guard<std::mutex> lock(mutex);
      installed = 0;
    }
    app.publish(next, [&] {
      std::lock_guard<std::mutex> lock(mutex);
      ++installed;
      cv.notify_one();
    });
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&] { return installed == app.worker_count(); });
  }
  state.SetLabel(std::to_string(servers) + " servers, " + std::to_string(vbuckets) + " vBuckets, 2 workers");
}

}  // namespace

BENCHMARK(BM_SwapToEveryWorker)->Args({100, 1024})->Args({10, 1024})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
