#include "vbucket/config_diff.h"

#include <algorithm>

namespace moxi::vbucket {
namespace {

bool contains(const std::vector<Server>& servers, const std::string& authority) {
  return std::any_of(servers.begin(), servers.end(), [&](const Server& s) { return s.authority == authority; });
}

std::vector<std::string> missing_from(const std::vector<Server>& wanted, const std::vector<Server>& present) {
  std::vector<std::string> out;
  for (const Server& s : wanted)
    if (!contains(present, s.authority)) out.push_back(s.authority);
  return out;
}

bool same_rows(const Config& a, const Config& b, bool forward) {
  for (int vb = 0; vb < a.num_vbuckets(); ++vb) {
    auto ra = forward ? a.forward_row(vb) : a.row(vb);
    auto rb = forward ? b.forward_row(vb) : b.row(vb);
    if (!std::equal(ra.begin(), ra.end(), rb.begin(), rb.end())) return false;
  }
  return true;
}

}  // namespace

bool equivalent(const Config& a, const Config& b) noexcept {
  return a.distribution() == b.distribution() && a.servers() == b.servers() && a.num_replicas() == b.num_replicas() &&
         a.num_vbuckets() == b.num_vbuckets() && a.has_forward_map() == b.has_forward_map() && a.user() == b.user() &&
         a.password() == b.password() && same_rows(a, b, false) && same_rows(a, b, true);
}

ConfigDiff compare(const Config& from, const Config& to) noexcept {
  ConfigDiff diff;
  diff.servers_added = missing_from(to.servers(), from.servers());
  diff.servers_removed = missing_from(from.servers(), to.servers());

  bool sequence_changed = from.num_servers() != to.num_servers();
  for (int i = 0; !sequence_changed && i < from.num_servers(); ++i) sequence_changed = from.server(i) != to.server(i);
  // Credentials are part of the "sequence": new credentials need new
  // (re-authenticated) connections.
  diff.sequence_changed = sequence_changed || from.user() != to.user() || from.password() != to.password();

  if (from.num_vbuckets() == to.num_vbuckets()) {
    for (int vb = 0; vb < from.num_vbuckets(); ++vb)
      if (from.master(vb) != to.master(vb)) ++diff.n_vb_changes;
  } else {
    diff.n_vb_changes = -1;
  }
  diff.identical = equivalent(from, to);
  return diff;
}

}  // namespace moxi::vbucket
