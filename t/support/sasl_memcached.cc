#include "t/support/sasl_memcached.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace moxi::test {

SaslMemcached::SaslMemcached(const std::vector<std::pair<std::string, std::string>>& users,
                             const std::string& mechanisms, std::vector<std::string> extra_args) {
  const std::string db = dir_.file("sasldb2");
  for (const auto& [user, password] : users) {
    // saslpasswd2 reads the password from stdin with -p; the names are the
    // tests' own (no shell metacharacters).
    const std::string command = "saslpasswd2 -a memcached -c -p -f '" + db + "' '" + user + "'";
    FILE* pipe = ::popen(command.c_str(), "w");
    if (!pipe) throw std::runtime_error("cannot run saslpasswd2 (apt-get install sasl2-bin)");
    std::fputs(password.c_str(), pipe);
    if (::pclose(pipe) != 0) throw std::runtime_error("saslpasswd2 failed for " + user + " (apt-get install sasl2-bin)");
  }
  {
    std::ofstream conf(dir_.file("memcached.conf"));
    conf << "mech_list: " << mechanisms << "\nsasldb_path: " << db << "\n";
  }
  extra_args.insert(extra_args.begin(), "-S");
  server_ = std::make_unique<Memcached>(std::move(extra_args),
                                        std::vector<std::pair<std::string, std::string>>{{"SASL_CONF_PATH", dir_.path()}});
}

}  // namespace moxi::test
