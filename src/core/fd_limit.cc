#include "src/core/fd_limit.h"

#include <sys/resource.h>

#include <fstream>
#include <set>
#include <tuple>
#include <utility>

namespace moxi {

namespace {

// Descriptors that are not per client, backend or listener: stdin, stdout,
// stderr, the log file, the main loop's epoll, eventfd and signal pair, a
// DNS lookup's socket, and headroom for what a library opens briefly. The
// original memcached kept a similar reserve on top of maxconns.
constexpr uint64_t kFixed = 16;
constexpr uint64_t kPerWorker = 2;        // its epoll and its notify eventfd
constexpr uint64_t kPerUrlSource = 4;     // the HTTP socket, libcurl's wake-up pair, its resolver
constexpr uint64_t kAdmin = 1 + 16;       // the listener and a few scrapers at once

uint64_t nr_open() {
  std::ifstream in("/proc/sys/fs/nr_open");
  uint64_t v = 0;
  if (in >> v && v > 0) return v;
  return 1048576;  // the kernel's default
}

}  // namespace

std::string DescriptorNeed::describe() const {
  return std::to_string(total()) + " file descriptors (" + std::to_string(clients) + " client + " + std::to_string(backends) +
         " backend + " + std::to_string(listeners) + " listening + " + std::to_string(config) + " config + " +
         std::to_string(other) + " other)";
}

DescriptorNeed descriptor_need(const Snapshot& snapshot, const DescriptorInputs& in) {
  DescriptorNeed need;
  const uint64_t workers = in.workers < 1 ? 1 : in.workers;
  need.clients = in.clients;
  // Workers keep their backend connections per (server, protocol, backend
  // credentials): count those once, however many ports name the same server.
  std::set<std::tuple<std::string, protocol::Protocol, std::string, std::string>> servers;
  for (const PortBinding& binding : snapshot.ports)
    for (const auto& bucket : binding.buckets)
      for (const BackendServer& server : bucket->servers)
        servers.emplace(server.address, bucket->downstream_protocol, bucket->backend_auth.user,
                        bucket->backend_auth.select_bucket);
  const uint64_t per_server = in.downstream_conn_max == 0 ? 16 : in.downstream_conn_max;
  need.backends = workers * servers.size() * per_server;
  need.listeners = snapshot.ports.size() * (in.every_interface ? 2 : 1) * (in.reuse_port ? workers : 1);
  need.config = in.url_sources * kPerUrlSource;
  need.other = kFixed + kPerWorker * workers + (in.admin ? kAdmin : 0);
  return need;
}

DescriptorLimit raise_descriptor_limit(uint64_t need) {
  DescriptorLimit out;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return out;
  out.soft_before = out.soft = rl.rlim_cur;
  out.hard_before = out.hard = rl.rlim_max;
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need) return out;
  if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
    rl.rlim_cur = need;
  } else {
    // Above the hard limit: only with CAP_SYS_RESOURCE, and never past
    // fs.nr_open (setrlimit fails with EPERM either way).
    const uint64_t want = need < nr_open() ? need : nr_open();
    rlimit higher{want, want};
    if (setrlimit(RLIMIT_NOFILE, &higher) == 0) {
      out.soft = out.hard = want;
      return out;
    }
    rl.rlim_cur = rl.rlim_max;  // as far as an unprivileged process may go
  }
  if (rl.rlim_cur != out.soft_before && setrlimit(RLIMIT_NOFILE, &rl) == 0) out.soft = rl.rlim_cur;
  return out;
}

uint64_t descriptor_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  return rl.rlim_cur;
}

}  // namespace moxi
