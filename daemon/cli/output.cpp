#include "cli/output.h"

#include <algorithm>

#include "base/ascii.h"

namespace followup::cli {

size_t TextWidth(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string JsonKey(std::string_view name) {
  std::string key;
  for (char c : name) {
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (word)
      key += AsciiLower(c);
    else if (!key.empty() && key.back() != '_')
      key += '_';
  }
  while (!key.empty() && key.back() == '_') key.pop_back();
  return key;
}

Table::Table(std::vector<Column> columns, std::string indent, FILE* out)
    : columns_(std::move(columns)), indent_(std::move(indent)), out_(out) {
  for (const auto& c : columns_) widths_.push_back(TextWidth(c.header));
}

void Table::Add(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  if (sized_) return Print(cells);
  for (size_t i = 0; i < cells.size(); ++i) widths_[i] = std::max(widths_[i], TextWidth(cells[i]));
  held_.push_back(std::move(cells));
  if (held_.size() >= kSizingRows) Finish();
}

void Table::Finish() {
  if (sized_) return;
  sized_ = true;
  std::vector<std::string> header;
  for (const auto& c : columns_) header.push_back(c.header);
  Print(header);
  for (const auto& row : held_) Print(row);
  held_.clear();
  held_.shrink_to_fit();
}

void Table::Print(const std::vector<std::string>& cells) const {
  // The last column unpadded (left-aligned), so lines carry no trailing blanks.
  size_t last = cells.size();
  while (last > 0 && cells[last - 1].empty() && !columns_[last - 1].right) --last;
  std::string line = indent_;
  for (size_t i = 0; i < last; ++i) {
    size_t pad = widths_[i] > TextWidth(cells[i]) ? widths_[i] - TextWidth(cells[i]) : 0;
    if (i > 0) line += "  ";
    if (columns_[i].right) line.append(pad, ' ');
    line += cells[i];
    if (!columns_[i].right && i + 1 < last) line.append(pad, ' ');
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), out_);
}

}  // namespace followup::cli
