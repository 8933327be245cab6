#include "src/core/client_connection.h"

#include <sys/socket.h>

#include <algorithm>

#include "src/core/worker.h"
#include "src/protocol/binary_format.h"
#include "src/routing/bucket_access.h"
#include "src/util/log.h"

namespace moxi {

namespace {

bool answered_by_moxi(const protocol::Request& req) {
  if (req.op == protocol::Op::Invalid) return true;
  const protocol::Result& r = protocol::req_result(req, 0);
  return r.error_class == protocol::ErrorClass::ServerError && r.message.starts_with("proxy ");
}

}  // namespace

ClientConnection::ClientConnection(Worker& worker, int fd, size_t port_index, uint64_t id)
    : net::StreamConnection(worker.loop(), fd), worker_(worker), port_index_(port_index), id_(id) {
  set_reading(true);
}

ClientConnection::~ClientConnection() {
  // Exchanges still at a backend outlive us; they see client == nullptr and
  // are recycled by the worker when their replies arrive.
  for (Exchange* ex : inflight_) {
    ex->client = nullptr;
    if (ex->complete()) worker_.router().exchanges().put(ex);
  }
}

void ClientConnection::on_readable() {
  if (phase_ == Phase::HalfClosed) {
    // Waiting for the client to close after our FIN; nothing more is served.
    int n = read_some();
    if (n == -2) return;
    in_.clear();
    if (n <= 0) close();
    return;
  }
  int n = read_some();
  if (n == -2) return;
  if (n < 0) {
    on_io_error(errno);
    return;
  }
  if (n == 0) {
    // The client shut down its write side (or closed). Like memcached,
    // answer every complete request it sent, then close: a client that
    // half-closes after its last request (nc -q, shutdown(SHUT_WR)) still
    // reads all its replies. A reset while we write ends it anyway.
    input_ended_ = true;
    set_reading(false);
  }
  process_input();
  release_read_slab();  // the connection is retired, not destroyed, if process_input closed it
}

inline const std::shared_ptr<const Bucket>& ClientConnection::current_bucket() {
  return worker_.snapshot().generation == bucket_generation_ ? bucket_ : resolve_bucket();
}

void ClientConnection::process_input() {
  if (phase_ == Phase::Closed || phase_ == Phase::HalfClosed) return;
  const ProxySettings& settings = worker_.settings();
  if (!codec_) {
    unsigned char first;
    if (in_.copy_out(&first, 1) != 1) {
      if (input_ended_) close();  // closed without a byte
      return;
    }
    codec_ = first == 0x80 ? protocol::make_binary_client_codec(settings.limits)
                           : protocol::make_ascii_client_codec(settings.limits);
  }
  if (refusing_ && !refusing_get_line_ && !worker_.buffers().full()) refusing_ = false;
  // Refusing: every value is "too large", so the decoder swallows it as it
  // arrives instead of buffering it (refuse_for_buffers answers it).
  auto limit_values = [&] {
    const std::shared_ptr<const Bucket>& bucket = current_bucket();
    const uint32_t limit = refusing_ ? 0 : backend::item_size_for(settings, bucket && bucket->vbucket_routing());
    if (limit != value_limit_) codec_->set_max_value_length(limit);
    value_limit_ = limit;
  };
  limit_values();
  uint64_t decoded_at_us = 0;  // one clock read per batch: these requests arrived together
  for (;;) {
    in_process_ = true;
    // Replies are written after the loop (on_exchange_complete defers while
    // in_process_), so the room for replies is the same for every iteration.
    const size_t allowed = inflight_allowed();
    size_t unread = in_.size();
    bool input_exhausted = unread == 0;  // every complete request buffered is decoded
    while (phase_ == Phase::Serving && inflight_.size() < allowed && unread > 0 &&
           (refusing_ || !worker_.buffers().full())) {
      Exchange* ex = worker_.router().exchanges().get();
      protocol::DecodeStatus status = codec_->decode(in_, ex->request);
      if (status == protocol::DecodeStatus::Ready && refusing_) refuse_for_buffers(ex->request);
      if (ex->request.limit != protocol::Limit::None) count_limit(ex->request.limit);
      if (status == protocol::DecodeStatus::NeedMore) {
        worker_.router().exchanges().put(ex);
        input_exhausted = true;
        break;
      }
      if (status == protocol::DecodeStatus::Close) {
        worker_.router().exchanges().put(ex);
        phase_ = Phase::Closing;
        break;
      }
      unread = in_.size();
      // memcached stops reading at quit and at a request it closes after:
      // nothing pipelined behind it is executed.
      if (ex->request.op == protocol::Op::Quit || ex->request.close_after) phase_ = Phase::Closing;
      ex->client = this;
      ex->client_id = id_;
      if (decoded_at_us == 0) decoded_at_us = monotonic_us();
      ex->started_us = decoded_at_us;
      inflight_.push_back(ex);
      ++awaiting_;
      worker_.metrics().inc(Metric::requests_total);
      const bool sasl = ex->request.op == protocol::Op::Sasl;
      worker_.router().dispatch(ex, current_bucket(), why_no_bucket_);
      if (sasl) limit_values();  // the next request may be for another bucket
      // What this request is expected to bring counts before the next one
      // is decoded (the cheap way: account() below settles the batch).
      if (!ex->complete()) count_reserved(expected_reply_bytes());
      if (unread == 0) input_exhausted = true;
    }
    // The batch decoded (values moved on, swallowed bytes gone): settle the
    // account once. A backend connection counts the requests it was handed
    // when it flushes, at the end of the loop turn: never twice.
    account();
    // After end of input, a half-sent request can never complete: what is
    // left to do is answering what was decoded.
    if (phase_ == Phase::Serving && input_ended_ && input_exhausted) phase_ = Phase::Closing;
    in_process_ = false;
    const bool window_stopped = !input_exhausted && inflight_.size() >= allowed;
    // Nothing written: the window computed above still holds (it moves with
    // the output and the mean reply size, which only a write changes).
    const bool wrote = write_completed();
    update_reading(wrote ? kRecompute : allowed);
    // Requests answered at once (local answers, decode errors) were written
    // above and made room: decode what is still buffered now, as no socket
    // event will come for bytes already read.
    if (phase_ != Phase::Serving || !window_stopped || in_.size() == 0 || inflight_.size() >= inflight_allowed())
      break;
  }
}


const std::shared_ptr<const Bucket>& ClientConnection::resolve_bucket() {
  const Snapshot& snapshot = worker_.snapshot();
  bucket_generation_ = snapshot.generation;
  const PortBinding& port = snapshot.ports[port_index_];
  if (choice_ == BucketChoice::PortStart && port.has_map()) {
    // Bound by name from now on: a later map never moves this connection
    // to another bucket.
    if (port.bucket) {
      choice_ = BucketChoice::Named;
      bucket_name_ = port.bucket->name;
    } else {
      choice_ = BucketChoice::None;
    }
  }
  const std::shared_ptr<const Bucket>* found = nullptr;
  if (choice_ == BucketChoice::Named) found = port.find(bucket_name_);
  why_no_bucket_ = choice_ == BucketChoice::PortStart ? NoBucket::AwaitingMap : NoBucket::Unauthorized;
  if (found) {
    bucket_ = *found;
  } else {
    bucket_.reset();
  }
  return bucket_;
}

void ClientConnection::choose_bucket(std::string name) {
  choice_ = name.empty() ? BucketChoice::None : BucketChoice::Named;
  bucket_name_ = std::move(name);
  bucket_generation_ = kUnresolved;
}

void ClientConnection::answer_sasl(protocol::Request& req) {
  namespace binary = protocol::binary;
  protocol::Result& r = req.results[0];
  const uint8_t opcode = req.opcode;
  if (opcode == static_cast<uint8_t>(binary::Opcode::SaslListMechs)) {
    r.message = "PLAIN";
    return;
  }
  const PortBinding& port = worker_.snapshot().ports[port_index_];
  if (opcode == static_cast<uint8_t>(binary::Opcode::SaslAuth) && req.key_count() == 1 && req.key(0) == "PLAIN") {
    if (!port.has_map()) {
      // Nothing to authenticate against yet: try again, not "wrong password".
      r.status = protocol::Status::TemporaryFailure;
      return;
    }
    // PLAIN data is small; anything larger is not a credential.
    constexpr size_t kMaxPlainBytes = 1024;
    std::string data;
    const size_t length = req.value.size();
    if (length <= kMaxPlainBytes) {
      data.resize(length);
      req.value.copy_out(data.data(), length);
    }
    if (const auto credentials = parse_plain(data)) {
      if (const std::shared_ptr<const Bucket>* bucket = authenticate_plain(port, credentials->user, credentials->password)) {
        choose_bucket((*bucket)->name);
        worker_.metrics().inc(Metric::client_auth_total);
        r.message = "Authenticated";
        return;
      }
    }
  }
  // A wrong mechanism, bucket or password, or a SASL_STEP (PLAIN has no
  // steps): refused, and the connection is left on no bucket, so that
  // nothing it sends next reaches the bucket it was on.
  choose_bucket("");
  worker_.metrics().inc(Metric::client_auth_failures_total);
  r.status = protocol::Status::AuthError;
}

void ClientConnection::count_limit(protocol::Limit limit) {
  using protocol::Limit;
  switch (limit) {
    case Limit::None: return;
    case Limit::KeyLength: worker_.metrics().inc(Metric::limit_key_length_total); return;
    case Limit::ValueSize: worker_.metrics().inc(Metric::limit_value_size_total); return;
    case Limit::LineLength: worker_.metrics().inc(Metric::limit_line_length_total); return;
    case Limit::Memory: worker_.metrics().inc(Metric::buffer_refusals_total); return;
  }
}

void ClientConnection::refuse_for_buffers(protocol::Request& req) {
  using protocol::Op;
  if (protocol::answered_by_proxy(req)) return;  // costs no backend reply
  // A decode error is answered as it is; a value refused by the swallowing
  // limit (set above) is the storage command refused here.
  if (req.op == Op::Invalid && req.limit != protocol::Limit::ValueSize) return;
  const bool storage = req.op == Op::Set || req.op == Op::Add || req.op == Op::Replace || req.op == Op::Append ||
                       req.op == Op::Prepend || req.op == Op::Invalid;
  // memcached unlinks the old item of a plain set it cannot store, so no
  // stale value is read after the failed write: the key is kept for the
  // core's unlink (dispatch). The decoder kept it only for a set.
  const bool unlink = req.key_count() == 1 && ((req.op == Op::Set && req.cas == 0) || req.op == Op::Invalid);
  if (!unlink) {
    req.keys.clear();
    req.key_bytes.clear();
  }
  if (req.get_part) {
    // One get line in parts: its one error line went with the first part refused.
    if (refusing_get_line_) req.noreply = true;
    refusing_get_line_ = req.get_continues;
  }
  req.op = Op::Invalid;
  req.value.clear();
  req.error_class = protocol::ErrorClass::ServerError;
  req.error_text = storage ? "out of memory storing object" : "out of memory";
  req.error_status = protocol::Status::OutOfMemory;
  req.limit = protocol::Limit::Memory;
}

void ClientConnection::resume_after_buffer_wait(bool refuse) {
  waiting_for_buffers_ = false;
  if (refuse) refusing_ = true;
  process_input();
}

size_t ClientConnection::expected_reply_bytes() const {
  return mean_reply_bytes_ != 0 ? mean_reply_bytes_ : worker_.typical_reply_bytes();
}

size_t ClientConnection::reserved_bytes() const { return awaiting_ * expected_reply_bytes(); }

size_t ClientConnection::inflight_allowed() const {
  const ProxySettings& settings = worker_.settings();
  const size_t used = buffered_bytes();
  if (used >= settings.max_client_output) return 0;
  if (!refusing_ && worker_.buffers().full()) return 0;
  if (mean_reply_bytes_ == 0) return std::min<size_t>(kFirstWindow, settings.max_client_inflight);
  const size_t room = (settings.max_client_output - used) / mean_reply_bytes_;
  return std::clamp<size_t>(room, 1, settings.max_client_inflight);
}

void ClientConnection::on_exchange_complete(Exchange* ex) {
  --awaiting_;
  if (!inflight_.empty() && inflight_.front() != ex) {
    // Answered behind an earlier request: its values wait in moxi.
    for (const auto& r : ex->request.results) ex->held_bytes += r.value.size() + r.message.size();
    held_bytes_ += ex->held_bytes;
  }
  // A request failed synchronously inside dispatch: process_input writes it
  // when its loop ends, so don't re-enter it.
  if (in_process_) {
    account();
    return;
  }
  write_completed();
  // Decoding again is only needed when requests wait in the input (held back
  // by the window) or reading is paused (to resume it): a reply to the only
  // request in flight, the common case, needs neither.
  if (phase_ != Phase::Closed && (in_.size() > 0 || !reading() || input_ended_ || phase_ == Phase::Closing))
    process_input();
}

bool ClientConnection::write_completed() {
  bool wrote = false;
  while (!inflight_.empty() && inflight_.front()->complete()) {
    Exchange* ex = inflight_.front();
    inflight_.pop_front();
    held_bytes_ -= ex->held_bytes;
    if (phase_ != Phase::Closed) {
      const size_t before = output_size();
      codec_->encode(ex->request, out_);
      const size_t bytes = output_size() - before;
      // A moving mean over about 8 replies: it follows a change of value
      // sizes within a few replies and is not thrown by one odd reply.
      // moxi's own answers (decode errors, refusals, "proxy ..." errors such
      // as wait-queue timeouts) say nothing of what the backends send: a
      // crowd of them would make the next real replies look small.
      if (!answered_by_moxi(ex->request)) {
        mean_reply_bytes_ = mean_reply_bytes_ == 0 ? std::max<size_t>(bytes, 1)
                                                   : std::max<size_t>((mean_reply_bytes_ * 7 + bytes) / 8, 1);
        worker_.note_reply_bytes(bytes);
      }
      wrote = true;
    }
    worker_.router().exchanges().put(ex);
  }
  // The output written is counted when it is flushed, at the end of this
  // loop turn (mark_dirty): counting it here too would cost every reply.
  if (wrote) mark_dirty();
  if (phase_ == Phase::Closing && inflight_.empty() && output_size() == 0) close();
  finish_if_idle();
  return wrote;
}

void ClientConnection::update_reading(size_t allowed) {
  if (phase_ != Phase::Serving || input_ended_) {
    // Closing reads no further; a half-closed connection keeps reading
    // (what it reads is discarded), as finish_if_idle set it.
    if (phase_ != Phase::HalfClosed && phase_ != Phase::Closed) set_reading(false);
    return;
  }
  const ProxySettings& settings = worker_.settings();
  const bool inflight_full = inflight_.size() >= (allowed == kRecompute ? inflight_allowed() : allowed);
  const bool output_full = buffered_bytes() >= settings.max_client_output;
  const bool total_full = !refusing_ && worker_.buffers().full();
  // Each pause is counted once, by its reason; a pause for the window that
  // then runs into the budget counts as a budget pause too.
  if (output_full && !paused_for_output_) worker_.metrics().inc(Metric::limit_client_output_total);
  if (!output_full && !total_full && inflight_full && reading())
    worker_.metrics().inc(Metric::limit_client_inflight_total);
  paused_for_output_ = output_full;
  if (total_full && !waiting_for_buffers_) {
    waiting_for_buffers_ = true;
    buffer_wait_started_ms_ = worker_.now_ms();
    worker_.metrics().inc(Metric::limit_buffer_total);
    worker_.wait_for_buffers(this);
  }
  set_reading(!inflight_full && !total_full);
}

void ClientConnection::on_drained() {
  if (phase_ == Phase::Closed) return;
  if (phase_ == Phase::Closing && inflight_.empty()) {
    close();
    return;
  }
  // Output drained: decode what back-pressure held back, then resume reading.
  if (!reading() && phase_ != Phase::Closing) process_input();
  finish_if_idle();
}

void ClientConnection::drain() {
  draining_ = true;
  finish_if_idle();
}

void ClientConnection::finish_if_idle() {
  if (!draining_ || phase_ != Phase::Serving || in_finish_) return;
  in_finish_ = true;
  while (phase_ == Phase::Serving && inflight_.empty() && output_size() == 0) {
    // What the client sent before now is in the kernel's buffer: read it, so
    // that every request sent before the drain is answered.
    const int n = read_some();
    if (n == 0 || n == -1) {
      close();
      break;
    }
    if (n > 0) {
      process_input();
      release_read_slab();
      continue;
    }
    if (in_.size() > 0) break;  // a request is half-sent: wait for the rest
    // On io_uring, input may still be on its way: in the socket (its
    // receive hands it over, and once it is answered this runs again), or
    // taken by a receive whose completion runs now (look again).
    if (input_in_socket()) break;
    if (took_input_now()) continue;
    shutdown_output();
    phase_ = Phase::HalfClosed;
    set_reading(true);
    break;
  }
  in_finish_ = false;
}

void ClientConnection::on_io_error(int) { close(); }

void ClientConnection::begin_tls(std::shared_ptr<const tls::Context> context) {
  if (!context) {
    close();
    return;
  }
  tls_ = true;
  worker_.metrics().inc(Metric::tls_connections_current);
  start_tls(std::make_unique<tls::Session>(std::move(context), fd(), ""), worker_.settings().tls_handshake_timeout_ms);
}

void ClientConnection::on_tls_established() { worker_.metrics().inc(Metric::tls_handshakes_total); }

void ClientConnection::close() {
  if (phase_ == Phase::Closed) return;
  phase_ = Phase::Closed;
  if (const tls::Session* session = tls_session(); session && session->handshaking()) {
    // A client that never finished its handshake: counted by why, and
    // logged at debug level only (a port scanner must not fill the log).
    switch (session->failure()) {
      case tls::Failure::Plaintext: worker_.metrics().inc(Metric::tls_plaintext_total); break;
      case tls::Failure::Certificate: worker_.metrics().inc(Metric::tls_certificate_failures_total); break;
      case tls::Failure::Timeout: worker_.metrics().inc(Metric::tls_handshake_timeouts_total); break;
      default: worker_.metrics().inc(Metric::tls_handshake_failures_total); break;
    }
    if (log::enabled(log::Level::Debug))
      log::debug("client TLS handshake failed (" + std::string(tls::to_string(session->failure())) + "): " +
                 (session->error().empty() ? std::string("closed") : session->error()));
  }
  if (tls_) worker_.metrics().dec(Metric::tls_connections_current);
  // Counted before the socket goes: on io_uring the reply bytes of a send
  // in flight leave with it, and the memory trimmer must hear of them too.
  const size_t held = buffered_bytes();
  close_socket();
  worker_.retire(this, held);
}

}  // namespace moxi
