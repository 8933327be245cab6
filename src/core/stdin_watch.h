// -Y y: exit when standard input ends, as the original moxi did. A
// supervisor (Couchbase Server's babysitter) starts moxi with a pipe on
// stdin and closes it, or writes a newline, to stop it, so that moxi never
// outlives the process that manages it.
//
// StdinWatch reads standard input on the main thread's event loop and calls
// `on_end` once, from the loop, with what ended it: "EOF on stdin" (end of
// file), "EOL on stdin" (a newline), or "EOF on stdin (read failed: REASON)"
// (a read error, e.g. the terminal hung up). Other bytes are read and
// dropped. What stdin is decides how:
//   a pipe, a socket or a terminal  watched by the loop; at a terminal,
//                                   Enter or Ctrl-D ends it
//   a regular file                  read at start up to a newline or its end:
//                                   it ends at once
//   not open                        ends at once (end of file)
//   another device                  read at start when it has data: /dev/null
//                                   ends at once; one that gives data without
//                                   a newline (/dev/zero) cannot be watched,
//                                   and start() fails
// on_end never runs inside start(): an end found there is delivered by the
// loop, like a signal.
//
// No O_NONBLOCK is set (stdin's file description is shared with the parent,
// for example a shell's terminal): a read is made only when the loop says
// the descriptor is readable, for at most the bytes FIONREAD reports, so it
// does not wait.
//
// Thread: the loop's thread only.
#pragma once

#include <event2/event.h>
#include <unistd.h>

#include <functional>
#include <optional>
#include <string>

namespace moxi {

class StdinWatch {
 public:
  using OnEnd = std::function<void(const std::string& what)>;

  StdinWatch(event_base* base, OnEnd on_end, int fd = STDIN_FILENO);
  ~StdinWatch();
  StdinWatch(const StdinWatch&) = delete;
  StdinWatch& operator=(const StdinWatch&) = delete;

  // Starts watching. False, with `error` saying why, when the descriptor
  // cannot be watched.
  bool start(std::string& error);

 private:
  static void on_readable(evutil_socket_t, short, void* arg);
  static void on_ended(evutil_socket_t, short, void* arg);
  // One read of at most `most` bytes; the end's text when it ended.
  std::optional<std::string> consume(size_t most);
  // Stops reading; on_end(what) runs from the loop.
  void finish(std::string what);

  int fd_;
  OnEnd on_end_;
  event* read_event_;
  event* end_event_;
  std::string what_;
};

}  // namespace moxi
