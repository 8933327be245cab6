// Stream generator: a seed gives one Stream, always the same one (the only
// randomness is a std::mt19937_64 seeded with it, used through modulo, not
// through the implementation-defined std distributions).
//
// Two ascii streams in five mix in meta commands (mg, ms, md, ma, mn, me with
// random flags, b keys, cas placeholders; their own malformed lines and a
// multiget as many "mg ... q" then "mn").
//
// Families (chosen by the seed):
//   mixed      a few commands of every kind on a handful of keys, so they
//              interact (add after set, cas after gets, incr on text...)
//   pipeline   hundreds of such commands in one write
//   boundary   keys of 0/1/250/251 bytes, values of 0/1 byte, of exactly the
//              largest size memcached stores and one more, 1 MiB +-1;
//              exptimes negative, 0, 30 days, absolute past/future
//   malformed  missing/extra tokens, non-numbers, huge numbers, bare "\n",
//              garbage bytes; binary: wrong magic, bad lengths, truncated
//              frames, unknown opcodes (may end in a close on both sides)
//   multiget   one get of 10, 1000 or 20000 keys with duplicates (binary: as
//              many GETKQ and a NOOP)
// Any stream may also be written in chunks cut at random points, and end in
// quit (ascii), QUIT or QUITQ (binary).
#pragma once

#include <cstddef>
#include <cstdint>

#include "t/diff/stream.h"

namespace moxi::test::diff {

// memcached 1.6 with its default item size (-I 1m) stores a value of at most
// this many bytes for a key of `key_len` bytes (4 fewer with non-zero flags,
// which it keeps in the item only then). Found empirically by bisection on
// memcached 1.6.18: key "k" stores 1048516 bytes, not 1048517.
std::size_t max_value_size(std::size_t key_len, bool flags);

Stream generate(uint64_t seed);

}  // namespace moxi::test::diff
