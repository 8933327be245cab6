#include "src/routing/down_policy.h"

#include <algorithm>
#include <charconv>

namespace moxi {

bool DownPolicy::ejects(int port) const {
  return eject_all || std::find(eject_ports.begin(), eject_ports.end(), port) != eject_ports.end();
}

std::optional<std::string> parse_down_policy(std::string_view text, DownPolicy& out) {
  out = DownPolicy{};
  if (text == "fail") return std::nullopt;
  if (text == "eject") {
    out.eject_all = true;
    return std::nullopt;
  }
  if (text.empty()) return "empty (fail, eject, or PORT:fail|PORT:eject ...)";
  for (std::string_view rest = text; !rest.empty();) {
    const size_t bar = rest.find('|');
    const std::string_view item = rest.substr(0, bar);
    rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
    const size_t colon = item.find(':');
    const std::string quoted = "\"" + std::string(item) + "\"";
    if (colon == std::string_view::npos)
      return quoted + " is not fail, eject, or PORT:fail|PORT:eject ...";
    int port = 0;
    const std::string_view digits = item.substr(0, colon), policy = item.substr(colon + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port < 1 || port > 65535)
      return quoted + ": " + std::string(digits) + " is not a port (1-65535)";
    if (policy == "eject") {
      out.eject_ports.push_back(port);
    } else if (policy != "fail") {
      return quoted + ": " + std::string(policy) + " is not fail or eject";
    }
  }
  return std::nullopt;
}

}  // namespace moxi
