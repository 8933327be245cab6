// VBucketServer in Couchbase mode, checked against what couchbase-kv.md
// (sections 4, 5 and 9) says a Couchbase Server 7.6 data node does: the
// mechanism list, EACCESS before a login (sent even without XERROR), PLAIN,
// SCRAM against the RFC 5802 and RFC 7677 test vectors and against a
// client written here on OpenSSL, HELLO, NO_BUCKET, SELECT_BUCKET's
// refusals (a closed connection without XERROR), GET_CLUSTER_CONFIG, one key
// space per bucket, per-bucket vBuckets, the introspection, and a restart on
// the same port.
#include <cppunit/extensions/HelperMacros.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
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

namespace {

constexpr uint8_t kHello = 0x1f;
constexpr uint8_t kGetErrorMap = 0xfe;
constexpr uint16_t kNoBucket = 0x08;
constexpr uint16_t kAuthError = 0x20;
constexpr uint16_t kAuthContinue = 0x21;
constexpr uint16_t kNoAccess = 0x24;

const std::string kNul(1, '\0');

// Two buckets; "app" may use b1 only, Administrator every bucket.
VBucketServer::Options two_buckets(std::string mechanisms = "SCRAM-SHA512 SCRAM-SHA256 SCRAM-SHA1 PLAIN") {
  VBucketServer::Options o;
  VBucketServer::Couchbase cb;
  cb.buckets = {"b1", "b2"};
  cb.users = {{"Administrator", "password", {"*"}, ""}, {"app", "s3cret", {"b1"}, ""}};
  cb.mechanisms = std::move(mechanisms);
  o.couchbase = cb;
  return o;
}

BinaryPacket plain(TestClient& c, const std::string& user, const std::string& password,
                   const std::string& mechanism = "PLAIN") {
  return call(c, req(Op::SaslAuth, mechanism, kNul + user + kNul + password));
}

BinaryPacket select(TestClient& c, const std::string& bucket) { return call(c, req(Op::SelectBucket, bucket)); }

std::string features(std::initializer_list<uint16_t> codes) {
  std::string out;
  for (uint16_t c : codes) {
    out += static_cast<char>(c >> 8);
    out += static_cast<char>(c & 0xff);
  }
  return out;
}

BinaryPacket hello(TestClient& c, std::initializer_list<uint16_t> codes) {
  return call(c, bin::request(kHello, "fake-test", features(codes)));
}

// The server closed the connection without answering `request`.
void assert_closed_without_reply(TestClient& c, const BinaryPacket& request) {
  c.send_binary(request);
  CPPUNIT_ASSERT_MESSAGE("the server kept the connection open", c.expect_closed(Deadline(2s)));
  CPPUNIT_ASSERT_THROW_MESSAGE("a reply came before the close", c.read_binary(), PeerClosed);
}

// --- a SCRAM client of the test's own (OpenSSL), for SHA-512 -------------------

std::string hmac512(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha512(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string sha512(const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha512(), nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string b64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string unb64(const std::string& in) {
  std::string out(in.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) throw std::runtime_error("not base64: " + in);
  std::size_t len = static_cast<std::size_t>(n);
  if (in.ends_with("==")) len -= 2;
  else if (in.ends_with("=")) len -= 1;
  out.resize(len);
  return out;
}

std::map<char, std::string> attributes(const std::string& message) {
  std::map<char, std::string> out;
  std::size_t i = 0;
  while (i < message.size()) {
    std::size_t j = message.find(',', i);
    if (j == std::string::npos) j = message.size();
    out[message[i]] = message.substr(i + 2, j - i - 2);
    i = j + 1;
  }
  return out;
}

struct ScramResult {
  BinaryPacket first;  // the reply to SASL_AUTH
  BinaryPacket final;  // the reply to SASL_STEP
  std::string expected_signature;  // "v=..." the server must send
};

// SCRAM-SHA512 as RFC 5802 describes it, with `password` as the client
// knows it (a wrong one for the failure cases).
ScramResult scram_sha512(TestClient& c, const std::string& user, const std::string& password,
                         const std::string& gs2 = "n,,") {
  ScramResult r;
  const std::string bare = "n=" + user + ",r=clientnonce0123";
  r.first = call(c, req(Op::SaslAuth, "SCRAM-SHA512", gs2 + bare));
  if (r.first.status() != kAuthContinue) return r;
  const auto a = attributes(r.first.value);
  const std::string salt = unb64(a.at('s'));
  const int iterations = std::stoi(a.at('i'));
  std::string salted(64, '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iterations,
                    EVP_sha512(), 64, reinterpret_cast<unsigned char*>(salted.data()));
  const std::string client_key = hmac512(salted, "Client Key");
  const std::string without_proof = "c=" + b64(gs2) + ",r=" + a.at('r');
  const std::string auth_message = bare + "," + r.first.value + "," + without_proof;
  const std::string signature = hmac512(sha512(client_key), auth_message);
  std::string proof(client_key.size(), '\0');
  for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(client_key[i] ^ signature[i]);
  r.expected_signature = "v=" + b64(hmac512(hmac512(salted, "Server Key"), auth_message));
  r.final = call(c, req(Op::SaslStep, "SCRAM-SHA512", without_proof + ",p=" + b64(proof)));
  return r;
}

// One RFC test vector: user "user", password "pencil".
struct Vector {
  std::string mechanism, salt, server_nonce, client_first, server_first, client_final, server_final;
};

void run_vector(const Vector& v) {
  VBucketServer::Options o;
  VBucketServer::Couchbase cb;
  cb.buckets = {"b"};
  cb.users = {{"user", "pencil", {"b"}, v.salt}};
  cb.mechanisms = v.mechanism;
  cb.scram_server_nonce = v.server_nonce;
  o.couchbase = cb;
  VBucketServer s(o);
  TestClient c(s.port());
  const BinaryPacket first = call(c, req(Op::SaslAuth, v.mechanism, v.client_first));
  ASSERT_STATUS(kAuthContinue, first);
  CPPUNIT_ASSERT_EQUAL(v.server_first, first.value);
  const BinaryPacket final = call(c, req(Op::SaslStep, v.mechanism, v.client_final));
  ASSERT_STATUS(bin::kSuccess, final);
  CPPUNIT_ASSERT_EQUAL(v.server_final, final.value);
  ASSERT_STATUS(bin::kSuccess, select(c, "b"));
  CPPUNIT_ASSERT_EQUAL(uint64_t{1}, s.auth_counters().logins_by_mechanism[v.mechanism]);
}

}  // namespace

class FakeCouchbaseTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(FakeCouchbaseTest);
  CPPUNIT_TEST(mechanisms_are_listed_in_order);
  CPPUNIT_TEST(before_login_everything_else_is_eaccess);
  CPPUNIT_TEST(large_frame_before_login_closes);
  CPPUNIT_TEST(plain_checks_the_password);
  CPPUNIT_TEST(plain_input_rules);
  CPPUNIT_TEST(scram_sha1_rfc5802_vector);
  CPPUNIT_TEST(scram_sha256_rfc7677_vector);
  CPPUNIT_TEST(scram_sha512_and_its_failures);
  CPPUNIT_TEST(scram_exchange_rules);
  CPPUNIT_TEST(hello_grants_and_resets);
  CPPUNIT_TEST(no_bucket_until_selected);
  CPPUNIT_TEST(cluster_config_needs_a_bucket);
  CPPUNIT_TEST(select_bucket_refusals);
  CPPUNIT_TEST(buckets_are_separate_key_spaces);
  CPPUNIT_TEST(vbuckets_per_bucket);
  CPPUNIT_TEST(accessors_name_the_bucket);
  CPPUNIT_TEST(restart_on_the_same_port);
  CPPUNIT_TEST_SUITE_END();

 public:
  void mechanisms_are_listed_in_order() {
    VBucketServer s(two_buckets());
    TestClient c(s.port());
    const BinaryPacket r = call(c, req(Op::SaslListMechs));
    ASSERT_STATUS(bin::kSuccess, r);
    CPPUNIT_ASSERT_EQUAL(std::string("SCRAM-SHA512 SCRAM-SHA256 SCRAM-SHA1 PLAIN"), r.value);
    VBucketServer only_plain(two_buckets("PLAIN"));
    TestClient p(only_plain.port());
    CPPUNIT_ASSERT_EQUAL(std::string("PLAIN"), call(p, req(Op::SaslListMechs)).value);
    CPPUNIT_ASSERT_THROW(VBucketServer(two_buckets("PLAIN CRAM-MD5")), std::invalid_argument);
  }

  void before_login_everything_else_is_eaccess() {
    VBucketServer s(two_buckets());
    TestClient c(s.port());
    // Sent as they are (7.1+), without XERROR, and the connection stays.
    ASSERT_STATUS(kNoAccess, call(c, req(Op::Set, "k", "v", set_extras(0, 0))));
    ASSERT_STATUS(kNoAccess, call(c, req(Op::Get, "k")));
    ASSERT_STATUS(kNoAccess, call(c, req(Op::Noop)));
    ASSERT_STATUS(kNoAccess, call(c, req(Op::Version)));
    ASSERT_STATUS(kNoAccess, select(c, "b1"));
    ASSERT_STATUS(kNoAccess, call(c, req(Op::Stat)));
    // Allowed before a login: HELLO, the SASL commands and GET_ERROR_MAP
    // (which this server does not implement).
    ASSERT_STATUS(bin::kSuccess, hello(c, {}));
    ASSERT_STATUS(bin::kUnknownCommand, call(c, bin::request(kGetErrorMap, "", features({2}))));
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::SaslListMechs)));
    CPPUNIT_ASSERT_EQUAL(std::size_t{0}, s.item_count("b1") + s.item_count("b2"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{6}, s.auth_counters().unauthenticated);
    // A failed login leaves it as it was.
    ASSERT_STATUS(kAuthError, plain(c, "app", "wrong"));
    ASSERT_STATUS(kNoAccess, call(c, req(Op::Noop)));
  }

