// The login of one binary data connection, as a conversation with no I/O:
// SASL (SASL_LIST_MECHS, SASL_AUTH, SASL_STEP while the server says
// continue, through SaslClient), then HELLO, then SELECT_BUCKET when a
// bucket is named. The caller writes the frames this produces and hands
// it each reply frame; it says when the login is done or why it failed.
// Used by the worker's backend connections (server_connection.h) and by
// the config source that polls data nodes (data_node_config_source.h), so
// both log in the same way.
//
// HELLO follows the login because memcached -S closes a connection that
// sends anything else first; it asks for TCPNODELAY, XERROR and
// SELECT_BUCKET. It goes first without an agent name, because memcached
// answers a HELLO that has a key "Unknown command" and then loses its place
// in the stream (it skips the key twice). A server that grants it (a
// Couchbase data node) gets a second HELLO naming the agent; one that
// refuses it (memcached) goes on without features.
//
// Frames carry their opcode as the opaque. Error texts name the step and
// the user, never the password.
//
// Thread contract: one BackendLogin per connection attempt, used by the
// one thread that owns that connection.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "src/protocol/binary_format.h"
#include "src/backend/sasl_client.h"

namespace moxi::backend {

class BackendLogin {
 public:
  struct Params {
    std::string user;
    std::string password;
    std::string select_bucket;  // "" = no SELECT_BUCKET
    std::string agent;          // the name the second HELLO gives (moxi/VERSION)
    std::string refused_hint;   // follows a refused login's reason, e.g. "check -Z usr and pwd"
  };
  enum class Progress { Continue, Done, Failed };
  // The reply awaited.
  enum class Step { ListMechs, Auth, Hello, HelloAgent, SelectBucket };

  explicit BackendLogin(Params params);
  ~BackendLogin();
  BackendLogin(const BackendLogin&) = delete;
  BackendLogin& operator=(const BackendLogin&) = delete;

  // Appends the first frame (SASL_LIST_MECHS) to `out`.
  void start(std::string& out);
  // One reply: its status and its value (the body after extras and key).
  // Frames to send next are appended to `out`. Failed: see error().
  Progress on_reply(uint16_t status, std::string_view value, std::string& out);

  Step step() const { return step_; }
  // "SASL", "HELLO" or "SELECT_BUCKET": the step awaited, for messages.
  const char* step_name() const;
  // Why the login failed (after Progress::Failed).
  const std::string& error() const { return error_; }
  // The server granted HELLO XERROR.
  bool extended_errors() const { return extended_errors_; }
  // The SASL mechanism used, in the server's spelling ("" before it is chosen).
  const std::string& mechanism() const { return mechanism_; }
  const Params& params() const { return params_; }

  // One binary request frame (opaque = opcode), appended to `out`.
  static void append_request(std::string& out, protocol::binary::Opcode opcode, std::string_view key,
                             std::string_view value);

 private:
  void send_hello(std::string_view agent, std::string& out);
  Progress after_hello(std::string& out);
  Progress fail(std::string why);

  Params params_;
  std::unique_ptr<SaslClient> sasl_;
  Step step_ = Step::ListMechs;
  std::string mechanism_;
  std::string error_;
  bool extended_errors_ = false;
};

}  // namespace moxi::backend
