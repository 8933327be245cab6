// The client side of one SASL exchange with a backend, through Cyrus
// libsasl2 (its PLAIN and SCRAM plugins: no crypto of our own).
//
// Mechanisms, strongest first: SCRAM-SHA512, SCRAM-SHA256, SCRAM-SHA1,
// PLAIN. A server names them its own way — Couchbase "SCRAM-SHA512",
// memcached (Cyrus) "SCRAM-SHA-512" — and is answered in its spelling; only
// a mechanism the server lists is used.
//
// Thread contract: init_sasl_library() once on the main thread before any
// worker starts; a SaslClient belongs to one backend connection (one
// worker thread). Secrets stay in this object: no error text carries them.
#pragma once

#include <sasl/sasl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace moxi::backend {

// Initialises libsasl2's client side; false with the reason on failure.
bool init_sasl_library(std::string& error);

class SaslClient {
 public:
  SaslClient(std::string user, std::string password);
  ~SaslClient();
  SaslClient(const SaslClient&) = delete;
  SaslClient& operator=(const SaslClient&) = delete;

  // Picks the strongest mechanism of `server_mechs` (space-separated) that
  // we support and makes the first message. On success `mech` is the name
  // to send (the server's spelling).
  bool start(std::string_view server_mechs, std::string& mech, std::string& out, std::string& error);
  // The server's challenge (an AUTH_CONTINUE body) -> the next message.
  bool step(std::string_view challenge, std::string& out, std::string& error);
  // The data of the server's success reply: SCRAM's server signature
  // ("v=...", as Couchbase sends it) is checked here; PLAIN has none, and
  // memcached sends none ("Authenticated"). False when the signature is
  // wrong (the server does not know the password).
  bool finish(std::string_view data, std::string& error);

  // The strongest supported mechanism in `server_mechs`, in the server's
  // spelling, or "" (exposed for tests).
  static std::string choose(std::string_view server_mechs);

 private:
  static int get_simple(void* context, int id, const char** result, unsigned* len);
  static int get_secret(sasl_conn_t* conn, void* context, int id, sasl_secret_t** secret);

  std::string user_;
  std::vector<unsigned char> secret_;  // a sasl_secret_t: length, then the password
  std::vector<sasl_callback_t> callbacks_;
  sasl_conn_t* conn_ = nullptr;
  bool done_ = false;
};

}  // namespace moxi::backend
