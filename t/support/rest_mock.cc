#include "t/support/rest_mock.h"

#include <curl/curl.h>
#include <rapidjson/document.h>
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "t/support/port_file.h"

#ifndef MOXI_SRCDIR
#error "MOXI_SRCDIR must name the source tree"
#endif

namespace moxi::test {

namespace {

// rest_mock.rb's exit status when it cannot bind (EventMachine's "no acceptor").
constexpr int kExitCannotBind = 71;
// A restart gives up after this many bind failures even if time is left.
constexpr int kMaxBindAttempts = 50;
// Extra time a long poll's HTTP request gets beyond the time the mock is
// asked to wait, so the mock's own "not yet" (408) arrives first.
constexpr std::chrono::milliseconds kLongPollGrace{2000};

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  });
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// The end of a long text, for error messages.
std::string tail(const std::string& s, std::size_t n = 600) {
  if (s.size() <= n) return s;
  return "..." + s.substr(s.size() - n);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Header lines of one response. A new status line (after a 1xx, or a
// redirect) starts over.
struct HeaderSink {
  std::vector<std::pair<std::string, std::string>> headers;
  bool complete = false;

  void line(std::string_view raw) {
    std::string l = trim(raw);
    if (l.rfind("HTTP/", 0) == 0) {
      headers.clear();
      complete = false;
      return;
    }
    if (l.empty()) {
      complete = true;  // may be a 1xx's end; the next status line resets it
      return;
    }
    auto colon = l.find(':');
    if (colon == std::string::npos) return;
    headers.emplace_back(lower(trim(std::string_view(l).substr(0, colon))), trim(std::string_view(l).substr(colon + 1)));
  }
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  static_cast<HeaderSink*>(user)->line(std::string_view(data, size * n));
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::string find_header(const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
  const std::string key = lower(name);
  for (const auto& [k, v] : headers) {
    if (k == key) return v;
  }
  return {};
}

// Options every handle gets: no proxy from the environment (the tests talk
// to 127.0.0.1 only), no signals, an error buffer, auth and HTTP version.
void common_setup(CURL* h, const std::string& url, const HttpOptions& o, char* errbuf) {
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  if (!o.user.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(h, CURLOPT_USERNAME, o.user.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, o.password.c_str());
  }
  if (o.http10) curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_0));
}

HttpResponse perform(const std::string& method, const std::string& url, std::string_view body, Deadline deadline,
                     const HttpOptions& options, std::string_view content_type) {
  global_init();
  if (deadline.expired()) throw std::runtime_error(method + " " + url + ": deadline passed before the request");
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> h(curl_easy_init(), &curl_easy_cleanup);
  if (!h) throw std::runtime_error("curl_easy_init failed");
  char errbuf[CURL_ERROR_SIZE] = {};
  common_setup(h.get(), url, options, errbuf);
  HttpResponse response;
  HeaderSink sink;
  curl_easy_setopt(h.get(), CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h.get(), CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<long long>(1, deadline.remaining().count())));
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> list(nullptr, &curl_slist_free_all);
  if (method == "POST") {
    curl_easy_setopt(h.get(), CURLOPT_POST, 1L);
    curl_easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h.get(), CURLOPT_COPYPOSTFIELDS, std::string(body).c_str());
    const std::string type = "Content-Type: " + std::string(content_type);
    curl_slist* l = curl_slist_append(nullptr, type.c_str());
    l = curl_slist_append(l, "Expect:");  // no 100-continue round trip
    list.reset(l);
    curl_easy_setopt(h.get(), CURLOPT_HTTPHEADER, list.get());
  }
  CURLcode rc = curl_easy_perform(h.get());
  if (rc != CURLE_OK) {
    throw std::runtime_error(method + " " + url + ": " + (errbuf[0] ? errbuf : curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &response.status);
  response.headers = std::move(sink.headers);
  return response;
}

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

RestMockState parse_state(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  if (d.HasParseError() || !d.IsObject()) throw std::runtime_error("rest_mock state is not a JSON object: " + json);
  auto num = [&](const char* key) -> long {
    auto it = d.FindMember(key);
    return it != d.MemberEnd() && it->value.IsInt64() ? static_cast<long>(it->value.GetInt64()) : 0;
  };
  RestMockState s;
  s.json = json;
  s.open_streams = static_cast<int>(num("open_streams"));
  s.pending = static_cast<int>(num("pending"));
  auto stalled = d.FindMember("stalled");
  s.stalled = stalled != d.MemberEnd() && stalled->value.IsBool() && stalled->value.GetBool();
  s.delay_ms = static_cast<int>(num("delay_ms"));
  s.error_status = static_cast<int>(num("error_status"));
  s.errors_remaining = static_cast<int>(num("errors_remaining"));
  s.streams_opened = num("streams_opened");
  s.configs_pushed = num("configs_pushed");
  s.heartbeats_sent = num("heartbeats_sent");
  s.garbage_pushed = num("garbage_pushed");
  s.config_version = num("config_version");
  s.auth_failures = num("auth_failures");
  s.errors_injected = num("errors_injected");
  auto buckets = d.FindMember("buckets");
  if (buckets != d.MemberEnd() && buckets->value.IsArray()) {
    for (const auto& b : buckets->value.GetArray()) {
      if (b.IsString()) s.buckets.emplace_back(b.GetString(), b.GetStringLength());
    }
  }
  auto requests = d.FindMember("requests");
  if (requests != d.MemberEnd() && requests->value.IsObject()) {
    for (const auto& m : requests->value.GetObject()) {
      if (m.value.IsInt64()) s.requests[m.name.GetString()] = static_cast<long>(m.value.GetInt64());
    }
  }
  return s;
}

}  // namespace