  void large_frame_before_login_closes() {
    VBucketServer s(two_buckets());
    TestClient c(s.port());
    // 24 + 1001 bytes: over the 1 KiB a frame may have before a login.
    assert_closed_without_reply(c, req(Op::Set, "k", std::string(993, 'x'), set_extras(0, 0)));
    // After the login the same frame is served.
    TestClient d(s.port());
    ASSERT_STATUS(bin::kSuccess, plain(d, "app", "s3cret"));
    ASSERT_STATUS(bin::kSuccess, select(d, "b1"));
    ASSERT_STATUS(bin::kSuccess, call(d, req(Op::Set, "k", std::string(993, 'x'), set_extras(0, 0))));
  }

  void plain_checks_the_password() {
    VBucketServer s(two_buckets());
    TestClient c(s.port());
    ASSERT_STATUS(kAuthError, plain(c, "app", "wrong"));
    ASSERT_STATUS(kAuthError, plain(c, "nobody", "s3cret"));
    ASSERT_STATUS(kAuthError, plain(c, "app", ""));
    const BinaryPacket ok = plain(c, "app", "s3cret");
    ASSERT_STATUS(bin::kSuccess, ok);
    CPPUNIT_ASSERT_EQUAL(std::string(), ok.value);
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Noop)));
    // A new login logs out first: a failed one leaves the connection logged out.
    ASSERT_STATUS(kAuthError, plain(c, "app", "wrong"));
    ASSERT_STATUS(kNoAccess, call(c, req(Op::Noop)));
    const VBucketServer::AuthCounters n = s.auth_counters();
    CPPUNIT_ASSERT_EQUAL(uint64_t{5}, n.sasl_auth);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, n.logins);
    CPPUNIT_ASSERT_EQUAL(uint64_t{4}, n.auth_failures);
    CPPUNIT_ASSERT_EQUAL(uint64_t{1}, n.logins_by_mechanism.at("PLAIN"));
  }

  void plain_input_rules() {
    VBucketServer s(two_buckets("SCRAM-SHA256 PLAIN"));
    TestClient c(s.port());
    // The authzid is ignored, a trailing NUL tolerated, the name upper-cased.
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::SaslAuth, "PLAIN", "someone" + kNul + "app" + kNul + "s3cret")));
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::SaslAuth, "PLAIN", kNul + "app" + kNul + "s3cret" + kNul)));
    ASSERT_STATUS(bin::kSuccess, plain(c, "app", "s3cret", "plain"));
    // Malformed or empty: EINVAL; a mechanism not offered: AUTH_ERROR.
    ASSERT_STATUS(bin::kInvalidArguments, call(c, req(Op::SaslAuth, "PLAIN", "app" + kNul + "s3cret")));
    ASSERT_STATUS(bin::kInvalidArguments, call(c, req(Op::SaslAuth, "PLAIN", "")));
    ASSERT_STATUS(kAuthError, plain(c, "app", "s3cret", "CRAM-MD5"));
    ASSERT_STATUS(kAuthError, plain(c, "app", "s3cret", "SCRAM-SHA-256"));  // memcached's spelling
    ASSERT_STATUS(kAuthError, call(c, req(Op::SaslAuth, "SCRAM-SHA512", "n,,n=app,r=abc")));  // not offered here
    VBucketServer no_plain(two_buckets("SCRAM-SHA512"));
    TestClient d(no_plain.port());
    ASSERT_STATUS(kAuthError, plain(d, "app", "s3cret"));
  }

  void scram_sha1_rfc5802_vector() {
    run_vector({"SCRAM-SHA1", "QSXCR+Q6sek8bf92", "3rfcNHYJY1ZVvWVs7j", "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
                "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
                "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
                "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="});
  }

  void scram_sha256_rfc7677_vector() {
    run_vector({"SCRAM-SHA256", "W22ZaJ0SNY7soEsUEjb6gQ==", "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
                "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
                "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="});
  }

  void scram_sha512_and_its_failures() {
    VBucketServer s(two_buckets());
    TestClient c(s.port());
    ScramResult ok = scram_sha512(c, "Administrator", "password");
    ASSERT_STATUS(kAuthContinue, ok.first);
    CPPUNIT_ASSERT(ok.first.value.starts_with("r=clientnonce0123"));
    CPPUNIT_ASSERT(ok.first.value.find(",i=4096") != std::string::npos);
    ASSERT_STATUS(bin::kSuccess, ok.final);
    CPPUNIT_ASSERT_EQUAL(ok.expected_signature, ok.final.value);
    ASSERT_STATUS(bin::kSuccess, select(c, "b2"));
    // An authzid (libsasl2 sends one) is ignored.
    TestClient z(s.port());
    ASSERT_STATUS(bin::kSuccess, scram_sha512(z, "app", "s3cret", "n,a=app,").final);

    // A wrong password fails at the step; an unknown user is told apart
    // from a known one by nothing but that failure.
    TestClient w(s.port());
    ScramResult wrong = scram_sha512(w, "app", "wrong");
    ASSERT_STATUS(kAuthContinue, wrong.first);
    ASSERT_STATUS(kAuthError, wrong.final);
    ASSERT_STATUS(kNoAccess, call(w, req(Op::Noop)));
    ScramResult unknown = scram_sha512(w, "nobody", "password");
    ASSERT_STATUS(kAuthContinue, unknown.first);
    CPPUNIT_ASSERT(unknown.first.value.find(",s=") != std::string::npos);
    ASSERT_STATUS(kAuthError, unknown.final);
    // The made-up salt is the same each time, as a real user's would be.
    TestClient u(s.port());
    CPPUNIT_ASSERT_EQUAL(attributes(unknown.first.value).at('s'),
                         attributes(scram_sha512(u, "nobody", "password").first.value).at('s'));
    const VBucketServer::AuthCounters n = s.auth_counters();
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, n.logins);
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, n.logins_by_mechanism.at("SCRAM-SHA512"));
    CPPUNIT_ASSERT_EQUAL(uint64_t{3}, n.auth_failures);
  }

  void scram_exchange_rules() {
    VBucketServer s(two_buckets());
    TestClient c(s.port());
    // A step with no exchange under way.
    ASSERT_STATUS(bin::kInvalidArguments, call(c, req(Op::SaslStep, "SCRAM-SHA512", "c=biws,r=x,p=AAAA")));
    // Channel binding, or an attribute other than n and r: EINVAL.
    ASSERT_STATUS(bin::kInvalidArguments, call(c, req(Op::SaslAuth, "SCRAM-SHA512", "y,,n=app,r=abc")));
    ASSERT_STATUS(bin::kInvalidArguments, call(c, req(Op::SaslAuth, "SCRAM-SHA512", "n,,n=app,r=abc,m=ext")));
    ASSERT_STATUS(bin::kInvalidArguments, call(c, req(Op::SaslAuth, "SCRAM-SHA512", "n,,r=abc")));
    ASSERT_STATUS(bin::kInvalidArguments, call(c, req(Op::SaslAuth, "SCRAM-SHA512", "n,,n=a=pp,r=abc")));
    // SASL_AUTH while an exchange waits for its step.
    ASSERT_STATUS(kAuthContinue, call(c, req(Op::SaslAuth, "SCRAM-SHA512", "n,,n=app,r=abc")));
    ASSERT_STATUS(bin::kInvalidArguments, plain(c, "app", "s3cret"));
    // A proof of the wrong length is EINVAL, and the step ended the exchange.
    ASSERT_STATUS(bin::kInvalidArguments, call(c, req(Op::SaslStep, "SCRAM-SHA512", "c=biws,r=abc,p=AAAA")));
    ASSERT_STATUS(bin::kInvalidArguments, call(c, req(Op::SaslStep, "SCRAM-SHA512", "c=biws,r=abc,p=AAAA")));
    // A user name with "=2C" / "=3D" is decoded (an unknown one here: the step fails).
    ASSERT_STATUS(kAuthContinue, call(c, req(Op::SaslAuth, "SCRAM-SHA512", "n,,n=a=2Cb=3Dc,r=abc")));
    // Now a whole login works on the same connection.
    TestClient d(s.port());
    ASSERT_STATUS(bin::kSuccess, scram_sha512(d, "app", "s3cret").final);
  }

  void hello_grants_and_resets() {
    VBucketServer s(two_buckets());
    TestClient c(s.port());
    // Unknown codes dropped; the granted ones in ascending order.
    const BinaryPacket r = hello(c, {0x08, 0x1234, 0x07, 0x03, 0x0c});
    ASSERT_STATUS(bin::kSuccess, r);
    CPPUNIT_ASSERT_EQUAL(features({0x03, 0x07, 0x08}), r.value);
    ASSERT_STATUS(bin::kInvalidArguments, hello(c, {0x03, 0x05}));
    ASSERT_STATUS(bin::kInvalidArguments, call(c, bin::request(kHello, "agent", std::string(3, '\0'))));
    // With XERROR: NO_BUCKET is sent.
    ASSERT_STATUS(bin::kSuccess, hello(c, {0x07}));
    ASSERT_STATUS(bin::kSuccess, plain(c, "app", "s3cret"));
    ASSERT_STATUS(kNoBucket, call(c, req(Op::Get, "k")));
    // A later HELLO without it turns XERROR off again: a disconnect.
    CPPUNIT_ASSERT_EQUAL(features({0x08}), hello(c, {0x08}).value);
    assert_closed_without_reply(c, req(Op::Get, "k"));
  }

  // GET_CLUSTER_CONFIG: EACCESS before a login as anything else; logged in,
  // refused without a bucket (closed without XERROR); with one, the config
  // or KEY_ENOENT while none is set; extras are EINVAL (before 7.6).
  void cluster_config_needs_a_bucket() {
    VBucketServer s(two_buckets());
    TestClient c(s.port());
    ASSERT_STATUS(kNoAccess, call(c, req(Op::GetClusterConfig)));
    ASSERT_STATUS(bin::kSuccess, hello(c, {0x07}));
    ASSERT_STATUS(bin::kSuccess, plain(c, "Administrator", "password"));
    ASSERT_STATUS(kNoAccess, call(c, req(Op::GetClusterConfig)));  // no bucket; XERROR: sent
    ASSERT_STATUS(bin::kSuccess, select(c, "b1"));
    ASSERT_STATUS(bin::kKeyNotFound, call(c, req(Op::GetClusterConfig)));
    const std::string config = R"({"rev":7,"name":"b1","nodes":[{"hostname":"$HOST:8091"}]})";
    s.set_cluster_config(config);
    const BinaryPacket r = call(c, req(Op::GetClusterConfig));
    ASSERT_STATUS(bin::kSuccess, r);
    CPPUNIT_ASSERT_EQUAL(config, r.value);
    CPPUNIT_ASSERT_EQUAL(0, int{r.datatype});
    ASSERT_STATUS(bin::kInvalidArguments, call(c, req(Op::GetClusterConfig, "", "", std::string(16, '\0'))));
    CPPUNIT_ASSERT_EQUAL(config, call(c, req(Op::GetClusterConfig)).value);  // the connection stayed
    ASSERT_STATUS(bin::kSuccess, select(c, "b2"));  // the same text for every bucket
    CPPUNIT_ASSERT_EQUAL(config, call(c, req(Op::GetClusterConfig)).value);
    // Without XERROR, no bucket: the connection is closed, unanswered.
    TestClient d(s.port());
    ASSERT_STATUS(bin::kSuccess, plain(d, "Administrator", "password"));
    assert_closed_without_reply(d, req(Op::GetClusterConfig));
    CPPUNIT_ASSERT_EQUAL(uint64_t{8}, s.cluster_config_requests());
  }

  void no_bucket_until_selected() {
    VBucketServer s(two_buckets());
    TestClient x(s.port());
    ASSERT_STATUS(bin::kSuccess, hello(x, {0x07}));
    ASSERT_STATUS(bin::kSuccess, plain(x, "Administrator", "password"));
    ASSERT_STATUS(kNoBucket, call(x, req(Op::Set, "k", "v", set_extras(0, 0))));
    ASSERT_STATUS(kNoBucket, call(x, req(Op::GetQ, "k")));  // quiet: errors still answered
    ASSERT_STATUS(kNoBucket, call(x, req(Op::Flush)));
    ASSERT_STATUS(bin::kSuccess, call(x, req(Op::Noop)));
    ASSERT_STATUS(bin::kSuccess, call(x, req(Op::Version)));
    ASSERT_STATUS(bin::kSuccess, select(x, "b1"));
    ASSERT_STATUS(bin::kSuccess, call(x, req(Op::Set, "k", "v", set_extras(0, 0))));
    // "@no bucket@" unselects.
    ASSERT_STATUS(bin::kSuccess, select(x, "@no bucket@"));
    ASSERT_STATUS(kNoBucket, call(x, req(Op::Get, "k")));
    CPPUNIT_ASSERT_EQUAL(uint64_t{4}, s.auth_counters().no_bucket);

    // Without XERROR, NO_BUCKET is a closed connection.
    TestClient c(s.port());
    ASSERT_STATUS(bin::kSuccess, plain(c, "Administrator", "password"));
    assert_closed_without_reply(c, req(Op::Get, "k"));
  }

  void select_bucket_refusals() {
    VBucketServer s(two_buckets());
    TestClient x(s.port());
    ASSERT_STATUS(bin::kSuccess, hello(x, {0x07, 0x08}));
    ASSERT_STATUS(bin::kSuccess, plain(x, "app", "s3cret"));
    ASSERT_STATUS(bin::kSuccess, select(x, "b1"));
    ASSERT_STATUS(bin::kSuccess, call(x, req(Op::Set, "k", "in-b1", set_extras(0, 0))));
    // Not allowed, or missing (to a user without "*"): EACCESS, and the
    // connection stays on b1.
    ASSERT_STATUS(kNoAccess, select(x, "b2"));
    ASSERT_STATUS(kNoAccess, select(x, "nosuch"));
    CPPUNIT_ASSERT_EQUAL(std::string("in-b1"), call(x, req(Op::Get, "k")).value);
    // FLUSH and VERBOSITY need more than a bucket role.
    ASSERT_STATUS(kNoAccess, call(x, req(Op::Flush)));
    ASSERT_STATUS(kNoAccess, call(x, req(Op::Verbosity, "", "", u32(1))));
    CPPUNIT_ASSERT_EQUAL(std::size_t{1}, s.item_count("b1"));

    // To Administrator a missing bucket is KEY_ENOENT (even without XERROR).
    TestClient a(s.port());
    ASSERT_STATUS(bin::kSuccess, plain(a, "Administrator", "password"));
    ASSERT_STATUS(bin::kKeyNotFound, select(a, "nosuch"));
    ASSERT_STATUS(bin::kInvalidArguments, call(a, req(Op::SelectBucket, "b1", "value")));
    ASSERT_STATUS(bin::kSuccess, select(a, "b2"));
    ASSERT_STATUS(bin::kSuccess, call(a, req(Op::Flush)));

    // Without XERROR a refused select closes the connection.
    TestClient c(s.port());
    ASSERT_STATUS(bin::kSuccess, plain(c, "app", "s3cret"));
    assert_closed_without_reply(c, req(Op::SelectBucket, "b2"));
    const VBucketServer::AuthCounters n = s.auth_counters();
    CPPUNIT_ASSERT_EQUAL(uint64_t{4}, n.select_refusals);
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, n.selects);
  }

  void buckets_are_separate_key_spaces() {
    VBucketServer s(two_buckets());
    TestClient one(s.port()), two(s.port());
    ASSERT_STATUS(bin::kSuccess, plain(one, "Administrator", "password"));
    ASSERT_STATUS(bin::kSuccess, plain(two, "Administrator", "password"));
    ASSERT_STATUS(bin::kSuccess, select(one, "b1"));
    ASSERT_STATUS(bin::kSuccess, select(two, "b2"));
    CPPUNIT_ASSERT_EQUAL(std::size_t{1}, s.connections_on("b1"));
    CPPUNIT_ASSERT_EQUAL(std::size_t{1}, s.connections_on("b2"));
    ASSERT_STATUS(bin::kSuccess, call(one, req(Op::Set, "k", "one", set_extras(0, 0))));
    ASSERT_STATUS(bin::kKeyNotFound, call(two, req(Op::Get, "k")));
    ASSERT_STATUS(bin::kSuccess, call(two, req(Op::Set, "k", "two", set_extras(0, 0))));
    ASSERT_STATUS(bin::kSuccess, call(two, req(Op::Set, "only2", "x", set_extras(0, 0))));
    CPPUNIT_ASSERT_EQUAL(std::string("one"), call(one, req(Op::Get, "k")).value);
    CPPUNIT_ASSERT_EQUAL(std::string("one"), s.get("b1", "k").value_or("<miss>"));
    CPPUNIT_ASSERT_EQUAL(std::string("two"), s.get("b2", "k").value_or("<miss>"));
    CPPUNIT_ASSERT_EQUAL(std::size_t{1}, s.item_count("b1"));
    CPPUNIT_ASSERT_EQUAL(std::size_t{2}, s.item_count("b2"));
    CPPUNIT_ASSERT((s.buckets_holding("k") == std::vector<std::string>{"b1", "b2"}));
    CPPUNIT_ASSERT((s.buckets_holding("only2") == std::vector<std::string>{"b2"}));
    // A flush empties the selected bucket only.
    ASSERT_STATUS(bin::kSuccess, call(two, req(Op::Flush)));
    CPPUNIT_ASSERT_EQUAL(std::size_t{0}, s.item_count("b2"));
    CPPUNIT_ASSERT_EQUAL(std::size_t{1}, s.item_count("b1"));
    // The request log names the bucket each request ran on.
    std::map<std::string, int> sets;
    for (const VBucketServer::Request& r : s.received())
      if (r.opcode == op(Op::Set)) ++sets[r.bucket];
    CPPUNIT_ASSERT_EQUAL(1, sets["b1"]);
    CPPUNIT_ASSERT_EQUAL(2, sets["b2"]);
    // put() into a bucket is seen by its clients only.
    s.put("b1", "seeded", "v");
    CPPUNIT_ASSERT_EQUAL(std::string("v"), call(one, req(Op::Get, "seeded")).value);
    ASSERT_STATUS(bin::kKeyNotFound, call(two, req(Op::Get, "seeded")));
  }

  void vbuckets_per_bucket() {
    VBucketServer s(two_buckets());
    s.check_vbucket_hash(4);
    std::string k0, k1;  // keys of vBuckets 0 and 1
    for (int i = 0; k0.empty() || k1.empty(); ++i) {
      const std::string k = "key" + std::to_string(i);
      const uint32_t vb = vbucket_of(k, 4);
      if (vb == 0 && k0.empty()) k0 = k;
      if (vb == 1 && k1.empty()) k1 = k;
    }
    s.set_owned("b1", {0});
    TestClient one(s.port()), two(s.port());
    ASSERT_STATUS(bin::kSuccess, plain(one, "Administrator", "password"));
    ASSERT_STATUS(bin::kSuccess, plain(two, "Administrator", "password"));
    ASSERT_STATUS(bin::kSuccess, select(one, "b1"));
    ASSERT_STATUS(bin::kSuccess, select(two, "b2"));
    ASSERT_STATUS(bin::kSuccess, call(one, req(Op::Set, k0, "v", set_extras(0, 0), 0)));
    ASSERT_STATUS(bin::kNotMyVbucket, call(one, req(Op::Set, k1, "v", set_extras(0, 0), 1)));
    ASSERT_STATUS(bin::kSuccess, call(two, req(Op::Set, k1, "v", set_extras(0, 0), 1)));
    // The server-wide call resets every bucket's own ownership.
    s.set_owned({1});
    ASSERT_STATUS(bin::kNotMyVbucket, call(one, req(Op::Get, k0, "", "", 0)));
    ASSERT_STATUS(bin::kSuccess, call(one, req(Op::Set, k1, "v", set_extras(0, 0), 1)));
    CPPUNIT_ASSERT_EQUAL(uint64_t{2}, s.nmv_count());
    CPPUNIT_ASSERT_THROW(s.set_owned("nosuch", {0}), std::invalid_argument);
  }

  void accessors_name_the_bucket() {
    VBucketServer s(two_buckets());
    CPPUNIT_ASSERT_THROW(s.get("k"), std::logic_error);
    CPPUNIT_ASSERT_THROW(s.item_count(), std::logic_error);
    CPPUNIT_ASSERT_THROW(s.put("k", "v"), std::logic_error);
    CPPUNIT_ASSERT_THROW(s.get("nosuch", "k"), std::invalid_argument);
    VBucketServer plain_server;
    CPPUNIT_ASSERT_THROW(plain_server.get("b1", "k"), std::invalid_argument);
    // A server in memcached mode knows nothing of SASL: 0x81, as memcached without -S.
    TestClient c(plain_server.port());
    ASSERT_STATUS(bin::kUnknownCommand, call(c, req(Op::SaslListMechs)));
    ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Set, "k", "v", set_extras(0, 0))));
  }

  void restart_on_the_same_port() {
    auto first = std::make_unique<VBucketServer>(two_buckets());
    const int port = first->port();
    {
      TestClient c(port);
      ASSERT_STATUS(bin::kSuccess, plain(c, "app", "s3cret"));
      ASSERT_STATUS(bin::kSuccess, select(c, "b1"));
      ASSERT_STATUS(bin::kSuccess, call(c, req(Op::Set, "k", "v", set_extras(0, 0))));
      first->stop();
      CPPUNIT_ASSERT(c.expect_closed(Deadline(2s)));
    }
    VBucketServer::Options o = two_buckets();
    o.port = port;
    VBucketServer second(o);
    CPPUNIT_ASSERT_EQUAL(port, second.port());
    TestClient c(port);
    // A new process: nothing stored, and a login again first.
    ASSERT_STATUS(kNoAccess, call(c, req(Op::Get, "k")));
    ASSERT_STATUS(bin::kSuccess, plain(c, "app", "s3cret"));
    ASSERT_STATUS(bin::kSuccess, select(c, "b1"));
    ASSERT_STATUS(bin::kKeyNotFound, call(c, req(Op::Get, "k")));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(FakeCouchbaseTest);

}  // namespace moxi::test
