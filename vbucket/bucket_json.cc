#include "vbucket/bucket_json.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <new>
#include <optional>
#include <vector>

#include "vbucket/host_port.h"
#include "vbucket/json_util.h"

namespace moxi::vbucket::detail {
namespace {

using rapidjson::Value;

// libvbucket's messages, kept verbatim so that logs and tests written against
// libvbucket still match; we append the field and the detail.
constexpr const char* kNumReplicasMessage = "Expected number <= 4 for numReplicas";
constexpr const char* kServerListType = "Expected array for serverList";
constexpr const char* kServerListEmpty = "Empty serverList";
constexpr const char* kServerListStrings = "Expected array of strings for serverList";
constexpr const char* kVBucketCount = "Number of vBuckets must be a power of two > 0 and <= 65536";
constexpr const char* kRowShape = "Expected array of arrays each with numReplicas + 1 ints for vBucketMap";
constexpr const char* kServerId = "Server ID must be >= -1 and < num_servers";
constexpr const char* kNodeLocatorType = "Expected string for nodeLocator";
// What a $HOST (or a nodesExt entry without "hostname") means when the
// parser was not told where the config came from.
constexpr const char* kUnknownOrigin =
    "$HOST, the host the config was fetched from, but that host is not known here; "
    "read the config with the host it came from as origin host";

// What a node of nodes[] contributes; see cluster-config.md §1.1.
struct Node {
  std::string authority;  // node_host(hostname) + ":" + ports.direct, after $HOST substitution
  std::string hostname;   // the REST "hostname", after $HOST substitution
  std::optional<std::string> couch_api_base;
  bool this_node = false;
};

// The ports of a nodesExt "services" object (or of an alternate address's
// "ports") that moxi reads; the other services are not its business.
struct ServicePorts {
  std::optional<std::uint16_t> kv;      // "kv": the data port
  std::optional<std::uint16_t> kv_tls;  // "kvSSL": the data port over TLS
  std::optional<std::uint16_t> mgmt;    // "mgmt": the REST port
};

// What a node of nodesExt[] contributes; see couchbase-kv.md §7.1.
struct NodeExt {
  std::string host;  // bracketed if IPv6; the origin host when "hostname" is missing
  ServicePorts ports;
  struct Alternate {
    std::string host;
    ServicePorts ports;  // only those the address gives; the others are the node's own
  };
  std::optional<Alternate> external;  // alternateAddresses.external
};

class BucketReader {
 public:
  BucketReader(const Value& bucket, const BucketJsonContext& context) : bucket_(bucket), context_(context) {}

  Result<ConfigPtr> read() {
    if (!bucket_.IsObject())
      return fail("(document)", std::string("expected a JSON object, got ") + type_name(bucket_));
    ConfigSpec spec;
    spec.document = context_.document;
    if (!read_credentials(spec) || !read_revision(spec) || !read_distribution(spec)) return failure();
    const bool ok = spec.distribution == Distribution::ketama ? read_ketama(spec) : read_vbucket(spec);
    if (!ok) return failure();
    auto built = Config::build(std::move(spec));
    if (!built) return Result<ConfigPtr>::failure(context_.field_prefix + built.error());
    return built;
  }

 private:
  Result<ConfigPtr> failure() const { return Result<ConfigPtr>::failure(error_); }
  Result<ConfigPtr> fail(const std::string& field, const std::string& reason) {
    set_error(field, reason);
    return failure();
  }
  bool set_error(const std::string& field, const std::string& reason) {
    error_ = context_.field_prefix + field + ": " + reason;
    return false;
  }

  const std::string& origin() const { return context_.options.origin_host; }

  // `text` (the value of `field`) with its $HOST replaced by the origin host.
  // Fails when the config names $HOST and the origin host is not known.
  bool with_origin(std::string_view text, const std::string& field, std::string& out) {
    if (origin().empty() && text.find(kHostMarker) != std::string_view::npos)
      return set_error(field, "\"" + std::string(text) + "\" names " + kUnknownOrigin);
    out = substitute_host(text, origin());
    return true;
  }

