#include "store/import.h"

#include <utf8.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "base/ascii.h"
#include "base/money.h"
#include "base/printable.h"
#include "base/time.h"
#include "store/csv.h"

namespace followup::store {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxIdBytes = 200;
constexpr size_t kMaxEmailBytes = 254;
// Longer than any time or IANA zone name: such a field is refused before it is parsed (and cited).
constexpr size_t kMaxTimeBytes = 64;
constexpr size_t kMaxZoneBytes = 64;

std::optional<std::string_view> Get(const RawRow& row, std::string_view name) {
  for (size_t i = 0; i < row.names->size(); ++i) {
    if ((*row.names)[i] == name) {
      if (i < row.values.size() && row.values[i]) return std::string_view(*row.values[i]);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

tl::unexpected<Error> Bad(std::string_view column, const std::string& why) {
  return InvalidInput("column '" + std::string(column) + "': " + why);
}

Result<std::string> Id(const RawRow& row, std::string_view column) {
  auto v = Get(row, column);
  if (!v) return Bad(column, "missing");
  if (v->size() > kMaxIdBytes)
    return Bad(column, "longer than " + std::to_string(kMaxIdBytes) + " bytes");
  for (unsigned char c : *v)
    if (c < 0x20 || c == 0x7f) return Bad(column, "contains a control character");
  return std::string(*v);
}

Result<std::optional<Instant>> OptTime(const RawRow& row, std::string_view column,
                                       const ImportOptions& o) {
  auto v = Get(row, column);
  if (!v) return std::optional<Instant>();
  if (v->size() > kMaxTimeBytes) return Bad(column, "bad time " + Quote(*v) + ": too long");
  auto t = ParseInstant(*v, o.zone);
  if (!t) return Bad(column, Printable(t.error().message));
  return std::optional<Instant>(*t);
}

bool PlausibleEmail(std::string_view e) {
  if (e.size() > kMaxEmailBytes) return false;
  auto at = e.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= e.size()) return false;
  if (e.substr(at + 1).find('.') == std::string_view::npos) return false;
  for (unsigned char c : e)
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';') return false;
  return true;
}

bool IsKnown(const std::vector<std::string>& known, std::string_view name) {
  return std::find(known.begin(), known.end(), name) != known.end();
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool ValidUtf8(const std::string& s) { return utf8::find_invalid(s.begin(), s.end()) == s.end(); }

// Checks a header: no empty, repeated or (for transactions) unknown column; required ones present.
Result<void> CheckHeader(const std::vector<std::string>& names, const ImportOptions& o,
                         const std::string& path) {
  const auto& known =
      o.target == ImportTarget::kCustomers ? CustomerColumns() : TransactionColumns();
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    Location where{path, 1, static_cast<int>(i + 1)};
    if (names[i].empty())
      return InvalidInput("column " + std::to_string(i + 1) + " has no name", where);
    if (!ValidUtf8(names[i]))
      return InvalidInput("column " + std::to_string(i + 1) + ": the name " + Quote(names[i]) +
                              " is not UTF-8 (is the file saved in another encoding?)",
                          where);
    if (!seen.insert(names[i]).second)
      return InvalidInput("column " + Quote(names[i]) + " appears twice", where);
    if (o.target == ImportTarget::kTransactions && !IsKnown(known, names[i]))
      return InvalidInput(
          "unknown column " + Quote(names[i]) + " (transactions have: " + Join(known) + ")", where);
  }
  std::vector<std::string> required =
      o.target == ImportTarget::kCustomers
          ? std::vector<std::string>{"id"}
          : std::vector<std::string>{"id", "customer_id", "occurred_at", "amount"};
  for (const auto& r : required)
    if (!seen.count(r)) return InvalidInput("required column '" + r + "' is missing", {path, 1, 0});
  return {};
}

class CsvSource final : public RowReader {
 public:
  CsvSource(std::FILE* f, const ImportOptions& o)
      : reader_(f, o.max_field_bytes, o.max_line_bytes) {}

  Result<void> ReadHeader(const ImportOptions& o, const std::string& path) {
    CsvRecord header;
    auto more = reader_.Next(header);
    if (!more) return tl::unexpected(more.error());
    if (!*more) return InvalidInput("the file is empty: expected a header row", {path, 1, 0});
    if (!header.error.empty())
      return InvalidInput("header: " + header.error, {path, header.line, 0});
    names_ = header.fields;
    for (auto& n : names_) {
      // Column names are matched case-insensitively and without surrounding blanks.
      n.erase(0, n.find_first_not_of(" \t"));
      n.erase(n.find_last_not_of(" \t") + 1);
      n = AsciiLower(n);
    }
    return CheckHeader(names_, o, path);
  }

  Result<bool> Next(RawRow& row, int& line, std::string& error) override {
    auto more = reader_.Next(record_);
    if (!more || !*more) return more;
    line = record_.line;
    error = record_.error;
    row.names = &names_;
    row.values.assign(names_.size(), std::nullopt);
    if (error.empty() && record_.fields.size() != names_.size()) {
      error = "expected " + std::to_string(names_.size()) + " fields as in the header, found " +
              std::to_string(record_.fields.size());
    }
    for (size_t i = 0; error.empty() && i < record_.fields.size(); ++i) {
      auto& f = record_.fields[i];
      if (!ValidUtf8(f)) {
        error = "column " + Quote(names_[i]) + ": bad UTF-8";
        break;
      }
      if (!f.empty()) row.values[i] = std::move(f);
    }
    return true;
  }
  uint64_t bytes_read() const override { return reader_.bytes_read(); }

 private:
  CsvReader reader_;
  CsvRecord record_;
  std::vector<std::string> names_;
};

// One JSON Lines row, read by nlohmann's SAX parser rather than into a document: numbers arrive
// with their exact text (a document would hold them as doubles, which makes distinct ids collide
// and turns 1e400 into an exception), and nothing is built for nested values the row refuses
// anyway.
class RowSax {
 public:
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  struct Field {
    std::string key;
    std::optional<std::string> text;  // nullopt: null or empty
    bool scalar = true;               // false: an object, array or boolean (refused)
  };

  void Reset() {
    fields_.clear();
    depth_ = 0;
    not_an_object_ = false;
    error_.clear();
  }

  bool null() { return Value(std::nullopt, true); }
  bool boolean(bool) { return Value(std::nullopt, false); }
  bool number_integer(number_integer_t v) { return Value(std::to_string(v), true); }
  bool number_unsigned(number_unsigned_t v) { return Value(std::to_string(v), true); }
  bool number_float(number_float_t, const string_t& text) { return Value(text, true); }
  bool string(string_t& v) { return Value(std::move(v), true); }
  bool binary(binary_t&) { return Value(std::nullopt, false); }
  bool start_object(std::size_t) {
    if (depth_ > 0) Value(std::nullopt, false);
    ++depth_;
    return true;
  }
  bool start_array(std::size_t) {
    Value(std::nullopt, false);
    ++depth_;
    return true;
  }
  bool end_object() {
    --depth_;
    return true;
  }
  bool end_array() {
    --depth_;
    return true;
  }
  bool key(string_t& k) {
    if (depth_ == 1) key_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t position, const std::string& token,
                   const nlohmann::detail::exception& e) {
    if (e.id == 406) {  // a number past a double's range
      error_ = "field " + Quote(key_) + ": the number " + Quote(token) + " is out of range";
    } else {
      error_ = "not valid JSON at byte " + std::to_string(position);
    }
    return false;
  }

  const std::vector<Field>& fields() const { return fields_; }
  bool not_an_object() const { return not_an_object_; }
  const std::string& error() const { return error_; }

 private:
  // A value at the current depth: a field of the row's object at depth 1, ignored deeper, a row
  // that is no object at depth 0. A repeated key keeps its last value, as a JSON document would.
  bool Value(std::optional<std::string> text, bool scalar) {
    if (depth_ == 0) {
      not_an_object_ = true;
    } else if (depth_ == 1) {
      if (text && text->empty()) text.reset();
      auto same = std::find_if(fields_.begin(), fields_.end(),
                               [&](const Field& f) { return f.key == key_; });
      if (same != fields_.end())
        *same = Field{key_, std::move(text), scalar};
      else
        fields_.push_back(Field{key_, std::move(text), scalar});
    }
    return true;
  }

  std::vector<Field> fields_;
  std::string key_;
  int depth_ = 0;
  bool not_an_object_ = false;
  std::string error_;
};

class JsonLinesSource final : public RowReader {
 public:
  JsonLinesSource(std::FILE* f, const ImportOptions& o) : file_(f), options_(o) {}

  Result<bool> Next(RawRow& row, int& line, std::string& error) override {
    for (;;) {
      if (!ReadLine()) {
        if (std::ferror(file_)) return RuntimeFailure("read error");
        return false;
      }
      ++line_;
      if (text_.find_first_not_of(" \t\r") != std::string::npos) break;
    }
    line = line_;
    error.clear();
    names_.clear();
    row.names = &names_;
    row.values.clear();
    if (too_long_) {
      error = "the line is longer than " + std::to_string(options_.max_line_bytes) + " bytes";
      return true;
    }
    if (!ValidUtf8(text_)) {
      error = "bad UTF-8";
      return true;
    }
    sax_.Reset();
    bool parsed = false;
    try {
      parsed = Json::sax_parse(text_, &sax_);
    } catch (const Json::exception& e) {  // the SAX interface reports errors; this is a backstop
      error = std::string("not valid JSON: ") + e.what();
      return true;
    }
    if (!parsed) {
      error = sax_.error().empty() ? "not valid JSON" : sax_.error();
      return true;
    }
    if (sax_.not_an_object()) {
      error = "expected one JSON object per line";
      return true;
    }
    const auto& known =
        options_.target == ImportTarget::kCustomers ? CustomerColumns() : TransactionColumns();
    for (const auto& field : sax_.fields()) {
      if (options_.target == ImportTarget::kTransactions && !IsKnown(known, field.key)) {
        error = "unknown field " + Quote(field.key) + " (transactions have: " + Join(known) + ")";
        return true;
      }
      if (!field.scalar) {
        error = "field " + Quote(field.key) + " must be a string or a number";
        return true;
      }
      if (field.text && field.text->size() > options_.max_field_bytes) {
        error = "field " + Quote(field.key) + " is longer than " +
                std::to_string(options_.max_field_bytes) + " bytes";
        return true;
      }
      names_.push_back(field.key);
      row.values.push_back(field.text);
    }
    return true;
  }
  uint64_t bytes_read() const override { return bytes_; }

 private:
  bool ReadLine() {
    text_.clear();
    too_long_ = false;
    int c;
    bool any = false;
    while ((c = std::fgetc(file_)) != EOF) {
      any = true;
      ++bytes_;
      if (c == '\n') break;
      if (text_.size() < options_.max_line_bytes)
        text_.push_back(static_cast<char>(c));
      else
        too_long_ = true;
    }
    return any;
  }

  std::FILE* file_;
  const ImportOptions& options_;
  std::string text_;
  RowSax sax_;
  std::vector<std::string> names_;
  uint64_t bytes_ = 0;
  int line_ = 0;
  bool too_long_ = false;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

bool LooksLikeJsonLines(const std::string& path, std::FILE* f) {
  auto ext = std::filesystem::path(path).extension().string();
  if (ext == ".jsonl" || ext == ".ndjson") return true;
  if (ext == ".csv") return false;
  int c;
  while ((c = std::fgetc(f)) != EOF && (c == ' ' || c == '\n' || c == '\r' || c == '\t')) {
  }
  std::rewind(f);
  return c == '{';
}

}  // namespace

Result<std::unique_ptr<RowReader>> RowReader::Open(std::FILE* file, const std::string& path,
                                                   const ImportOptions& options) {
  if (LooksLikeJsonLines(path, file)) return std::make_unique<JsonLinesSource>(file, options);
  auto csv = std::make_unique<CsvSource>(file, options);
  if (auto r = csv->ReadHeader(options, path); !r) return tl::unexpected(r.error());
  return csv;
}

const std::vector<std::string>& CustomerColumns() {
  static const std::vector<std::string> k = {
      "id", "email", "name", "created_at", "referred_by", "timezone", "unsubscribed_at"};
  return k;
}

const std::vector<std::string>& TransactionColumns() {
  static const std::vector<std::string> k = {"id",     "customer_id", "occurred_at", "kind",
                                             "amount", "cost",        "currency",    "offer_code"};
  return k;
}

Result<CustomerRecord> ParseCustomerRow(const RawRow& row, const ImportOptions& o) {
  CustomerRecord c;
  auto id = Id(row, "id");
  if (!id) return tl::unexpected(id.error());
  c.external_id = std::move(*id);
  if (auto e = Get(row, "email")) {
    if (!PlausibleEmail(*e)) return Bad("email", Quote(*e) + " is not an email address");
    c.email = std::string(*e);
  }
  if (auto n = Get(row, "name")) {
    for (unsigned char ch : *n)
      if (ch < 0x20 && ch != '\t') return Bad("name", "contains a control character");
    c.name = std::string(*n);
  }
  auto created = OptTime(row, "created_at", o);
  if (!created) return tl::unexpected(created.error());
  c.created_at = *created;
  if (Get(row, "referred_by")) {
    auto ref = Id(row, "referred_by");
    if (!ref) return tl::unexpected(ref.error());
    if (*ref == c.external_id) return Bad("referred_by", "a customer cannot refer themselves");
    c.referred_by = std::move(*ref);
  }
  if (auto tz = Get(row, "timezone")) {
    if (tz->size() > kMaxZoneBytes)
      return Bad("timezone", "unknown time zone " + Quote(*tz) + ": too long");
    auto zone = LookupZone(*tz);
    if (!zone) return Bad("timezone", Printable(zone.error().message));
    c.timezone = std::string(*tz);
  }
  auto unsub = OptTime(row, "unsubscribed_at", o);
  if (!unsub) return tl::unexpected(unsub.error());
  c.unsubscribed_at = *unsub;
  Json attributes = Json::object();
  for (size_t i = 0; i < row.names->size(); ++i) {
    const auto& name = (*row.names)[i];
    if (IsKnown(CustomerColumns(), name) || i >= row.values.size() || !row.values[i]) continue;
    attributes[name] = *row.values[i];
  }
  c.attributes_json = attributes.dump();
  return c;
}

Result<TransactionRecord> ParseTransactionRow(const RawRow& row, const ImportOptions& o) {
  TransactionRecord t;
  auto id = Id(row, "id");
  if (!id) return tl::unexpected(id.error());
  t.external_id = std::move(*id);
  auto customer = Id(row, "customer_id");
  if (!customer) return tl::unexpected(customer.error());
  t.customer_external_id = std::move(*customer);
  auto when = OptTime(row, "occurred_at", o);
  if (!when) return tl::unexpected(when.error());
  if (!*when) return Bad("occurred_at", "missing");
  t.occurred_at = **when;
  if (auto k = Get(row, "kind")) {
    auto kind = ParseKind(*k);
    if (!kind)
      return Bad("kind", "unknown kind " + Quote(*k) + " (expected purchase, return or refund)");
    t.kind = *kind;
  }
  t.currency = std::string(Get(row, "currency").value_or(o.default_currency));
  if (!IsCurrencyCode(t.currency))
    return Bad("currency", Quote(t.currency) + " is not an ISO 4217 code such as EUR or USD");
  int exponent = CurrencyExponent(t.currency);
  auto amount_text = Get(row, "amount");
  if (!amount_text) return Bad("amount", "missing");
  auto amount = ParseAmount(*amount_text, exponent);
  if (!amount) return Bad("amount", amount.error().message);
  t.amount = *amount;
  if (auto cost_text = Get(row, "cost")) {
    auto cost = ParseAmount(*cost_text, exponent);
    if (!cost) return Bad("cost", cost.error().message);
    t.cost = *cost;
  }
  if (auto offer = Get(row, "offer_code")) {
    if (offer->size() > kMaxIdBytes)
      return Bad("offer_code", "longer than " + std::to_string(kMaxIdBytes) + " bytes");
    t.offer_code = std::string(*offer);
  }
  return t;
}

Result<ImportSummary> Import(Store& store, const std::string& path, const ImportOptions& o,
                             const ImportCallbacks& cb) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) return InvalidInput(std::string("cannot read: ") + std::strerror(errno), {path, 0, 0});
  std::error_code size_error;
  uint64_t total = std::filesystem::file_size(path, size_error);
  if (size_error) total = 0;

