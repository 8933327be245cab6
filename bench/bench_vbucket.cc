// Google Benchmark for vbucket/: keys per second for vBucket mapping (1024
// vBuckets) and ketama mapping (8 servers), plus the cost of parsing a
// 1024-vBucket map, which the proxy pays on every config update.
//
//   bench/bench_vbucket [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "vbucket/config_parse.h"
#include "vbucket/server_list_parse.h"
#include "vbucket/vbucket_view.h"

namespace {

using moxi::vbucket::ConfigPtr;

std::vector<std::string> make_keys() {
  std::vector<std::string> keys;
  for (int i = 0; i < 4096; ++i) keys.push_back("user:session:" + std::to_string(i * 2654435761u));
  return keys;
}

std::string map_1024_json() {
  std::string json =
      R"({"numReplicas":1,"serverList":["10.0.0.1:11210","10.0.0.2:11210","10.0.0.3:11210","10.0.0.4:11210"],"vBucketMap":[)";
  for (int vb = 0; vb < 1024; ++vb)
    json += (vb ? ",[" : "[") + std::to_string(vb % 4) + "," + std::to_string((vb + 1) % 4) + "]";
  return json + "]}";
}

ConfigPtr vbucket_config() {
  auto r = moxi::vbucket::parse_config(map_1024_json());
  return r.ok() ? r.value() : nullptr;
}

ConfigPtr ketama_config() {
  auto r = moxi::vbucket::parse_server_list(
      "10.0.0.1:11210,10.0.0.2:11210,10.0.0.3:11210,10.0.0.4:11210,"
      "10.0.0.5:11210,10.0.0.6:11210,10.0.0.7:11210,10.0.0.8:11210");
  return r.ok() ? r.value() : nullptr;
}

template <class Lookup>
void run_keys(benchmark::State& state, Lookup lookup) {
  const auto keys = make_keys();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(lookup(keys[i]));
    i = (i + 1) & (keys.size() - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_VBucketMapping(benchmark::State& state) {
  ConfigPtr config = vbucket_config();
  if (!config) return state.SkipWithError("config does not parse");
  run_keys(state, [&](const std::string& key) { return config->server_for_key(key); });
}
BENCHMARK(BM_VBucketMapping);

void BM_VBucketMappingWithOverrides(benchmark::State& state) {
  ConfigPtr config = vbucket_config();
  if (!config) return state.SkipWithError("config does not parse");
  moxi::vbucket::VBucketView view(config);
  view.found_incorrect_master(0, config->master(0));
  run_keys(state, [&](const std::string& key) { return view.server_for_key(key); });
}
BENCHMARK(BM_VBucketMappingWithOverrides);

void BM_KetamaMapping(benchmark::State& state) {
  ConfigPtr config = ketama_config();
  if (!config) return state.SkipWithError("server list does not parse");
  run_keys(state, [&](const std::string& key) { return config->server_for_key(key); });
}
BENCHMARK(BM_KetamaMapping);

void BM_ParseMap1024(benchmark::State& state) {
  const std::string json = map_1024_json();
  for (auto _ : state) benchmark::DoNotOptimize(moxi::vbucket::parse_config(json));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(json.size()));
}
BENCHMARK(BM_ParseMap1024);

}  // namespace

BENCHMARK_MAIN();
