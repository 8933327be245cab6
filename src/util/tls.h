// TLS with OpenSSL: contexts made from the -Z tls_* and downstream_tls_*
// files, and the session of one non-blocking connection.
//
// A Context is immutable once made and shared (std::shared_ptr<const
// Context>) by every connection that starts a handshake with it: a SIGHUP
// makes a new one for new handshakes while established connections keep
// theirs (OpenSSL counts the SSL_CTX's references). Contexts are made on
// the main thread; SSL_new on them is thread-safe.
//
// A Session drives SSL_do_handshake/SSL_read/SSL_write on the connection's
// socket (SSL_set_fd), never blocking: each call says whether it finished,
// needs the socket readable or writable, or failed (with a reason).
//
// Thread contract: a Session belongs to the thread of its connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct ssl_ctx_st;
struct ssl_st;

namespace moxi::tls {

// What a TLS listener presents and asks for.
struct ServerFiles {
  std::string cert;        // PEM certificate chain (the server's first)
  std::string key;         // PEM private key
  std::string client_ca;   // PEM CA certificates; "" = no client certificates asked for
  std::string min_version = "1.2";  // "1.2" or "1.3"
};

// How moxi connects to TLS backends.
struct ClientFiles {
  std::string ca;     // PEM CA certificates to verify servers with; "" = the system's default store
  std::string cert;   // optional client certificate chain (mTLS)
  std::string key;    // its key
  bool verify = true; // verify the server's certificate and host name
};

class Context {
 public:
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // nullptr with `error` naming the file and OpenSSL's reason.
  static std::shared_ptr<const Context> make_server(const ServerFiles& files, std::string& error);
  static std::shared_ptr<const Context> make_client(const ClientFiles& files, std::string& error);

  ssl_ctx_st* get() const { return ctx_; }
  bool server() const { return server_; }
  bool verify() const { return verify_; }
  // The certificate's notAfter as a unix time (0 when there is none).
  int64_t not_after() const { return not_after_; }

 private:
  Context(ssl_ctx_st* ctx, bool server, bool verify, int64_t not_after)
      : ctx_(ctx), server_(server), verify_(verify), not_after_(not_after) {}
  ssl_ctx_st* ctx_;
  bool server_;
  bool verify_;
  int64_t not_after_;
};

// Why a handshake failed, for counters and logs.
enum class Failure : uint8_t {
  None,
  Plaintext,    // a TLS port read something that is not TLS (an ascii or binary request)
  Certificate,  // the peer's certificate did not verify (or none was given where one is required)
  Protocol,     // any other TLS error (versions, ciphers, a broken record)
  Closed,       // the peer closed during the handshake
  Timeout,      // the handshake did not finish within tls_handshake_timeout
};

class Session {
 public:
  enum class Io { Done, WantRead, WantWrite, Closed, Failed };

  // `fd` stays the caller's. `host`: a client session's server name (SNI,
  // and the name its certificate must carry when the context verifies); a
  // server session ignores it.
  Session(std::shared_ptr<const Context> context, int fd, const std::string& host);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  bool handshaking() const { return !established_; }
  Io handshake();
  // Up to `n` bytes into `buf`; `got` is what came (Done).
  Io read(char* buf, size_t n, size_t& got);
  // Up to `n` bytes of `buf`; `put` is what was taken (Done).
  Io write(const char* buf, size_t n, size_t& put);
  // True while OpenSSL holds bytes no read has taken yet, decrypted or
  // read ahead from the socket (possibly only part of a record): the socket
  // will not say readable for them.
  bool buffered() const;

  // Before the socket closes: sends a close_notify alert (as memcached -Z
  // does), so that the peer reads a clean end of the stream rather than a
  // truncation. Only on an established session that no error broke
  // (OpenSSL forbids a shutdown after one); the peer's alert is not
  // waited for, and a socket that cannot take it now (full, or gone) just
  // goes without it. Once per session.
  void notify_close();

  Failure failure() const { return failure_; }
  // One line: OpenSSL's reason ("certificate verify failed: hostname mismatch").
  const std::string& error() const { return error_; }
  void fail_timeout();
  // "TLSv1.3", once established.
  std::string_view version() const;

 private:
  Io judge(int rc, const char* what);

  std::shared_ptr<const Context> context_;
  ssl_st* ssl_ = nullptr;
  bool established_ = false;
  bool broken_ = false;  // a fatal error or a socket error: no shutdown may follow
  bool notified_ = false;  // close_notify sent
  Failure failure_ = Failure::None;
  std::string error_;
};

// "plaintext", "certificate", ... for logs.
std::string_view to_string(Failure failure);

}  // namespace moxi::tls
