// ScriptServer: a tiny HTTP/1.1 server for the conflate tests. It listens on
// 127.0.0.1 (port from the OS) and answers each connection with the next
// scripted Response: status and headers, chunks with the boundaries the test
// chose, marks the test can wait for, gates the test opens, a close in the
// middle of a stream, or silence. Every connection runs on its own thread
// (so a silent one does not block the next); the destructor opens every
// gate, shuts every connection down and joins every thread.
//
//   ScriptServer server;
//   server.add(Response::stream().config(doc1).gate("more").config(doc2).hold());
//   ... source connects to server.url("/pools/default/bucketsStreaming/default")
//   collector.wait_updates(1);      // doc1 arrived while the stream is open
//   server.open("more");            // now doc2 is sent
//
// A connection that finds no script left gets "503 no script" and is closed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "t/support/deadline.h"

namespace moxi::conflate::test {

class Response {
 public:
  struct Step {
    enum class Kind { send, gate, mark, pause, hold, close };
    Kind kind;
    std::string text;                     // send: bytes; gate, mark: name
    std::chrono::milliseconds pause{0};  // pause: the server's own pacing (heartbeats), never the test's
  };

  // "HTTP/1.1 STATUS ..." with Transfer-Encoding: chunked, as ns_server streams.
  static Response stream(int status = 200);
  // A complete response with Content-Length, then the connection closes.
  static Response plain(int status, std::string body, const std::vector<std::string>& headers = {});
  // Bytes exactly as given (e.g. an HTTP/1.0 response without chunking).
  static Response raw(std::string bytes);

  Response& chunk(std::string_view data);   // one HTTP chunk, written in one send()
  Response& config(std::string_view json);  // chunk(json), then chunk("\n\n\n\n"): ns_server's two writes
  Response& heartbeat();                    // chunk("\n\n\n\n")
  Response& send(std::string bytes);        // raw bytes
  Response& gate(std::string name);         // waits until the test calls open(name)
  Response& mark(std::string name);         // the test's wait_mark(name) returns once reached
  Response& pause(std::chrono::milliseconds how_long);
  Response& end();                          // the last chunk "0\r\n\r\n", then close
  Response& close();                        // close now, even in the middle of a chunked body
  Response& hold();                         // stay open and silent until the client leaves or the server stops

  const std::vector<Step>& steps() const { return steps_; }

 private:
  std::vector<Step> steps_;
};

class ScriptServer {
 public:
  ScriptServer();   // throws std::runtime_error if it cannot listen
  ~ScriptServer();
  ScriptServer(const ScriptServer&) = delete;
  ScriptServer& operator=(const ScriptServer&) = delete;

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT" + path
  std::string url(std::string_view path) const;

  // Queues a response for the next connection.
  void add(Response response);
  void open(const std::string& gate);
  bool wait_mark(const std::string& mark, moxi::test::Deadline deadline = std::chrono::seconds(5));
  bool wait_connections(std::size_t n, moxi::test::Deadline deadline = std::chrono::seconds(5));
  // Waits until every connection so far has ended (its thread is done).
  bool wait_idle(moxi::test::Deadline deadline = std::chrono::seconds(5));

  std::size_t connections() const;
  // The request heads received ("GET /path HTTP/1.1\r\nHost: ...\r\n..."), in order.
  std::vector<std::string> requests() const;

 private:
  void accept_loop();
  void serve(int fd, std::size_t number);
  bool read_head(int fd, std::string& head);
  bool wait_gate(const std::string& name);
  void hold(int fd);
  bool stopping() const;

  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd, readable once the server stops
  std::uint16_t port_ = 0;
  std::thread acceptor_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::deque<Response> script_;
  std::set<std::string> open_gates_;
  std::set<std::string> marks_;
  std::vector<std::string> requests_;
  std::size_t connections_ = 0;
  std::size_t finished_ = 0;
  std::set<int> fds_;
  std::vector<std::thread> handlers_;
};

// A loopback port that refuses connections: a socket bound to 127.0.0.1:0
// and never listening. Holding it keeps the port from being reused.
class RefusingPort {
 public:
  RefusingPort();
  ~RefusingPort();
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  std::uint16_t port() const { return port_; }
  std::string url(std::string_view path) const;

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A loopback port where connect() stays pending: a listener with a backlog
// of zero whose queue is already full (filled by the constructor, never
// accepted), so the kernel drops further SYNs.
class BlackholePort {
 public:
  BlackholePort();
  ~BlackholePort();
  BlackholePort(const BlackholePort&) = delete;
  BlackholePort& operator=(const BlackholePort&) = delete;
  std::uint16_t port() const { return port_; }
  std::string url(std::string_view path) const;

 private:
  int fd_ = -1;
  std::vector<int> fillers_;
  std::uint16_t port_ = 0;
};

}  // namespace moxi::conflate::test