  // A port number 1..65535 in `value` (the member `field`); absent or null
  // leaves `out` empty, unless `required`.
  bool read_port(const Value* value, const std::string& field, bool required, std::optional<std::uint16_t>& out) {
    out.reset();
    if (value == nullptr || (value->IsNull() && !required)) {
      if (!required) return true;
      return set_error(field, "expected a port number 1..65535 (missing)");
    }
    const std::optional<int> port = as_int(*value);
    if (!port || *port < 1 || *port > 65535)
      return set_error(field, "expected a port number 1..65535 (got " +
                                  (port ? std::to_string(*port) : std::string(type_name(*value))) + ")");
    out = static_cast<std::uint16_t>(*port);
    return true;
  }

  // Credentials always come from the top level, whatever the shape (the
  // user/password inside 1.6-era vBucketServerMaps are ignored, as in libvbucket).
  bool read_credentials(ConfigSpec& spec) {
    if (const Value* name = find_member(bucket_, "name"); name && !name->IsNull()) {
      if (!name->IsString()) return set_error("name", std::string("expected a string, got ") + type_name(*name));
      // The "default" bucket needs no authentication, hence no user.
      if (as_string_view(*name) != "default") spec.user = std::string(as_string_view(*name));
    }
    if (const Value* pw = find_member(bucket_, "saslPassword"); pw && !pw->IsNull()) {
      if (!pw->IsString()) return set_error("saslPassword", std::string("expected a string, got ") + type_name(*pw));
      spec.password = std::string(as_string_view(*pw));
    }
    return true;
  }

  // "rev" and "revEpoch" (Couchbase 6+/7+): which of two configs is newer.
  // A document without "rev" has no revision (it is applied as it comes).
  bool read_revision(ConfigSpec& spec) {
    const Value* rev = find_member(bucket_, "rev");
    if (rev == nullptr || rev->IsNull()) return true;
    if (!rev->IsInt64() || rev->GetInt64() < 0)
      return set_error("rev", std::string("expected a non-negative integer, got ") + type_name(*rev));
    Revision r;
    r.rev = rev->GetInt64();
    if (const Value* epoch = find_member(bucket_, "revEpoch"); epoch && !epoch->IsNull()) {
      if (!epoch->IsInt64() || epoch->GetInt64() < 0)
        return set_error("revEpoch", std::string("expected a non-negative integer, got ") + type_name(*epoch));
      r.epoch = epoch->GetInt64();
    }
    spec.revision = r;
    return true;
  }

  // Unlike libvbucket, an unknown nodeLocator is an error: libvbucket returns
  // an empty config with rc 0, which a proxy could only misroute with.
  bool read_distribution(ConfigSpec& spec) {
    const Value* locator = find_member(bucket_, "nodeLocator");
    if (locator == nullptr || locator->IsNull()) return true;
    if (!locator->IsString())
      return set_error("nodeLocator", std::string(kNodeLocatorType) + " (got " + type_name(*locator) + ")");
    const std::string_view name = as_string_view(*locator);
    if (name == "vbucket") {
      spec.distribution = Distribution::vbucket;
    } else if (name == "ketama") {
      spec.distribution = Distribution::ketama;
    } else {
      return set_error("nodeLocator",
                       "unknown node locator \"" + std::string(name) + "\" (expected \"vbucket\" or \"ketama\")");
    }
    return true;
  }

  // The map object: vBucketServerMap in an envelope, else the bucket itself
  // (bare form). Sets map_ and map_prefix_.
  bool locate_map() {
    const Value* envelope = find_member(bucket_, "vBucketServerMap");
    if (envelope == nullptr || envelope->IsNull()) {
      map_ = &bucket_;
      map_prefix_.clear();
      return true;
    }
    if (!envelope->IsObject())
      return set_error("vBucketServerMap", std::string("expected an object, got ") + type_name(*envelope));
    map_ = envelope;
    map_prefix_ = "vBucketServerMap.";
    return true;
  }