// ---- HTTP --------------------------------------------------------------------

std::string HttpResponse::header(std::string_view name) const { return find_header(headers, name); }

bool HttpResponse::has_header(std::string_view name) const {
  const std::string key = lower(name);
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return h.first == key; });
}

HttpResponse http_get(const std::string& url, Deadline deadline, const HttpOptions& options) {
  return perform("GET", url, {}, deadline, options, {});
}

HttpResponse http_post(const std::string& url, std::string_view body, Deadline deadline, const HttpOptions& options,
                       std::string_view content_type) {
  return perform("POST", url, body, deadline, options, content_type);
}

struct HttpStream::Impl {
  enum class Outcome { Satisfied, Ended, Expired };

  std::string url;
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  char errbuf[CURL_ERROR_SIZE] = {};
  HeaderSink headers;
  std::string all;     // every body byte received
  std::string buffer;  // body bytes not yet consumed as segments
  bool done = false;
  CURLcode result = CURLE_OK;

  static size_t on_data(char* data, size_t size, size_t n, void* user) {
    auto* self = static_cast<Impl*>(user);
    self->all.append(data, size * n);
    self->buffer.append(data, size * n);
    return size * n;
  }

  void perform() {
    int running = 0;
    CURLMcode mc = curl_multi_perform(multi, &running);
    if (mc != CURLM_OK) throw std::runtime_error("curl_multi_perform: " + std::string(curl_multi_strerror(mc)));
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg == CURLMSG_DONE) {
        done = true;
        result = m->data.result;
      }
    }
  }

  // Pumps the transfer until satisfied() holds, the transfer ends, or the
  // deadline passes; every wait is curl_multi_poll on the socket.
  Outcome loop(const std::function<bool()>& satisfied, Deadline deadline) {
    for (;;) {
      perform();
      if (satisfied()) return Outcome::Satisfied;
      if (done) return Outcome::Ended;
      if (deadline.expired()) return Outcome::Expired;
#if LIBCURL_VERSION_NUM >= 0x074200  // 7.66: curl_multi_poll
      CURLMcode mc = curl_multi_poll(multi, nullptr, 0, deadline.poll_timeout_ms(), nullptr);
#else
      CURLMcode mc = curl_multi_wait(multi, nullptr, 0, deadline.poll_timeout_ms(), nullptr);
#endif
      if (mc != CURLM_OK) throw std::runtime_error("curl_multi_poll: " + std::string(curl_multi_strerror(mc)));
    }
  }

  std::string error_text() const {
    if (!done || result == CURLE_OK) return {};
    return errbuf[0] ? errbuf : curl_easy_strerror(result);
  }

  std::string describe() const {
    std::string s = "stream " + url;
    if (done) s += result == CURLE_OK ? " (ended)" : " (ended: " + error_text() + ")";
    return s + "; received " + std::to_string(all.size()) + " bytes: \"" + tail(all) + "\"";
  }

  [[noreturn]] void fail(const std::string& what) const { throw std::runtime_error(what + " on " + describe()); }
};

