#include "store/csv.h"

namespace followup::store {

CsvReader::CsvReader(std::FILE* file, size_t max_field_bytes, size_t max_line_bytes)
    : file_(file), max_field_(max_field_bytes), max_line_(max_line_bytes), buffer_(1 << 20) {}

int CsvReader::Get() {
  if (pos_ == end_) {
    end_ = std::fread(buffer_.data(), 1, buffer_.size(), file_);
    pos_ = 0;
    if (end_ == 0) {
      if (std::ferror(file_)) read_error_ = true;
      return EOF;
    }
  }
  ++bytes_read_;
  return static_cast<unsigned char>(buffer_[pos_++]);
}

int CsvReader::Peek() {
  int c = Get();
  if (c != EOF) {
    --pos_;
    --bytes_read_;
  }
  return c;
}

Result<bool> CsvReader::Next(CsvRecord& record) {
  bool broken_bom = false;
  if (!started_) {
    started_ = true;
    if (Peek() == 0xEF) {  // UTF-8 byte order mark
      Get();
      broken_bom = Get() != 0xBB || Get() != 0xBF;
    }
  }
  // Skip blank lines. A line ends in LF, CR LF, or a lone CR.
  for (;;) {
    int c = Peek();
    if (c == '\r') {
      Get();
      if (Peek() == '\n') Get();
      ++line_;
      continue;
    }
    if (c == '\n') {
      Get();
      ++line_;
      continue;
    }
    break;
  }
  if (Peek() == EOF) {
    if (read_error_) return RuntimeFailure("read error");
    return false;
  }
  record.line = line_;
  record.fields.clear();
  record.error.clear();
  if (broken_bom) record.error = "the file starts with a broken byte order mark";
  std::string field;
  size_t line_bytes = 0;
  auto note = [&](const std::string& why) {
    if (record.error.empty()) record.error = why;
  };
  auto push = [&](int c) {
    if (field.size() < max_field_) {
      field.push_back(static_cast<char>(c));
    } else {
      note("a field is longer than " + std::to_string(max_field_) + " bytes");
    }
  };
  auto count_line = [&](int c) {
    if (c == '\n') {
      ++line_;
      line_bytes = 0;
    } else if (++line_bytes > max_line_) {
      note("a line is longer than " + std::to_string(max_line_) + " bytes");
    }
  };
  for (;;) {  // one field per iteration
    field.clear();
    int c = Get();
    if (c == '"') {
      count_line(c);
      for (;;) {
        c = Get();
        if (c == EOF) {
          note("a quoted field is never closed (it starts on line " + std::to_string(record.line) +
               ")");
          break;
        }
        count_line(c);
        if (c == '"') {
          if (Peek() == '"') {
            count_line(Get());
            push('"');
            continue;
          }
          break;
        }
        push(c);
      }
      c = Get();
      if (c != ',' && c != '\n' && c != '\r' && c != EOF) {
        note("text after a closing quote");
        while (c != ',' && c != '\n' && c != EOF) {
          count_line(c);
          c = Get();
        }
      }
    } else {
      while (c != ',' && c != '\n' && c != '\r' && c != EOF) {
        count_line(c);
        if (c == '"') note("a quote inside an unquoted field (quote the whole field)");
        push(c);
        c = Get();
      }
    }
    record.fields.push_back(field);
    if (c == '\r') {
      if (Peek() == '\n') c = Get();
    }
    if (c == '\n' || c == '\r') {
      ++line_;
      break;
    }
    if (c == EOF) break;
    count_line(c);  // the comma
  }
  if (read_error_) return RuntimeFailure("read error");
  return true;
}

}  // namespace followup::store
