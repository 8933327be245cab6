#include "src/core/tls_setup.h"

#include <fstream>
#include <sstream>

namespace moxi {

bool make_tls_contexts(const Behaviors& b, TlsContexts& out, std::string& error) {
  out = {};
  if (b.tls_port) {
    out.clients = tls::Context::make_server({b.tls_cert, b.tls_key, b.tls_client_ca, b.tls_min_version}, error);
    if (!out.clients) return false;
  }
  if (downstream_tls_ports(b).any()) {
    out.backends = tls::Context::make_client(
        {b.downstream_tls_ca, b.downstream_tls_cert, b.downstream_tls_key, b.downstream_tls_verify}, error);
    if (!out.backends) return false;
  }
  return true;
}

std::string tls_file_contents(const Behaviors& b) {
  std::string all;
  for (const std::string* path : {&b.tls_cert, &b.tls_key, &b.tls_client_ca, &b.downstream_tls_ca,
                                  &b.downstream_tls_cert, &b.downstream_tls_key}) {
    all += *path + '\0';
    if (path->empty()) continue;
    std::ifstream in(*path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    all += text.str() + '\0';
  }
  return all;
}

}  // namespace moxi
