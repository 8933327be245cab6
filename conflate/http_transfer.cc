#include "conflate/http_transfer.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace moxi::conflate {
namespace {

constexpr std::size_t kErrorBodyBytes = 256;
constexpr long kKeepIdleSeconds = 30;
constexpr long kKeepIntervalSeconds = 10;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

CURLM* as_multi(void* p) { return static_cast<CURLM*>(p); }
CURL* as_easy(void* p) { return static_cast<CURL*>(p); }

bool is_2xx(long status) { return status >= 200 && status < 300; }

// libcurl's messages carry timings ("Failed to connect to h port 1 after 0 ms:
// Couldn't connect to server"). Drop them, so that the same failure gives the
// same text each time and is reported once.
std::string without_timings(std::string text) {
  for (std::size_t at = text.find(" after "); at != std::string::npos; at = text.find(" after ", at + 1)) {
    std::size_t end = at + 7;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    if (end == at + 7) continue;
    for (std::string_view unit : {" milliseconds", " ms"}) {
      if (text.compare(end, unit.size(), unit) == 0) {
        text.erase(at, end + unit.size() - at);
        break;
      }
    }
  }
  return text;
}

}  // namespace

HttpTransfer::HttpTransfer() {
  global_init();
  multi_ = curl_multi_init();
  if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
}

HttpTransfer::~HttpTransfer() {
  release_easy();
  curl_multi_cleanup(as_multi(multi_));
}

void HttpTransfer::release_easy() {
  if (easy_ == nullptr) return;
  curl_multi_remove_handle(as_multi(multi_), as_easy(easy_));
  curl_easy_cleanup(as_easy(easy_));
  easy_ = nullptr;
}

void HttpTransfer::cancel() { release_easy(); }

void HttpTransfer::wakeup() { curl_multi_wakeup(as_multi(multi_)); }

void HttpTransfer::begin(const HttpRequest& request, BodySink sink) {
  release_easy();
  sink_ = std::move(sink);
  stall_timeout_ = request.stall_timeout;
  last_activity_ = Clock::now();
  headers_done_ = false;
  connected_ = false;
  status_ = 0;
  body_bytes_ = 0;
  error_body_.clear();
  error_buffer_[0] = '\0';

  CURL* easy = curl_easy_init();
  if (easy == nullptr) throw std::runtime_error("curl_easy_init failed");
  easy_ = easy;
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "moxi");
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::max<long long>(1, request.connect_timeout.count())));
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, kKeepIdleSeconds);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, kKeepIntervalSeconds);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer_);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &HttpTransfer::on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &HttpTransfer::on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
  if (request.auth) {
    user_ = request.auth->user;
    password_ = request.auth->password;
    curl_easy_setopt(easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(easy, CURLOPT_USERNAME, user_.c_str());
    curl_easy_setopt(easy, CURLOPT_PASSWORD, password_.c_str());
  }
  if (curl_multi_add_handle(as_multi(multi_), easy) != CURLM_OK) {
    curl_easy_cleanup(easy);
    easy_ = nullptr;
    throw std::runtime_error("curl_multi_add_handle failed");
  }
}

std::size_t HttpTransfer::on_header(char* data, std::size_t size, std::size_t count, void* self_ptr) {
  auto* self = static_cast<HttpTransfer*>(self_ptr);
  const std::size_t n = size * count;
  self->last_activity_ = Clock::now();
  const std::string_view line(data, n);
  if (line == "\r\n" || line == "\n") {
    // End of a header block; 1xx blocks are followed by the real one.
    long status = 0;
    curl_easy_getinfo(as_easy(self->easy_), CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200) {
      self->status_ = status;
      self->headers_done_ = true;
      self->connected_ = is_2xx(status);
    }
  }
  return n;
}

std::size_t HttpTransfer::on_body(char* data, std::size_t size, std::size_t count, void* self_ptr) {
  auto* self = static_cast<HttpTransfer*>(self_ptr);
  const std::size_t n = size * count;
  self->last_activity_ = Clock::now();
  if (!self->headers_done_) {
    // A response without a header block (HTTP/0.9 style) never reaches here:
    // libcurl refuses it. Be safe anyway.
    curl_easy_getinfo(as_easy(self->easy_), CURLINFO_RESPONSE_CODE, &self->status_);
    self->headers_done_ = true;
    self->connected_ = is_2xx(self->status_);
  }
  if (!self->connected_) {
    // Keep the start of an error body for the message, then stop reading.
    const std::size_t room = kErrorBodyBytes - std::min(kErrorBodyBytes, self->error_body_.size());
    self->error_body_.append(data, std::min(room, n));
    return self->error_body_.size() >= kErrorBodyBytes ? 0 : n;
  }
  self->body_bytes_ += n;
  if (self->sink_) self->sink_(std::string_view(data, n));
  return n;
}

std::optional<TransferResult> HttpTransfer::collect() {
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(as_multi(multi_), &queued)) {
    if (msg->msg != CURLMSG_DONE || msg->easy_handle != easy_) continue;
    const CURLcode rc = msg->data.result;
    TransferResult result;
    long status = status_;
    if (status == 0) curl_easy_getinfo(as_easy(easy_), CURLINFO_RESPONSE_CODE, &status);
    result.http_status = status;
    if (status != 0 && !is_2xx(status) && status >= 200) {
      result.kind = TransferResult::Kind::http_error;
      // One line for a log: control characters become spaces, ends trimmed.
      std::string body = error_body_;
      for (char& c : body)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
      const std::size_t begin = body.find_first_not_of(' ');
      if (begin != std::string::npos) result.detail = body.substr(begin, body.find_last_not_of(' ') - begin + 1);
    } else if (rc == CURLE_OK) {
      result.kind = TransferResult::Kind::complete;
    } else {
      result.kind = TransferResult::Kind::network_error;
      result.detail = without_timings(error_buffer_[0] != '\0' ? std::string(error_buffer_) : std::string(curl_easy_strerror(rc)));
    }
    release_easy();
    return result;
  }
  return std::nullopt;
}

std::optional<TransferResult> HttpTransfer::step(Clock::time_point until) {
  const auto now = Clock::now();
  auto wait_until = until;
  if (easy_ != nullptr && stall_timeout_.count() > 0) wait_until = std::min(wait_until, last_activity_ + stall_timeout_);
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(std::max(wait_until - now, Clock::duration::zero()));
  const int timeout_ms = static_cast<int>(std::min<long long>(wait.count(), 60'000));
  curl_multi_poll(as_multi(multi_), nullptr, 0, timeout_ms, nullptr);
  if (easy_ == nullptr) return std::nullopt;

  int running = 0;
  curl_multi_perform(as_multi(multi_), &running);
  if (auto done = collect()) return done;

  if (stall_timeout_.count() > 0 && Clock::now() - last_activity_ >= stall_timeout_) {
    TransferResult result;
    result.kind = TransferResult::Kind::stalled;
    result.http_status = status_;
    release_easy();
    return result;
  }
  return std::nullopt;
}

}  // namespace moxi::conflate
