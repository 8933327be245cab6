#include "vbucket/vbucket_view.h"

#include <algorithm>
#include <new>

namespace moxi::vbucket {

VBucketView::VBucketView(ConfigPtr config) noexcept : config_(std::move(config)) {}

std::span<const int> VBucketView::row(int vbucket) const noexcept {
  if (rows_.empty()) return config_->row(vbucket);
  if (vbucket < 0 || vbucket >= config_->num_vbuckets()) return {};
  const size_t width = static_cast<size_t>(config_->num_replicas()) + 1;
  return std::span<const int>(rows_).subspan(static_cast<size_t>(vbucket) * width, width);
}

bool VBucketView::make_writable() noexcept {
  if (!rows_.empty()) return true;
  try {
    rows_.reserve(static_cast<size_t>(config_->num_vbuckets()) * (static_cast<size_t>(config_->num_replicas()) + 1));
    for (int vb = 0; vb < config_->num_vbuckets(); ++vb) {
      auto r = config_->row(vb);
      rows_.insert(rows_.end(), r.begin(), r.end());
    }
    forward_applied_.assign(static_cast<size_t>(config_->num_vbuckets()), false);
    return true;
  } catch (const std::bad_alloc&) {
    rows_.clear();  // keep reading the shared rows; the caller sees "no change"
    forward_applied_.clear();
    return false;
  }
}

int VBucketView::master(int vbucket) const noexcept {
  auto r = row(vbucket);
  return r.empty() ? -1 : r[0];
}

int VBucketView::replica(int vbucket, int i) const noexcept {
  auto r = row(vbucket);
  return i >= 0 && static_cast<size_t>(i) + 1 < r.size() ? r[static_cast<size_t>(i) + 1] : -1;
}

int VBucketView::server_for_key(std::string_view key) const noexcept {
  if (config_->distribution() == Distribution::ketama) return config_->server_for_key(key);
  return master(config_->vbucket_for_key(key));
}

int VBucketView::found_incorrect_master(int vbucket, int wrong_server) noexcept {
  if (row(vbucket).empty()) return -1;  // out of range, or a ketama config
  const int mapped = row(vbucket)[0];
  auto forward = config_->forward_row(vbucket);
  const bool use_forward = !forward.empty() && forward[0] != wrong_server &&
                           (rows_.empty() || !forward_applied_[static_cast<size_t>(vbucket)]);
  if (!use_forward && mapped != wrong_server) return mapped;  // stale report
  if (!make_writable()) return mapped;

  const size_t width = static_cast<size_t>(config_->num_replicas()) + 1;
  const std::span<int> target = std::span<int>(rows_).subspan(static_cast<size_t>(vbucket) * width, width);
  forward_applied_[static_cast<size_t>(vbucket)] = true;  // forward or not, it is spent for this vBucket
  if (use_forward) {
    std::copy(forward.begin(), forward.end(), target.begin());
  } else {
    target[0] = (mapped + 1) % config_->num_servers();
  }
  return target[0];
}

bool VBucketView::learn_master(int vbucket, int server) noexcept {
  if (row(vbucket).empty() || server < 0 || server >= config_->num_servers()) return false;
  if (row(vbucket)[0] == server) return true;
  if (!make_writable()) return false;
  const size_t width = static_cast<size_t>(config_->num_replicas()) + 1;
  rows_[static_cast<size_t>(vbucket) * width] = server;
  forward_applied_[static_cast<size_t>(vbucket)] = true;  // the newer config outranks the forward map
  return true;
}

}  // namespace moxi::vbucket
