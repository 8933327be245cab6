// DocumentFilter: what a source does with each document it reads, before the
// proxy sees anything.
//
//   * validate it (vbucket::parse_document) with the host it came from as
//     origin host (replacing $HOST) and the filter's network;
//   * drop it when it is byte-identical to the last delivered document and
//     came from the same peer (the same bytes from another host can mean
//     another map when they contain $HOST);
//   * say whether an error message is new (first_report): an error is
//     reported once, not on every retry or reconnect. The set of reported
//     texts is cleared by each delivery, so a problem that comes back after a
//     good config is reported again. At most kMaxRemembered texts are kept.
//
// Thread-safety: none; owned by one source thread.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vbucket/buckets_parse.h"
#include "vbucket/parse_options.h"

namespace moxi::conflate {

class DocumentFilter {
 public:
  static constexpr std::size_t kMaxRemembered = 256;

  // `network`: whose addresses a terse config's servers get (-Z network).
  explicit DocumentFilter(vbucket::Network network = vbucket::Network::Default) : network_(network) {}

  struct Verdict {
    enum class Kind { deliver, duplicate, invalid };
    Kind kind = Kind::invalid;
    std::vector<vbucket::NamedConfig> buckets;  // deliver
    bool bucket_list = false;              // deliver: of the {"buckets":[...]} form
    std::string error;                     // invalid: the vbucket library's message
  };

  // `origin_host`: the host the document was fetched from ("" = unknown).
  // A `deliver` verdict also records the document as the last delivered one.
  Verdict check(std::string_view document, std::string_view origin_host);

  // True the first time `error` is seen since the last delivery (or since
  // kMaxRemembered other errors were).
  bool first_report(const std::string& error);

 private:
  vbucket::Network network_;
  std::string last_document_;
  std::string last_peer_;
  bool delivered_ = false;
  std::set<std::string, std::less<>> reported_;
};

}  // namespace moxi::conflate
