// Property tests with fixed seeds: random valid maps survive a JSON round
// trip row for row; random bytes and random mutations of the fixtures never
// crash a parser and always give either a usable config or an error message.
#include <cppunit/extensions/HelperMacros.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <random>

#include "t/vbucket/fixtures.h"
#include "vbucket/buckets_parse.h"
#include "vbucket/config_diff.h"
#include "vbucket/config_loader.h"
#include "vbucket/config_parse.h"
#include "vbucket/server_list_parse.h"
#include "vbucket/static_config_parse.h"

namespace moxi::vbucket::test {
namespace {

// Every config file of t/fixtures.
const std::vector<std::string>& fixture_files() {
  static const std::vector<std::string> files = {"tests-config/ketama-eight-nodes",
                                                 "tests-config/ketama-ordered-eight-nodes",
                                                 "tests-config/regression-bug2112",
                                                 "tests-config/testapp-config",
                                                 "tests-config/testapp-config-couch-api-base",
                                                 "tests-config/testapp-config-diff2",
                                                 "tests-config/testapp-config-diff3",
                                                 "tests-config/testapp-config-in-envelope",
                                                 "tests-config/testapp-config-in-envelope-fft",
                                                 "tests-config/testapp-config-in-envelope2",
                                                 "tests-config/testapp-config-user-password1",
                                                 "tests-config/testapp-config-wrong-num-vbuckets",
                                                 "tests-config/testapp-config-zero-num-vbuckets",
                                                 "tests-config/vbucket-eight-nodes",
                                                 "moxi-t/ketama_rest_mixed.cfg",
                                                 "moxi-t/ketama_rest_one.cfg",
                                                 "moxi-t/moxi_mock.cfg",
                                                 "moxi-t/moxi_multitenancy_rest.cfg",
                                                 "moxi-t/moxi_multitenancy_rest_default.cfg",
                                                 "moxi-t/vbucket1.cfg",
                                                 "moxi-t/vbucket2.cfg",
                                                 "moxi-t/vbucket_rest1.cfg",
                                                 "moxi-t/vbucket_rest2.cfg",
                                                 "libcouchbase-confdata/full_25.json",
                                                 "libcouchbase-confdata/memd_25.json",
                                                 "libcouchbase-confdata/memd_30.json",
                                                 "libcouchbase-confdata/memd_45.json",
                                                 "libcouchbase-confdata/memd_ketama_config.json",
                                                 "libcouchbase-confdata/terse_25.json",
                                                 "libcouchbase-confdata/terse_30.json",
                                                 "libcouchbase-confdata/ketama_expected.json"};
  return files;
}

// Checks what every successfully parsed config must satisfy; "" if it does.
std::string invariant_violation(const Config& c) {
  if (c.num_servers() < 1) return "no servers";
  for (const Server& s : c.servers())
    if (s.port == 0 || s.host.empty() || s.authority.empty()) return "server without host or port";
  const std::vector<std::string> keys = {"", "a", "hello", "user:1000", std::string(300, 'k')};
  if (c.distribution() == Distribution::ketama) {
    if (c.num_vbuckets() != 0) return "ketama with vBuckets";
    for (const auto& k : keys) {
      const int s = c.server_for_key(k);
      if (s < 0 || s >= c.num_servers()) return "ketama key maps outside the server list";
    }
  } else {
    const int n = c.num_vbuckets();
    if (n < 1 || n > kMaxVBuckets || (n & (n - 1)) != 0) return "bad vBucket count";
    if (c.num_replicas() < 0 || c.num_replicas() > kMaxReplicas) return "bad replica count";
    for (int vb = 0; vb < n; ++vb) {
      if (static_cast<int>(c.row(vb).size()) != c.num_replicas() + 1) return "row of wrong width";
      for (int id : c.row(vb))
        if (id < -1 || id >= c.num_servers()) return "server id out of range";
      if (c.has_forward_map())
        for (int id : c.forward_row(vb))
          if (id < -1 || id >= c.num_servers()) return "forward server id out of range";
    }
    for (const auto& k : keys) {
      const int vb = c.vbucket_for_key(k);
      if (vb < 0 || vb >= n) return "key maps outside the vBuckets";
      if (c.server_for_key(k) != c.master(vb)) return "server_for_key is not the master";
    }
  }
  if (!compare(c, c).identical) return "a config differs from itself";
  return {};
}

// Feeds `text` to every entry point; records crashes-in-disguise: a failure
// without a message, or a config that breaks an invariant.
void feed_all_parsers(const std::string& label, const std::string& text, Mismatches& m) {
  auto check = [&](const char* parser, const Result<ConfigPtr>& r) {
    if (r.ok()) {
      if (!r.value()) return m.add(label + ": " + parser + " returned a null config");
      if (std::string v = invariant_violation(*r.value()); !v.empty()) m.add(label + ": " + parser + ": " + v);
    } else if (r.error().empty()) {
      m.add(label + ": " + parser + " failed without a message");
    }
  };
  check("parse_config", parse_config(text));
  check("load_config", load_config(text));
  check("parse_server_list", parse_server_list(text));
  auto buckets = parse_buckets(text);
  if (buckets.ok()) {
    for (const NamedConfig& b : buckets.value()) check("parse_buckets", Result<ConfigPtr>::success(b.config));
  } else if (buckets.error().empty()) {
    m.add(label + ": parse_buckets failed without a message");
  }
  auto sections = parse_static_config(text);
  if (sections.ok()) {
    for (const PortConfig& s : sections.value()) check("parse_static_config", Result<ConfigPtr>::success(s.config));
  } else if (sections.error().empty()) {
    m.add(label + ": parse_static_config failed without a message");
  }
}

std::string json_string(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

class PropertyTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(PropertyTest);
  CPPUNIT_TEST(randomMapsRoundTrip);
  CPPUNIT_TEST(randomBytesNeverCrash);
  CPPUNIT_TEST(byteMutationsOfFixturesNeverCrash);
  CPPUNIT_TEST(treeMutationsOfFixturesNeverCrash);
  CPPUNIT_TEST(deepNestingIsAnErrorNotACrash);
  CPPUNIT_TEST_SUITE_END();

 public:
  void randomMapsRoundTrip() {
    std::mt19937 rng(7);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    Mismatches m;
    for (int iteration = 0; iteration < 300; ++iteration) {
      const int servers = pick(1, 12), replicas = pick(0, kMaxReplicas), vbuckets = 1 << pick(0, 10);
      const bool envelope = pick(0, 1) == 1, forward = pick(0, 2) == 0, creds = pick(0, 1) == 1;
      auto random_rows = [&] {
        std::vector<std::vector<int>> rows(static_cast<size_t>(vbuckets));
        for (auto& row : rows)
          for (int i = 0; i <= replicas; ++i) row.push_back(pick(-1, servers - 1));
        return rows;
      };
      auto rows_json = [](const std::vector<std::vector<int>>& rows) {
        std::string out = "[";
        for (size_t v = 0; v < rows.size(); ++v) {
          out += v ? ",[" : "[";
          for (size_t i = 0; i < rows[v].size(); ++i) out += (i ? "," : "") + std::to_string(rows[v][i]);
          out += "]";
        }
        return out + "]";
      };
      const auto rows = random_rows();
      const auto forward_rows = forward ? random_rows() : std::vector<std::vector<int>>{};
      std::string map = "{\"hashAlgorithm\":\"CRC\",\"numReplicas\":" + std::to_string(replicas) + ",\"serverList\":[";
      for (int s = 0; s < servers; ++s)
        map += (s ? "," : "") + json_string("host" + std::to_string(s) + ".example:" + std::to_string(11210 + s));
      map += "],\"vBucketMap\":" + rows_json(rows);
      if (forward) map += ",\"vBucketMapForward\":" + rows_json(forward_rows);
      map += "}";
      const std::string user = "user" + std::to_string(iteration), password = iteration % 3 ? "pw" : "";
      std::string json =
          envelope ? "{\"nodeLocator\":\"vbucket\",\"vBucketServerMap\":" + map : map.substr(0, map.size() - 1);
      if (creds) json += ",\"name\":" + json_string(user) + ",\"saslPassword\":" + json_string(password);
      json += "}";

      const std::string w = "round trip #" + std::to_string(iteration);
      auto r = parse_config(json);
      if (!r.ok()) {
        m.add(w + ": does not parse: " + r.error());
        continue;
      }
      const Config& c = *r.value();
      m.expect_equal(w, "num_servers", servers, c.num_servers());
      m.expect_equal(w, "num_replicas", replicas, c.num_replicas());
      m.expect_equal(w, "num_vbuckets", vbuckets, c.num_vbuckets());
      m.expect_equal(w, "server 0", std::string("host0.example:11210"), c.server(0));
      m.expect_equal(w, "user", creds ? std::optional<std::string>(user) : std::nullopt, c.user());
      m.expect_equal(w, "password", creds ? std::optional<std::string>(password) : std::nullopt, c.password());
      m.expect_equal(w, "has forward map", forward, c.has_forward_map());
      for (int vb = 0; vb < vbuckets; ++vb) {
        const auto& expected = rows[static_cast<size_t>(vb)];
        m.expect_equal(w + " vBucket " + std::to_string(vb), "row", expected,
                       std::vector<int>(c.row(vb).begin(), c.row(vb).end()));
        m.expect_equal(w + " vBucket " + std::to_string(vb), "master", expected[0], c.master(vb));
        if (forward)
          m.expect_equal(w + " vBucket " + std::to_string(vb), "forward row", forward_rows[static_cast<size_t>(vb)],
                         std::vector<int>(c.forward_row(vb).begin(), c.forward_row(vb).end()));
      }
      if (m.empty()) {
        auto again = parse_config(json);
        m.expect(w, again.ok() && compare(c, *again.value()).identical, "re-parse is not identical");
      }
    }
    m.report();
  }

  void randomBytesNeverCrash() {
    std::mt19937 rng(11);
    const std::string json_alphabet = "{}[]:,\"-0123456789.eE \n\\tfnrul$HOSTabcdeghijkmpqsvwxyz=;";
    Mismatches m;
    for (int i = 0; i < 3000; ++i) {
      const size_t length = std::uniform_int_distribution<size_t>(0, 400)(rng);
      std::string text(length, '\0');
      const bool json_like = i % 2 == 1;
      for (char& c : text)
        c = json_like ? json_alphabet[std::uniform_int_distribution<size_t>(0, json_alphabet.size() - 1)(rng)]
                      : static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
      if (json_like && i % 4 == 1) text = "{" + text;
      feed_all_parsers("random bytes #" + std::to_string(i), text, m);
    }
    m.report();
  }

  void byteMutationsOfFixturesNeverCrash() {
    std::mt19937 rng(13);
    const std::string specials = "{}[]:,\"-019.e \\$;=";
    Mismatches m;
    for (const std::string& file : fixture_files()) {
      const std::string original = moxi::test::read_file(moxi::test::fixture(file));
      for (int i = 0; i < 40; ++i) {
        std::string text = original;
        const int edits = std::uniform_int_distribution<int>(1, 3)(rng);
        for (int e = 0; e < edits && !text.empty(); ++e) {
          const size_t at = std::uniform_int_distribution<size_t>(0, text.size() - 1)(rng);
          const size_t span = std::min<size_t>(text.size() - at, std::uniform_int_distribution<size_t>(1, 16)(rng));
          switch (std::uniform_int_distribution<int>(0, 4)(rng)) {
            case 0:
              text[at] = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
              break;
            case 1:
              text.insert(at, 1, specials[std::uniform_int_distribution<size_t>(0, specials.size() - 1)(rng)]);
              break;
            case 2:
              text.erase(at, span);
              break;
            case 3:
              text.insert(at, text.substr(at, span));
              break;
            default:
              text.resize(at);
              break;
          }
        }
        feed_all_parsers(file + " byte mutation #" + std::to_string(i), text, m);
      }
    }
    m.report();
  }

  void treeMutationsOfFixturesNeverCrash() {
    std::mt19937 rng(17);
    Mismatches m;
    for (const std::string& file : fixture_files()) {
      std::string original = moxi::test::read_file(moxi::test::fixture(file));
      std::string prefix;
      if (looks_like_static_config(original)) {  // mutate the JSON of "PORT = {json}"
        const size_t brace = original.find('{');
        prefix = original.substr(0, brace);
        original = original.substr(brace);
      }
      for (int i = 0; i < 30; ++i) {
        rapidjson::Document doc;
        doc.Parse(original.c_str());
        CPPUNIT_ASSERT_MESSAGE(file, !doc.HasParseError());
        auto& alloc = doc.GetAllocator();
        const int edits = std::uniform_int_distribution<int>(1, 3)(rng);
        for (int e = 0; e < edits; ++e) {
          // Collect every value afresh (an edit may free or move children).
          std::vector<rapidjson::Value*> values;
          std::vector<rapidjson::Value*> stack = {&doc};
          while (!stack.empty()) {
            rapidjson::Value* v = stack.back();
            stack.pop_back();
            values.push_back(v);
            if (v->IsObject())
              for (auto it = v->MemberBegin(); it != v->MemberEnd(); ++it) stack.push_back(&it->value);
            if (v->IsArray())
              for (auto& child : v->GetArray()) stack.push_back(&child);
          }
          // Skip the root (index 0) so the document keeps its shape.
          if (values.size() < 2) break;
          rapidjson::Value* target = values[std::uniform_int_distribution<size_t>(1, values.size() - 1)(rng)];
          switch (std::uniform_int_distribution<int>(0, 9)(rng)) {
            case 0:
              target->SetNull();
              break;
            case 1:
              target->SetBool(true);
              break;
            case 2:
              target->SetInt(std::uniform_int_distribution<int>(-3, 5)(rng));
              break;
            case 3:
              target->SetInt(65536);
              break;
            case 4:
              target->SetDouble(1.5);
              break;
            case 5:
              target->SetString("$HOST:x", alloc);
              break;
            case 6:
              target->SetString("ketama", alloc);
              break;
            case 7:
              target->SetArray();
              break;
            case 8:
              target->SetObject();
              break;
            default:
              if (target->IsArray() && !target->Empty())
                target->PopBack();
              else if (target->IsObject() && target->MemberCount() > 0)
                target->RemoveMember(target->MemberBegin());
              else
                target->SetInt(-1);
              break;
          }
        }
        rapidjson::StringBuffer out;
        rapidjson::Writer<rapidjson::StringBuffer> writer(out);
        doc.Accept(writer);
        feed_all_parsers(file + " tree mutation #" + std::to_string(i), prefix + out.GetString(), m);
      }
    }
    m.report();
  }

  void deepNestingIsAnErrorNotACrash() {
    for (const std::string& text : {std::string(200000, '['), std::string(200000, '{'), [] {
                                      std::string s;
                                      for (int i = 0; i < 100000; ++i) s += "{\"a\":";
                                      return s;
                                    }()}) {
      auto r = parse_config(text);
      CPPUNIT_ASSERT(!r.ok());
      CPPUNIT_ASSERT(r.error().find("not JSON") == 0);
      CPPUNIT_ASSERT(!load_config(text).ok());
    }
    // Deep but valid JSON in an ignored field parses fine.
    std::string deep = R"({"numReplicas":0,"serverList":["a:1"],"vBucketMap":[[0]],"junk":)" + std::string(50000, '[') +
                       std::string(50000, ']') + "}";
    CPPUNIT_ASSERT(parse_config(deep).ok());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PropertyTest);

}  // namespace moxi::vbucket::test
