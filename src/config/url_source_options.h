// From the command line to an HttpStreamSource: the options parser
// (src/config/options.h) has already split "-z url=...", "-z auth=U%P" and
// "http://user:pw@host/..." into a moxi::UrlSource, and -Z config_cache and
// config_stall_timeout into Behaviors. This maps them; everything else keeps
// HttpStreamOptions' defaults (the other -Z timeouts are the backend
// connections', not the REST client's).
//
// It lives on moxi's side of the boundary: conflate/ knows nothing of
// moxi's command line (it depends on vbucket/ only).
//
// Thread-safety: pure function.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "conflate/http_stream_source.h"
#include "src/config/options.h"
#include "src/backend/data_node_config_source.h"

namespace moxi::conflate {

// urls = source.urls; auth = source.auth (parse_options has filled it from
// -Z usr/pwd when the source gave none); cache_path = behaviors.config_cache;
// network = behaviors.network;
// stall_timeout = behaviors.config_stall_timeout and, unless it is 0,
// heartbeat = 2/7 of it in whole seconds (at least 1 s).
// With several URL sources in one process, give each its own cache path.
// Only the http:// and https:// URLs of the source (urls may be empty).
HttpStreamOptions http_options_from(const moxi::UrlSource& source, const moxi::Behaviors& behaviors);

// The couchbase:// URLs of the source as a data-node source: the bucket of
// moxi::data_node_bucket, the login of -Z usr/pwd, the interval of -Z
// node_config_interval; nullopt when the source has none.
std::optional<moxi::backend::DataNodeSourceOptions> data_node_options_from(const moxi::UrlSource& source,
                                                                  const moxi::Behaviors& behaviors);

// The running sources of one -z URL source: an HttpStreamSource for its
// REST URLs, a DataNodeConfigSource for its data nodes, or both (their
// configs are ordered by revision where they meet, in the follower).
// `use_cache` false: the -Z config_cache file is neither read nor written.
std::vector<std::unique_ptr<ConfigSource>> make_sources(const moxi::UrlSource& source, const moxi::Behaviors& behaviors,
                                                        const UpdateCallback& on_update, const StatusCallback& on_status,
                                                        bool use_cache = true);

}  // namespace moxi::conflate
