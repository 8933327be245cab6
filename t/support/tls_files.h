// Certificates for the TLS tests, made by Debian's `openssl` command in a
// temporary directory (nothing of moxi's TLS code is used): a CA, a server
// certificate for localhost and 127.0.0.1, a client certificate, an
// expired server certificate, one for another host, and a client
// certificate from a CA nobody trusts.
//
// Thread-safety: none; one test uses one.
#pragma once

#include <string>
#include <vector>

#include "t/support/process.h"
#include "t/support/temp_dir.h"

namespace moxi::test {

class TlsFiles {
 public:
  TlsFiles();  // makes everything; a failed openssl step is a failed assertion

  const std::string& ca() const { return ca_; }  // PEM CA certificate
  struct Pair {
    std::string cert, key;
  };
  const Pair& server() const { return server_; }          // CN localhost, SAN DNS:localhost, IP:127.0.0.1
  const Pair& other_server() const { return other_; }     // the same names, another key and serial
  const Pair& expired() const { return expired_; }        // valid names, expired in 2020
  const Pair& wrong_host() const { return wrong_host_; }  // SAN DNS:wrong.example only
  const Pair& client() const { return client_; }          // a client certificate from ca()
  const Pair& stranger() const { return stranger_; }      // a client certificate from another CA
  // The serial number of a certificate, lower-case hex without leading zeros.
  static std::string serial(const std::string& cert);
  std::string file(const std::string& name) const { return dir_.file(name); }

 private:
  Pair issue(const std::string& name, const std::string& extensions, const std::string& dates);
  TempDir dir_{"moxi-tls"};
  std::string ca_;
  Pair server_, other_, expired_, wrong_host_, client_, stranger_;
};

}  // namespace moxi::test
