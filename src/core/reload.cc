#include "src/core/reload.h"

#include <memory>
#include <variant>

#include "src/util/log.h"
#include "src/core/static_config.h"

namespace moxi {

FileReloader::FileReloader(const Options& options)
    : protocol_(options.behaviors.downstream_protocol), port_listen_(options.behaviors.port_listen) {
  texts_.resize(options.sources.size());
  auto file_for = [this](const std::string& path, bool section_file) -> File& {
    // A whole -z file configures several ports; a PORT = ./FILE section one.
    if (!section_file)
      for (File& f : files_)
        if (f.path == path && !f.section_file) return f;
    files_.push_back(File{path, 0, section_file, {}, {}});
    return files_.back();
  };
  // Files that hold a URL configuration are followed, not re-read.
  std::vector<std::string> url_files;
  for (const ConfigSource& source : options.sources)
    if (const auto* url = std::get_if<UrlSource>(&source); url && !url->file.empty()) url_files.push_back(url->file);
  for (size_t i = 0; i < options.sources.size(); ++i) {
    const auto* s = std::get_if<StaticSection>(&options.sources[i]);
    if (!s) continue;
    if (!s->file.empty()) {
      bool followed = false;
      for (const auto& u : url_files) followed = followed || u == s->file;
      if (followed) continue;
      File& f = file_for(s->file, false);
      f.port_index.push_back(i);
      f.ports.push_back(s->port);
    } else if (!s->config_file.empty()) {
      File& f = file_for(s->config_file, true);
      f.section_port = s->port;
      f.port_index.push_back(i);
      f.ports.push_back(s->port);
    } else {
      continue;
    }
    texts_[i] = s->text;
  }
}

bool FileReloader::parse(const File& file, std::vector<StaticSection>& sections, std::string& error) const {
  // The command line's own parser, so a file means on reload what it meant at start.
  std::vector<std::string> args = {"-Z", "port_listen=" + std::to_string(port_listen_), "-z"};
  args.push_back(file.section_file ? std::to_string(file.section_port) + "=" + file.path : file.path);
  ParseOutcome parsed = parse_options(args, EnvLookup());
  if (!parsed.ok()) {
    error = parsed.error.starts_with("moxi: ") ? parsed.error.substr(6) : parsed.error;
    return false;
  }
  std::vector<uint16_t> ports;
  for (ConfigSource& source : parsed.options->sources) {
    auto* s = std::get_if<StaticSection>(&source);
    if (!s) {
      error = "-z " + file.path + ": now holds a URL configuration; restart moxi to follow it";
      return false;
    }
    ports.push_back(s->port);
    sections.push_back(std::move(*s));
  }
  if (ports != file.ports) {
    auto list = [](const std::vector<uint16_t>& p) {
      std::string out;
      for (uint16_t port : p) out += (out.empty() ? "" : ",") + std::to_string(port);
      return out;
    };
    error = "-z " + file.path + ": its ports changed (" + list(file.ports) + " -> " + list(ports) +
            "); a reload cannot open or close listeners: restart moxi";
    return false;
  }
  return true;
}

void FileReloader::reload(App& app) {
  const std::shared_ptr<const Snapshot>& current = app.current();
  log::info("SIGHUP: reading " + std::to_string(files_.size()) + " config file(s) again");
  SnapshotBuilder builder(*current);
  std::vector<std::pair<size_t, std::string>> changed;  // port index, new text
  for (const File& file : files_) {
    std::vector<StaticSection> sections;
    std::string error;
    if (!parse(file, sections, error)) {
      log::error("SIGHUP: reload failed, keeping generation " + std::to_string(current->generation) + ": " + error);
      return;
    }
    for (size_t k = 0; k < sections.size(); ++k) {
      const size_t index = file.port_index[k];
      if (sections[k].text == texts_[index]) continue;
      auto bucket = build_static_bucket(sections[k], protocol_, error);
      if (!bucket) {
        log::error("SIGHUP: reload failed, keeping generation " + std::to_string(current->generation) + ": " + error);
        return;
      }
      builder.set_bucket(index, std::move(bucket));
      changed.emplace_back(index, std::move(sections[k].text));
    }
  }
  if (changed.empty()) {
    log::info("SIGHUP: config files unchanged; generation " + std::to_string(current->generation) + " stays");
    return;
  }
  std::shared_ptr<const Snapshot> next = builder.build();  // dated now: config_age restarts
  for (auto& [index, text] : changed) {
    texts_[index] = std::move(text);
    const Bucket& b = *next->ports[index].bucket;
    const auto& bound = app.bound_ports();
    const int port = index < bound.size() ? bound[index] : next->ports[index].port;
    log::info("config generation " + std::to_string(next->generation) + " from SIGHUP: port " + std::to_string(port) +
              ": " + std::to_string(b.servers.size()) + " servers, " +
              (b.vbucket_routing() ? std::to_string(b.config->num_vbuckets()) + " vBuckets" : std::string("ketama")));
  }
  app.publish(std::move(next));
}

}  // namespace moxi
