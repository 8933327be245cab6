// The help text and man/moxi.1 agree with the parser's tables: every option
// and behavior key is in both, the man page documents no key or option the
// parser does not know, and "[planned]" marks match.
#include <cppunit/extensions/HelperMacros.h>

#include <set>
#include <sstream>

#include "src/protocol/client_codec.h"
#include "t/options/helpers.h"
#include "t/support/tsv.h"

#ifndef MOXI_SRCDIR
#error "MOXI_SRCDIR must name the source tree"
#endif

namespace moxi::test {
namespace {

std::string man_page() { return read_file(std::string(MOXI_SRCDIR) + "/man/moxi.1"); }

// How roff writes an option: every '-' as "\-".
std::string roff(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '-') out += "\\-";
    else out += c;
  }
  return out;
}

// The lines of one ".SH NAME" section.
std::vector<std::string> section(const std::string& page, const std::string& name) {
  std::vector<std::string> out;
  std::istringstream in(page);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.starts_with(".SH ")) {
      std::string title = line.substr(4);
      if (title.size() >= 2 && title.front() == '"') title = title.substr(1, title.size() - 2);
      inside = title == name;
      continue;
    }
    if (inside) out.push_back(line);
  }
  return out;
}

// The tags of the ".TP" entries of a section: the words of the line after
// ".TP", with font macros, quotes and roff escapes removed, e.g.
// ".BR \-h ", " \-\-help" -> {"-h", "--help"}.
std::vector<std::vector<std::string>> tags(const std::vector<std::string>& lines) {
  std::vector<std::vector<std::string>> out;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    if (lines[i] != ".TP") continue;
    std::string tag = lines[i + 1];
    std::string clean;
    for (size_t j = 0; j < tag.size(); ++j) {
      if (tag[j] == '\\' && j + 1 < tag.size()) {
        if (tag[j + 1] == '-') clean += '-';
        if (tag[j + 1] == 'f') ++j;  // \fB, \fI, \fR, \fP: skip the font letter too
        ++j;
        continue;
      }
      if (tag[j] == '"' || tag[j] == ',') {
        clean += ' ';
        continue;
      }
      clean += tag[j];
    }
    std::istringstream words(clean);
    std::vector<std::string> ws;
    std::string w;
    words >> w;  // the macro (.B, .BR, .BI, ...)
    while (words >> w) ws.push_back(w);
    out.push_back(ws);
  }
  return out;
}

class DocsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DocsTest);
  CPPUNIT_TEST(help_names_every_option);
  CPPUNIT_TEST(help_names_every_behavior);
  CPPUNIT_TEST(help_marks_planned_items);
  CPPUNIT_TEST(man_page_names_every_option);
  CPPUNIT_TEST(man_page_names_every_behavior);
  CPPUNIT_TEST(man_page_commands_are_the_table);
  CPPUNIT_TEST(man_page_options_are_known);
  CPPUNIT_TEST(man_page_behaviors_are_known);
  CPPUNIT_TEST(man_page_marks_planned_items);
  CPPUNIT_TEST(man_page_has_the_sections);
  CPPUNIT_TEST_SUITE_END();

 public:
  void help_names_every_option() {
    std::string help = help_text();
    for (const auto& o : option_table()) {
      if (!o.name.empty()) CPPUNIT_ASSERT_MESSAGE(std::string(o.name), help.find(o.name) != std::string::npos);
      if (!o.long_name.empty())
        CPPUNIT_ASSERT_MESSAGE(std::string(o.long_name), help.find(o.long_name) != std::string::npos);
    }
    CPPUNIT_ASSERT(help.find("MOXI_SASL_PLAIN_USR") != std::string::npos);
    CPPUNIT_ASSERT(help.find("MOXI_SASL_PLAIN_PWD") != std::string::npos);
    CPPUNIT_ASSERT(help.ends_with("\n"));
    // Lines fit an 80-column terminal.
    std::istringstream in(help);
    std::string line;
    while (std::getline(in, line)) CPPUNIT_ASSERT_MESSAGE(line, line.size() <= 79);
  }

  void help_names_every_behavior() {
    std::string help = help_text();
    for (const auto& k : behavior_keys())
      CPPUNIT_ASSERT_MESSAGE(std::string(k.name), help.find(std::string(k.name)) != std::string::npos);
  }

  void help_marks_planned_items() {
    std::istringstream in(help_text());
    std::string line;
    std::set<std::string> planned_lines;
    while (std::getline(in, line))
      if (line.find("[planned]") != std::string::npos) planned_lines.insert(line);
    for (const auto& k : behavior_keys()) {
      if (!k.synonym_of.empty() || k.support == Support::Ignored) continue;
      bool marked = false;
      for (const auto& l : planned_lines)
        if (l.starts_with("  " + std::string(k.name) + "=")) marked = true;
      CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(k.name), k.support == Support::Planned, marked);
    }
  }

  void man_page_names_every_option() {
    std::string page = man_page();
    for (const auto& o : option_table()) {
      for (std::string_view n : {o.name, o.long_name}) {
        if (n.empty()) continue;
        CPPUNIT_ASSERT_MESSAGE(std::string(n), page.find(roff(n)) != std::string::npos);
      }
    }
  }

  void man_page_names_every_behavior() {
    std::string page = man_page();
    for (const auto& k : behavior_keys())
      CPPUNIT_ASSERT_MESSAGE(std::string(k.name), page.find(std::string(k.name)) != std::string::npos);
  }

  // COMMANDS lists exactly the decoder's command table, in its order.
  void man_page_commands_are_the_table() {
    std::vector<std::string> documented;
    for (const auto& t : tags(section(man_page(), "COMMANDS"))) documented.push_back(t.at(0));
    std::vector<std::string> table;
    for (const auto& c : protocol::ascii_commands()) table.push_back(std::string(c.name));
    CPPUNIT_ASSERT_EQUAL(table.size(), documented.size());
    for (size_t i = 0; i < table.size(); ++i) CPPUNIT_ASSERT_EQUAL(table[i], documented[i]);
  }

  // Every ".TP" entry of OPTIONS is an option of the table.
  void man_page_options_are_known() {
    std::set<std::string> known;
    for (const auto& o : option_table()) {
      known.insert(std::string(o.name));
      known.insert(std::string(o.long_name));
    }
    known.insert("-vv");
    known.insert("-vvv");
    size_t entries = 0;
    for (const auto& words : tags(section(man_page(), "OPTIONS"))) {
      for (const auto& w : words) {
        if (!w.starts_with("-")) continue;  // argument names such as NUM
        ++entries;
        CPPUNIT_ASSERT_MESSAGE("man page documents unknown option " + w, known.count(w) == 1);
      }
    }
    CPPUNIT_ASSERT(entries >= option_table().size());
  }

  // Every ".TP" entry of BEHAVIORS is KEY=VALUE with a known KEY, and every
  // primary key and synonym has an entry.
  void man_page_behaviors_are_known() {
    std::set<std::string> known;
    for (const auto& k : behavior_keys()) known.insert(std::string(k.name));
    std::set<std::string> documented;
    for (const auto& words : tags(section(man_page(), "BEHAVIORS"))) {
      CPPUNIT_ASSERT(!words.empty());
      for (const auto& w : words) {
        std::string key = w.substr(0, w.find('='));
        if (w.find('=') == std::string::npos) continue;  // a value placeholder
        CPPUNIT_ASSERT_MESSAGE("man page documents unknown behavior " + key, known.count(key) == 1);
        documented.insert(key);
      }
    }
    for (const auto& k : behavior_keys()) {
      if (k.support == Support::Ignored) continue;  // listed together, not one entry each
      CPPUNIT_ASSERT_MESSAGE("no BEHAVIORS entry for " + std::string(k.name), documented.count(std::string(k.name)));
    }
  }

  // An entry is marked "[planned]" in the man page exactly when the table says so.
  void man_page_marks_planned_items() {
    auto check = [](const std::string& section_name, auto&& name_of_tag, auto&& is_planned) {
      std::vector<std::string> lines = section(man_page(), section_name);
      std::vector<std::vector<std::string>> all = tags(lines);
      size_t k = 0;
      for (size_t i = 0; i + 1 < lines.size(); ++i) {
        if (lines[i] != ".TP") continue;
        const auto& words = all[k++];
        // The entry's text: the lines up to the next .TP or section macro.
        std::string text;
        for (size_t j = i + 2; j < lines.size() && lines[j] != ".TP" && !lines[j].starts_with(".SS"); ++j)
          text += lines[j] + "\n";
        std::string name = name_of_tag(words);
        if (name.empty()) continue;
        bool marked = text.find("[planned]") != std::string::npos;
        CPPUNIT_ASSERT_EQUAL_MESSAGE(section_name + " " + name, is_planned(name), marked);
      }
    };
    check(
        "OPTIONS",
        [](const std::vector<std::string>& words) {
          for (const auto& w : words)
            if (w.starts_with("-")) return w;
          return std::string();
        },
        [](const std::string& name) {
          for (const auto& o : option_table())
            if (o.name == name || o.long_name == name) return o.support == Support::Planned;
          return false;
        });
    check(
        "BEHAVIORS",
        [](const std::vector<std::string>& words) {
          for (const auto& w : words)
            if (w.find('=') != std::string::npos) return w.substr(0, w.find('='));
          return std::string();
        },
        [](const std::string& name) {
          for (const auto& k : behavior_keys())
            if (k.name == name) return k.support == Support::Planned;
          return false;
        });
  }

  void man_page_has_the_sections() {
    std::string page = man_page();
    for (const char* s : {"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "CONFIGURATION SOURCES", "BEHAVIORS",
                          "ENVIRONMENT", "SIGNALS", "EXIT STATUS", "EXAMPLES", "DIFFERENCES FROM THE ORIGINAL MOXI",
                          "SEE ALSO"}) {
      bool found = page.find(std::string(".SH ") + s + "\n") != std::string::npos ||
                   page.find(std::string(".SH \"") + s + "\"\n") != std::string::npos;
      CPPUNIT_ASSERT_MESSAGE(s, found);
    }
    // The exit statuses of options.h are documented.
    for (int status : {kExitOk, kExitFailure, kExitUsage, kExitDataErr, kExitNoInput})
      CPPUNIT_ASSERT_MESSAGE(std::to_string(status),
                             page.find(".B " + std::to_string(status) + "\n") != std::string::npos);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DocsTest);

}  // namespace
}  // namespace moxi::test
