// What every config parser is told about the document it reads: the host
// the document came from, and which network's addresses to use.
//
//   origin_host  the host the config was fetched from: the REST URL's host
//                for a config read over HTTP, the data node's host for a
//                config read over the data port. It replaces "$HOST" (the
//                first one in each string) in serverList, nodes[].hostname,
//                nodes[].couchApiBase, and nodesExt[].hostname, and stands
//                for a missing nodesExt[].hostname. An IPv6 origin is
//                bracketed in "host:port" strings ("[::1]:11210"). Empty
//                means unknown: a config that still names $HOST (or has a
//                nodesExt entry without a hostname) is then rejected with an
//                error that names the field and its value.
//   network      which addresses of a terse config's nodes to use:
//                Network::Default, the servers as serverList names them, or
//                Network::External, for each server whose nodesExt entry
//                (matched by host and kv port) has
//                alternateAddresses.external: its hostname, with its ports
//                where it gives them and the normal ports where it does
//                not. A server without an external address keeps its
//                default one.
//
// Thread-safety: plain data.
#pragma once

#include <string>

#include "vbucket/config.h"

namespace moxi::vbucket {

struct ParseOptions {
  std::string origin_host;
  Network network = Network::Default;
};

}  // namespace moxi::vbucket
