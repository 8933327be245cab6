// Reads the reference vector tables (t/fixtures/*.tsv): a header row, then
// tab-separated rows without quoting. Used only by tests.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace moxi::test {

struct TsvRow {
  std::map<std::string, std::string> cells;
  int line = 0;  // 1-based line number in the file, for failure messages
  const std::string& operator[](const std::string& column) const;
};

// Loads every data row of a TSV file; throws std::runtime_error naming the
// file and line if it cannot be read or a row has the wrong column count.
std::vector<TsvRow> read_tsv(const std::string& path);

// Absolute path of a file under t/fixtures/ in the source tree.
std::string fixture(const std::string& relative);

// Whole contents of a file; throws std::runtime_error if unreadable.
std::string read_file(const std::string& path);

// Splits on a separator; an empty input gives an empty vector.
std::vector<std::string> split(const std::string& text, char sep);

}  // namespace moxi::test
