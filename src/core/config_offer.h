// A bucket config that reached a worker other than through its config
// source: the body of a NOT_MY_VBUCKET reply, which a Couchbase data node
// fills with its current (terse) config of the connection's bucket, or the
// node's answer to the GET_CLUSTER_CONFIG a worker sends after a
// NOT_MY_VBUCKET without one (the same document).
//
// Thread contract: made on a worker thread, handed to the main thread by
// value (App::offer_config), where the port's ConfigFollower validates it
// and applies it through the normal snapshot swap if it is newer than the
// config served (ConfigFollower::offer).
#pragma once

#include <cstddef>
#include <string>

namespace moxi {

struct ConfigOffer {
  size_t port_index = 0;  // the snapshot port serving the bucket
  std::string bucket;     // the bucket the connection had selected
  std::string document;   // the config JSON, as the server sent it
  std::string peer;       // the data node's host: replaces "$HOST"
  std::string source;     // for the log: "NOT_MY_VBUCKET from HOST:PORT" (or GET_CLUSTER_CONFIG)
};

}  // namespace moxi
