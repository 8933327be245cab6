// The differential harness's unit of work: a Stream of client commands, sent
// unchanged to a real memcached and to moxi, whose replies must agree.
//
// A command is the exact bytes a client writes. Two things cannot be fixed
// when the stream is generated and are filled in per side when it is sent:
//   - a cas unique: the cas values memcached hands out differ between two
//     servers, so a command may name "the cas of class K" (the K-th distinct
//     cas that side has replied with, see normalise.h) and each side gets its
//     own value. Before such a command the replies so far must have been read,
//     so the command starts a new segment (see Command::sync_before).
//   - the end: a sentinel request both sides answer deterministically is sent
//     after each segment, so "all the replies" is well defined (transport.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace moxi::test::diff {

enum class Protocol { Ascii, Binary };

// How a stream ends, i.e. how the reader knows every reply has arrived.
enum class EndMode {
  Sentinel,   // sentinel request after the last command; connection stays open
  Quit,       // the last command is quit/QUIT/QUITQ: read until the server closes
  HalfClose,  // shutdown(SHUT_WR) after the last byte (a truncated frame can end no other way)
};

// Ascii: this marker inside Command::bytes is replaced by the side's cas value
// of class Command::cas_class. Binary: the header's cas field (bytes 16..23) is
// overwritten instead, and the marker is not used.
inline constexpr const char* kCasMarker = "\x01" "CAS" "\x01";
// A cas no server has handed out (memcached counts from 1 per process): what
// a cas placeholder gets when its class was never seen on that side.
inline constexpr uint64_t kBogusCas = 999999999999ull;

struct Command {
  std::string bytes;
  std::string label;         // short readable form for reports ("set k 0 0 1")
  int cas_class = -1;        // >= 0: fill the cas from this class (see above)
  bool sync_before = false;  // replies to everything before must be read first
};

struct Stream {
  Protocol protocol = Protocol::Ascii;
  EndMode end = EndMode::Sentinel;
  std::string family;  // which generator made it ("mixed", "malformed", ...), for reports
  std::string prefix;  // the key namespace of this stream
  std::vector<Command> commands;
  // 0: each segment is written at once; else the seed of the random cut
  // points that split the bytes over several writes.
  uint64_t chunk_seed = 0;
};

// Every command on one line each: label, then the escaped bytes.
std::string describe(const Stream& stream);
// The bytes a C++ test would need to replay the stream, as one escaped string.
std::string total_bytes(const Stream& stream);

const char* to_string(Protocol p);
const char* to_string(EndMode e);

}  // namespace moxi::test::diff
