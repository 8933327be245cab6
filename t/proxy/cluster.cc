#include "t/proxy/cluster.h"

#include <cppunit/TestAssert.h>

#include <fstream>
#include <stdexcept>


namespace moxi::test {

std::string vbucket_map_json(const std::vector<std::string>& servers, int vbuckets) {
  std::string json = R"({"hashAlgorithm":"CRC","numReplicas":0,"serverList":[)";
  for (size_t i = 0; i < servers.size(); ++i) json += (i ? ",\"" : "\"") + servers[i] + "\"";
  json += R"(],"vBucketMap":[)";
  for (int v = 0; v < vbuckets; ++v)
    json += (v ? ",[" : "[") + std::to_string(v % static_cast<int>(servers.size())) + "]";
  return json + "]}";
}

Cluster::Cluster(ClusterOptions options) {
  std::vector<std::string> addresses;
  for (int i = 0; i < options.backends; ++i) {
    backends_.push_back(std::make_unique<Memcached>(options.backend_args));
    addresses.push_back(backends_.back()->address());
  }
  if (options.routing == Routing::VBucket) {
    vbuckets_ = options.vbuckets;
    config_text_ = "0=" + vbucket_map_json(addresses, options.vbuckets);
  } else {
    std::string list;
    for (size_t i = 0; i < addresses.size(); ++i) list += (i ? "," : "") + addresses[i];
    ring_ = std::make_unique<oracle::Ketama>(addresses);
    config_text_ = "0=" + list;
  }
  std::vector<std::string> args = {"-l", "127.0.0.1", "-t", "2", "-z", config_text_};
  std::string behaviors;
  if (!options.downstream_protocol.empty()) behaviors = "downstream_protocol=" + options.downstream_protocol;
  for (const auto& b : options.behaviors) behaviors += (behaviors.empty() ? "" : ",") + b;
  if (!behaviors.empty()) args.insert(args.end(), {"-Z", behaviors});
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  MoxiOptions moxi_options;
  moxi_options.env = options.moxi_env;
  moxi_ = std::make_unique<Moxi>(args, moxi_options);
}

int Cluster::port() const { return moxi_->port(); }

int Cluster::owner(std::string_view key) const {
  // vbucket_map_json puts vBucket v on server v % servers.
  if (ring_) return ring_->owner(key);
  return oracle::vbucket_of(key, static_cast<uint32_t>(vbuckets_)) % backend_count();
}

std::string transcript(int port, const std::string& input) {
  TestClient c(port, std::chrono::seconds(10));
  c.send(input);
  c.shutdown_write();
  return c.read_until_closed();
}

long generation(TestClient& c) {
  c.send("stats proxy\r\n");
  long gen = -1;
  for (std::string line; (line = c.read_line()) != "END";)
    if (line.rfind("STAT config_generation ", 0) == 0) gen = std::stol(line.substr(23));
  return gen;
}

long generation_of(TestClient& c, bool binary) {
  if (!binary) return generation(c);
  c.send_binary(bin::request(bin::kStat, "proxy"));
  long gen = -1;
  for (BinaryPacket p = c.read_binary(); !p.key.empty(); p = c.read_binary())
    if (p.key == "config_generation") gen = std::stol(p.value);
  return gen;
}

void wait_generation(TestClient& c, long gen, bool binary, Deadline deadline) {
  long seen;
  while ((seen = generation_of(c, binary)) < gen)
    CPPUNIT_ASSERT_MESSAGE("generation " + std::to_string(seen) + " never reached " + std::to_string(gen),
                           !deadline.expired());
}

BinaryPacket sasl_auth(TestClient& c, const std::string& user, const std::string& password,
                       const std::string& mechanism) {
  constexpr uint8_t kSaslAuth = 0x21;
  c.send_binary(bin::request(kSaslAuth, mechanism, std::string(1, '\0') + user + std::string(1, '\0') + password));
  return c.read_binary();
}

BinaryPacket bin_set(TestClient& c, const std::string& key, const std::string& value) {
  c.send_binary(bin::request(bin::kSet, key, value, bin::set_extras(0, 0)));
  return c.read_binary();
}

BinaryPacket bin_get(TestClient& c, const std::string& key) {
  c.send_binary(bin::request(bin::kGet, key));
  return c.read_binary();
}

Stats stats_proxy(TestClient& c, const std::string& sub) {
  c.send("stats proxy" + (sub.empty() ? "" : " " + sub) + "\r\n");
  Stats out;
  for (std::string line; (line = c.read_line()) != "END";) {
    CPPUNIT_ASSERT_MESSAGE(line, line.rfind("STAT ", 0) == 0);
    auto sp = line.find(' ', 5);
    out[line.substr(5, sp - 5)] = sp == std::string::npos ? "" : line.substr(sp + 1);
  }
  return out;
}

uint64_t stat(const Stats& s, const std::string& name) {
  auto it = s.find(name);
  if (it == s.end()) throw std::runtime_error("no stat " + name);
  return std::stoull(it->second);
}

}  // namespace moxi::test

namespace moxi::test {

long status_kib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(field.size()));
  return -1;
}

bool wait_backends_quiet(Cluster& cluster, Deadline deadline) {
  auto backend_gets = [&] {
    uint64_t total = 0;
    for (int b = 0; b < cluster.backend_count(); ++b) {
      TestClient d = cluster.direct(b);
      d.send("stats\r\n");
      for (std::string line; (line = d.read_line()) != "END";)
        if (line.rfind("STAT cmd_get ", 0) == 0) total += std::stoull(line.substr(13));
    }
    return total;
  };
  uint64_t last = backend_gets();
  for (int quiet = 0; quiet < 200; ++quiet) {
    const uint64_t now = backend_gets();
    if (now != last) quiet = 0;
    last = now;
    if (deadline.expired()) return false;
  }
  return true;
}

}  // namespace moxi::test
