// VBucketServer's vBucket enforcement: NOT_MY_VBUCKET for unowned vBuckets
// (and success once ownership changes), keyless commands always served,
// GET_CLUSTER_CONFIG, the optional key-hash check, the request log, and three
// servers as a cluster.
#include <cppunit/extensions/HelperMacros.h>

#include <iterator>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "t/fakebackend/fake_util.h"
#include "t/support/client.h"
#include "t/support/vbucket_server.h"

namespace moxi::test {

using namespace std::chrono_literals;
using namespace fake;

class FakeVbucketTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(FakeVbucketTest);
  CPPUNIT_TEST(owns_every_vbucket_at_first);
  CPPUNIT_TEST(unowned_vbucket_is_not_my_vbucket);
  CPPUNIT_TEST(every_keyed_command_is_checked);
  CPPUNIT_TEST(ownership_changes_take_effect);
  CPPUNIT_TEST(keyless_commands_are_always_served);
  CPPUNIT_TEST(quiet_commands_still_get_not_my_vbucket);
  CPPUNIT_TEST(not_my_vbucket_body_is_settable);
  CPPUNIT_TEST(cluster_config_is_settable);
  CPPUNIT_TEST(hash_check_rejects_wrong_ids);
  CPPUNIT_TEST(hash_check_comes_before_ownership);
  CPPUNIT_TEST(hash_check_arguments);
  CPPUNIT_TEST(request_log_records_ids);
  CPPUNIT_TEST(three_servers_as_a_cluster);
  CPPUNIT_TEST_SUITE_END();

