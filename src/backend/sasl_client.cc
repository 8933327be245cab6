#include "src/backend/sasl_client.h"

#include <algorithm>
#include <cstring>

namespace moxi::backend {

namespace {

struct Mechanism {
  const char* cyrus;                  // libsasl2's plugin name
  std::vector<std::string_view> seen;  // how servers spell it
};

// Strongest first.
const std::vector<Mechanism>& mechanisms() {
  static const std::vector<Mechanism> list = {
      {"SCRAM-SHA-512", {"SCRAM-SHA512", "SCRAM-SHA-512"}},
      {"SCRAM-SHA-256", {"SCRAM-SHA256", "SCRAM-SHA-256"}},
      {"SCRAM-SHA-1", {"SCRAM-SHA1", "SCRAM-SHA-1"}},
      {"PLAIN", {"PLAIN"}},
  };
  return list;
}

std::vector<std::string_view> tokens(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == ',')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != ',') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

const Mechanism* mechanism_named(std::string_view server_name) {
  for (const Mechanism& m : mechanisms())
    if (std::find(m.seen.begin(), m.seen.end(), server_name) != m.seen.end()) return &m;
  return nullptr;
}

std::string sasl_error(sasl_conn_t* conn, int rc, const char* what) {
  // sasl_errdetail never holds the secret (it describes the step that failed).
  const char* detail = conn ? sasl_errdetail(conn) : sasl_errstring(rc, nullptr, nullptr);
  return std::string(what) + ": " + (detail ? detail : "unknown SASL error");
}

}  // namespace

bool init_sasl_library(std::string& error) {
  static int rc = sasl_client_init(nullptr);
  if (rc != SASL_OK) {
    error = std::string("cannot initialise libsasl2: ") + sasl_errstring(rc, nullptr, nullptr);
    return false;
  }
  return true;
}

SaslClient::SaslClient(std::string user, std::string password) : user_(std::move(user)) {
  secret_.resize(sizeof(sasl_secret_t) + password.size());
  auto* secret = reinterpret_cast<sasl_secret_t*>(secret_.data());
  secret->len = password.size();
  std::memcpy(secret->data, password.data(), password.size());
  // libsasl2 takes every callback as int (*)(void) and calls it with the
  // signature its id implies; void (*)(void) is the type any function
  // pointer may pass through.
  using Callback = int (*)();
  auto callback = [](auto fn) { return reinterpret_cast<Callback>(reinterpret_cast<void (*)()>(fn)); };
  callbacks_ = {
      {SASL_CB_USER, callback(&SaslClient::get_simple), this},
      {SASL_CB_AUTHNAME, callback(&SaslClient::get_simple), this},
      {SASL_CB_PASS, callback(&SaslClient::get_secret), this},
      {SASL_CB_LIST_END, nullptr, nullptr},
  };
}

SaslClient::~SaslClient() {
  if (conn_) sasl_dispose(&conn_);
  std::fill(secret_.begin(), secret_.end(), 0);
}

int SaslClient::get_simple(void* context, int id, const char** result, unsigned* len) {
  auto* self = static_cast<SaslClient*>(context);
  if (id != SASL_CB_USER && id != SASL_CB_AUTHNAME) return SASL_BADPARAM;
  *result = self->user_.c_str();
  if (len) *len = static_cast<unsigned>(self->user_.size());
  return SASL_OK;
}

int SaslClient::get_secret(sasl_conn_t*, void* context, int id, sasl_secret_t** secret) {
  if (id != SASL_CB_PASS) return SASL_BADPARAM;
  *secret = reinterpret_cast<sasl_secret_t*>(static_cast<SaslClient*>(context)->secret_.data());
  return SASL_OK;
}

std::string SaslClient::choose(std::string_view server_mechs) {
  const auto offered = tokens(server_mechs);
  for (const Mechanism& m : mechanisms())
    for (std::string_view name : offered)
      if (std::find(m.seen.begin(), m.seen.end(), name) != m.seen.end()) return std::string(name);
  return "";
}

bool SaslClient::start(std::string_view server_mechs, std::string& mech, std::string& out, std::string& error) {
  mech = choose(server_mechs);
  const Mechanism* m = mech.empty() ? nullptr : mechanism_named(mech);
  if (!m) {
    error = "the server offers no SASL mechanism moxi supports (it offers: " + std::string(server_mechs) +
            "; moxi: SCRAM-SHA512, SCRAM-SHA256, SCRAM-SHA1, PLAIN)";
    return false;
  }
  if (conn_) sasl_dispose(&conn_);
  done_ = false;
  int rc = sasl_client_new("memcached", "localhost", nullptr, nullptr, callbacks_.data(), 0, &conn_);
  if (rc != SASL_OK) {
    error = sasl_error(nullptr, rc, "cannot start a SASL exchange");
    return false;
  }
  // No security layer (SCRAM has none; PLAIN's password is in the clear,
  // as the server's configuration asked for).
  sasl_security_properties_t props{};
  props.min_ssf = 0;
  props.max_ssf = 0;
  props.maxbufsize = 0;
  props.security_flags = 0;
  sasl_setprop(conn_, SASL_SEC_PROPS, &props);
  const char* data = nullptr;
  unsigned len = 0;
  const char* chosen = nullptr;
  rc = sasl_client_start(conn_, m->cyrus, nullptr, &data, &len, &chosen);
  if (rc != SASL_OK && rc != SASL_CONTINUE) {
    error = sasl_error(conn_, rc, (std::string("SASL ") + mech + " (libsasl2 " + m->cyrus + ")").c_str());
    return false;
  }
  done_ = rc == SASL_OK;
  out.assign(data ? data : "", len);
  return true;
}

bool SaslClient::step(std::string_view challenge, std::string& out, std::string& error) {
  if (!conn_ || done_) {
    error = "the server asked for another SASL step after the exchange ended";
    return false;
  }
  const char* data = nullptr;
  unsigned len = 0;
  const int rc = sasl_client_step(conn_, challenge.data(), static_cast<unsigned>(challenge.size()), nullptr, &data,
                                  &len);
  if (rc != SASL_OK && rc != SASL_CONTINUE) {
    error = sasl_error(conn_, rc, "SASL step");
    return false;
  }
  done_ = rc == SASL_OK;
  out.assign(data ? data : "", len);
  return true;
}

bool SaslClient::finish(std::string_view data, std::string& error) {
  if (done_) return true;  // PLAIN: nothing to check
  // memcached answers a finished SCRAM exchange "Authenticated" without the
  // server's signature (Couchbase sends it: "v=..."): the server accepted
  // our proof, but cannot be checked in turn.
  if (!data.starts_with("v=")) return true;
  std::string rest;
  if (!step(data, rest, error)) {
    error = "the server's SASL signature does not verify (" + error + ")";
    return false;
  }
  if (!done_) {
    error = "the SASL exchange did not complete at the server's success";
    return false;
  }
  return true;
}

}  // namespace moxi::backend
