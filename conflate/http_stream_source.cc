#include "conflate/http_stream_source.h"

#include <algorithm>
#include <random>
#include <stdexcept>
#include <utility>

#include "conflate/url.h"

namespace moxi::conflate {
namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t seed_from(std::uint64_t seed) {
  if (seed != 0) return seed;
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

std::string ms_text(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

}  // namespace

HttpStreamSource::HttpStreamSource(HttpStreamOptions options, UpdateCallback on_update, StatusCallback on_status)
    : options_(std::move(options)),
      on_update_(std::move(on_update)),
      on_status_(std::move(on_status)),
      backoff_(options_.backoff_min, options_.backoff_max, seed_from(options_.random_seed)),
      splitter_(options_.max_document_bytes),
      filter_(options_.network) {
  if (options_.urls.empty()) throw std::invalid_argument("HttpStreamSource: no URL");
}

HttpStreamSource::~HttpStreamSource() { stop(); }

void HttpStreamSource::start() {
  if (thread_.joinable()) return;
  stopping_.store(false, std::memory_order_release);
  thread_ = std::thread([this] { run(); });
}

void HttpStreamSource::stop() {
  stopping_.store(true, std::memory_order_release);
  transfer_.wakeup();
  // Called from a callback (against the contract): the thread ends by itself
  // and the owner's later stop() or destructor joins it.
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

HttpSourceStats HttpStreamSource::stats() const {
  HttpSourceStats s;
  s.documents_received = counters_.documents_received.load();
  s.documents_delivered = counters_.documents_delivered.load();
  s.documents_invalid = counters_.documents_invalid.load();
  s.documents_duplicate = counters_.documents_duplicate.load();
  s.reconnects = counters_.reconnects.load();
  s.auth_failures = counters_.auth_failures.load();
  s.http_errors = counters_.http_errors.load();
  s.stalls = counters_.stalls.load();
  s.bytes_received = counters_.bytes_received.load();
  s.cache_deliveries = counters_.cache_deliveries.load();
  return s;
}

std::string HttpStreamSource::shown(std::size_t index) const { return mask_url(options_.urls[index]); }

void HttpStreamSource::report(SourceStatus::Kind kind, const std::string& source, const std::string& message,
                              long status) {
  if (!on_status_) return;
  const std::string_view secret = options_.auth ? std::string_view(options_.auth->password) : std::string_view();
  SourceStatus s{kind, mask_secret(source, secret), mask_secret(message, secret), status};
  try {
    on_status_(s);
  } catch (...) {
    // A callback must not throw; the source keeps running if one does.
  }
}

void HttpStreamSource::report_failure(std::size_t index, SourceStatus::Kind kind, const std::string& message,
                                      long status) {
  url_failed_[index] = true;
  url_up_[index] = false;
  if (url_last_failure_[index] == message) return;
  url_last_failure_[index] = message;
  report(kind, shown(index), message, status);
}

void HttpStreamSource::report_connected(std::size_t index, long status) {
  if (url_up_[index]) return;
  url_up_[index] = true;
  url_last_failure_[index].clear();
  report(SourceStatus::Kind::connected, shown(index),
         "connected to " + shown(index) + " (HTTP " + std::to_string(status) + ")", status);
}

void HttpStreamSource::deliver(ConfigUpdate update) {
  const std::string document = update.document;
  const bool from_cache = update.from_cache;
  try {
    if (on_update_) on_update_(std::move(update));
  } catch (...) {
    // See report().
  }
  if (from_cache || !cache_) return;
  std::string error;
  if (!cache_->save(document, error) && filter_.first_report(error))
    report(SourceStatus::Kind::cache_error, cache_->path(), error);
}

bool HttpStreamSource::process(std::size_t index, std::vector<Piece>& pieces) {
  bool good = false;
  for (Piece& piece : pieces) {
    counters_.documents_received.fetch_add(1);
    if (piece.kind == Piece::Kind::oversized) {
      counters_.documents_invalid.fetch_add(1);
      const std::string message = "config from " + shown(index) + " is larger than " +
                                  std::to_string(options_.max_document_bytes) + " bytes; skipped";
      if (filter_.first_report(message)) report(SourceStatus::Kind::invalid_document, shown(index), message);
      continue;
    }
    const std::string peer = url_host(options_.urls[index]);
    auto verdict = filter_.check(piece.text, peer);
    switch (verdict.kind) {
      case DocumentFilter::Verdict::Kind::duplicate:
        counters_.documents_duplicate.fetch_add(1);
        good = true;
        break;
      case DocumentFilter::Verdict::Kind::invalid: {
        counters_.documents_invalid.fetch_add(1);
        std::string message = "invalid config from " + shown(index) + ": " + verdict.error;
        if (const std::string hint = bucket_endpoint_hint(options_.urls[index]); !hint.empty())
          message += " (" + hint + ")";
        if (filter_.first_report(message)) report(SourceStatus::Kind::invalid_document, shown(index), message);
        break;
      }
      case DocumentFilter::Verdict::Kind::deliver:
        counters_.documents_delivered.fetch_add(1);
        good = true;
        network_delivered_ = true;
        cached_document_.reset();
        deliver(ConfigUpdate{std::move(piece.text), std::move(verdict.buckets), shown(index), false, verdict.bucket_list});
        break;
    }
  }
  pieces.clear();
  return good;
}

Clock::time_point HttpStreamSource::next_timer() const {
  if (cached_document_) return cache_deadline_;
  return Clock::now() + std::chrono::hours(1);
}

void HttpStreamSource::maybe_use_cache() {
  if (!cached_document_) return;
  if (network_delivered_) {
    cached_document_.reset();
    return;
  }
  const bool every_url_failed = std::all_of(url_failed_.begin(), url_failed_.end(), [](bool f) { return f; });
  if (!every_url_failed && Clock::now() < cache_deadline_) return;

  std::string document = std::move(*cached_document_);
  cached_document_.reset();
  auto verdict = filter_.check(document, url_host(options_.urls.front()));
  if (verdict.kind != DocumentFilter::Verdict::Kind::deliver) {
    const std::string message = "cached config " + cache_->path() + " is invalid, not used: " + verdict.error;
    if (filter_.first_report(message)) report(SourceStatus::Kind::cache_error, cache_->path(), message);
    return;
  }
  counters_.cache_deliveries.fetch_add(1);
  std::string urls;
  for (std::size_t i = 0; i < options_.urls.size(); ++i) urls += (i ? ", " : "") + shown(i);
  report(SourceStatus::Kind::using_cache, cache_->path(),
         "no config from " + urls + " yet; using the cached config " + cache_->path());
  deliver(ConfigUpdate{std::move(document), std::move(verdict.buckets), cache_->path(), true, verdict.bucket_list});
}

void HttpStreamSource::wait(std::chrono::milliseconds delay) {
  const auto end = Clock::now() + delay;
  while (!stopping() && Clock::now() < end) {
    transfer_.step(std::min(end, next_timer()));
    maybe_use_cache();
  }
}

void HttpStreamSource::finish_attempt(std::size_t index, const TransferResult& result, bool streaming) {
  const std::string url = shown(index);
  using Kind = TransferResult::Kind;
  switch (result.kind) {
    case Kind::complete:
      if (streaming) report_failure(index, SourceStatus::Kind::disconnected, "stream from " + url + " ended", 0);
      break;
    case Kind::http_error:
      if (result.http_status == 401 || result.http_status == 403) {
        counters_.auth_failures.fetch_add(1);
        report_failure(index, SourceStatus::Kind::auth_failure,
                       "authentication failed for " + url + " (HTTP " + std::to_string(result.http_status) +
                           "): check -z auth=USER%PASSWORD or -Z usr/pwd",
                       result.http_status);
      } else {
        counters_.http_errors.fetch_add(1);
        std::string message = "HTTP " + std::to_string(result.http_status) + " from " + url;
        if (!result.detail.empty()) message += ": " + result.detail;
        report_failure(index, SourceStatus::Kind::http_error, message, result.http_status);
      }
      break;
    case Kind::network_error:
      report_failure(index, SourceStatus::Kind::disconnected,
                     (transfer_.connected() ? "stream from " + url + " broke: " : "cannot connect to " + url + ": ") +
                         result.detail,
                     0);
      break;
    case Kind::stalled:
      counters_.stalls.fetch_add(1);
      report_failure(index, SourceStatus::Kind::disconnected,
                     (transfer_.connected() ? "stream from " + url + " stalled: nothing received for "
                                            : "no answer from " + url + " within ") +
                         ms_text(options_.stall_timeout),
                     0);
      break;
  }
}

HttpStreamSource::Outcome HttpStreamSource::attempt(std::size_t index) {
  Outcome outcome;
  const std::string& url = options_.urls[index];
  const bool streaming = is_streaming_url(url);
  HttpRequest request;
  request.url = streaming ? with_heartbeat(url, options_.heartbeat) : url;
  request.auth = options_.auth;
  request.connect_timeout = options_.connect_timeout;
  request.stall_timeout = options_.stall_timeout;

  if (attempted_) counters_.reconnects.fetch_add(1);
  attempted_ = true;
  splitter_.reset();
  pending_.clear();
  try {
    transfer_.begin(request, [this](std::string_view bytes) { splitter_.feed(bytes, pending_); });
  } catch (const std::exception& e) {
    report_failure(index, SourceStatus::Kind::disconnected, "cannot connect to " + shown(index) + ": " + e.what(), 0);
    return outcome;
  }

  std::uint64_t bytes_seen = 0;
  for (;;) {
    auto result = transfer_.step(next_timer());
    if (transfer_.connected()) report_connected(index, transfer_.http_status());
    if (result && result->kind == TransferResult::Kind::complete) splitter_.finish(pending_);
    if (process(index, pending_)) outcome.good = true;
    // Published after the documents they carried were handled.
    const std::uint64_t bytes = transfer_.body_bytes();
    counters_.bytes_received.fetch_add(bytes - std::min(bytes, bytes_seen));
    bytes_seen = std::max(bytes, bytes_seen);
    if (result) {
      finish_attempt(index, *result, streaming);
      outcome.poll_done = !streaming && result->kind == TransferResult::Kind::complete && outcome.good;
      if (!outcome.good) url_failed_[index] = true;
      return outcome;
    }
    maybe_use_cache();
    if (stopping()) {
      transfer_.cancel();
      return outcome;
    }
  }
}

void HttpStreamSource::run() {
  const std::size_t n = options_.urls.size();
  url_failed_.assign(n, false);
  url_up_.assign(n, false);
  url_last_failure_.assign(n, std::string());
  network_delivered_ = false;
  cached_document_.reset();
  cache_.reset();
  if (!options_.cache_path.empty()) {
    cache_.emplace(options_.cache_path);
    std::string error;
    cached_document_ = cache_->load(options_.max_document_bytes, error);
    if (!error.empty()) report(SourceStatus::Kind::cache_error, cache_->path(), error);
    cache_deadline_ = Clock::now() + options_.cache_grace;
  }

  std::size_t index = 0;
  while (!stopping()) {
    const Outcome outcome = attempt(index);
    if (stopping()) break;
    if (outcome.good) backoff_.reset();
    std::chrono::milliseconds delay;
    if (outcome.poll_done) {
      delay = options_.poll_interval;
    } else {
      index = (index + 1) % n;
      delay = backoff_.next();
    }
    maybe_use_cache();
    wait(delay);
  }
  transfer_.cancel();
}

}  // namespace moxi::conflate