 public:
  void owns_every_vbucket_at_first() {
    VBucketServer s;
    CPPUNIT_ASSERT(s.owns(0) && s.owns(1023) && s.owns(65535));
    TestClient c(s.port());
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Set, "k", "v", set_extras(0, 0), 777)));
    CPPUNIT_ASSERT_EQUAL(uint64_t(0), s.nmv_count());
  }

  void unowned_vbucket_is_not_my_vbucket() {
    VBucketServer s;
    s.set_owned({1, 2});
    CPPUNIT_ASSERT(!s.owns(0) && s.owns(1) && s.owns(2) && !s.owns(3));
    TestClient c(s.port());
    BinaryPacket r = call(c, req(Op::Set, "k", "v", set_extras(0, 0), 0, 0, 42));
    ASSERT_STATUS(bin::kNotMyVbucket, r);
    CPPUNIT_ASSERT_EQUAL(op(Op::Set), r.opcode);
    CPPUNIT_ASSERT_EQUAL(uint32_t(42), r.opaque);
    CPPUNIT_ASSERT(r.extras.empty() && r.key.empty() && r.value.empty());
    CPPUNIT_ASSERT_EQUAL(uint64_t(0), r.cas);
    CPPUNIT_ASSERT_EQUAL(uint64_t(1), s.nmv_count());
    CPPUNIT_ASSERT_EQUAL(size_t(0), s.item_count());  // nothing executed
    // An owned vBucket is served, on the same connection.
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Set, "k", "v", set_extras(0, 0), 2)));
    ASSERT_STATUS(bin::kNotMyVbucket, call(c, req(Op::Get, "k", "", "", 3)));
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Get, "k", "", "", 1)));
    CPPUNIT_ASSERT_EQUAL(uint64_t(2), s.nmv_count());
  }

  void every_keyed_command_is_checked() {
    VBucketServer s;
    s.put("k", "1");
    s.set_owned({});
    const BinaryPacket keyed[] = {
        req(Op::Get, "k", "", "", 9),           req(Op::GetK, "k", "", "", 9),
        req(Op::Set, "k", "v", set_extras(0, 0), 9), req(Op::Add, "n", "v", set_extras(0, 0), 9),
        req(Op::Replace, "k", "v", set_extras(0, 0), 9), req(Op::Delete, "k", "", "", 9),
        req(Op::Increment, "k", "", arith_extras(1, 0, 0), 9), req(Op::Decrement, "k", "", arith_extras(1, 0, 0), 9),
        req(Op::Append, "k", "x", "", 9),       req(Op::Prepend, "k", "x", "", 9),
        req(Op::Touch, "k", "", u32(0), 9),     req(Op::Gat, "k", "", u32(0), 9),
        req(Op::GatK, "k", "", u32(0), 9),
    };
    TestClient c(s.port());
    for (const auto& packet : keyed) {
      BinaryPacket r = call(c, packet);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(packet), int(bin::kNotMyVbucket), int(r.status()));
      CPPUNIT_ASSERT_EQUAL(packet.opcode, r.opcode);
    }
    CPPUNIT_ASSERT_EQUAL(uint64_t(std::size(keyed)), s.nmv_count());
    CPPUNIT_ASSERT_EQUAL(std::string("1"), s.get("k").value_or("?"));  // untouched
    CPPUNIT_ASSERT(!s.get("n"));
  }

  void ownership_changes_take_effect() {
    VBucketServer s;
    s.set_owned({});
    TestClient c(s.port());
    ASSERT_STATUS(bin::kNotMyVbucket, call(c, req(Op::Set, "k", "v", set_extras(0, 0), 5)));
    s.set_owned({5});
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Set, "k", "v", set_extras(0, 0), 5)));
    ASSERT_STATUS(bin::kNotMyVbucket, call(c, req(Op::Get, "k", "", "", 6)));
    s.own_all();
    CPPUNIT_ASSERT(s.owns(6));
    ASSERT_STATUS(bin::kKeyNotFound, call(c, req(Op::Get, "other", "", "", 6)));
    s.set_owned({6});
    CPPUNIT_ASSERT(!s.owns(5));
    ASSERT_STATUS(bin::kNotMyVbucket, call(c, req(Op::Get, "k", "", "", 5)));
    CPPUNIT_ASSERT_EQUAL(uint64_t(3), s.nmv_count());
  }

  void keyless_commands_are_always_served() {
    VBucketServer s;
    s.set_owned({});
    TestClient c(s.port());
    // Any id in the header: keyless commands do not belong to a vBucket.
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Noop, "", "", "", 12)));
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Version, "", "", "", 12)));
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Flush, "", "", "", 12)));
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Verbosity, "", "", u32(0), 12)));
    c.send_binary(req(Op::Stat, "", "", "", 12));
    for (;;) {
      BinaryPacket p = c.read_binary();
      ASSERT_STATUS(bin::kSuccess, p);
      if (p.key.empty()) break;
    }
    ASSERT_STATUS(bin::kUnknownCommand, call(c, req(static_cast<Op>(0x50), "k", "", "", 12)));
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Quit, "", "", "", 12)));
    CPPUNIT_ASSERT_EQUAL(uint64_t(0), s.nmv_count());
  }

  void quiet_commands_still_get_not_my_vbucket() {
    VBucketServer s;
    s.set_owned({0});
    s.put("k", "v");
    TestClient c(s.port());
    c.send_binary(req(Op::GetQ, "k", "", "", 1, 0, 1));
    c.send_binary(req(Op::GetKQ, "k", "", "", 1, 0, 2));
    c.send_binary(req(Op::SetQ, "k", "v", set_extras(0, 0), 1, 0, 3));
    c.send_binary(req(Op::SetQ, "k", "w", set_extras(0, 0), 0, 0, 4));  // owned: silent
    c.send_binary(req(Op::DeleteQ, "k", "", "", 1, 0, 5));
    c.send_binary(req(Op::IncrementQ, "k", "", arith_extras(1, 0, 0), 1, 0, 6));
    c.send_binary(req(Op::AppendQ, "k", "x", "", 1, 0, 7));
    c.send_binary(req(Op::GatKQ, "k", "", u32(0), 1, 0, 8));
    c.send_binary(req(Op::Noop, "", "", "", 0, 0, 9));
    std::vector<BinaryPacket> r = read_through_noop(c);
    CPPUNIT_ASSERT_EQUAL(size_t(8), r.size());
    const uint32_t opaques[] = {1, 2, 3, 5, 6, 7, 8};
    for (std::size_t i = 0; i < std::size(opaques); ++i) {
      ASSERT_STATUS(bin::kNotMyVbucket, r[i]);
      CPPUNIT_ASSERT_EQUAL(opaques[i], r[i].opaque);
    }
    CPPUNIT_ASSERT_EQUAL(std::string("w"), s.get("k").value_or("?"));
    CPPUNIT_ASSERT_EQUAL(uint64_t(7), s.nmv_count());
  }

  void not_my_vbucket_body_is_settable() {
    VBucketServer s;
    s.set_owned({});
    const std::string config = R"({"rev":2,"vBucketServerMap":{}})";
    s.set_not_my_vbucket_body(config);
    TestClient c(s.port());
    BinaryPacket r = call(c, req(Op::Get, "k"));
    ASSERT_STATUS(bin::kNotMyVbucket, r);
    CPPUNIT_ASSERT_EQUAL(config, r.value);
    CPPUNIT_ASSERT(r.key.empty() && r.extras.empty());
  }

  // GET_CLUSTER_CONFIG: an unknown opcode, as to plain memcached, until a
  // config is set; then served as a 7.x data node serves it.
  void cluster_config_is_settable() {
    VBucketServer s;
    TestClient c(s.port());
    ASSERT_STATUS(bin::kUnknownCommand, call(c, req(Op::GetClusterConfig)));
    const std::string config = R"({"rev":3,"nodes":[{"hostname":"$HOST:8091"}],"vBucketServerMap":{}})";
    s.set_cluster_config(config);
    const BinaryPacket r = call(c, req(Op::GetClusterConfig));
    ASSERT_STATUS(bin::kSuccess, r);
    CPPUNIT_ASSERT_EQUAL(config, r.value);  // "$HOST" as it is
    CPPUNIT_ASSERT_EQUAL(0, int{r.datatype});  // no HELLO JSON
    CPPUNIT_ASSERT(r.key.empty() && r.extras.empty());
    // Before 7.6: no extras (the known-version form), key, value or CAS;
    // EINVAL, and the connection stays.
    ASSERT_STATUS(bin::kInvalidArguments, call(c, req(Op::GetClusterConfig, "", "", std::string(16, '\0'))));
    ASSERT_STATUS(bin::kInvalidArguments, call(c, req(Op::GetClusterConfig, "k")));
    ASSERT_STATUS(bin::kInvalidArguments, call(c, req(Op::GetClusterConfig, "", "v")));
    ASSERT_STATUS(bin::kInvalidArguments, call(c, req(Op::GetClusterConfig, "", "", "", 0, 5)));
    CPPUNIT_ASSERT_EQUAL(config, call(c, req(Op::GetClusterConfig)).value);
    s.set_cluster_config("");
    ASSERT_STATUS(bin::kUnknownCommand, call(c, req(Op::GetClusterConfig)));
    CPPUNIT_ASSERT_EQUAL(uint64_t{8}, s.cluster_config_requests());
    CPPUNIT_ASSERT_EQUAL(uint64_t{8}, s.requests());
  }

  void hash_check_rejects_wrong_ids() {
    VBucketServer s;
    s.check_vbucket_hash(1024);
    TestClient c(s.port());
    for (const char* key : {"a", "hello", "user:1234", "caf\xc3\xa9"}) {
      const uint16_t vb = vbucket_of(key, 1024);
      ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Set, key, "v", set_extras(0, 0), vb)));
      BinaryPacket bad = call(c, req(Op::Get, key, "", "", static_cast<uint16_t>(vb ^ 1), 0, 17));
      ASSERT_STATUS(bin::kInvalidArguments, bad);
      CPPUNIT_ASSERT_EQUAL(uint32_t(17), bad.opaque);
      CPPUNIT_ASSERT_EQUAL("vbucket mismatch: request has " + std::to_string(vb ^ 1) + ", key hashes to " +
                               std::to_string(vb),
                           bad.value);
      // Not a protocol error: the connection stays.
      ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Get, key, "", "", vb)));
    }
    CPPUNIT_ASSERT_EQUAL(uint64_t(4), s.bad_vbucket_count());
    CPPUNIT_ASSERT_EQUAL(uint64_t(0), s.nmv_count());
    // Ids beyond the map size are wrong too; keyless commands are not checked.
    ASSERT_STATUS(bin::kInvalidArguments, call(c, req(Op::Get, "a", "", "", 4000)));
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Noop, "", "", "", 4000)));
    // Switched off, any id is accepted again.
    s.check_vbucket_hash(0);
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Get, "a", "", "", 4000)));
    CPPUNIT_ASSERT_EQUAL(uint64_t(5), s.bad_vbucket_count());
  }

  void hash_check_comes_before_ownership() {
    VBucketServer s;
    s.check_vbucket_hash(64);
    const uint16_t right = vbucket_of("key", 64);
    const uint16_t wrong = static_cast<uint16_t>((right + 1) % 64);
    s.set_owned({right});
    TestClient c(s.port());
    // A wrong id is the sender's bug whoever owns it: no NOT_MY_VBUCKET that
    // would send a proxy off re-routing.
    ASSERT_STATUS(bin::kInvalidArguments, call(c, req(Op::Get, "key", "", "", wrong)));
    s.set_owned({wrong});
    ASSERT_STATUS(bin::kNotMyVbucket, call(c, req(Op::Get, "key", "", "", right)));
    CPPUNIT_ASSERT_EQUAL(uint64_t(1), s.bad_vbucket_count());
    CPPUNIT_ASSERT_EQUAL(uint64_t(1), s.nmv_count());
  }

  void hash_check_arguments() {
    VBucketServer s;
    CPPUNIT_ASSERT_THROW(s.check_vbucket_hash(3), std::invalid_argument);
    CPPUNIT_ASSERT_THROW(s.check_vbucket_hash(131072), std::invalid_argument);
    s.check_vbucket_hash(1);  // one vBucket: every key is in 0
    s.check_vbucket_hash(65536);
    TestClient c(s.port());
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Set, "k", "v", set_extras(0, 0), vbucket_of("k", 65536))));
  }

  void request_log_records_ids() {
    VBucketServer s;
    s.set_owned({3});
    TestClient c(s.port());
    call(c, req(Op::Set, "a", "v", set_extras(0, 0), 3, 0, 1));
    call(c, req(Op::Get, "b", "", "", 4, 0, 2));
    call(c, req(Op::Noop, "", "", "", 0, 0, 3));
    std::vector<VBucketServer::Request> log = s.received();
    CPPUNIT_ASSERT_EQUAL(size_t(3), log.size());
    CPPUNIT_ASSERT_EQUAL(op(Op::Set), log[0].opcode);
    CPPUNIT_ASSERT_EQUAL(uint16_t(3), log[0].vbucket);
    CPPUNIT_ASSERT_EQUAL(std::string("a"), log[0].key);
    CPPUNIT_ASSERT_EQUAL(uint32_t(1), log[0].opaque);
    CPPUNIT_ASSERT_EQUAL(op(Op::Get), log[1].opcode);
    CPPUNIT_ASSERT_EQUAL(uint16_t(4), log[1].vbucket);  // logged although refused
    CPPUNIT_ASSERT_EQUAL(std::string("b"), log[1].key);
    CPPUNIT_ASSERT_EQUAL(op(Op::Noop), log[2].opcode);
    CPPUNIT_ASSERT_EQUAL(uint64_t(3), s.requests());
  }

  void three_servers_as_a_cluster() {
    constexpr uint32_t kVbuckets = 64;
    std::vector<std::unique_ptr<VBucketServer>> servers;
    std::set<int> ports;
    std::set<uint32_t> ids;
    for (int i = 0; i < 3; ++i) {
      servers.push_back(std::make_unique<VBucketServer>());
      std::set<uint16_t> mine;
      for (uint16_t vb = 0; vb < kVbuckets; ++vb) {
        if (vb % 3 == i) mine.insert(vb);
      }
      servers.back()->set_owned(mine);
      servers.back()->check_vbucket_hash(kVbuckets);
      ports.insert(servers.back()->port());
      ids.insert(servers.back()->id());
      CPPUNIT_ASSERT_EQUAL("127.0.0.1:" + std::to_string(servers.back()->port()), servers.back()->address());
    }
    CPPUNIT_ASSERT_EQUAL(size_t(3), ports.size());
    CPPUNIT_ASSERT_EQUAL(size_t(3), ids.size());
    std::vector<TestClient> clients;
    for (auto& s : servers) clients.emplace_back(s->port());

    // Every key offered to every server: only its owner takes it.
    constexpr int kKeys = 30;
    for (int k = 0; k < kKeys; ++k) {
      const std::string key = "key-" + std::to_string(k);
      const uint16_t vb = vbucket_of(key, kVbuckets);
      for (int i = 0; i < 3; ++i) {
        BinaryPacket r = call(clients[i], req(Op::Set, key, "v" + std::to_string(i), set_extras(0, 0), vb));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(key + " on server " + std::to_string(i),
                                     int(vb % 3 == i ? bin::kSuccess : bin::kNotMyVbucket), int(r.status()));
      }
      const int owner = vb % 3;
      for (int i = 0; i < 3; ++i) {
        CPPUNIT_ASSERT_EQUAL(i == owner, servers[i]->get(key).has_value());
      }
      CPPUNIT_ASSERT_EQUAL("v" + std::to_string(owner), servers[owner]->get(key).value_or("?"));
    }
    std::size_t items = 0;
    uint64_t nmv = 0;
    for (auto& s : servers) {
      items += s->item_count();
      nmv += s->nmv_count();
      CPPUNIT_ASSERT_EQUAL(uint64_t(0), s->bad_vbucket_count());
      CPPUNIT_ASSERT_EQUAL(uint64_t(kKeys), s->requests());
    }
    CPPUNIT_ASSERT_EQUAL(size_t(kKeys), items);
    CPPUNIT_ASSERT_EQUAL(uint64_t(2 * kKeys), nmv);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(FakeVbucketTest);

}  // namespace moxi::test
