// The differential campaign: real servers, the comparison of one stream on
// memcached and on moxi, the known/new classification and the shrinking of
// new divergences.
//
// Servers (all on 127.0.0.1, OS-chosen ports, stopped by the destructors):
//   - one memcached answered directly: the reference;
//   - per configuration a moxi in front of its own memcached (t/proxy's
//     Cluster with one backend):
//       ascii    ketama, -Z downstream_protocol=ascii
//       binary   ketama, binary downstream (the default)
//       meta     ketama, -Z downstream_protocol=meta
//       vbucket  a vBucket map over the plain memcached (memcached ignores
//                the vBucket id moxi puts in each request)
// Streams run one at a time; before each, every memcached is flushed so that
// no stream sees another's items or pending delayed flush.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "t/diff/known.h"
#include "t/diff/normalise.h"
#include "t/diff/stream.h"
#include "t/diff/transport.h"
#include "t/proxy/cluster.h"
#include "t/support/servers.h"

namespace moxi::test::diff {

struct Finding {
  std::string config;
  uint64_t seed = 0;
  std::string family;
  bool known = false;
  std::vector<std::string> known_ids;  // when known
  Stream shrunk;                       // when new: the smallest diverging stream found
  std::string difference;              // compare() of the shrunk stream
};

struct Summary {
  long streams = 0;   // streams generated
  long runs = 0;      // stream runs compared (a stream runs once per configuration)
  std::map<std::string, long> known_hits;  // entry id -> diverging runs it explained
  std::map<std::string, long> new_hits;    // new divergences by signature -> runs
  // Divergences that did not repeat when the same stream ran again twice
  // (memcached's own background work, its LRU maintainer and slab mover,
  // can change a reply between two runs of one stream): counted and listed,
  // not failures. A moxi fault that repeats is never counted here.
  std::map<std::string, long> unrepeated;  // signature -> runs
  std::vector<Finding> findings;           // one per new signature (and one example per known entry)
  std::string report() const;
};

struct CampaignOptions {
  uint64_t first_seed = 1;
  std::chrono::milliseconds budget = std::chrono::seconds(45);
  long max_streams = 1000000;
  std::vector<std::string> configs = {"ascii", "binary", "meta", "vbucket"};
  int max_new = 8;          // shrink at most this many new divergences (each new signature once)
  bool verbose = false;         // log streams that take long
  bool examples = false;        // also shrink one example per known entry (for reports; costs runs)
  std::ostream* log = nullptr;  // progress and findings as they happen
};

class Rig {
 public:
  explicit Rig(const std::vector<std::string>& configs);

  const std::vector<std::string>& configs() const { return names_; }
  // Flushes the servers, runs the stream on the reference memcached and on
  // `config`, and compares (after the relax hooks of `relaxed`, if any).
  Difference differs(const Stream& stream, const std::string& config,
                     const std::vector<const KnownDivergence*>& relaxed = {});
  // The same, with the reference outcome computed once for several configs.
  Outcome run_reference(const Stream& stream);
  Difference differs_from(const Stream& stream, Outcome reference, const std::string& config,
                          const std::vector<const KnownDivergence*>& relaxed = {});
  // The logs of moxi and its memcached for `config`, for reports.
  std::string logs(const std::string& config);

 private:
  Cluster& cluster(const std::string& config);

  Memcached reference_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<Cluster>> clusters_;
  uint64_t nonce_ = 1;
};

Summary run_campaign(Rig& rig, const CampaignOptions& options);

// What the harness itself must get right: the same stream on two real
// memcached servers never differs. Returns the differences found.
std::vector<std::string> self_check(uint64_t first_seed, long streams);

}  // namespace moxi::test::diff
