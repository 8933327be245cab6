#include "t/support/oracle.h"

#include <libmemcached-1.0/memcached.h>
#include <zlib.h>

#include <stdexcept>

namespace moxi::test::oracle {

uint32_t crc32(std::string_view key) {
  return static_cast<uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(key.data()), static_cast<uInt>(key.size())));
}

uint32_t vbucket_hash(std::string_view key) { return (crc32(key) >> 16) & 0x7fff; }

uint16_t vbucket_of(std::string_view key, uint32_t num_vbuckets) {
  if (num_vbuckets == 0 || (num_vbuckets & (num_vbuckets - 1)) != 0 || num_vbuckets > 65536)
    throw std::invalid_argument("oracle::vbucket_of: " + std::to_string(num_vbuckets) + " is not a power of two up to 65536");
  return static_cast<uint16_t>(vbucket_hash(key) & (num_vbuckets - 1));
}

struct Ketama::Impl {
  struct Free {
    void operator()(memcached_st* m) const noexcept { memcached_free(m); }
  };
  std::unique_ptr<memcached_st, Free> memc;
  std::vector<int> position_to_index;  // libmemcached's server position -> list index
};

Ketama::Ketama(const std::vector<std::string>& servers) : impl_(std::make_unique<Impl>()) {
  impl_->memc.reset(memcached_create(nullptr));
  memcached_st* memc = impl_->memc.get();
  if (memc == nullptr || memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1) != MEMCACHED_SUCCESS)
    throw std::runtime_error("oracle::Ketama: cannot set up libmemcached");
  for (const auto& s : servers) {
    // "host:port[:weight]"; the tests' servers are loopback addresses.
    const auto colon = s.find(':');
    const auto second = s.find(':', colon + 1);
    if (colon == std::string::npos) throw std::runtime_error("oracle::Ketama: no port in " + s);
    const std::string host = s.substr(0, colon);
    const auto port = static_cast<in_port_t>(std::stoi(s.substr(colon + 1, second - colon - 1)));
    const uint32_t weight = second == std::string::npos ? 1 : static_cast<uint32_t>(std::stoul(s.substr(second + 1)));
    if (memcached_server_add_with_weight(memc, host.c_str(), port, weight) != MEMCACHED_SUCCESS)
      throw std::runtime_error("oracle::Ketama: libmemcached refused " + s);
  }
  // libmemcached may keep its servers in another order: find each one's
  // place in the list by name and port.
  for (uint32_t pos = 0; pos < memcached_server_count(memc); ++pos) {
    const memcached_instance_st* inst = memcached_server_instance_by_position(memc, pos);
    const std::string name = memcached_server_name(inst);
    const std::string port = std::to_string(memcached_server_port(inst));
    int index = -1;
    for (size_t i = 0; i < servers.size() && index < 0; ++i)
      if (servers[i] == name + ":" + port || servers[i].rfind(name + ":" + port + ":", 0) == 0) index = static_cast<int>(i);
    impl_->position_to_index.push_back(index);
  }
}

Ketama::~Ketama() = default;

int Ketama::owner(std::string_view key) const {
  const uint32_t pos = memcached_generate_hash(impl_->memc.get(), key.empty() ? "" : key.data(), key.size());
  return pos < impl_->position_to_index.size() ? impl_->position_to_index[pos] : -1;
}

std::string first_key_on(const std::function<int(std::string_view)>& owner, int server, const std::string& prefix) {
  // Every test server owns some key among the first hundred thousand; past
  // that the owner function (or the test's map) is wrong.
  for (int i = 0; i < 100000; ++i) {
    std::string key = prefix + std::to_string(i);
    if (owner(key) == server) return key;
  }
  throw std::runtime_error("oracle::first_key_on: no key with prefix " + prefix + " on server " + std::to_string(server));
}

}  // namespace moxi::test::oracle
