// The gateway's rules (src/routing/bucket_access.h): which credentials
// moxi uses for a bucket's servers, where a new client connection starts,
// and which bucket a client's SASL PLAIN login gives it.
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/routing/bucket_access.h"
#include "vbucket/config_parse.h"

namespace moxi::test {
namespace {

using namespace std::string_literals;

// `password` null: no saslPassword at all. (Not std::optional<std::string>:
// GCC 12 warns falsely of it as maybe-uninitialized in the TSan build.)
vbucket::ConfigPtr config_with(const char* password) {
  std::string doc = R"({"name":"b")";
  if (password) doc += R"(,"saslPassword":")" + std::string(password) + "\"";
  doc += R"(,"vBucketServerMap":{"hashAlgorithm":"CRC","numReplicas":0,"serverList":["127.0.0.1:1"],"vBucketMap":[[0]]}})";
  auto parsed = vbucket::parse_config(doc);
  CPPUNIT_ASSERT_MESSAGE(parsed.ok() ? "" : parsed.error(), parsed.ok());
  return parsed.value();
}

std::shared_ptr<const Bucket> bucket(const std::string& name, const char* password) {
  return make_bucket(name, config_with(password), protocol::Protocol::Binary);
}

AccessSettings with_user(std::string user, std::string password, std::string select = "") {
  AccessSettings s;
  s.backend_user = std::move(user);
  s.backend_password = std::move(password);
  s.backend_bucket = std::move(select);
  return s;
}

class BucketAccessTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(BucketAccessTest);
  CPPUNIT_TEST(testProxyUserSelectsEachGatewayBucket);
  CPPUNIT_TEST(testProxyUserWithOneBucket);
  CPPUNIT_TEST(testBucketPasswordWithoutProxyUser);
  CPPUNIT_TEST(testStartBucketOfOneBucketDocument);
  CPPUNIT_TEST(testStartBucketOfGateway);
  CPPUNIT_TEST(testDefaultBucketName);
  CPPUNIT_TEST(testPlainData);
  CPPUNIT_TEST(testAuthenticatePlain);
  CPPUNIT_TEST(testClientPasswordTable);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testProxyUserSelectsEachGatewayBucket() {
    // Couchbase 5.0+: one RBAC user; every bucket of a gateway selects its own name.
    const AccessSettings s = with_user("admin", "pw", "ignored");
    const BackendAuth a = backend_auth_for("b1", *config_with("p1"), true, MapSource::ClusterManager, s);
    CPPUNIT_ASSERT_EQUAL("admin"s, a.user);
    CPPUNIT_ASSERT_EQUAL("pw"s, a.password);
    CPPUNIT_ASSERT_EQUAL("b1"s, a.select_bucket);
    CPPUNIT_ASSERT_EQUAL("b1"s, backend_auth_for("b1", *config_with(nullptr), true, MapSource::File, s).select_bucket);
  }

  void testProxyUserWithOneBucket() {
    // -Z bucket wins; else a cluster manager's bucket selects its name; a file's selects nothing.
    CPPUNIT_ASSERT_EQUAL("x"s, backend_auth_for("b", *config_with(nullptr), false, MapSource::ClusterManager,
                                                with_user("u", "p", "x"))
                                   .select_bucket);
    CPPUNIT_ASSERT_EQUAL("b"s, backend_auth_for("b", *config_with(nullptr), false, MapSource::ClusterManager,
                                                with_user("u", "p"))
                                   .select_bucket);
    CPPUNIT_ASSERT_EQUAL(""s,
                         backend_auth_for("b", *config_with(nullptr), false, MapSource::File, with_user("u", "p")).select_bucket);
  }

  void testBucketPasswordWithoutProxyUser() {
    // Before 5.0: the bucket's name and saslPassword, no SELECT_BUCKET.
    const BackendAuth a = backend_auth_for("b1", *config_with("p1"), true, MapSource::ClusterManager, {});
    CPPUNIT_ASSERT_EQUAL("b1"s, a.user);
    CPPUNIT_ASSERT_EQUAL("p1"s, a.password);
    CPPUNIT_ASSERT_EQUAL(""s, a.select_bucket);
    // No password, or an empty one: no SASL at all.
    CPPUNIT_ASSERT(backend_auth_for("b1", *config_with(""), true, MapSource::ClusterManager, {}) == BackendAuth{});
    CPPUNIT_ASSERT(backend_auth_for("b1", *config_with(nullptr), true, MapSource::ClusterManager, {}) == BackendAuth{});
  }

