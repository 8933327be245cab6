// DataNodeConfigSource: follows a cluster by asking its data nodes for the
// bucket's config (GET_CLUSTER_CONFIG, opcode 0xb5) over an authenticated
// binary connection, for clusters whose REST port the proxy cannot reach.
// This is how Couchbase's own clients bootstrap ("CCCP").
//
// Nodes and failover
//   * The nodes are tried in the order given. The source connects to one,
//     logs in as a worker's connection does (backend_login.h: SASL, HELLO,
//     SELECT_BUCKET of the bucket), and asks GET_CLUSTER_CONFIG at once and
//     then every `interval`, on the same connection while it answers.
//   * Any failure (connect, login, a reply that does not come within
//     `reply_timeout`, a refused GET_CLUSTER_CONFIG, a closed connection)
//     closes the connection; the next node is tried (wrapping) after a
//     backoff (conflate/backoff.h) that a good answer resets.
//
// Documents
//   The answer is the bucket's terse config with "$HOST" for the node's own
//   address: it is validated with vbucket::parse_document, the node's host
//   replacing $HOST (conflate/document_filter.h). An invalid one is reported
//   once and nothing is delivered; one byte-identical to the last delivered
//   one from the same node is not delivered again. Which of several configs
//   is newest is the follower's decision (by revision), so several nodes and
//   a REST source may feed one follower.
//
// Status reports: connected when a node answers after it did not; a
// failure when it differs from the last one reported for that node since
// it last answered (a node that stays down is reported once).
//
// Threads: a thread of its own; the callbacks run on it (config_source.h).
// start(), stop() and the destructor belong to the owning thread; stats()
// may be called from any thread. stop() wakes the thread at once (an
// eventfd polled with every socket wait) and joins it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "conflate/backoff.h"
#include "conflate/config_source.h"
#include "conflate/document_filter.h"
#include "conflate/url.h"
#include "vbucket/parse_options.h"

namespace moxi::backend {

struct DataNodeSourceOptions {
  std::vector<conflate::DataNodeUrl> nodes;  // failover order; at least one
  std::string bucket;                        // selected and asked for; must not be empty
  std::string user;                          // SASL login (Couchbase 5+ requires one)
  std::string password;
  std::string agent = "moxi";                // HELLO's agent name
  std::chrono::milliseconds interval{2500};  // between two GET_CLUSTER_CONFIG on a healthy node
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds reply_timeout{5000};  // each reply, the login's included
  std::chrono::milliseconds backoff_min{250};
  std::chrono::milliseconds backoff_max{10000};
  std::size_t max_document_bytes = 20 * 1024 * 1024;
  vbucket::Network network = vbucket::Network::Default;
  std::uint64_t random_seed = 0;  // backoff jitter; 0 = from std::random_device
};

struct DataNodeSourceStats {
  std::uint64_t requests = 0;             // GET_CLUSTER_CONFIG sent
  std::uint64_t documents_delivered = 0;
  std::uint64_t documents_invalid = 0;
  std::uint64_t documents_duplicate = 0;
  std::uint64_t failures = 0;             // attempts that ended in an error
  std::uint64_t auth_failures = 0;        // of which the login was refused
};

class DataNodeConfigSource final : public conflate::ConfigSource {
 public:
  // Throws std::invalid_argument without nodes or bucket, std::runtime_error
  // when the wake-up descriptor cannot be made. Nothing runs before start().
  DataNodeConfigSource(DataNodeSourceOptions options, conflate::UpdateCallback on_update,
                       conflate::StatusCallback on_status);
  ~DataNodeConfigSource() override;  // stop()

  void start() override;  // starts the thread; no-op while it runs
  void stop() override;   // wakes and joins the thread; idempotent

  DataNodeSourceStats stats() const;
  // "couchbase://HOST:PORT/BUCKET": how node `index` is shown.
  std::string shown(std::size_t index) const;

 private:
  enum class Wait { Ready, Timeout, Stopped, Error };
  struct Failure {
    conflate::SourceStatus::Kind kind;
    std::string message;
  };

  void run();
  // Connects to and logs in to node `index` (fd_ open on success).
  std::optional<Failure> open(std::size_t index);
  // One GET_CLUSTER_CONFIG on fd_, its answer handled.
  std::optional<Failure> ask(std::size_t index);
  // Writes all of `bytes`, or reads one binary response frame, within the
  // reply timeout; false with `why` set.
  bool write_all(const std::string& bytes, std::string& why);
  bool read_frame(std::string& header, std::string& body, std::string& why);
  Wait wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline);
  void pause(std::chrono::milliseconds delay);  // returns early on stop()
  void close_connection();
  void report(conflate::SourceStatus::Kind kind, const std::string& source, const std::string& message);
  void report_failure(std::size_t index, const Failure& failure);
  void report_connected(std::size_t index);
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  struct Counters {
    std::atomic<std::uint64_t> requests{0}, documents_delivered{0}, documents_invalid{0}, documents_duplicate{0},
        failures{0}, auth_failures{0};
  };

  const DataNodeSourceOptions options_;
  const conflate::UpdateCallback on_update_;
  const conflate::StatusCallback on_status_;
  int wake_fd_ = -1;  // eventfd: stop() makes it readable
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  Counters counters_;

  // Source thread only.
  int fd_ = -1;  // the connection to the current node; -1 when none
  conflate::Backoff backoff_;
  conflate::DocumentFilter filter_;
  std::vector<bool> node_up_;
  std::vector<std::string> node_last_failure_;
};

}  // namespace moxi::backend