HttpStream::HttpStream(std::string url, Options options) : impl_(std::make_unique<Impl>()) {
  global_init();
  impl_->url = std::move(url);
  impl_->multi = curl_multi_init();
  impl_->easy = curl_easy_init();
  if (!impl_->multi || !impl_->easy) {
    if (impl_->easy) curl_easy_cleanup(impl_->easy);
    if (impl_->multi) curl_multi_cleanup(impl_->multi);
    throw std::runtime_error("curl init failed");
  }
  CURL* h = impl_->easy;
  common_setup(h, impl_->url, options, impl_->errbuf);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &impl_->headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Impl::on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, impl_.get());
  if (options.raw) curl_easy_setopt(h, CURLOPT_HTTP_TRANSFER_DECODING, 0L);
  curl_multi_add_handle(impl_->multi, h);
}

HttpStream::~HttpStream() {
  curl_multi_remove_handle(impl_->multi, impl_->easy);
  curl_easy_cleanup(impl_->easy);
  curl_multi_cleanup(impl_->multi);
}

long HttpStream::wait_headers(Deadline deadline) {
  auto outcome = impl_->loop([&] { return impl_->headers.complete; }, deadline);
  if (outcome == Impl::Outcome::Expired) impl_->fail("timed out waiting for the response headers");
  return status();
}