  auto opened = RowReader::Open(file.get(), path, o);
  if (!opened) return tl::unexpected(opened.error());
  std::unique_ptr<RowReader> source = std::move(*opened);

  auto batch = store.BeginImport();
  if (!batch) return tl::unexpected(batch.error());
  ImportSummary summary;
  auto problem = [&](int line, const std::string& why) {
    ++summary.rejected;
    // Every message cites its field text through Quote(); Printable() is the backstop that keeps
    // anything else a row carried from reaching the report raw.
    if (cb.on_problem)
      cb.on_problem(Error{ErrorCode::kInvalidInput, Printable(why), {path, line, 0}});
  };
  // Counts one put.
  auto count = [&](int line, const PutResult& put, const std::string& id) {
    switch (put.outcome) {
      case PutOutcome::kInserted:
        ++summary.imported;
        break;
      case PutOutcome::kUnchanged:
        ++summary.unchanged;
        break;
      case PutOutcome::kUpdated:
        ++summary.updated;
        if (cb.on_updated) cb.on_updated(line, "id " + Quote(id) + ": " + put.detail);
        break;
      case PutOutcome::kConflict:
        problem(line, "id " + Quote(id) + " is already in the store with different " + put.detail);
        break;
      case PutOutcome::kUnknownCustomer:
        problem(line, "column 'customer_id': unknown customer " + Quote(put.detail));
        break;
      case PutOutcome::kUnknownReferrer:
        problem(line, "column 'referred_by': unknown customer " + Quote(put.detail));
        break;
    }
  };

