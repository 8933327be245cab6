// Sends one Stream to one server over a fresh connection and collects the
// normalised replies (see normalise.h) until the stream's end is certain.
//
// The stream goes out segment by segment (a segment ends before a command
// with sync_before). After each segment a sentinel is sent whose reply is
// unique to this run and which neither side can answer early:
//   ascii:  "set <sentinel-key> 0 0 2 noreply\r\nok\r\nget <sentinel-key>\r\n"
//           -> "VALUE <sentinel-key> 0 2\r\nok\r\nEND\r\n" (a miss would read
//           "END", which any get in the stream can also produce);
//   binary: NOOP with an opaque no stream command uses.
// The reader strips the sentinel's reply; everything before it belongs to the
// segment. Writing and reading are interleaved (poll on both directions), so
// a server that stops reading until its replies are consumed - a deep
// pipeline of big values - cannot deadlock the harness.
#pragma once

#include <string>
#include <vector>

#include "t/diff/normalise.h"
#include "t/diff/stream.h"
#include "t/support/deadline.h"

namespace moxi::test::diff {

enum class Ending {
  Complete,  // the last sentinel came back (EndMode::Sentinel)
  Closed,    // the server closed the connection (EOF or reset)
  Timeout,   // the deadline passed first: a hang
};
const char* to_string(Ending e);

struct Outcome {
  std::vector<std::string> units;  // normalised replies, sentinels removed
  Ending ending = Ending::Complete;
  int segments_done = 0;  // segments whose sentinel reply was read
  std::string note;       // what went wrong, for reports (send error, ...)
};

// `nonce` makes the sentinel unique to this run (the caller picks a fresh
// one per run so a stale reply can never be mistaken for the current one).
Outcome run_stream(int port, const Stream& stream, uint64_t nonce, Deadline deadline);

}  // namespace moxi::test::diff