long HttpStream::status() const {
  long code = 0;
  curl_easy_getinfo(impl_->easy, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

std::string HttpStream::header(std::string_view name) const { return find_header(impl_->headers.headers, name); }

std::string HttpStream::next_segment(Deadline deadline) {
  auto& buf = impl_->buffer;
  auto outcome = impl_->loop([&] { return buf.find(kConfigDelimiter) != std::string::npos; }, deadline);
  if (outcome == Impl::Outcome::Expired) impl_->fail("timed out waiting for a delimited segment");
  if (outcome == Impl::Outcome::Ended) impl_->fail("ended before a delimited segment");
  auto at = buf.find(kConfigDelimiter);
  std::string segment = buf.substr(0, at);
  buf.erase(0, at + kConfigDelimiter.size());
  return segment;
}

std::string HttpStream::next_config(Deadline deadline) {
  for (;;) {
    std::string segment = next_segment(deadline);
    if (!blank(segment)) return segment;
  }
}

bool HttpStream::read_until(const std::function<bool(const std::string&)>& pred, Deadline deadline) {
  auto outcome = impl_->loop([&] { return pred(impl_->all); }, deadline);
  if (outcome == Impl::Outcome::Expired) impl_->fail("timed out waiting for data");
  return outcome == Impl::Outcome::Satisfied;
}

bool HttpStream::quiet_until(Deadline deadline) {
  const std::size_t before = impl_->all.size();
  auto outcome = impl_->loop([&] { return impl_->all.size() != before; }, deadline);
  return outcome == Impl::Outcome::Expired;
}

bool HttpStream::wait_end(Deadline deadline) {
  auto outcome = impl_->loop([] { return false; }, deadline);
  if (outcome == Impl::Outcome::Expired) impl_->fail("timed out waiting for the end");
  return ended_cleanly();
}

bool HttpStream::ended() const { return impl_->done; }
bool HttpStream::ended_cleanly() const { return impl_->done && impl_->result == CURLE_OK; }
std::string HttpStream::error() const { return impl_->error_text(); }
const std::string& HttpStream::received() const { return impl_->all; }
const std::string& HttpStream::unconsumed() const { return impl_->buffer; }

// ---- the fixture -------------------------------------------------------------

long RestMockState::requests_to(const std::string& path) const {
  auto it = requests.find(path);
  return it == requests.end() ? 0 : it->second;
}

std::string RestMock::ruby() {
  const char* env = std::getenv("MOXI_TEST_RUBY");
  return env && *env ? env : "ruby";
}

std::string RestMock::script() { return MOXI_SRCDIR "/rest_mock/rest_mock.rb"; }

RestMock::RestMock(Options options) : options_(std::move(options)) {
  if (!options_.config_json.empty()) {
    options_.config_file = dir_.file("config.json");
    std::ofstream(options_.config_file, std::ios::binary) << options_.config_json;
  }
  start(0, Deadline(options_.startup));
}

RestMock::~RestMock() {
  if (process_) {
    try {
      stop();
    } catch (...) {
      // process_'s own destructor still stops and reaps it.
    }
  }
}

std::string RestMock::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

pid_t RestMock::pid() const { return process_ ? process_->pid() : -1; }

bool RestMock::running() { return process_ && process_->running(); }

std::string RestMock::log() const { return read_file(dir_.file("rest_mock.log")); }

void RestMock::start(int port, Deadline deadline) {
  std::string config = options_.config_file;
  if (!current_config_.empty()) {
    config = dir_.file("config." + std::to_string(starts_ + 1) + ".json");
    std::ofstream(config, std::ios::binary) << current_config_;
  }
  for (int attempt = 1;; ++attempt) {
    // A fresh port file per start, so a stale one is never read.
    const std::string port_file = dir_.file("port." + std::to_string(++starts_));
    std::vector<std::string> argv = {ruby(), script(), "-p", std::to_string(port), "--port-file", port_file};
    if (!config.empty()) argv.insert(argv.end(), {"--config", config});
    if (!options_.bucket.empty()) argv.insert(argv.end(), {"--bucket", options_.bucket});
    if (!options_.user.empty()) argv.insert(argv.end(), {"--auth", options_.user + ":" + options_.password});
    argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());

    Process::Options popts;
    popts.out = popts.err = Process::Output::file(dir_.file("rest_mock.log"), /*append=*/true);
    popts.cwd = dir_.path();
    Process proc(argv, popts);
    try {
      port_ = wait_for_port_file(port_file, deadline, &proc);
      process_.emplace(std::move(proc));
      return;
    } catch (const std::exception& e) {
      if (proc.running()) proc.kill(SIGKILL);
      const int status = proc.stop();
      const bool bind_failed = WIFEXITED(status) && WEXITSTATUS(status) == kExitCannotBind;
      if (port > 0 && bind_failed && attempt < kMaxBindAttempts && !deadline.expired()) continue;
      throw std::runtime_error("rest_mock did not start" + (port > 0 ? " on port " + std::to_string(port) : "") +
                               " (attempt " + std::to_string(attempt) + "): " + e.what() +
                               "\n--- rest_mock output ---\n" + log());
    }
  }
}

int RestMock::stop() {
  if (!process_) throw std::logic_error("rest_mock on port " + std::to_string(port_) + " is already stopped");
  int status = process_->stop();
  process_.reset();
  return status;
}

int RestMock::kill() {
  if (!process_) throw std::logic_error("rest_mock on port " + std::to_string(port_) + " is already stopped");
  if (process_->running()) process_->kill(SIGKILL);
  int status = process_->stop();
  process_.reset();
  return status;
}

void RestMock::restart(Deadline deadline) {
  if (process_) stop();
  start(port_, deadline);
}

HttpResponse RestMock::control(const std::string& method, const std::string& path, std::string_view body) {
  HttpResponse r;
  try {
    r = method == "GET" ? http_get(url(path)) : http_post(url(path), body);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("rest_mock control request failed: ") + e.what() +
                             "\n--- rest_mock output ---\n" + tail(log(), 4000));
  }
  if (r.status != 200) {
    throw std::runtime_error("rest_mock " + method + " " + path + " answered " + std::to_string(r.status) + ": " +
                             r.body + "\n--- rest_mock output ---\n" + tail(log(), 4000));
  }
  return r;
}

