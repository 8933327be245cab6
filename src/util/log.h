// The log: one line per event, "TIMESTAMP LEVEL message", e.g.
//
//   2026-11-22T16:11:22.123Z WARN  backend 127.0.0.1:11211: connect failed: Connection refused
//
// Timestamps are UTC with milliseconds. Levels: errors and warnings are
// always written; -v adds info, -vv debug, -vvv trace.
//
// Rate limit: a message (keyed by its text, or by an explicit key for
// messages that differ only in a number) is written at most once per
// interval (-Z log_interval, default 10 s); the next one written after the
// interval says how many were dropped: "... (suppressed 41 similar messages)".
//
// Threads: write() may be called from any thread. Each line is one write(2)
// on a descriptor opened with O_APPEND, so lines never interleave; the rate
// limiter is a fixed table of atomics (no lock). Logging is for errors and
// events, never for every request. configure() and reopen() belong to the
// main thread; reopen() swaps the file under the same descriptor number
// (dup2), so a worker writing at that moment writes whole lines to one file
// or the other.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace moxi::log {

enum class Level : uint8_t { Error, Warning, Info, Debug, Trace };

std::string_view to_string(Level level) noexcept;  // "ERROR", "WARN", "INFO", "DEBUG", "TRACE"

// Main thread, before other threads log. `path` "" or "stderr": standard
// error; otherwise the file is opened for appending (created 0644). On
// failure returns false with `error` naming the file and the reason, and
// logging stays on standard error.
bool configure(int verbosity, const std::string& path, std::chrono::milliseconds interval, std::string& error);

// Main thread: opens the file again under the same name (after logrotate
// renamed it). A no-op for standard error. On failure the old file stays in
// use and `error` says why.
bool reopen(std::string& error);

// The file being written, "" for standard error.
const std::string& path();

bool enabled(Level level) noexcept;

// Writes one line when `level` is enabled and the rate limit allows it.
// Control characters in `message` become spaces (one event, one line).
void write(Level level, std::string_view message);
// The same, rate-limited by `key` instead of by the text.
void write_keyed(Level level, std::string_view key, std::string_view message);

inline void error(std::string_view m) { write(Level::Error, m); }
inline void warning(std::string_view m) { write(Level::Warning, m); }
inline void info(std::string_view m) { write(Level::Info, m); }
inline void debug(std::string_view m) { write(Level::Debug, m); }
inline void trace(std::string_view m) { write(Level::Trace, m); }

// "2026-11-22T16:11:22.123Z" for a time since the epoch (for tests).
std::string timestamp(std::chrono::system_clock::time_point when);

}  // namespace moxi::log