  bool read_vbucket(ConfigSpec& spec) {
    if (!locate_map() || !read_num_replicas(spec)) return false;
    const Value* list = find_member(*map_, "serverList");
    if (!read_server_list(list, spec.servers)) return false;
    std::vector<Node> nodes;
    if (!read_nodes(nodes, /*required=*/false)) return false;
    attach_nodes(nodes, spec.servers, /*with_couch_and_this_node=*/true);
    if (!read_nodes_ext(spec)) return false;

    const Value* map = find_member(*map_, "vBucketMap");
    if (map == nullptr || !map->IsArray())
      return set_error(map_prefix_ + "vBucketMap", std::string("Expected array for vBucketMap (") +
                                                       (map ? "got " + std::string(type_name(*map)) : "missing") + ")");
    const size_t n = map->Size();
    if (n == 0)
      return set_error(
          map_prefix_ + "vBucketMap",
          std::string(kVBucketCount) + " (got 0: no vBuckets available; service maybe still initializing)");
    if (n > static_cast<size_t>(kMaxVBuckets) || !std::has_single_bit(n))
      return set_error(map_prefix_ + "vBucketMap", std::string(kVBucketCount) + " (got " + std::to_string(n) + ")");
    const int num_servers = static_cast<int>(spec.servers.size());
    if (!read_rows(*map, n, "vBucketMap", spec.num_replicas, num_servers, spec.vbucket_map)) return false;

    // Present only during a rebalance. Extra rows are ignored, as in libvbucket.
    const Value* forward = find_member(*map_, "vBucketMapForward");
    if (forward != nullptr && !forward->IsNull()) {
      if (!forward->IsArray())
        return set_error(map_prefix_ + "vBucketMapForward",
                         std::string("expected an array of rows, got ") + type_name(*forward));
      if (forward->Size() < n)
        return set_error(map_prefix_ + "vBucketMapForward", "has " + std::to_string(forward->Size()) +
                                                                " rows, fewer than the " + std::to_string(n) +
                                                                " vBuckets of vBucketMap");
      if (!read_rows(*forward, n, "vBucketMapForward", spec.num_replicas, num_servers, spec.vbucket_map_forward))
        return false;
    }
    return true;
  }

  bool read_num_replicas(ConfigSpec& spec) {
    const Value* value = find_member(*map_, "numReplicas");
    std::string detail;
    if (value == nullptr) {
      detail = "missing";
      // libvbucket gives this very error for a {"buckets":[...]} document;
      // say what the document probably is.
      if (is_multi_bucket_document(bucket_))
        detail += "; this is a multi-bucket {\"buckets\":[...]} document, read it with parse_buckets()";
    } else if (auto n = as_int(*value); !n) {
      detail = std::string("got ") + (value->IsNumber() ? "a non-integer number" : type_name(*value));
    } else if (*n < 0 || *n > kMaxReplicas) {
      detail = "got " + std::to_string(*n);
    } else {
      spec.num_replicas = *n;
      return true;
    }
    return set_error(map_prefix_ + "numReplicas", std::string(kNumReplicasMessage) + " (" + detail + ")");
  }

  bool read_server_list(const Value* list, std::vector<Server>& servers) {
    const std::string field = map_prefix_ + "serverList";
    if (list == nullptr) return set_error(field, std::string(kServerListType) + " (missing)");
    if (!list->IsArray()) return set_error(field, std::string(kServerListType) + " (got " + type_name(*list) + ")");
    if (list->Empty()) return set_error(field, kServerListEmpty);
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
      const Value& entry = (*list)[i];
      const std::string entry_field = field + "[" + std::to_string(i) + "]";
      if (!entry.IsString())
        return set_error(entry_field, std::string(kServerListStrings) + " (got " + type_name(entry) + ")");
      std::string authority;
      if (!with_origin(as_string_view(entry), entry_field, authority)) return false;
      auto split = split_authority(authority);
      if (!split)
        return set_error(entry_field, "expected \"host:port\" with a port 1..65535, got \"" + authority + "\"");
      Server server;
      server.authority = std::move(authority);
      server.host = std::move(split->host);
      server.port = split->port;
      servers.push_back(std::move(server));
    }
    return true;
  }

