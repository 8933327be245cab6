// net::Loop: what one event loop lends the connections it runs — the
// libevent base their events live on, a read scratch buffer, the byte
// account their buffers are counted in, and the list of connections with output to write at the end
// of the loop turn.
//
// One turn (turn()) runs every ready callback, then writes what they
// produced: replies made for many requests in one turn leave in one write
// per connection (StreamConnection::flush), and EV_WRITE is only armed when
// a kernel buffer is full. This is the seam of the I/O engine: with
// Engine::Uring the loop's plain connections receive and send through
// io_uring (uring.h), their submissions of one turn in one system call at
// its end; nothing above it knows which engine runs.
//
// Thread contract: a Loop and everything registered on it belong to one
// thread (a worker's), which alone calls every method.
#pragma once

#include <event2/event.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "src/net/buffer_budget.h"
#include "src/net/uring.h"
#include "src/util/byte_chain.h"

namespace moxi::net {

class StreamConnection;

enum class Engine : uint8_t { Epoll, Uring };

class Loop {
 public:
  // `base` and `buffers` are the owner's and outlive the Loop. With
  // Engine::Uring and io_uring unusable here, the loop runs on epoll and
  // engine_error() says why.
  Loop(event_base* base, BufferAccount& buffers, Engine engine = Engine::Epoll);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  event_base* base() const { return base_; }
  Engine engine() const { return uring_ ? Engine::Uring : Engine::Epoll; }
  const std::string& engine_error() const { return engine_error_; }
  // The io_uring of the uring engine; null on epoll.
  Uring* uring() { return uring_.get(); }
  // A uring connection's receive to arm, or input to hand over, at the end
  // of this turn (StreamConnection).
  void add_arm(StreamConnection* conn) { to_arm_.push_back(conn); }
  void add_delivery(StreamConnection* conn) { to_deliver_.push_back(conn); }
  // `conn` is being destroyed while on one of those lists or the dirty
  // one: its entries are cleared (left null, so a walk in progress keeps
  // its place).
  void forget(StreamConnection* conn);
  BufferAccount& buffers() { return buffers_; }

  static constexpr size_t kReadSlabBlock = 64 * 1024;
  // The slab reads into an empty input land in (its block is
  // kReadSlabBlock): the bytes that came become the input as a view,
  // without a copy, and the slab is read into again once nothing views it
  // (StreamConnection::input_room, release_read_slab).
  ByteChain::ReadSlab& read_slab() { return read_slab_; }

  // `conn` has output: it is written at the end of this turn. (Called by
  // StreamConnection::mark_dirty, once per connection and turn.)
  void add_dirty(StreamConnection* conn) { dirty_.push_back(conn); }

  // Runs one loop turn: waits for events, runs their callbacks, then
  // writes every connection that has output.
  void turn();
  // Writes every connection that has output (also called at the end of a
  // turn). A connection closed during the turn must stay allocated until
  // this returned (the owner's graveyard).
  void flush_dirty();

 private:
  event_base* base_;
  BufferAccount& buffers_;
  std::vector<StreamConnection*> dirty_;
  std::vector<StreamConnection*> to_arm_, to_deliver_;
  ByteChain::ReadSlab read_slab_{kReadSlabBlock - ByteChain::kSlabOverhead};
  std::unique_ptr<Uring> uring_;
  std::string engine_error_;
};

}  // namespace moxi::net
