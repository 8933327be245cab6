// Couchbase's extended error codes (HELLO XERROR) folded back into the
// statuses a data node sends a client that did not ask for them.
//
// moxi negotiates XERROR with Couchbase data nodes so that a refused
// request (no access, no bucket, stale login) is an answer on the
// connection rather than the server closing it under every client that
// shares it. moxi's own clients did not negotiate anything: they get what
// the server would have sent them without XERROR (couchbase-kv facts):
//   LOCKED      -> KEY_EEXISTS for mutations, touch and gat;
//                  TMPFAIL for GETL, DELETE and UNL;
//   NOT_LOCKED  -> TMPFAIL;
//   UNKNOWN_COLLECTION / UNKNOWN_SCOPE -> EINVAL;
//   ECONFIG_ONLY -> NOT_SUPPORTED;
//   EACCESS, NO_BUCKET, AUTH_STALE (the server would close the connection)
//               -> AUTH_ERROR, what an unauthenticated memcached client sees.
// Every other status passes unchanged.
#pragma once

#include <cstdint>

namespace moxi::protocol {

uint16_t status_without_extended_errors(uint8_t opcode, uint16_t status);

}  // namespace moxi::protocol
