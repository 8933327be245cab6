// A real memcached that requires SASL on every connection (memcached -S),
// its users in a sasldb made with saslpasswd2 (Debian's sasl2-bin) and its
// mechanisms chosen by a SASL config file (Cyrus names: "plain",
// "scram-sha-256", ...), all in a temp dir of its own.
//
//   SaslMemcached mc({{"alice", "s3cret"}}, "plain scram-sha-256");
//   mc.server().address();   // "127.0.0.1:PORT"
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "t/support/servers.h"
#include "t/support/temp_dir.h"

namespace moxi::test {

class SaslMemcached {
 public:
  SaslMemcached(const std::vector<std::pair<std::string, std::string>>& users, const std::string& mechanisms,
                std::vector<std::string> extra_args = {});
  Memcached& server() { return *server_; }

 private:
  TempDir dir_{"moxi-sasl"};
  std::unique_ptr<Memcached> server_;
};

}  // namespace moxi::test