  void testStartBucketOfOneBucketDocument() {
    // The per-port mode: its bucket, password or not.
    auto only = bucket("b1", "p1");
    CPPUNIT_ASSERT(start_bucket({only}, false, {}) == only);
    CPPUNIT_ASSERT(start_bucket({}, false, {}) == nullptr);
  }

  void testStartBucketOfGateway() {
    auto open = bucket("open", "");
    auto dflt = bucket("default", nullptr);
    auto secret = bucket("secret", "p");
    CPPUNIT_ASSERT(start_bucket({open, dflt, secret}, true, {}) == dflt);  // "default" first
    CPPUNIT_ASSERT(start_bucket({open, secret}, true, {}) == open);        // else the first
    CPPUNIT_ASSERT(start_bucket({secret, open}, true, {}) == nullptr);     // never a protected one
    CPPUNIT_ASSERT(start_bucket({secret}, true, {}) == nullptr);           // a gateway listing one bucket
  }

  void testDefaultBucketName() {
    auto open = bucket("open", "");
    auto secret = bucket("secret", "p");
    AccessSettings s;
    s.default_bucket_name = "open";
    CPPUNIT_ASSERT(start_bucket({secret, open}, true, s) == open);
    CPPUNIT_ASSERT(start_bucket({open}, false, s) == open);
    s.default_bucket_name = "secret";
    CPPUNIT_ASSERT(start_bucket({secret, open}, true, s) == nullptr);
    CPPUNIT_ASSERT(start_bucket({secret}, false, s) == nullptr);
    s.default_bucket_name = "missing";
    CPPUNIT_ASSERT(start_bucket({secret, open}, true, s) == nullptr);
    s.default_bucket_name = "";
    CPPUNIT_ASSERT(start_bucket({open}, true, s) == nullptr);
  }

  void testPlainData() {
    const std::string plain = "\0user\0pass"s;  // the views point into it
    auto c = parse_plain(plain);
    CPPUNIT_ASSERT(c);
    CPPUNIT_ASSERT_EQUAL("user"s, std::string(c->user));
    CPPUNIT_ASSERT_EQUAL("pass"s, std::string(c->password));
    const std::string with_authzid = "authz\0user\0pa,ss=|%\0"s;  // authzid ignored, trailing NUL tolerated
    c = parse_plain(with_authzid);
    CPPUNIT_ASSERT(c);
    CPPUNIT_ASSERT_EQUAL("user"s, std::string(c->user));
    CPPUNIT_ASSERT_EQUAL("pa,ss=|%"s, std::string(c->password));
    const std::string no_password = "\0default\0"s;
    c = parse_plain(no_password);
    CPPUNIT_ASSERT(c);
    CPPUNIT_ASSERT_EQUAL("default"s, std::string(c->user));
    CPPUNIT_ASSERT_EQUAL(""s, std::string(c->password));
    CPPUNIT_ASSERT(!parse_plain("userpass"));
    const std::string one_nul = "\0userpass"s;
    CPPUNIT_ASSERT(!parse_plain(one_nul));
  }

  void testAuthenticatePlain() {
    PortBinding port;
    port.buckets = {bucket("default", nullptr), bucket("b1", "p1")};
    CPPUNIT_ASSERT(authenticate_plain(port, "b1", "p1") == &port.buckets[1]);
    CPPUNIT_ASSERT(authenticate_plain(port, "b1", "p2") == nullptr);
    CPPUNIT_ASSERT(authenticate_plain(port, "b1", "p1x") == nullptr);
    CPPUNIT_ASSERT(authenticate_plain(port, "b1", "") == nullptr);
    CPPUNIT_ASSERT(authenticate_plain(port, "default", "") == &port.buckets[0]);
    CPPUNIT_ASSERT(authenticate_plain(port, "default", "x") == nullptr);
    CPPUNIT_ASSERT(authenticate_plain(port, "nosuch", "") == nullptr);
  }

  void testClientPasswordTable() {
    AccessSettings s;
    s.client_passwords = {{"b1", "table"}, {"open", "now-closed"}};
    CPPUNIT_ASSERT_EQUAL("table"s, client_password_for("b1", *config_with("p1"), s));  // the table wins
    CPPUNIT_ASSERT_EQUAL("now-closed"s, client_password_for("open", *config_with(nullptr), s));
    CPPUNIT_ASSERT_EQUAL("p2"s, client_password_for("b2", *config_with("p2"), s));  // else saslPassword
    CPPUNIT_ASSERT_EQUAL(""s, client_password_for("b3", *config_with(nullptr), s));       // else open
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BucketAccessTest);

}  // namespace
}  // namespace moxi::test