  // nodes[] is read from the top level of the bucket in every shape.
  bool read_nodes(std::vector<Node>& nodes, bool required) {
    const Value* list = find_member(bucket_, "nodes");
    if (list == nullptr || list->IsNull()) {
      if (required) return set_error("nodes", "a ketama bucket needs nodes[] or vBucketServerMap.serverList (missing)");
      return true;
    }
    if (!list->IsArray())
      return set_error("nodes", std::string("expected an array of objects, got ") + type_name(*list));
    if (required && list->Empty()) return set_error("nodes", "a ketama bucket needs at least one node");
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
      const Value& node = (*list)[i];
      const std::string field = "nodes[" + std::to_string(i) + "]";
      if (!node.IsObject()) return set_error(field, std::string("expected an object, got ") + type_name(node));
      const Value* hostname = find_member(node, "hostname");
      if (hostname == nullptr || !hostname->IsString())
        return set_error(field + ".hostname", std::string("expected a string (") +
                                                  (hostname ? "got " + std::string(type_name(*hostname)) : "missing") +
                                                  ")");
      const Value* ports = find_member(node, "ports");
      if (ports == nullptr || !ports->IsObject())
        return set_error(field + ".ports", std::string("expected an object (") +
                                               (ports ? "got " + std::string(type_name(*ports)) : "missing") + ")");
      std::optional<std::uint16_t> port;
      if (!read_port(find_member(*ports, "direct"), field + ".ports.direct", /*required=*/true, port)) return false;
      Node out;
      const std::string_view raw_hostname = as_string_view(*hostname);
      // The hostname first: its error quotes what the config says.
      if (!with_origin(raw_hostname, field + ".hostname", out.hostname) ||
          !with_origin(std::string(node_host(raw_hostname)) + ":" + std::to_string(*port), field + ".hostname",
                       out.authority))
        return false;
      if (const Value* couch = find_member(node, "couchApiBase"); couch && !couch->IsNull()) {
        if (!couch->IsString())
          return set_error(field + ".couchApiBase", std::string("expected a string, got ") + type_name(*couch));
        std::string base;
        if (!with_origin(as_string_view(*couch), field + ".couchApiBase", base)) return false;
        out.couch_api_base = std::move(base);
      }
      if (const Value* self = find_member(node, "thisNode"); self && !self->IsNull()) {
        if (!self->IsBool())
          return set_error(field + ".thisNode", std::string("expected a boolean, got ") + type_name(*self));
        out.this_node = self->GetBool();
      }
      nodes.push_back(std::move(out));
    }
    return true;
  }

  // Nodes are matched to servers by authority, not by position: ns_server
  // promises the same order, but libvbucket never relied on it (see
  // testapp-config-couch-api-base). Unmatched nodes are ignored.
  static void attach_nodes(const std::vector<Node>& nodes, std::vector<Server>& servers,
                           bool with_couch_and_this_node) {
    for (const Node& node : nodes) {
      for (Server& server : servers) {
        if (server.authority != node.authority) continue;
        server.rest_api_server = node.hostname;
        if (with_couch_and_this_node) {
          server.couch_api_base = node.couch_api_base;
          server.config_node = node.this_node;
        }
      }
    }
  }

