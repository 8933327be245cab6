// DataNodeConfigSource against fake Couchbase data nodes (VBucketServer in
// Couchbase mode): the login, the config with $HOST read as the node's
// host, polling, duplicates, failover to the next node, refusals reported
// once and without the password.
#include <cppunit/extensions/HelperMacros.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "src/backend/data_node_config_source.h"
#include "src/backend/sasl_client.h"
#include "t/support/deadline.h"
#include "t/support/vbucket_server.h"

namespace moxi::test {
namespace {

// A terse config (as ns_server writes it for CCCP) of bucket "travel"
// with its one node written "$HOST:PORT", revision `rev`.
std::string terse_config(int rev, int port) {
  return R"({"rev":)" + std::to_string(rev) + R"(,"name":"travel","nodeLocator":"vbucket","vBucketServerMap":)"
         R"({"hashAlgorithm":"CRC","numReplicas":0,"serverList":["$HOST:)" +
         std::to_string(port) + R"("],"vBucketMap":[[0],[0],[0],[0]]},"nodesExt":[{"services":{"kv":)" +
         std::to_string(port) + R"(},"thisNode":true}]})";
}

VBucketServer::Options data_node() { return VBucketServer::data_node({"travel"}, {{"app", "app-pw", {"travel"}, ""}}); }

// What the source delivered and reported, waited for with a deadline.
class Recorder {
 public:
  conflate::UpdateCallback updates() {
    return [this](conflate::ConfigUpdate u) {
      std::lock_guard lock(mutex_);
      updates_.push_back(std::move(u));
      changed_.notify_all();
    };
  }
  conflate::StatusCallback statuses() {
    return [this](const conflate::SourceStatus& s) {
      std::lock_guard lock(mutex_);
      statuses_.push_back(s);
      changed_.notify_all();
    };
  }
  bool wait_updates(size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return updates_.size() >= n; });
  }
  bool wait_status(conflate::SourceStatus::Kind kind) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] {
      for (const auto& s : statuses_)
        if (s.kind == kind) return true;
      return false;
    });
  }
  std::vector<conflate::ConfigUpdate> updates_copy() {
    std::lock_guard lock(mutex_);
    return updates_;
  }
  std::vector<conflate::SourceStatus> statuses_copy() {
    std::lock_guard lock(mutex_);
    return statuses_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<conflate::ConfigUpdate> updates_;
  std::vector<conflate::SourceStatus> statuses_;
};

backend::DataNodeSourceOptions options_for(const std::vector<int>& ports, std::string password = "app-pw") {
  backend::DataNodeSourceOptions o;
  for (int port : ports) o.nodes.push_back({"127.0.0.1", static_cast<uint16_t>(port), "travel"});
  o.bucket = "travel";
  o.user = "app";
  o.password = std::move(password);
  o.agent = "moxi/test";
  o.interval = std::chrono::milliseconds(20);
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.reply_timeout = std::chrono::milliseconds(2000);
  o.backoff_min = std::chrono::milliseconds(1);
  o.backoff_max = std::chrono::milliseconds(20);
  o.random_seed = 1;
  return o;
}

// A port nothing listens on: a server's, once it stopped.
int closed_port() {
  VBucketServer gone;
  return gone.port();
}

}  // namespace

class DataNodeSourceTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DataNodeSourceTest);
  CPPUNIT_TEST(delivers_the_nodes_config_with_its_host);
  CPPUNIT_TEST(polls_and_delivers_changes_only);
  CPPUNIT_TEST(fails_over_to_the_next_node);
  CPPUNIT_TEST(refused_login_reported_without_the_password);
  CPPUNIT_TEST(node_without_a_config_is_left_for_the_next);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    std::string error;
    CPPUNIT_ASSERT_MESSAGE(error, backend::init_sasl_library(error));
  }

  void delivers_the_nodes_config_with_its_host() {
    VBucketServer node(data_node());
    node.set_cluster_config(terse_config(7, node.port()));
    Recorder seen;
    backend::DataNodeConfigSource source(options_for({node.port()}), seen.updates(), seen.statuses());
    source.start();
    CPPUNIT_ASSERT(seen.wait_updates(1));
    // Reported once the answer was handled.
    CPPUNIT_ASSERT(seen.wait_status(conflate::SourceStatus::Kind::connected));
    source.stop();
    const conflate::ConfigUpdate first = seen.updates_copy().front();
    CPPUNIT_ASSERT_EQUAL(terse_config(7, node.port()), first.document);
    CPPUNIT_ASSERT_EQUAL("couchbase://127.0.0.1:" + std::to_string(node.port()) + "/travel", first.source);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, first.buckets.size());
    CPPUNIT_ASSERT_EQUAL(std::string("travel"), first.buckets[0].name);
    // $HOST is the node's host.
    CPPUNIT_ASSERT_EQUAL(node.address(), first.buckets[0].config->servers().at(0).authority);
    // Logged in (SCRAM, the strongest offered) and selected the bucket first.
    const auto counters = node.auth_counters();
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, counters.logins);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, counters.logins_by_mechanism.at("SCRAM-SHA512"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, counters.selects);
    bool agent_named = false;
    for (const auto& r : node.received())
      if (r.opcode == 0x1f && r.key == "moxi/test") agent_named = true;
    CPPUNIT_ASSERT_MESSAGE("the second HELLO names the agent", agent_named);
  }

  void polls_and_delivers_changes_only() {
    VBucketServer node(data_node());
    node.set_cluster_config(terse_config(1, node.port()));
    Recorder seen;
    backend::DataNodeConfigSource source(options_for({node.port()}), seen.updates(), seen.statuses());
    source.start();
    CPPUNIT_ASSERT(seen.wait_updates(1));
    // The same config again and again: asked, not delivered.
    Deadline deadline(std::chrono::seconds(10));
    while (source.stats().documents_duplicate < 3) CPPUNIT_ASSERT(!deadline.expired());
    CPPUNIT_ASSERT_EQUAL(size_t{1}, seen.updates_copy().size());
    node.set_cluster_config(terse_config(2, node.port()));
    CPPUNIT_ASSERT(seen.wait_updates(2));
    source.stop();
    CPPUNIT_ASSERT_EQUAL(terse_config(2, node.port()), seen.updates_copy().at(1).document);
    // One connection, one login for all of it.
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, node.auth_counters().logins);
    CPPUNIT_ASSERT(node.cluster_config_requests() >= 4);
  }

  void fails_over_to_the_next_node() {
    const int down = closed_port();
    VBucketServer node(data_node());
    node.set_cluster_config(terse_config(3, node.port()));
    Recorder seen;
    backend::DataNodeConfigSource source(options_for({down, node.port()}), seen.updates(), seen.statuses());
    source.start();
    CPPUNIT_ASSERT(seen.wait_updates(1));
    CPPUNIT_ASSERT(seen.wait_status(conflate::SourceStatus::Kind::disconnected));
    // The working node is kept while it answers.
    Deadline deadline(std::chrono::seconds(10));
    while (node.cluster_config_requests() < 5) CPPUNIT_ASSERT(!deadline.expired());
    source.stop();
    bool named = false;
    for (const auto& s : seen.statuses_copy())
      if (s.kind == conflate::SourceStatus::Kind::disconnected)
        named = named || s.message.find("cannot connect to couchbase://127.0.0.1:" + std::to_string(down)) == 0;
    CPPUNIT_ASSERT_MESSAGE("the failure names the node", named);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, source.stats().failures);
  }

  void refused_login_reported_without_the_password() {
    VBucketServer node(data_node());
    node.set_cluster_config(terse_config(1, node.port()));
    Recorder seen;
    backend::DataNodeConfigSource source(options_for({node.port()}, "wrong-secret"), seen.updates(), seen.statuses());
    source.start();
    CPPUNIT_ASSERT(seen.wait_status(conflate::SourceStatus::Kind::auth_failure));
    // Retried (every attempt fails), reported once.
    Deadline deadline(std::chrono::seconds(10));
    while (source.stats().auth_failures < 3) CPPUNIT_ASSERT(!deadline.expired());
    source.stop();
    CPPUNIT_ASSERT(seen.updates_copy().empty());
    size_t reports = 0;
    for (const auto& s : seen.statuses_copy()) {
      CPPUNIT_ASSERT(s.message.find("wrong-secret") == std::string::npos);
      if (s.kind != conflate::SourceStatus::Kind::auth_failure) continue;
      ++reports;
      CPPUNIT_ASSERT_MESSAGE(s.message, s.message.find("user \"app\" was refused") != std::string::npos);
      CPPUNIT_ASSERT_MESSAGE(s.message, s.message.find("check -Z usr and pwd") != std::string::npos);
    }
    CPPUNIT_ASSERT_EQUAL(size_t{1}, reports);
    CPPUNIT_ASSERT_EQUAL(uint64_t{0}, node.cluster_config_requests());
  }

  // A node that has no config yet (KEY_ENOENT) is left for the next one.
  void node_without_a_config_is_left_for_the_next() {
    VBucketServer empty(data_node()), node(data_node());
    node.set_cluster_config(terse_config(4, node.port()));
    Recorder seen;
    backend::DataNodeConfigSource source(options_for({empty.port(), node.port()}), seen.updates(), seen.statuses());
    source.start();
    CPPUNIT_ASSERT(seen.wait_updates(1));
    source.stop();
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, empty.cluster_config_requests());
    bool said = false;
    for (const auto& s : seen.statuses_copy())
      said = said || s.message.find("GET_CLUSTER_CONFIG answered 0x01 (the node has no config for the bucket yet)") !=
                         std::string::npos;
    CPPUNIT_ASSERT_MESSAGE("the refusal is reported with its meaning", said);
    CPPUNIT_ASSERT_EQUAL(terse_config(4, node.port()), seen.updates_copy().front().document);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DataNodeSourceTest);

}  // namespace moxi::test
