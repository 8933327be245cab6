// The known divergences: places where moxi is known to answer differently
// from memcached, listed so that the differential test passes while they are
// being fixed, and so that each one is a single entry to delete once it is.
//
// An entry names the commands (or the stream property) that trigger it. When
// a stream diverges, the harness removes every command that some entry
// matches (and undoes the matched stream properties), runs the rest again,
// compares it with the matched entries' relaxations (if any, e.g. "ignore
// cas"), and calls the divergence known only if the rest agrees; whatever still
// diverges is new, and is shrunk and reported. So a known entry can hide
// nothing but the commands it names.
//
// To retire an entry after a fix: delete it from known.cc; the next run shows
// whether the streams it covered now agree.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "t/diff/stream.h"

namespace moxi::test::diff {

struct KnownDivergence {
  std::string id = {};      // stable name used in reports ("K1", ...)
  std::string reason = {};  // what moxi does differently, and why it is listed
  // Configurations it applies to ("ascii", "binary", "meta", "vbucket"); empty: all.
  std::vector<std::string> configs = {};
  // Command i of the stream triggers it. May be empty.
  std::function<bool(const Stream&, std::size_t)> command = {};
  // The whole stream triggers it (e.g. its end mode). May be empty; when set,
  // `neutralise` must turn the stream into one that does not.
  std::function<bool(const Stream&)> stream = {};
  std::function<void(Stream&)> neutralise = {};
  // For a difference in every reply of a kind (not caused by one command):
  // applied to both sides' units before they are compared. May be empty.
  std::function<void(std::vector<std::string>& units)> relax = {};
  // memcached alone answers what it names differently from run to run (it
  // reads stale slab memory, or races its own background crawler), so two
  // memcached servers can disagree on it too: the harness's self-check sets
  // these commands aside as well.
  bool memcached_alone_varies = false;
};

const std::vector<KnownDivergence>& known_divergences();

// The entries of `config` that `stream` triggers.
std::vector<const KnownDivergence*> matching_known(const Stream& stream, const std::string& config);
// `stream` without what those entries match.
Stream without_known(const Stream& stream, const std::vector<const KnownDivergence*>& entries);
// Applies the relax hooks of `entries` to `units`.
void relax_units(const std::vector<const KnownDivergence*>& entries, std::vector<std::string>& units);

}  // namespace moxi::test::diff
