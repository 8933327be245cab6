// Shrinking a diverging stream to one that shows the divergence with as few
// commands as possible, for the report: simple delta debugging (drop halves,
// quarters, ... down to single commands, keeping every removal after which
// the stream still diverges), plus "send in one write" and "no quit" when
// those keep it diverging too.
#pragma once

#include <functional>

#include "t/diff/stream.h"

namespace moxi::test::diff {

// `diverges` runs a candidate; it is called at most `max_runs` times.
Stream shrink(const Stream& stream, const std::function<bool(const Stream&)>& diverges, int max_runs = 200);

}  // namespace moxi::test::diff
