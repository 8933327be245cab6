#include "src/core/reload.h"

#include <memory>
#include <variant>

#include "src/util/log.h"
#include "src/core/static_config.h"

namespace moxi {

namespace {

std::vector<std::string> value_lines(const Behaviors& b) {
  std::vector<std::string> out;
  for (const auto& [key, value] : behavior_values(b)) out.push_back(key + "=" + value);
  return out;
}

}  // namespace

FileReloader::FileReloader(const Options& options, std::vector<std::string> args, EnvLookup env)
    : rules_(bucket_rules(options.behaviors)),
      port_listen_(options.behaviors.port_listen),
      args_(std::move(args)),
      env_(std::move(env)),
      sources_(options.sources),
      behavior_values_(value_lines(options.behaviors)) {
  bool url_file = false;
  for (const ConfigSource& source : options.sources)
    if (const auto* url = std::get_if<UrlSource>(&source); url && !url->file.empty()) url_file = true;
  reparse_ = !args_.empty() &&
             (url_file || !options.behavior_files.empty() || !options.behaviors.client_passwords_file.empty());
  texts_.resize(options.sources.size());
  tls_ = options.behaviors.tls_port.has_value() || downstream_tls_ports(options.behaviors).any();
  if (tls_) {
    tls_behaviors_ = options.behaviors;
    tls_files_ = tls_file_contents(tls_behaviors_);
  }
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

void FileReloader::failed(App& app, const std::string& error) {
  app.count_reload_failure();
  log::error("SIGHUP: reload failed, keeping generation " + std::to_string(app.current()->generation) + ": " + error);
  pending_.reset();
}

bool FileReloader::reparse(App& app, SnapshotBuilder& builder, bool& changed, std::string& error) {
  ParseOutcome fresh = parse_options(args_, env_);
  if (!fresh.ok()) {
    error = fresh.error.starts_with("moxi: ") ? fresh.error.substr(6) : fresh.error;
    return false;
  }
  Options& next = *fresh.options;
  if (next.sources.size() != sources_.size()) {
    error = "the command line now has " + std::to_string(next.sources.size()) + " configurations instead of " +
            std::to_string(sources_.size()) + "; a reload cannot open or close listeners: restart moxi";
    return false;
  }
  for (size_t i = 0; i < next.sources.size(); ++i)
    if (next.sources[i].index() != sources_[i].index()) {
      error = "configuration " + std::to_string(i + 1) + " changed between a URL and a static map: restart moxi";
      return false;
    }
  const std::shared_ptr<const Snapshot>& current = app.current();
  const BucketRules rules = bucket_rules(next.behaviors);
  if (!(rules == rules_)) {
    // New credentials: every bucket is built again with them. Static
    // ports from their text (files were handled by the caller), URL
    // ports from the last map their follower received.
    for (size_t i = 0; i < next.sources.size(); ++i) {
      const auto* section = std::get_if<StaticSection>(&next.sources[i]);
      if (!section || !texts_[i].empty()) continue;
      auto served = build_static_buckets(*section, rules, error);
      if (!served) return false;
      builder.set_buckets(i, std::move(served->buckets), std::move(served->start));
    }
    for (ConfigFollower* follower : followers_) {
      const conflate::ConfigUpdate* last = follower->last_update();
      if (!last) continue;
      ServedBuckets served = serve_buckets(last->buckets, last->bucket_list, MapSource::ClusterManager,
                                           rules.for_port(next.behaviors.port_listen),
                                           &current->ports[follower->port_index()]);
      builder.set_buckets(follower->port_index(), std::move(served.buckets), std::move(served.start));
    }
    changed = true;
  }
  for (ConfigFollower* follower : followers_) {
    const auto& was = std::get<UrlSource>(sources_[follower->port_index()]);
    const auto& now = std::get<UrlSource>(next.sources[follower->port_index()]);
    if (was.urls != now.urls || was.auth != now.auth) changed = true;
  }
  std::vector<std::string> restart_needed;
  const std::vector<std::string> values = value_lines(next.behaviors);
  static constexpr std::string_view kReloadable[] = {"usr=", "pwd=", "bucket=", "default_bucket_name=",
                                                     "client_passwords="};
  for (size_t i = 0; i < values.size() && i < behavior_values_.size(); ++i) {
    if (values[i] == behavior_values_[i]) continue;
    bool reloadable = false;
    for (std::string_view prefix : kReloadable) reloadable = reloadable || values[i].starts_with(prefix);
    if (!reloadable) restart_needed.push_back(values[i].substr(0, values[i].find('=')));
  }
  if (!restart_needed.empty()) {
    std::string keys;
    for (const auto& k : restart_needed) keys += (keys.empty() ? "" : ", ") + k;
    log::warning("SIGHUP: changed behaviors take effect at the next restart only: " + keys);
  }
  pending_ = std::move(next);
  return true;
}

bool FileReloader::reload_tls(App& app, SnapshotBuilder& builder) {
  std::string files = tls_file_contents(tls_behaviors_);
  if (files == tls_files_) return false;
  TlsContexts made;
  std::string error;
  if (!make_tls_contexts(tls_behaviors_, made, error)) {
    // The maps still reload: only the certificates stay as they were.
    app.count_reload_failure();
    log::error("SIGHUP: TLS certificates not reloaded, the ones in force stay: " + error);
    return false;
  }
  tls_files_ = std::move(files);
  builder.set_tls(std::move(made.clients), std::move(made.backends));
  log::info("SIGHUP: TLS certificates reloaded: new handshakes use them, established connections keep theirs");
  return true;
}

void FileReloader::reload(App& app) {
  const std::shared_ptr<const Snapshot>& current = app.current();
  log::info("SIGHUP: reading " + std::to_string(files_.size()) + " config file(s) again" +
            (reparse_ ? " and the command line's behavior and URL files" : ""));
  SnapshotBuilder builder(*current);
  bool rebuilt = false;  // reparse put new buckets or sources in place
  std::string error;
  if (reparse_ && !reparse(app, builder, rebuilt, error)) {
    failed(app, error);
    return;
  }
  const BucketRules rules = pending_ ? bucket_rules(pending_->behaviors) : rules_;
  const bool rules_changed = !(rules == rules_);
  std::vector<std::pair<size_t, std::string>> changed;  // port index, new text
  for (const File& file : files_) {
    std::vector<StaticSection> sections;
    if (!parse(file, sections, error)) {
      failed(app, error);
      return;
    }
    for (size_t k = 0; k < sections.size(); ++k) {
      const size_t index = file.port_index[k];
      if (sections[k].text == texts_[index] && !rules_changed) continue;
      auto served = build_static_buckets(sections[k], rules, error);
      if (!served) {
        failed(app, error);
        return;
      }
      builder.set_buckets(index, std::move(served->buckets), std::move(served->start));
      changed.emplace_back(index, std::move(sections[k].text));
    }
  }
  if (tls_ && reload_tls(app, builder)) rebuilt = true;
  if (changed.empty() && !rebuilt) {
    log::info("SIGHUP: config files unchanged; generation " + std::to_string(current->generation) + " stays");
    pending_.reset();
    return;
  }
  std::shared_ptr<const Snapshot> next = builder.build();  // dated now: config_age restarts
  if (rules_changed) log::info("SIGHUP: new credentials: every bucket's backend logins and client passwords rebuilt");
  for (auto& [index, text] : changed) {
    texts_[index] = std::move(text);
    const auto& bound = app.bound_ports();
    const int port = index < bound.size() ? bound[index] : next->ports[index].port;
    for (const auto& bucket : next->ports[index].buckets) {
      const Bucket& b = *bucket;
      log::info("config generation " + std::to_string(next->generation) + " from SIGHUP: port " +
                std::to_string(port) + ": " + (next->ports[index].buckets.size() > 1 ? "bucket " + b.name + ", " : "") +
                std::to_string(b.servers.size()) + " servers, " +
                (b.vbucket_routing() ? std::to_string(b.config->num_vbuckets()) + " vBuckets" : std::string("ketama")));
    }
  }
  if (rebuilt && changed.empty())
    log::info("config generation " + std::to_string(next->generation) + " from SIGHUP");
  app.publish(std::move(next));
  if (!pending_) return;
  // Published: the followers serve later maps with the new rules, and a
  // new URL list or HTTP credential restarts a stream.
  for (ConfigFollower* follower : followers_) {
    follower->set_rules(rules.for_port(pending_->behaviors.port_listen));
    const auto& was = std::get<UrlSource>(sources_[follower->port_index()]);
    const auto& now = std::get<UrlSource>(pending_->sources[follower->port_index()]);
    if (was.urls != now.urls || was.auth != now.auth) {
      log::info("SIGHUP: port " + std::to_string(follower->port_index()) + " follows " +
                (now.urls.empty() ? std::string("no URL") : now.urls.front()) +
                (now.urls.size() > 1 ? " and " + std::to_string(now.urls.size() - 1) + " more" : "") + " from now on");
      follower->replace_source(now, pending_->behaviors);
    }
  }
  rules_ = rules;
  sources_ = std::move(pending_->sources);
  behavior_values_ = value_lines(pending_->behaviors);
  pending_.reset();
}

}  // namespace moxi
