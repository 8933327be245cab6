// libevent's own messages (accept errors, epoll failures, evhttp's complaints)
// go through moxi's log: same format, same levels, same rate limit. By
// default libevent writes "[warn] ..." lines to stderr unbounded: a worker
// out of descriptors once wrote "[warn] Error from accept() call: Too many
// open files" millions of times.
#pragma once

namespace moxi {

// Main thread, before the first event_base exists (the callback is global).
void route_libevent_log();

}  // namespace moxi
