#include "conflate/document_filter.h"

#include <utility>

#include "vbucket/document_parse.h"

namespace moxi::conflate {

DocumentFilter::Verdict DocumentFilter::check(std::string_view document, std::string_view origin_host) {
  Verdict verdict;
  if (delivered_ && document == last_document_ && origin_host == last_peer_) {
    verdict.kind = Verdict::Kind::duplicate;
    return verdict;
  }
  auto parsed = vbucket::parse_document(document, vbucket::ParseOptions{std::string(origin_host), network_});
  if (!parsed) {
    verdict.kind = Verdict::Kind::invalid;
    verdict.error = parsed.error();
    return verdict;
  }
  verdict.kind = Verdict::Kind::deliver;
  verdict.buckets = std::move(parsed.value().buckets);
  verdict.bucket_list = parsed.value().bucket_list;
  last_document_.assign(document);
  last_peer_.assign(origin_host);
  delivered_ = true;
  reported_.clear();
  return verdict;
}

bool DocumentFilter::first_report(const std::string& error) {
  if (reported_.contains(error)) return false;
  if (reported_.size() >= kMaxRemembered) reported_.clear();
  reported_.insert(error);
  return true;
}

}  // namespace moxi::conflate