  // Customers whose referrer was not (yet) known: retried once all rows are in, since a referrer
  // may come later in the same file.
  struct Deferred {
    int line;
    CustomerRecord record;
  };
  std::vector<Deferred> deferred;

  // Transactions go to the store in chunks; problems are reported in line order all the same.
  struct Pending {
    int line;
    std::optional<size_t> record;  // index into pending_records, or none when `error` says why
    std::string error;
  };
  constexpr size_t kTransactionsPerPut = 1024;
  std::vector<Pending> pending;
  std::vector<TransactionRecord> pending_records;
  auto flush = [&]() -> Result<void> {
    auto puts = (*batch)->PutTransactions(pending_records);
    if (!puts) return RuntimeFailure("import " + path + ": " + puts.error().message);
    for (const auto& p : pending) {
      if (!p.record)
        problem(p.line, p.error);
      else
        count(p.line, (*puts)[*p.record], pending_records[*p.record].external_id);
    }
    pending.clear();
    pending_records.clear();
    return {};
  };

  RawRow row;
  int line = 0;
  std::string error;
  for (;;) {
    auto more = source->Next(row, line, error);
    if (!more) return RuntimeFailure("import " + path + ": " + more.error().message);
    if (!*more) break;
    ++summary.read;
    if (cb.on_progress && summary.read % 8192 == 0)
      cb.on_progress(source->bytes_read(), total, summary.read);
    if (!error.empty()) {
      problem(line, error);
      continue;
    }
    if (o.target == ImportTarget::kCustomers) {
      auto rec = ParseCustomerRow(row, o);
      if (!rec) {
        problem(line, rec.error().message);
        continue;
      }
      auto put = (*batch)->PutCustomer(*rec);
      if (!put) return RuntimeFailure("import " + path + ": " + put.error().message);
      if (put->outcome == PutOutcome::kUnknownReferrer) {
        deferred.push_back({line, std::move(*rec)});
        continue;
      }
      count(line, *put, rec->external_id);
    } else {
      auto rec = ParseTransactionRow(row, o);
      if (!rec) {
        pending.push_back({line, {}, rec.error().message});
      } else {
        pending_records.push_back(std::move(*rec));
        pending.push_back({line, pending_records.size() - 1, {}});
      }
      if (pending.size() >= kTransactionsPerPut) {
        if (auto r = flush(); !r) return tl::unexpected(r.error());
      }
    }
  }
  if (auto r = flush(); !r) return tl::unexpected(r.error());
  // Retry deferred referrals until no more resolve; what is left names unknown customers.
  for (bool progress = true; progress && !deferred.empty();) {
    progress = false;
    std::vector<Deferred> still;
    for (auto& d : deferred) {
      auto put = (*batch)->PutCustomer(d.record);
      if (!put) return RuntimeFailure("import " + path + ": " + put.error().message);
      if (put->outcome == PutOutcome::kUnknownReferrer) {
        still.push_back(std::move(d));
        continue;
      }
      progress = true;
      count(d.line, *put, d.record.external_id);
    }
    deferred = std::move(still);
  }
  for (const auto& d : deferred)
    count(d.line, {PutOutcome::kUnknownReferrer, *d.record.referred_by}, "");
  if (cb.on_progress) cb.on_progress(source->bytes_read(), total, summary.read);

  if (o.dry_run) {
    (*batch)->Rollback();
  } else if (auto r = (*batch)->Commit(); !r) {
    return RuntimeFailure("import " + path + ": " + r.error().message);
  }
  return summary;
}

}  // namespace followup::store
