#include "vbucket/config_loader.h"

#include <new>

#include "vbucket/document_parse.h"
#include "vbucket/server_list_parse.h"
#include "vbucket/static_config_parse.h"
#include "vbucket/text_file.h"

namespace moxi::vbucket {
namespace {

Result<ConfigPtr> pick_section(std::vector<PortConfig> sections, const LoadOptions& options) {
  if (!options.port) return Result<ConfigPtr>::success(sections.front().config);
  std::string ports;
  for (PortConfig& section : sections) {
    if (section.port == *options.port) return Result<ConfigPtr>::success(std::move(section.config));
    ports += (ports.empty() ? "" : ", ") + std::to_string(section.port);
  }
  return Result<ConfigPtr>::failure("no section for port " + std::to_string(*options.port) + " (the file has " + ports +
                                    ")");
}

Result<ConfigPtr> pick_bucket(std::vector<NamedConfig> buckets, const LoadOptions& options) {
  if (buckets.empty()) return Result<ConfigPtr>::failure("buckets: the document lists no bucket");
  if (!options.bucket) return Result<ConfigPtr>::success(buckets.front().config);
  std::string names;
  for (NamedConfig& bucket : buckets) {
    if (bucket.name == *options.bucket) return Result<ConfigPtr>::success(std::move(bucket.config));
    names += (names.empty() ? "\"" : ", \"") + bucket.name + "\"";
  }
  return Result<ConfigPtr>::failure("no bucket named \"" + *options.bucket + "\" (the document has " + names + ")");
}

Result<ConfigPtr> load_json(std::string_view text, const LoadOptions& options) {
  auto doc = parse_document(text, options.parse);
  if (!doc) return Result<ConfigPtr>::failure(doc.error());
  if (doc.value().bucket_list) return pick_bucket(std::move(doc.value().buckets), options);
  return Result<ConfigPtr>::success(std::move(doc.value().buckets.front().config));
}

}  // namespace

Result<ConfigPtr> load_config(std::string_view text, const LoadOptions& options) noexcept {
  try {
    if (looks_like_static_config(text)) {
      auto sections = parse_static_config(text, options.parse);
      if (!sections) return Result<ConfigPtr>::failure(sections.error());
      return pick_section(std::move(sections).value(), options);
    }
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) return load_json(text, options);
    if (first == std::string_view::npos) return Result<ConfigPtr>::failure("empty config");
    auto list = parse_server_list(text);
    if (!list)
      return Result<ConfigPtr>::failure("not JSON, not \"PORT = CONFIG\", and not a server list: " + list.error());
    return list;
  } catch (const std::bad_alloc&) {
    return Result<ConfigPtr>::failure("out of memory while loading the config");
  } catch (...) {
    return Result<ConfigPtr>::failure("unexpected error while loading the config");
  }
}

Result<ConfigPtr> load_config_file(const std::string& path, const LoadOptions& options) noexcept {
  try {
    auto text = detail::read_text_file(path);
    if (!text) return Result<ConfigPtr>::failure(path + ": " + text.error());
    auto config = load_config(text.value(), options);
    if (!config) return Result<ConfigPtr>::failure(path + ": " + config.error());
    return config;
  } catch (...) {
    return Result<ConfigPtr>::failure("out of memory while loading the config");
  }
}

}  // namespace moxi::vbucket
