#include "src/stats/admin_http.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "src/stats/render.h"
#include "src/util/log.h"

namespace moxi {

namespace {

void reply(evhttp_request* req, int code, const char* reason, std::string_view content_type, std::string_view body) {
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", std::string(content_type).c_str());
  evbuffer_add(evhttp_request_get_output_buffer(req), body.data(), body.size());
  evhttp_send_reply(req, code, reason, nullptr);
}

constexpr std::string_view kText = "text/plain; charset=utf-8";

}  // namespace

AdminServer::AdminServer(event_base* base, AdminContext context) : context_(std::move(context)), http_(evhttp_new(base)) {
  if (!http_) throw std::runtime_error("evhttp_new failed");
  evhttp_set_allowed_methods(http_, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
  evhttp_set_gencb(http_, &AdminServer::on_request, this);
}

AdminServer::~AdminServer() { evhttp_free(http_); }

// The listener's argument is evhttp's (evhttp sets it), so the retry is a
// one-shot timer carrying the listener. It cannot outlive the listener:
// the App frees this server only after its loop stopped, and the base
// frees pending one-shot events without running them.
void AdminServer::on_accept_error(evconnlistener* listener, void*) {
  const int err = EVUTIL_SOCKET_ERROR();
  log::write_keyed(log::Level::Warning, "admin accept failed",
                   std::string("admin port: cannot accept a connection: ") + std::strerror(err) +
                       "; not accepting for 50 ms");
  evconnlistener_disable(listener);
  const timeval tv{0, 50 * 1000};
  event_base_once(
      evconnlistener_get_base(listener), -1, EV_TIMEOUT,
      [](evutil_socket_t, short, void* l) { evconnlistener_enable(static_cast<evconnlistener*>(l)); }, listener, &tv);
}

bool AdminServer::listen(const std::string& address, uint16_t port, std::string& error) {
  const std::string where = address.empty() ? "127.0.0.1" : address;
  evhttp_bound_socket* bound = evhttp_bind_socket_with_handle(http_, where.c_str(), port);
  if (!bound) {
    error = "cannot listen on admin port " + where + ":" + std::to_string(port) + ": " + std::strerror(errno);
    return false;
  }
  evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(bound), &AdminServer::on_accept_error);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(evhttp_bound_socket_get_fd(bound), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    error = "cannot read the admin port's address";
    return false;
  }
  port_ = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                   : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return true;
}

void AdminServer::on_request(evhttp_request* req, void* arg) { static_cast<AdminServer*>(arg)->handle(req); }

void AdminServer::handle(evhttp_request* req) {
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* raw_path = uri ? evhttp_uri_get_path(uri) : nullptr;
  const std::string path = raw_path ? raw_path : "";
  if (path == "/healthz") {
    reply(req, HTTP_OK, "OK", kText, "ok\n");
  } else if (path == "/config") {
    reply(req, HTTP_OK, "OK", "application/json", config_json(*context_.snapshot()) + "\n");
  } else if (path == "/metrics" || path == "/readyz") {
    // The request stays with evhttp until we reply; if the client goes away
    // meanwhile, evhttp keeps it and frees it in evhttp_send_reply.
    const bool metrics = path == "/metrics";
    std::shared_ptr<const Snapshot> snapshot = context_.snapshot();
    const ProcessFigures figures = context_.figures();
    const ReadyRule rule = context_.ready_rule;
    gather_metrics(context_.workers, context_.post_to_main, [req, metrics, snapshot, figures, rule](Metrics& m) {
      if (metrics) {
        fill_process_metrics(m, *snapshot, figures);
        reply(req, HTTP_OK, "OK", "text/plain; version=0.0.4; charset=utf-8", prometheus_text(m));
        return;
      }
      const std::string reason = not_ready_reason(*snapshot, m, figures.draining, rule);
      if (reason.empty()) {
        reply(req, HTTP_OK, "OK", kText, "ready\n");
      } else {
        reply(req, 503, "Service Unavailable", kText, reason + "\n");
      }
    });
  } else {
    reply(req, HTTP_NOTFOUND, "Not Found", kText, "not found: try /metrics, /healthz, /readyz or /config\n");
  }
}

}  // namespace moxi
