// A streaming RFC 4180 CSV reader with the line number of every record and bounded sizes.
//
// Written here rather than taken from Debian's libcsv: followup must report every bad row as
// FILE:LINE and keep going, bound field and line sizes, and know where a multi-line quoted record
// began; libcsv's callbacks report neither lines nor the start of a record.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"

namespace followup::store {

struct CsvRecord {
  int line = 0;                     // 1-based line the record starts on
  std::vector<std::string> fields;  // unquoted
  std::string error;                // non-empty when the record is malformed (it is still consumed)
};

class CsvReader {
 public:
  // `file` is borrowed and must outlive the reader. Fields longer than `max_field_bytes` and
  // physical lines longer than `max_line_bytes` make the record malformed.
  CsvReader(std::FILE* file, size_t max_field_bytes, size_t max_line_bytes);

  // Reads the next record into `record`. Returns false at end of input; kRuntime on a read error.
  // Blank lines are skipped. A UTF-8 byte order mark at the start is skipped.
  Result<bool> Next(CsvRecord& record);

  // Bytes consumed so far, for progress.
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  int Get();  // next byte or EOF
  int Peek();

  std::FILE* file_;
  size_t max_field_;
  size_t max_line_;
  std::vector<char> buffer_;
  size_t pos_ = 0;
  size_t end_ = 0;
  uint64_t bytes_read_ = 0;
  int line_ = 1;
  bool started_ = false;
  bool read_error_ = false;
};

}  // namespace followup::store
