#include "src/util/log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>

namespace moxi::log {

namespace {

// Written by configure() before other threads start; read by any thread.
std::atomic<int> g_max_level{static_cast<int>(Level::Warning)};
std::atomic<int> g_fd{STDERR_FILENO};
std::atomic<int64_t> g_interval_ms{10000};
std::string g_path;  // main thread only

// The rate limiter: a message key hashes to one slot. A slot remembers the
// last key that used it, when its current interval ends and how many lines
// were dropped in it. Two keys that share a slot take it over from each
// other (each then logs freely): a lost count, never a lost first message.
// Races between threads only blur the count, so relaxed atomics do.
struct Slot {
  std::atomic<uint64_t> key{0};
  std::atomic<int64_t> until_ms{0};
  std::atomic<uint64_t> suppressed{0};
};
std::array<Slot, 512> g_slots;

int64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// True when the line may be written; `dropped` gets the count to mention.
bool admit(std::string_view key, uint64_t& dropped) {
  dropped = 0;
  const int64_t interval = g_interval_ms.load(std::memory_order_relaxed);
  if (interval <= 0) return true;
  const uint64_t hash = std::hash<std::string_view>{}(key) | 1;  // 0 marks a free slot
  Slot& slot = g_slots[hash % g_slots.size()];
  const int64_t now = monotonic_ms();
  if (slot.key.load(std::memory_order_relaxed) != hash) {
    slot.key.store(hash, std::memory_order_relaxed);
    slot.until_ms.store(now + interval, std::memory_order_relaxed);
    slot.suppressed.store(0, std::memory_order_relaxed);
    return true;
  }
  int64_t until = slot.until_ms.load(std::memory_order_relaxed);
  if (now < until || !slot.until_ms.compare_exchange_strong(until, now + interval, std::memory_order_relaxed)) {
    slot.suppressed.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  dropped = slot.suppressed.exchange(0, std::memory_order_relaxed);
  return true;
}

void write_all(int fd, const std::string& line) {
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to report a failing log
    done += static_cast<size_t>(n);
  }
}

int open_log(const std::string& path, std::string& error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) error = "cannot open log file " + path + ": " + std::strerror(errno);
  return fd;
}

}  // namespace

std::string_view to_string(Level level) noexcept {
  switch (level) {
    case Level::Error: return "ERROR";
    case Level::Warning: return "WARN";
    case Level::Info: return "INFO";
    case Level::Debug: return "DEBUG";
    case Level::Trace: return "TRACE";
  }
  return "?";
}

bool configure(int verbosity, const std::string& path, std::chrono::milliseconds interval, std::string& error) {
  const int v = verbosity < 0 ? 0 : verbosity > 3 ? 3 : verbosity;
  g_max_level.store(static_cast<int>(Level::Warning) + v, std::memory_order_relaxed);
  g_interval_ms.store(interval.count(), std::memory_order_relaxed);
  for (Slot& s : g_slots) s.key.store(0, std::memory_order_relaxed);
  if (path.empty() || path == "stderr") {
    const int old = g_fd.exchange(STDERR_FILENO);
    if (old != STDERR_FILENO) ::close(old);
    g_path.clear();
    return true;
  }
  const int fd = open_log(path, error);
  if (fd < 0) return false;
  const int old = g_fd.exchange(fd);
  if (old != STDERR_FILENO) ::close(old);
  g_path = path;
  return true;
}

bool reopen(std::string& error) {
  if (g_path.empty()) return true;
  const int fd = open_log(g_path, error);
  if (fd < 0) return false;
  // dup2 replaces the file behind the descriptor number in one step: a
  // concurrent write() goes wholly to the old file or wholly to the new one.
  const int target = g_fd.load();
  if (::dup2(fd, target) < 0) {
    error = "cannot reopen log file " + g_path + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  ::close(fd);
  return true;
}

const std::string& path() { return g_path; }

bool enabled(Level level) noexcept { return static_cast<int>(level) <= g_max_level.load(std::memory_order_relaxed); }

std::string timestamp(std::chrono::system_clock::time_point when) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
  const time_t secs = static_cast<time_t>(ms / 1000);
  tm parts{};
  gmtime_r(&secs, &parts);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1,
                parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

void write_keyed(Level level, std::string_view key, std::string_view message) {
  if (!enabled(level)) return;
  uint64_t dropped = 0;
  if (!admit(key, dropped)) return;
  std::string line = timestamp(std::chrono::system_clock::now());
  line += ' ';
  std::string_view name = to_string(level);
  line += name;
  line.append(6 - name.size(), ' ');
  const size_t start = line.size();
  line += message;
  for (size_t i = start; i < line.size(); ++i)
    if (static_cast<unsigned char>(line[i]) < 0x20 || line[i] == 0x7f) line[i] = ' ';
  if (dropped > 0)
    line += " (suppressed " + std::to_string(dropped) + " similar message" + (dropped == 1 ? ")" : "s)");
  line += '\n';
  write_all(g_fd.load(std::memory_order_relaxed), line);
}

void write(Level level, std::string_view message) { write_keyed(level, message, message); }

}  // namespace moxi::log
