#include "vbucket/static_config_parse.h"

#include <new>

#include "vbucket/config_parse.h"
#include "vbucket/host_port.h"
#include "vbucket/server_list_parse.h"
#include "vbucket/text_file.h"

namespace moxi::vbucket {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

bool looks_like_static_config(std::string_view text) noexcept {
  text = trim(text);
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0) return false;
  while (i < text.size() && is_space(text[i])) ++i;
  return i < text.size() && text[i] == '=';
}

Result<std::vector<PortConfig>> parse_static_config(std::string_view text, const ParseOptions& options) noexcept {
  using R = Result<std::vector<PortConfig>>;
  try {
    std::vector<PortConfig> out;
    size_t section = 0;
    for (size_t start = 0; start <= text.size();) {
      const size_t semicolon = text.find(';', start);
      const size_t end = semicolon == std::string_view::npos ? text.size() : semicolon;
      const std::string_view body = trim(text.substr(start, end - start));
      start = end + 1;
      ++section;
      if (body.empty()) continue;

      const std::string where = "section " + std::to_string(section);
      const size_t equals = body.find('=');
      if (equals == std::string_view::npos) return R::failure(where + ": expected \"PORT = CONFIG\", found no '='");
      const std::string_view port_text = trim(body.substr(0, equals));
      const auto port = detail::parse_port(port_text);
      if (!port)
        return R::failure(where + ": the port before '=' must be 1..65535, got \"" +
                          std::string(port_text.substr(0, 40)) + "\"");
      const std::string where_port = where + " (port " + std::to_string(*port) + ")";
      for (const PortConfig& seen : out)
        if (seen.port == *port)
          return R::failure(where_port + ": port " + std::to_string(*port) + " is configured twice");
      const std::string_view config_text = trim(body.substr(equals + 1));
      if (config_text.empty()) return R::failure(where_port + ": no CONFIG after '='");

      auto config = config_text.front() == '{' ? parse_config(config_text, options) : parse_server_list(config_text);
      if (!config) return R::failure(where_port + ": " + config.error());
      out.push_back(PortConfig{*port, std::move(config).value()});
    }
    if (out.empty()) return R::failure("no \"PORT = CONFIG\" section");
    return R::success(std::move(out));
  } catch (const std::bad_alloc&) {
    return R::failure("out of memory while parsing the static config");
  } catch (...) {
    return R::failure("unexpected error while parsing the static config");
  }
}

Result<std::vector<PortConfig>> parse_static_config_file(const std::string& path, const ParseOptions& options) noexcept {
  using R = Result<std::vector<PortConfig>>;
  try {
    auto text = detail::read_text_file(path);
    if (!text) return R::failure(path + ": " + text.error());
    auto sections = parse_static_config(text.value(), options);
    if (!sections) return R::failure(path + ": " + sections.error());
    return sections;
  } catch (...) {
    return R::failure("out of memory while parsing the static config");
  }
}

}  // namespace moxi::vbucket
