#include "src/util/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace moxi::tls {

namespace {

using CtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

// OpenSSL's reasons for the errors of this thread, oldest first, one line.
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // "error:0A000086:SSL routines::certificate verify failed": the reason is the last part.
    const char* reason = std::strrchr(buf, ':');
    if (!out.empty()) out += "; ";
    out += reason && reason[1] ? reason + 1 : buf;
  }
  return out.empty() ? "unknown error" : out;
}

int64_t not_after_of(SSL_CTX* ctx) {
  X509* cert = SSL_CTX_get0_certificate(ctx);
  if (!cert) return 0;
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

bool load_identity(SSL_CTX* ctx, const std::string& cert, const std::string& key, const char* what,
                   std::string& error) {
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    error = std::string(what) + " " + cert + ": cannot load the certificate chain: " + openssl_errors();
    return false;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = std::string(what) + " " + key + ": cannot load the private key: " + openssl_errors();
    return false;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    error = std::string(what) + " " + key + ": the key does not match the certificate " + cert;
    ERR_clear_error();
    return false;
  }
  return true;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

Context::~Context() { SSL_CTX_free(ctx_); }

std::shared_ptr<const Context> Context::make_server(const ServerFiles& files, std::string& error) {
  ERR_clear_error();
  CtxPtr owned(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
  SSL_CTX* ctx = owned.get();
  if (!ctx) {
    error = "cannot make a TLS context: " + openssl_errors();
    return nullptr;
  }
  const int min = files.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(ctx, min);
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  // Read ahead: one recv takes every record that has arrived, rather than
  // one recv for each record's 5-byte header and another for its body
  // (three reads per request at W1, two more than plain text).
  SSL_CTX_set_read_ahead(ctx, 1);
  // Session resumption: the server-side cache (TLS 1.2 ids) and tickets.
  static const unsigned char kSessionContext[] = "moxi";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  if (!load_identity(ctx, files.cert, files.key, "-Z tls_cert/tls_key", error)) return nullptr;
  if (!files.client_ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, files.client_ca.c_str(), nullptr) != 1) {
      error = "-Z tls_client_ca " + files.client_ca + ": cannot load the CA certificates: " + openssl_errors();
      return nullptr;
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str());
    if (names) SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  const int64_t expiry = not_after_of(ctx);
  return std::shared_ptr<const Context>(new Context(owned.release(), true, !files.client_ca.empty(), expiry));
}

std::shared_ptr<const Context> Context::make_client(const ClientFiles& files, std::string& error) {
  ERR_clear_error();
  CtxPtr owned(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  SSL_CTX* ctx = owned.get();
  if (!ctx) {
    error = "cannot make a TLS context: " + openssl_errors();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  // Read ahead: one recv takes every record that has arrived, rather than
  // one recv for each record's 5-byte header and another for its body
  // (three reads per request at W1, two more than plain text).
  SSL_CTX_set_read_ahead(ctx, 1);
  if (files.verify) {
    const bool loaded = files.ca.empty() ? SSL_CTX_set_default_verify_paths(ctx) == 1
                                         : SSL_CTX_load_verify_locations(ctx, files.ca.c_str(), nullptr) == 1;
    if (!loaded) {
      error = "-Z downstream_tls_ca " + (files.ca.empty() ? std::string("(the system's store)") : files.ca) +
              ": cannot load the CA certificates: " + openssl_errors();
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (!files.cert.empty() || !files.key.empty()) {
    if (files.cert.empty() || files.key.empty()) {
      error = "-Z downstream_tls_cert and downstream_tls_key go together";
      return nullptr;
    }
    if (!load_identity(ctx, files.cert, files.key, "-Z downstream_tls_cert/downstream_tls_key", error)) return nullptr;
  }
  const int64_t expiry = not_after_of(ctx);
  return std::shared_ptr<const Context>(new Context(owned.release(), false, files.verify, expiry));
}

Session::Session(std::shared_ptr<const Context> context, int fd, const std::string& host)
    : context_(std::move(context)), ssl_(SSL_new(context_->get())) {
  if (!ssl_) {
    failure_ = Failure::Protocol;
    error_ = "cannot start a TLS session: " + openssl_errors();
    return;
  }
  SSL_set_fd(ssl_, fd);
  if (context_->server()) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  std::string name = host;
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  if (is_ip_literal(name)) {
    // No SNI for an address (RFC 6066); the certificate must name the IP.
    if (context_->verify()) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl_, name.c_str());
    if (context_->verify()) SSL_set1_host(ssl_, name.c_str());
  }
}

Session::~Session() {
  if (ssl_) SSL_free(ssl_);
}

void Session::notify_close() {
  if (!ssl_ || !established_ || broken_ || notified_) return;
  notified_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // writes the alert; 0 (the peer's not read) is all we want
  ERR_clear_error();
}

Session::Io Session::judge(int rc, const char* what) {
  const int code = SSL_get_error(ssl_, rc);
  switch (code) {
    case SSL_ERROR_WANT_READ: return Io::WantRead;
    case SSL_ERROR_WANT_WRITE: return Io::WantWrite;
    case SSL_ERROR_ZERO_RETURN:
      if (!established_) {
        failure_ = Failure::Closed;
        error_ = "the peer closed the connection during the handshake";
      }
      return Io::Closed;
    case SSL_ERROR_SYSCALL:
      broken_ = true;
      if (ERR_peek_error() == 0) {
        // EOF or a socket error without an alert.
        if (!established_) {
          failure_ = Failure::Closed;
          error_ = errno != 0 ? std::string("the connection failed during the handshake: ") + std::strerror(errno)
                              : std::string("the peer closed the connection during the handshake");
        }
        return Io::Closed;
      }
      [[fallthrough]];
    default: {
      broken_ = true;
      const unsigned long first = ERR_peek_error();
      const int reason = ERR_GET_REASON(first);
      std::string text = openssl_errors();
      if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        failure_ = Failure::Certificate;
        const long result = SSL_get_verify_result(ssl_);
        if (result != X509_V_OK) text += ": " + std::string(X509_verify_cert_error_string(result));
      } else if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE || reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
                 reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE || reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA) {
        failure_ = Failure::Certificate;
      } else if (!established_ && (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_HTTP_REQUEST ||
                                   reason == SSL_R_UNKNOWN_PROTOCOL || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
                                   reason == SSL_R_RECORD_LENGTH_MISMATCH)) {
        failure_ = Failure::Plaintext;
        text += " (not TLS: a plain-text client on a TLS port?)";
      } else {
        failure_ = Failure::Protocol;
      }
      error_ = std::string(what) + ": " + text;
      return Io::Failed;
    }
  }
}

Session::Io Session::handshake() {
  if (!ssl_) return Io::Failed;
  if (established_) return Io::Done;
  ERR_clear_error();
  errno = 0;
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    established_ = true;
    return Io::Done;
  }
  return judge(rc, "TLS handshake failed");
}

Session::Io Session::read(char* buf, size_t n, size_t& got) {
  ERR_clear_error();
  errno = 0;
  const int rc = SSL_read_ex(ssl_, buf, n, &got);
  if (rc == 1) return Io::Done;
  got = 0;
  return judge(rc, "TLS read failed");
}

Session::Io Session::write(const char* buf, size_t n, size_t& put) {
  ERR_clear_error();
  errno = 0;
  const int rc = SSL_write_ex(ssl_, buf, n, &put);
  if (rc == 1) return Io::Done;
  put = 0;
  return judge(rc, "TLS write failed");
}

bool Session::buffered() const { return ssl_ && SSL_has_pending(ssl_) == 1; }

void Session::fail_timeout() {
  failure_ = Failure::Timeout;
  error_ = "TLS handshake timed out";
}

std::string_view Session::version() const { return ssl_ ? SSL_get_version(ssl_) : ""; }

std::string_view to_string(Failure failure) {
  switch (failure) {
    case Failure::None: return "none";
    case Failure::Plaintext: return "plaintext";
    case Failure::Certificate: return "certificate";
    case Failure::Protocol: return "protocol";
    case Failure::Closed: return "closed";
    case Failure::Timeout: return "timeout";
  }
  return "protocol";
}

}  // namespace moxi::tls