void RestMock::set_config(const std::string& json) {
  control("POST", "/control/config", json);
  current_config_ = json;
}

int RestMock::drop_streams(bool clean) {
  auto r = control("POST", clean ? "/control/drop?clean=1" : "/control/drop");
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  auto it = d.IsObject() ? d.FindMember("dropped") : d.MemberEnd();
  if (!d.IsObject() || it == d.MemberEnd() || !it->value.IsInt()) {
    throw std::runtime_error("rest_mock drop: unexpected answer " + r.body);
  }
  return it->value.GetInt();
}

void RestMock::set_delay(std::chrono::milliseconds delay) {
  control("POST", "/control/delay?ms=" + std::to_string(delay.count()));
}

void RestMock::fail_next(int status, int count) {
  control("POST", "/control/error?status=" + std::to_string(status) + "&count=" + std::to_string(count));
}

int RestMock::push_garbage(std::optional<std::size_t> size) {
  auto r = control("POST", size ? "/control/garbage?size=" + std::to_string(*size) : "/control/garbage");
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  auto it = d.IsObject() ? d.FindMember("pushed_to") : d.MemberEnd();
  if (!d.IsObject() || it == d.MemberEnd() || !it->value.IsInt()) {
    throw std::runtime_error("rest_mock garbage: unexpected answer " + r.body);
  }
  return it->value.GetInt();
}

void RestMock::stall(std::optional<std::size_t> partial) {
  control("POST", partial ? "/control/stall?partial=" + std::to_string(*partial) : std::string("/control/stall"));
}
void RestMock::resume() { control("POST", "/control/resume"); }

void RestMock::reset() {
  control("POST", "/control/reset");
  current_config_.clear();
}

RestMock::State RestMock::state() { return parse_state(control("GET", "/control/state").body); }

RestMock::State RestMock::wait_until(const std::string& conditions, Deadline deadline) {
  std::string last;
  for (;;) {
    if (deadline.expired()) {
      throw std::runtime_error("rest_mock: timed out waiting for " + conditions + "; last state: " + last +
                               "\n--- rest_mock output ---\n" + tail(log(), 4000));
    }
    const long long wait_ms = std::max<long long>(1, deadline.remaining().count());
    const std::string path = "/control/wait?" + conditions + "&timeout_ms=" + std::to_string(wait_ms);
    HttpResponse r;
    try {
      r = http_get(url(path), Deadline(std::chrono::milliseconds(wait_ms) + kLongPollGrace));
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("rest_mock wait failed: ") + e.what() + "\n--- rest_mock output ---\n" +
                               tail(log(), 4000));
    }
    if (r.status == 200) return parse_state(r.body);
    if (r.status != 408) {
      throw std::runtime_error("rest_mock GET " + path + " answered " + std::to_string(r.status) + ": " + r.body);
    }
    last = r.body;
  }
}

RestMock::State RestMock::wait_for_open_streams(int n, Deadline deadline) {
  return wait_until("open_streams=" + std::to_string(n), deadline);
}

}  // namespace moxi::test
