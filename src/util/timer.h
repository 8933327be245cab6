// Arming a libevent timer in milliseconds: the one conversion to timeval.
//
// Thread: the caller's, which must own the timer's event_base.
#pragma once

#include <event2/event.h>
#include <sys/time.h>

#include <cstdint>

namespace moxi {

inline void arm_timer_ms(event* timer, uint64_t delay_ms) {
  const timeval tv{static_cast<time_t>(delay_ms / 1000), static_cast<suseconds_t>((delay_ms % 1000) * 1000)};
  evtimer_add(timer, &tv);
}

}  // namespace moxi
