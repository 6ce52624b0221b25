// PostgreSQL's binary COPY format, for the bulk paths: import (COPY FROM STDIN) and the scans
// that read every row (COPY TO STDOUT). Integers are big-endian; a timestamptz is microseconds
// since 2000-01-01 00:00:00 UTC; text is its UTF-8 bytes.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace followup::store::pg {

// Unix seconds of PostgreSQL's epoch, 2000-01-01 00:00:00 UTC.
inline constexpr int64_t kPostgresEpoch = 946684800;

// The rows of a binary COPY, appended to one buffer: Header once, then per row Row(n) and n
// fields, then Trailer.
class BinaryCopyWriter {
 public:
  void Header() {
    static constexpr char kSignature[] = "PGCOPY\n\377\r\n";
    buffer_.append(kSignature, 11);
    Int32(0);  // flags
    Int32(0);  // header extension length
  }
  void Row(int16_t fields) { Int16(fields); }
  void Trailer() { Int16(-1); }

  void Null() { Int32(-1); }
  void Int8(int64_t v) {
    Int32(8);
    Int64(v);
  }
  void Int8(const std::optional<int64_t>& v) { v ? Int8(*v) : Null(); }
  void Text(std::string_view v) {
    Int32(static_cast<int32_t>(v.size()));
    buffer_.append(v);
  }
  void Text(const std::optional<std::string>& v) { v ? Text(std::string_view(*v)) : Null(); }
  // A timestamptz from Unix seconds.
  void Time(int64_t unix_seconds) {
    Int32(8);
    Int64((unix_seconds - kPostgresEpoch) * 1000000);
  }
  void Time(const std::optional<int64_t>& v) { v ? Time(*v) : Null(); }

  const std::string& data() const { return buffer_; }
  void clear() { buffer_.clear(); }

 private:
  void Int16(int16_t v) {
    auto u = static_cast<uint16_t>(v);
    char b[2] = {static_cast<char>(u >> 8), static_cast<char>(u)};
    buffer_.append(b, 2);
  }
  void Int32(int32_t v) {
    auto u = static_cast<uint32_t>(v);
    char b[4] = {static_cast<char>(u >> 24), static_cast<char>(u >> 16), static_cast<char>(u >> 8),
                 static_cast<char>(u)};
    buffer_.append(b, 4);
  }
  void Int64(int64_t v) {
    auto u = static_cast<uint64_t>(v);
    char b[8];
    for (int i = 7; i >= 0; --i, u >>= 8) b[i] = static_cast<char>(u);
    buffer_.append(b, 8);
  }

  std::string buffer_;
};

// One data row of a binary COPY TO STDOUT, as PQgetCopyData hands it over (the first one is
// preceded by the file header, the last message is the trailer). Fields are read in order.
class BinaryCopyRow {
 public:
  // False for the trailer (or a malformed row): no fields.
  bool Start(std::string_view message) {
    p_ = message.data();
    end_ = p_ + message.size();
    if (!header_seen_) {
      // Signature (11), flags (4), extension length (4) and the extension.
      if (end_ - p_ < 19 || std::memcmp(p_, "PGCOPY\n\377\r\n", 11) != 0) return false;
      uint32_t extension = U32(p_ + 15);
      p_ += 19 + extension;
      header_seen_ = true;
    }
    if (end_ - p_ < 2) return false;
    int16_t fields = static_cast<int16_t>(static_cast<uint16_t>(U8(p_) << 8 | U8(p_ + 1)));
    p_ += 2;
    return fields >= 0;
  }

  // The next field's bytes; nullopt when NULL.
  std::optional<std::string_view> Next() {
    if (end_ - p_ < 4) return std::nullopt;
    auto length = static_cast<int32_t>(U32(p_));
    p_ += 4;
    if (length < 0 || end_ - p_ < length) return std::nullopt;
    std::string_view field(p_, static_cast<size_t>(length));
    p_ += length;
    return field;
  }
  std::optional<int64_t> OptInt8() {
    auto f = Next();
    if (!f || f->size() != 8) return std::nullopt;
    return static_cast<int64_t>(U64(f->data()));
  }
  int64_t Int8() { return OptInt8().value_or(0); }
  // A timestamptz as Unix seconds (towards the past).
  std::optional<int64_t> OptTime() {
    auto us = OptInt8();
    if (!us) return std::nullopt;
    int64_t s = *us / 1000000;
    if (*us % 1000000 < 0) --s;
    return s + kPostgresEpoch;
  }
  int64_t Time() { return OptTime().value_or(0); }
  std::optional<std::string_view> OptText() { return Next(); }
  std::string_view Text() { return Next().value_or(std::string_view()); }

 private:
  static uint32_t U8(const char* p) { return static_cast<unsigned char>(*p); }
  static uint32_t U32(const char* p) {
    return U8(p) << 24 | U8(p + 1) << 16 | U8(p + 2) << 8 | U8(p + 3);
  }
  static uint64_t U64(const char* p) { return static_cast<uint64_t>(U32(p)) << 32 | U32(p + 4); }

  const char* p_ = nullptr;
  const char* end_ = nullptr;
  bool header_seen_ = false;
};

}  // namespace followup::store::pg
