// Output shared by the commands: tables whose columns fit their contents, and JSON values that
// are null when absent, with snake_case keys.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace followup::cli {

// A table for people: every column as wide as its widest cell (the header included), numbers
// right-aligned, the last column unpadded. Rows are held until `kSizingRows` have come (enough to
// size the columns), then the table is printed and later rows follow as they come, so a long send
// log is never held whole; a later cell wider than its column widens only its own line.
class Table {
 public:
  struct Column {
    std::string header;
    bool right = false;  // numbers
  };
  static constexpr size_t kSizingRows = 1000;

  explicit Table(std::vector<Column> columns, std::string indent = "", FILE* out = stdout);
  ~Table() { Finish(); }
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  void Add(std::vector<std::string> cells);
  // Prints what is held (the header at least); later rows print at once.
  void Finish();

 private:
  void Print(const std::vector<std::string>& cells) const;

  std::vector<Column> columns_;
  std::string indent_;
  FILE* out_;
  std::vector<size_t> widths_;
  std::vector<std::vector<std::string>> held_;
  bool sized_ = false;
};

// The width of UTF-8 text on a terminal, one column per code point.
size_t TextWidth(std::string_view text);

// "" is absent: null in JSON.
inline nlohmann::ordered_json TextOrNull(const std::string& text) {
  if (text.empty()) return nullptr;
  return text;
}

// A name as a JSON key: lower case, words joined by '_' ("out of audience" -> "out_of_audience").
std::string JsonKey(std::string_view name);

}  // namespace followup::cli
