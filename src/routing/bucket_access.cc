#include "src/routing/bucket_access.h"

namespace moxi {

namespace {

// Equal strings, in a time that does not depend on where they differ.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

BackendAuth backend_auth_for(std::string_view name, const vbucket::Config& config, bool gateway, MapSource source,
                             const AccessSettings& settings) {
  BackendAuth auth;
  if (!settings.backend_user.empty()) {
    auth.user = settings.backend_user;
    auth.password = settings.backend_password;
    if (gateway)
      auth.select_bucket = name;
    else if (!settings.backend_bucket.empty())
      auth.select_bucket = settings.backend_bucket;
    else if (source == MapSource::ClusterManager)
      auth.select_bucket = name;
    return auth;
  }
  if (const auto& password = config.password(); password && !password->empty()) {
    auth.user = name;
    auth.password = *password;
  }
  return auth;
}

std::string client_password_for(std::string_view name, const vbucket::Config& config, const AccessSettings& settings) {
  if (auto it = settings.client_passwords.find(std::string(name)); it != settings.client_passwords.end())
    return it->second;
  return config.password().value_or("");
}

std::shared_ptr<const Bucket> start_bucket(const std::vector<std::shared_ptr<const Bucket>>& buckets, bool gateway,
                                           const AccessSettings& settings) {
  if (buckets.empty()) return nullptr;
  if (settings.default_bucket_name) {
    for (const auto& b : buckets)
      if (b->name == *settings.default_bucket_name) return b->client_password.empty() ? b : nullptr;
    return nullptr;
  }
  if (!gateway) return buckets.front();
  const std::shared_ptr<const Bucket>* first = &buckets.front();
  for (const auto& b : buckets)
    if (b->name == "default") first = &b;
  return (*first)->client_password.empty() ? *first : nullptr;
}

std::optional<PlainCredentials> parse_plain(std::string_view data) {
  const size_t first = data.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  const std::string_view rest = data.substr(first + 1);
  const size_t second = rest.find('\0');
  if (second == std::string_view::npos) return std::nullopt;
  std::string_view password = rest.substr(second + 1);
  if (!password.empty() && password.back() == '\0') password.remove_suffix(1);  // a trailing NUL is tolerated
  return PlainCredentials{rest.substr(0, second), password};
}

const std::shared_ptr<const Bucket>* authenticate_plain(const PortBinding& port, std::string_view user,
                                                        std::string_view password) {
  const std::shared_ptr<const Bucket>* bucket = port.find(user);
  if (!bucket) return nullptr;
  return same_secret((*bucket)->client_password, password) ? bucket : nullptr;
}

}  // namespace moxi
