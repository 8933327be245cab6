#include "conflate/document_filter.h"

#include <utility>

#include "conflate/document.h"

namespace moxi::conflate {

DocumentFilter::Verdict DocumentFilter::check(std::string_view document, std::string_view peer) {
  Verdict verdict;
  if (delivered_ && document == last_document_ && peer == last_peer_) {
    verdict.kind = Verdict::Kind::duplicate;
    return verdict;
  }
  auto parsed = parse_document(document, peer, &verdict.bucket_list);
  if (!parsed) {
    verdict.kind = Verdict::Kind::invalid;
    verdict.error = parsed.error();
    return verdict;
  }
  verdict.kind = Verdict::Kind::deliver;
  verdict.buckets = std::move(parsed).value();
  last_document_.assign(document);
  last_peer_.assign(peer);
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
