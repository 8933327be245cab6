// Who may use which bucket of a port, and how moxi authenticates to a
// bucket's servers: the rules of the multi-bucket gateway, as pure
// functions of the config and the operator's settings.
//
// Backend connections (backend_auth_for), in order:
//  1. -Z usr given (one user for every bucket, as Couchbase Server 5.0 and
//     later want): SASL as usr/pwd, then SELECT_BUCKET of the bucket's own
//     name when the document is a gateway's; else -Z bucket when
//     given; else the bucket's name when the map came from a cluster
//     manager (a URL); a map from a file selects nothing.
//  2. The bucket has a non-empty saslPassword (clusters before 5.0): SASL
//     with the bucket's name as user; no SELECT_BUCKET (those servers bind
//     the connection to the bucket named like the user).
//  3. Otherwise no authentication.
//
// Client connections (start_bucket, authenticate_plain): a connection
// starts on -Z default_bucket_name when given (the bucket of that name if
// it has no password, else none), and otherwise on the bucket of a
// one-bucket document (the per-port mode, served as always) or, for a
// gateway, on "default" or else the first bucket if it has no password.
// A gateway's document is of the {"buckets":[...]} form (saslBucketsStreaming,
// a static {"buckets":[...]} file), however many buckets it lists.
// A password-protected bucket is never a start bucket of a gateway. A
// binary client changes bucket with SASL PLAIN: user = bucket name,
// password = its client password: -Z client_passwords' entry for it, else
// its saslPassword, else "" (open). With -Z usr, a map of Couchbase 5.0 or
// later has no saslPassword: its buckets are open to moxi's clients unless
// client_passwords lists them.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/routing/snapshot.h"

namespace moxi {

struct AccessSettings {
  std::string backend_user;  // -Z usr (or MOXI_SASL_PLAIN_USR); "" = none
  std::string backend_password;
  std::string backend_bucket;  // -Z bucket; "" = none
  std::optional<std::string> default_bucket_name;  // -Z default_bucket_name; unset = see above
  // -Z client_passwords: the password a client gives for a bucket, in place
  // of its saslPassword (Couchbase 5.0 and later have none).
  std::map<std::string, std::string> client_passwords;
  bool operator==(const AccessSettings&) const = default;
};

enum class MapSource { File, ClusterManager };

// How moxi authenticates to the servers of bucket `name` (with `config`)
// of a gateway's document or of a one-bucket document.
BackendAuth backend_auth_for(std::string_view name, const vbucket::Config& config, bool gateway, MapSource source,
                             const AccessSettings& settings);

// The password a client gives for bucket `name` (see above).
std::string client_password_for(std::string_view name, const vbucket::Config& config, const AccessSettings& settings);

// The bucket new connections of a port serving `buckets` (in document
// order) start on; null for none (the null bucket).
std::shared_ptr<const Bucket> start_bucket(const std::vector<std::shared_ptr<const Bucket>>& buckets, bool gateway,
                                           const AccessSettings& settings);

// SASL PLAIN data, "[authzid] NUL user NUL password"; nullopt when it is
// not of that form.
struct PlainCredentials {
  std::string_view user;
  std::string_view password;
};
std::optional<PlainCredentials> parse_plain(std::string_view data);

// The bucket of `port` a client authenticated as `user`/`password` may
// use, or null. The password comparison takes the same time whatever the
// password given.
const std::shared_ptr<const Bucket>* authenticate_plain(const PortBinding& port, std::string_view user,
                                                        std::string_view password);

}  // namespace moxi
