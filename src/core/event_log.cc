#include "src/core/event_log.h"

#include <event2/event.h>

#include <cctype>
#include <string>

#include "src/util/log.h"

namespace moxi {

namespace {

void on_libevent_log(int severity, const char* msg) {
  log::Level level = log::Level::Debug;
  switch (severity) {
    case EVENT_LOG_ERR: level = log::Level::Error; break;
    case EVENT_LOG_WARN: level = log::Level::Warning; break;
    case EVENT_LOG_MSG: level = log::Level::Info; break;
    default: level = log::Level::Debug; break;
  }
  if (!log::enabled(level)) return;
  const std::string text = std::string("libevent: ") + (msg ? msg : "");
  // Messages that differ only in a descriptor number ("accept(12)") are one
  // event for the rate limit.
  std::string key;
  for (char c : text)
    if (!std::isdigit(static_cast<unsigned char>(c))) key += c;
  log::write_keyed(level, key, text);
}

}  // namespace

void route_libevent_log() { event_set_log_callback(&on_libevent_log); }

}  // namespace moxi
