// Reply framing and normalisation: the raw bytes a side sent back become a
// list of reply units (one ascii line, a VALUE or meta VA line with its data
// block, or one binary packet), each with the few fields that legitimately
// differ between two servers rewritten to a canonical form:
//   - cas uniques become equality classes: the first distinct non-zero cas a
//     side shows is class 1, the next class 2, ... (0 stays 0, because "no
//     cas" against "some cas" is a real difference). Two sides agree when
//     they show the same pattern of equal and different cas values. Meta
//     replies' c flags (and an ME line's cas=) count in the same classes.
//   - meta replies: a TTL left that is counting down (t), the seconds since
//     the last access (l, and an ME line's la=, exp=) are timing, not content.
//   - the version string ("VERSION 1.6.18" / binary VERSION value) becomes
//     "<v>": moxi answers version itself.
// Everything else is compared byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "t/diff/stream.h"

namespace moxi::test::diff {

// The cas classes of one side of one stream; the transport also reads it to
// fill a command's cas placeholder with that side's value.
class CasBook {
 public:
  // 0 for 0; otherwise the class (1-based), adding a new one if unseen.
  uint64_t class_of(uint64_t cas);
  // The cas value of class K (0-based index as in Command::cas_class), or
  // kBogusCas if this side has fewer classes.
  uint64_t value_of(int cas_class) const;

 private:
  std::vector<uint64_t> values_;
};

// Cuts a side's reply bytes into normalised units as they arrive.
class ReplyFramer {
 public:
  explicit ReplyFramer(Protocol protocol) : protocol_(protocol) {}

  // Appends received bytes and moves every complete unit to units().
  void feed(std::string_view bytes);
  // End of input: whatever incomplete bytes remain become one last unit
  // marked as partial, so a truncated reply is compared too.
  void finish();

  const std::vector<std::string>& units() const { return units_; }
  CasBook& cas() { return cas_; }

 private:
  bool take_ascii();   // one unit from pending_, false if incomplete
  bool take_binary();
  static bool is_meta_code(std::string_view word);
  std::string meta_word(std::string_view code, std::string_view word);

  Protocol protocol_;
  std::string pending_;
  std::vector<std::string> units_;
  CasBook cas_;
  bool garbage_ = false;  // binary: lost framing; the rest is one raw unit
};

struct Outcome;

// The first difference between what memcached (`direct`) and moxi did with
// the same stream. Ending a stream closed (EOF or reset) is one outcome; a
// timeout is a hang.
struct Difference {
  std::string text;       // in words, both replies shown; empty if they agree
  std::string signature;  // the kind of difference (reply types on each side), to report each kind once
  bool empty() const { return text.empty(); }
};
Difference compare(Protocol protocol, const Outcome& direct, const Outcome& moxi);

// Binary units with their cas field set to 0, for a comparison that must
// ignore cas (see known.cc, K-ascii-cas).
void zero_binary_cas(std::vector<std::string>& units);

// The space-separated words of an ascii line (memcached's tokenizer).
std::vector<std::string_view> words_of(std::string_view line);

// A unit in readable form for reports (escaped; long values shortened).
std::string render_unit(Protocol protocol, std::string_view unit);

}  // namespace moxi::test::diff
