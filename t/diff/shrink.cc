#include "t/diff/shrink.h"

#include <algorithm>

namespace moxi::test::diff {

Stream shrink(const Stream& stream, const std::function<bool(const Stream&)>& diverges, int max_runs) {
  Stream best = stream;
  int runs = 0;
  auto attempt = [&](const Stream& candidate) {
    if (runs >= max_runs) return false;
    ++runs;
    if (!diverges(candidate)) return false;
    best = candidate;
    return true;
  };

  // Simpler transport first: it makes every later run cheaper to read.
  if (best.chunk_seed) {
    Stream c = best;
    c.chunk_seed = 0;
    attempt(c);
  }
  for (std::size_t size = std::max<std::size_t>(1, best.commands.size() / 2); runs < max_runs;) {
    bool removed = false;
    for (std::size_t at = 0; at < best.commands.size() && runs < max_runs;) {
      Stream c = best;
      auto first = c.commands.begin() + static_cast<std::ptrdiff_t>(at);
      auto last = c.commands.begin() + static_cast<std::ptrdiff_t>(std::min(at + size, c.commands.size()));
      // A quit ends the stream's end mode: removing it means ending with the sentinel.
      bool drops_last = last == c.commands.end();
      c.commands.erase(first, last);
      if (drops_last && c.end == EndMode::Quit) c.end = EndMode::Sentinel;
      if (!c.commands.empty() && attempt(c)) {
        removed = true;  // the same position now holds the next commands
      } else {
        at += size;
      }
    }
    if (size == 1 && !removed) break;
    if (!removed) size = std::max<std::size_t>(1, size / 2);
  }
  // A cas placeholder whose segment boundary no longer matters is still
  // a sync point; that is harmless and keeps the report faithful.
  return best;
}

}  // namespace moxi::test::diff
