// libFuzzer target: the cluster-config parsers on the input as text —
// parse_document, parse_config, parse_buckets, parse_static_config,
// parse_server_list — and
// key lookups on whatever they accept.
#include <string_view>

#include "vbucket/buckets_parse.h"
#include "vbucket/config_parse.h"
#include "vbucket/document_parse.h"
#include "vbucket/server_list_parse.h"
#include "vbucket/static_config_parse.h"
#include "t/fuzz/fuzz_util.h"

namespace {

using moxi::vbucket::Config;

void exercise(const Config& c) {
  for (std::string_view key : {"a", "hello", "user:1234"}) {
    const int s = c.server_for_key(key);
    if (s < -1 || s >= c.num_servers()) moxi::fuzz::fail("server_for_key out of range");
    const int vb = c.vbucket_for_key(key);
    if (c.num_vbuckets() > 0 && (vb < 0 || vb >= c.num_vbuckets())) moxi::fuzz::fail("vbucket_for_key out of range");
    c.row(vb);
    c.forward_row(vb);
    c.replica(vb, 0);
  }
  for (int i = -1; i <= c.num_servers(); ++i) c.server(i);
}

template <typename R>
void check_error(const R& r) {
  if (!r.ok() && r.error().empty()) moxi::fuzz::fail("a failed parse has an empty message");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace moxi::vbucket;

  auto one = parse_config(text, ParseOptions{"10.0.0.1", Network::Default});
  check_error(one);
  if (one.ok()) exercise(*one.value());

  auto many = parse_buckets(text, ParseOptions{"[::1]", Network::External});
  check_error(many);
  if (many.ok())
    for (const auto& b : many.value()) exercise(*b.config);

  auto doc = parse_document(text, ParseOptions{});  // no origin host: $HOST must be refused, never crash
  check_error(doc);
  if (doc.ok())
    for (const auto& b : doc.value().buckets) exercise(*b.config);

  looks_like_static_config(text);
  auto sections = parse_static_config(text);
  check_error(sections);
  if (sections.ok())
    for (const auto& s : sections.value()) exercise(*s.config);

  auto list = parse_server_list(text);
  check_error(list);
  if (list.ok()) exercise(*list.value());
  return 0;
}
