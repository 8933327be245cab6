#include "t/diff/campaign.h"

#include <stdexcept>

#include "t/diff/generator.h"
#include "t/diff/known.h"
#include "t/diff/normalise.h"
#include "t/diff/shrink.h"
#include "t/support/client.h"

namespace moxi::test::diff {

namespace {

ClusterOptions options_for(const std::string& config) {
  ClusterOptions o;
  o.backends = 1;
  if (config == "ascii") {
    o.downstream_protocol = "ascii";
  } else if (config == "binary") {
    // the default downstream protocol
  } else if (config == "meta") {
    o.downstream_protocol = "meta";
  } else if (config == "vbucket") {
    o.routing = Routing::VBucket;
  } else {
    throw std::invalid_argument("unknown diff configuration '" + config + "' (known: ascii, binary, meta, vbucket)");
  }
  return o;
}

// Empties a memcached: items, and any delayed flush_all a stream left
// pending (a flush without delay replaces it). One control connection per
// server is kept open (connecting for each of thousands of runs is most of
// a small stream's cost).
void flush(int port) {
  static std::map<int, TestClient> control;
  auto it = control.find(port);
  if (it == control.end()) it = control.emplace(port, TestClient(port)).first;
  std::string reply;
  try {
    reply = it->second.request("flush_all");
  } catch (const std::exception&) {
    it->second.reconnect();  // e.g. a restarted server; one retry
    reply = it->second.request("flush_all");
  }
  if (reply != "OK") throw std::runtime_error("flush_all on port " + std::to_string(port) + ": " + reply);
}

Deadline deadline_for(const Stream& stream) {
  std::size_t bytes = 0;
  for (const auto& c : stream.commands) bytes += c.bytes.size();
  // A failure bound, not a wait: generous so a loaded machine does not turn
  // a slow big stream into a "hang".
  return std::chrono::milliseconds(3000 + bytes / 1000);
}

}  // namespace

Rig::Rig(const std::vector<std::string>& configs) : names_(configs) {
  for (const auto& name : names_) clusters_.push_back(std::make_unique<Cluster>(options_for(name)));
}

Cluster& Rig::cluster(const std::string& config) {
  for (std::size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == config) return *clusters_[i];
  throw std::invalid_argument("configuration not started: " + config);
}

Outcome Rig::run_reference(const Stream& stream) {
  flush(reference_.port());
  return run_stream(reference_.port(), stream, nonce_++, deadline_for(stream));
}

Difference Rig::differs_from(const Stream& stream, Outcome reference, const std::string& config,
                             const std::vector<const KnownDivergence*>& relaxed) {
  Cluster& c = cluster(config);
  flush(c.backend(0).port());
  Outcome moxi = run_stream(c.port(), stream, nonce_++, deadline_for(stream));
  if (!c.moxi().running()) throw std::runtime_error("moxi (" + config + ") died:\n" + c.moxi().log());
  relax_units(relaxed, reference.units);
  relax_units(relaxed, moxi.units);
  return compare(stream.protocol, reference, moxi);
}

Difference Rig::differs(const Stream& stream, const std::string& config,
                        const std::vector<const KnownDivergence*>& relaxed) {
  return differs_from(stream, run_reference(stream), config, relaxed);
}

std::string Rig::logs(const std::string& config) { return cluster(config).moxi().log(); }

namespace {

std::string ids_of(const std::vector<const KnownDivergence*>& entries) {
  std::string out;
  for (const auto* e : entries) out += (out.empty() ? "" : ",") + e->id;
  return out;
}

}  // namespace

Summary run_campaign(Rig& rig, const CampaignOptions& options) {
  Summary summary;
  const auto started = Clock::now();
  std::map<std::string, bool> example_taken;  // one shrunk example per known entry and config
  int shrunk_new = 0;
  for (uint64_t seed = options.first_seed;
       summary.streams < options.max_streams && Clock::now() - started < options.budget; ++seed) {
    Stream stream = generate(seed);
    ++summary.streams;
    const auto stream_started = Clock::now();
    struct SlowNote {  // reports streams that take long: where the time budget goes
      const CampaignOptions& o; uint64_t seed; const Stream& s; Clock::time_point t0;
      ~SlowNote() {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
        if (o.verbose && o.log && ms > 250) *o.log << "slow stream: seed " << seed << " (" << s.family << ", "
                                                   << to_string(s.protocol) << ", end " << to_string(s.end) << "): " << ms << " ms\n";
      }
    } slow_note{options, seed, stream, stream_started};
    Outcome reference = rig.run_reference(stream);
    for (const auto& config : options.configs) {
      ++summary.runs;
      Difference diff = rig.differs_from(stream, reference, config);
      if (diff.empty()) continue;
      auto entries = matching_known(stream, config);
      Stream rest = stream;
      if (!entries.empty()) {
        // Known only if the stream agrees without what the entries name.
        rest = without_known(stream, entries);
        diff = rest.commands.empty() ? Difference{} : rig.differs(rest, config, entries);
        if (diff.empty()) {
          for (const auto* e : entries) ++summary.known_hits[e->id];
          const std::string key = ids_of(entries) + "/" + config;
          if (entries.size() == 1 && !example_taken[key] && options.examples) {
            // One readable example per known entry: shrunk while it still
            // diverges and still triggers only that entry.
            example_taken[key] = true;
            Finding f{config, seed, stream.family, true, {entries[0]->id}, {}, {}};
            f.shrunk = shrink(stream, [&](const Stream& c) {
              auto m = matching_known(c, config);
              return m.size() == 1 && m[0] == entries[0] && !rig.differs(c, config).empty();
            }, 60);
            f.difference = rig.differs(f.shrunk, config).text;
            summary.findings.push_back(f);
          }
          continue;
        }
      }
      // New: what diverges without the known triggers, if it repeats.
      bool repeats = true;
      for (int again = 0; again < 2 && repeats; ++again)
        repeats = !rig.differs(rest, config, matching_known(rest, config)).empty();
      if (!repeats) {
        ++summary.unrepeated[config + ": " + diff.signature];
        continue;
      }
      // Each kind of difference is shrunk and reported once; repeats are
      // only counted.
      if (summary.new_hits[config + ": " + diff.signature]++ > 0) continue;
      Finding f{config, seed, stream.family, false, {}, rest, diff.text};
      if (shrunk_new++ < options.max_new) {
        f.shrunk = shrink(rest, [&](const Stream& c) {
          return !rig.differs(c, config, matching_known(c, config)).empty();
        });
        f.difference = rig.differs(f.shrunk, config, matching_known(f.shrunk, config)).text;
        if (f.difference.empty()) f.difference = "(the shrunk stream no longer diverges: flaky?) first seen: " + diff.text;
      }
      if (options.log) *options.log << "NEW divergence, seed " << seed << ", config " << config << ":\n"
                                     << f.difference << "\n" << describe(f.shrunk) << std::flush;
      summary.findings.push_back(std::move(f));
    }
  }
  return summary;
}

std::string Summary::report() const {
  std::string out = std::to_string(streams) + " streams, " + std::to_string(runs) + " runs compared\n";
  for (const auto& k : known_divergences()) {
    auto it = known_hits.find(k.id);
    out += "  known " + k.id + ": " + std::to_string(it == known_hits.end() ? 0 : it->second) +
           " diverging run(s): " + k.reason + "\n";
  }
  for (const auto& [signature, runs] : new_hits)
    out += "  NEW (" + std::to_string(runs) + " diverging run(s)): " + signature + "\n";
  for (const auto& [signature, runs] : unrepeated)
    out += "  not repeated on two re-runs (" + std::to_string(runs) + " run(s)): " + signature + "\n";
  for (const auto& f : findings) {
    out += std::string(f.known ? "KNOWN " + f.known_ids[0] : std::string("NEW")) + " divergence: seed " +
           std::to_string(f.seed) + " (family " + f.family + "), config " + f.config + "\n  " + f.difference +
           "\n  shortened stream: " + describe(f.shrunk) + "  replay bytes: '" + total_bytes(f.shrunk) + "'\n";
  }
  return out;
}

std::vector<std::string> self_check(uint64_t first_seed, long streams) {
  Memcached a, b;
  std::vector<std::string> found;
  uint64_t nonce = 1;
  for (uint64_t seed = first_seed; seed < first_seed + static_cast<uint64_t>(streams); ++seed) {
    Stream s = generate(seed);
    flush(a.port());
    flush(b.port());
    // A difference counts when it repeats on two more runs: memcached's own
    // background work can change a reply now and then (as in run_campaign).
    auto differs = [&](const Stream& stream) {
      Difference d;
      for (int attempt = 0; attempt < 3; ++attempt) {
        Outcome x = run_stream(a.port(), stream, nonce++, deadline_for(stream));
        Outcome y = run_stream(b.port(), stream, nonce++, deadline_for(stream));
        d = compare(stream.protocol, x, y);
        if (d.empty()) break;
      }
      return d;
    };
    Difference d = differs(s);
    if (d.empty()) continue;
    // Where memcached alone varies (stale slab memory, its own crawler), the
    // two servers may disagree for good: what is left without those
    // commands must still agree.
    std::vector<const KnownDivergence*> varying;
    for (const auto* k : matching_known(s, ""))
      if (k->memcached_alone_varies) varying.push_back(k);
    Stream rest = s;
    if (!varying.empty()) {
      rest = without_known(s, varying);
      flush(a.port());
      flush(b.port());
      d = differs(rest);
    }
    if (!d.empty()) found.push_back("seed " + std::to_string(seed) + ": " + d.text + "\n" + describe(rest));
  }
  return found;
}

}  // namespace moxi::test::diff