  // nodesExt[] (terse configs, 3.0+): every active node of the cluster with
  // its service ports. The data endpoints stay serverList's (the map indexes
  // it; nodesExt may list nodes that hold no vBucket, in another order);
  // each server takes from the entry with its host and kv port the TLS port
  // and, when reading with Network::External, the alternate address.
  bool read_nodes_ext(ConfigSpec& spec) {
    const Value* list = find_member(bucket_, "nodesExt");
    if (list == nullptr || list->IsNull()) return true;
    if (!list->IsArray())
      return set_error("nodesExt", std::string("expected an array of objects, got ") + type_name(*list));
    std::vector<NodeExt> nodes;
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
      NodeExt node;
      if (!read_node_ext((*list)[i], "nodesExt[" + std::to_string(i) + "]", node)) return false;
      nodes.push_back(std::move(node));
    }
    spec.network = context_.options.network;
    for (Server& server : spec.servers) {
      auto match = std::find_if(nodes.begin(), nodes.end(), [&](const NodeExt& n) {
        return n.ports.kv && *n.ports.kv == server.port && n.host == server.host;
      });
      if (match == nodes.end()) continue;
      server.tls_port = match->ports.kv_tls;
      if (context_.options.network != Network::External || !match->external) continue;
      const NodeExt::Alternate& alternate = *match->external;
      server.host = alternate.host;
      server.port = alternate.ports.kv.value_or(server.port);
      if (alternate.ports.kv_tls) server.tls_port = alternate.ports.kv_tls;
      server.authority = server.host + ":" + std::to_string(server.port);
      server.alternate_address = true;
    }
    return true;
  }

  bool read_node_ext(const Value& node, const std::string& field, NodeExt& out) {
    if (!node.IsObject()) return set_error(field, std::string("expected an object, got ") + type_name(node));
    // ns_server leaves "hostname" out for a loopback node; it means $HOST.
    const Value* hostname = find_member(node, "hostname");
    if (hostname != nullptr && !hostname->IsNull() && !hostname->IsString())
      return set_error(field + ".hostname", std::string("expected a string, got ") + type_name(*hostname));
    if (hostname == nullptr || hostname->IsNull()) {
      if (origin().empty()) return set_error(field + ".hostname", std::string("missing, which means ") + kUnknownOrigin);
      out.host = bracketed_host(origin());
    } else {
      std::string host;
      if (!with_origin(as_string_view(*hostname), field + ".hostname", host)) return false;
      if (host.empty()) return set_error(field + ".hostname", "expected a host name, got \"\"");
      out.host = bracketed_host(host);
    }
    const Value* services = find_member(node, "services");
    if (services == nullptr || !services->IsObject())
      return set_error(field + ".services", std::string("expected an object of service ports (") +
                                                (services ? "got " + std::string(type_name(*services)) : "missing") +
                                                ")");
    if (!read_service_ports(*services, field + ".services", out.ports)) return false;
    if (const Value* self = find_member(node, "thisNode"); self && !self->IsNull() && !self->IsBool())
      return set_error(field + ".thisNode", std::string("expected a boolean, got ") + type_name(*self));
    const Value* alternates = find_member(node, "alternateAddresses");
    if (alternates == nullptr || alternates->IsNull()) return true;
    if (!alternates->IsObject())
      return set_error(field + ".alternateAddresses", std::string("expected an object, got ") + type_name(*alternates));
    const Value* external = find_member(*alternates, "external");
    if (external == nullptr || external->IsNull()) return true;
    const std::string where = field + ".alternateAddresses.external";
    if (!external->IsObject()) return set_error(where, std::string("expected an object, got ") + type_name(*external));
    const Value* alt_host = find_member(*external, "hostname");
    if (alt_host == nullptr || !alt_host->IsString() || alt_host->GetStringLength() == 0)
      return set_error(where + ".hostname",
                       std::string("expected a non-empty string (") +
                           (alt_host ? "got " + std::string(alt_host->IsString() ? "\"\"" : type_name(*alt_host))
                                     : "missing") +
                           ")");
    NodeExt::Alternate alternate;
    alternate.host = bracketed_host(as_string_view(*alt_host));
    if (const Value* ports = find_member(*external, "ports"); ports && !ports->IsNull()) {
      if (!ports->IsObject())
        return set_error(where + ".ports", std::string("expected an object, got ") + type_name(*ports));
      if (!read_service_ports(*ports, where + ".ports", alternate.ports)) return false;
    }
    out.external = std::move(alternate);
    return true;
  }

  bool read_service_ports(const Value& services, const std::string& field, ServicePorts& out) {
    return read_port(find_member(services, "kv"), field + ".kv", false, out.kv) &&
           read_port(find_member(services, "kvSSL"), field + ".kvSSL", false, out.kv_tls) &&
           read_port(find_member(services, "mgmt"), field + ".mgmt", false, out.mgmt);
  }

  bool read_rows(const Value& rows, size_t count, const char* name, int num_replicas, int num_servers,
                 std::vector<std::vector<int>>& out) {
    const size_t width = static_cast<size_t>(num_replicas) + 1;
    out.reserve(count);
    for (size_t vb = 0; vb < count; ++vb) {
      const Value& row = rows[static_cast<rapidjson::SizeType>(vb)];
      const std::string field = map_prefix_ + name + "[" + std::to_string(vb) + "]";
      if (!row.IsArray())
        return set_error(field, std::string(kRowShape) + " (vBucket " + std::to_string(vb) + " is " + type_name(row) +
                                    ", not an array)");
      if (row.Size() != width)
        return set_error(field, std::string(kRowShape) + " (vBucket " + std::to_string(vb) + " has " +
                                    std::to_string(row.Size()) + " entries; numReplicas is " +
                                    std::to_string(num_replicas) + ")");
      std::vector<int> ids;
      ids.reserve(width);
      for (rapidjson::SizeType j = 0; j < row.Size(); ++j) {
        const std::string cell = field + "[" + std::to_string(j) + "]";
        auto id = as_int(row[j]);
        if (!id)
          return set_error(cell, std::string(kRowShape) + " (vBucket " + std::to_string(vb) + " entry " +
                                     std::to_string(j) + " is " + type_name(row[j]) + ")");
        if (*id < -1 || *id >= num_servers)
          return set_error(cell, std::string(kServerId) + " (vBucket " + std::to_string(vb) + " names server " +
                                     std::to_string(*id) + "; num_servers is " + std::to_string(num_servers) + ")");
        ids.push_back(*id);
      }
      out.push_back(std::move(ids));
    }
    return true;
  }

  // Memcached buckets. Like moxi, prefer vBucketServerMap.serverList when a
  // ketama bucket carries one (ketama_rest_mixed.cfg); otherwise use nodes[]
  // as libvbucket does, every node whatever its "status". The servers are
  // sorted with strcmp like libvbucket, so server indexes (and compare())
  // do not depend on the order the cluster lists nodes in.
  bool read_ketama(ConfigSpec& spec) {
    const Value* envelope = find_member(bucket_, "vBucketServerMap");
    if (envelope != nullptr && !envelope->IsNull() && !envelope->IsObject())
      return set_error("vBucketServerMap", std::string("expected an object, got ") + type_name(*envelope));
    const Value* list = envelope && envelope->IsObject() ? find_member(*envelope, "serverList") : nullptr;
    std::vector<Node> nodes;
    if (list != nullptr && !list->IsNull()) {
      map_prefix_ = "vBucketServerMap.";
      if (!read_server_list(list, spec.servers) || !read_nodes(nodes, /*required=*/false)) return false;
      attach_nodes(nodes, spec.servers, /*with_couch_and_this_node=*/false);
    } else {
      if (!read_nodes(nodes, /*required=*/true)) return false;
      for (size_t i = 0; i < nodes.size(); ++i) {
        auto split = split_authority(nodes[i].authority);
        if (!split)
          return set_error("nodes[" + std::to_string(i) + "].hostname",
                           "cannot form \"host:port\" from it (got \"" + nodes[i].authority + "\")");
        Server server;
        server.authority = nodes[i].authority;
        server.host = std::move(split->host);
        server.port = split->port;
        server.rest_api_server = nodes[i].hostname;
        spec.servers.push_back(std::move(server));
      }
    }
    if (!read_nodes_ext(spec)) return false;
    std::stable_sort(spec.servers.begin(), spec.servers.end(),
                     [](const Server& a, const Server& b) { return a.authority < b.authority; });
    return true;
  }

  const Value& bucket_;
  const BucketJsonContext& context_;
  const Value* map_ = nullptr;
  std::string map_prefix_;
  std::string error_;
};

}  // namespace

bool is_multi_bucket_document(const rapidjson::Value& root) noexcept {
  const Value* buckets = root.IsObject() ? find_member(root, "buckets") : nullptr;
  return buckets != nullptr && buckets->IsArray();
}

Result<ConfigPtr> config_from_json(const rapidjson::Value& bucket, const BucketJsonContext& context) noexcept {
  try {
    return BucketReader(bucket, context).read();
  } catch (const std::bad_alloc&) {
    return Result<ConfigPtr>::failure(context.field_prefix + "out of memory while reading the config");
  } catch (...) {
    return Result<ConfigPtr>::failure(context.field_prefix + "unexpected error while reading the config");
  }
}

}  // namespace moxi::vbucket::detail
