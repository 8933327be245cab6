#include "t/support/tsv.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#ifndef MOXI_SRCDIR
#error "MOXI_SRCDIR must name the source tree"
#endif

namespace moxi::test {

const std::string& TsvRow::operator[](const std::string& column) const {
  auto it = cells.find(column);
  if (it == cells.end()) throw std::runtime_error("no column '" + column + "' at line " + std::to_string(line));
  return it->second;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::string::size_type start = 0;
  for (;;) {
    auto pos = text.find(sep, start);
    out.push_back(text.substr(start, pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

std::vector<TsvRow> read_tsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(path + ": empty file");
  std::vector<std::string> header = split(line, '\t');
  std::vector<TsvRow> rows;
  int lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    std::vector<std::string> fields = split(line, '\t');
    // A trailing empty column is dropped by some writers; pad it back.
    while (fields.size() < header.size()) fields.emplace_back();
    if (fields.size() != header.size())
      throw std::runtime_error(path + ":" + std::to_string(lineno) + ": expected " + std::to_string(header.size()) +
                               " columns, got " + std::to_string(fields.size()));
    TsvRow row;
    row.line = lineno;
    for (size_t i = 0; i < header.size(); ++i) row.cells[header[i]] = fields[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string fixture(const std::string& relative) { return std::string(MOXI_SRCDIR) + "/t/fixtures/" + relative; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace moxi::test
