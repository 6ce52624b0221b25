#include "demo/demo_data.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iterator>
#include <memory>
#include <ostream>
#include <random>
#include <string_view>
#include <vector>

#include "base/ascii.h"
#include "base/money.h"

namespace followup::demo {
namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kMaxSampleCustomers = 100000;
// A customer who buys many times a day for years is a runaway draw, not a customer.
constexpr int64_t kMaxPurchasesPerCustomer = 20000;
// Mean share of purchases a returns_heavy customer returns (drawn uniformly from 0.3 .. 0.6).
constexpr double kHeavyReturnLow = 0.3;
constexpr double kHeavyReturnHigh = 0.6;
// Gamma-Gamma shapes; gamma follows from mean_order_value. E[value] = p * gamma / (q - 1).
constexpr double kGgP = 6.0;
constexpr double kGgQ = 4.0;
// Returned/refunded purchases: this share are refunds (money back, goods kept: no cost).
constexpr double kRefundShare = 0.25;

// ---------------------------------------------------------------------------------------------
// Randomness: std::mt19937_64 (fixed by the standard) and samplers written out here.

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  // (0, 1): safe for log and pow.
  double OpenUniform() { return (static_cast<double>(engine_() >> 11) + 0.5) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // 0 .. n-1 (n > 0).
  int64_t Below(int64_t n) {
    auto k = static_cast<int64_t>(Uniform() * static_cast<double>(n));
    return std::min(k, n - 1);
  }
  bool Chance(double p) { return Uniform() < p; }
  double Exponential() { return -std::log(OpenUniform()); }

  // Marsaglia's polar method; the second value is kept for the next call.
  double Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2 * Uniform() - 1;
      v = 2 * Uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s == 0);
    double m = std::sqrt(-2 * std::log(s) / s);
    spare_ = v * m;
    has_spare_ = true;
    return u * m;
  }

  // Gamma(shape, scale 1): Marsaglia & Tsang (2000); shape < 1 by the u^(1/shape) boost.
  double Gamma(double shape) {
    if (shape < 1) return Gamma(shape + 1) * std::pow(OpenUniform(), 1 / shape);
    const double d = shape - 1.0 / 3;
    const double c = 1 / std::sqrt(9 * d);
    for (;;) {
      double x, v;
      do {
        x = Normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      double u = OpenUniform();
      if (u < 1 - 0.0331 * (x * x) * (x * x)) return d * v;
      if (std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v;
    }
  }

  double Beta(double a, double b) {
    double x = Gamma(a);
    double y = Gamma(b);
    return x + y > 0 ? x / (x + y) : 0.5;
  }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0;
  bool has_spare_ = false;
};

// ---------------------------------------------------------------------------------------------
// Calendar.

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int64_t Round(double v) { return static_cast<int64_t>(std::llround(v)); }

struct Civil {
  int64_t year;
  unsigned month, day;
};

// H. Hinnant's civil_from_days.
Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

// "YYYY-MM-DD" -> days since 1970-01-01.
bool ParseDay(std::string_view text, int64_t& days) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  int y = 0;
  unsigned m = 0, d = 0;
  auto num = [&](size_t pos, size_t len, auto& out) {
    auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + pos + len, out);
    return ec == std::errc() && ptr == text.data() + pos + len;
  };
  if (!num(0, 4, y) || !num(5, 2, m) || !num(8, 2, d)) return false;
  std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  if (!ymd.ok()) return false;
  days = std::chrono::sys_days{ymd}.time_since_epoch().count();
  return true;
}

// ---------------------------------------------------------------------------------------------
// People.

constexpr std::string_view kFirstNames[] = {
    "Ada",       "Alan",   "Grace",  "Linus",   "Margaret", "Dennis",  "Barbara", "Ken",
    "Frances",   "John",   "Mary",   "Edsger",  "Radia",    "Tim",     "Hedy",    "Donald",
    "Katherine", "Claude", "Sophie", "Niklaus", "Lena",     "Jonas",   "Emma",    "Lukas",
    "Mia",       "Felix",  "Hannah", "Paul",    "Lea",      "Noah",    "Clara",   "Elias",
    "Julia",     "Leon",   "Anna",   "Ben",     "Sofia",    "Luca",    "Marie",   "Oskar",
    "Olivia",    "Liam",   "Chloe",  "Hugo",    "Alice",    "Louis",   "Camille", "Mateo",
    "Lucia",     "Diego",  "Elena",  "Marco",   "Giulia",   "Hiroshi", "Yuki",    "Aiko",
    "Kenji",     "Priya",  "Arjun",  "Amara",   "Kwame",    "Zara",    "Omar",    "Ingrid"};
constexpr std::string_view kLastNames[] = {
    "Lovelace", "Turing",  "Hopper",  "Torvalds", "Hamilton",   "Ritchie", "Liskov",    "Thompson",
    "Allen",    "Backus",  "Shaw",    "Dijkstra", "Perlman",    "Lee",     "Lamarr",    "Knuth",
    "Johnson",  "Shannon", "Wilson",  "Wirth",    "Schmidt",    "Mueller", "Schneider", "Fischer",
    "Weber",    "Meyer",   "Wagner",  "Becker",   "Hoffmann",   "Koch",    "Richter",   "Klein",
    "Wolf",     "Neumann", "Schwarz", "Braun",    "Zimmermann", "Martin",  "Bernard",   "Dubois",
    "Moreau",   "Laurent", "Garcia",  "Martinez", "Lopez",      "Rossi",   "Russo",     "Ferrari",
    "Bianchi",  "Smith",   "Jones",   "Brown",    "Taylor",     "Evans",   "Walker",    "Tanaka",
    "Suzuki",   "Sato",    "Patel",   "Sharma",   "Okafor",     "Mensah",  "Nielsen",   "Jansen"};

struct Zone {
  std::string_view name;  // empty: the business's zone
  int offset_minutes;     // standard time; DST is ignored (it only shifts the time of day)
  int weight;
};
// Empty = the business default, taken to be Central European (the currency is EUR by default).
// clang-format off
constexpr Zone kZones[] = {
    {"",                      60, 45},
    {"Europe/Berlin",         60, 20},
    {"Europe/Paris",          60,  7},
    {"Europe/London",          0,  7},
    {"Europe/Madrid",         60,  5},
    {"Europe/Amsterdam",      60,  4},
    {"America/New_York",    -300,  5},
    {"America/Los_Angeles", -480,  3},
    {"Asia/Tokyo",           540,  2},
    {"Australia/Sydney",     600,  2},
};
// clang-format on

// Relative frequency of purchases by local hour: quiet nights, a lunch bump, an evening peak.
// clang-format off
constexpr double kHourWeights[24] = {
//  00   01   02   03   04   05   06   07   08   09   10   11
     2,   1, 0.5, 0.3, 0.3, 0.5,   1,   2,   3,   4,   5,   5,
//  12   13   14   15   16   17   18   19   20   21   22   23
     6,   6,   5,   5,   5,   6,   7,   8,   9,   8,   6,   4};
// clang-format on
constexpr double kHourWeightSum = [] {
  double sum = 0;
  for (double w : kHourWeights) sum += w;
  return sum;
}();

struct Person {
  int first = 0, last = 0, email_style = 0, zone = 0;
  bool has_email = true;
};

Person DrawPerson(Rng& rng, double no_email_share) {
  Person p;
  p.first = static_cast<int>(rng.Below(std::size(kFirstNames)));
  p.last = static_cast<int>(rng.Below(std::size(kLastNames)));
  p.email_style = static_cast<int>(rng.Below(4));
  int total = 0;
  for (const Zone& z : kZones) total += z.weight;
  int64_t pick = rng.Below(total);
  p.zone = 0;
  while (pick >= kZones[p.zone].weight) pick -= kZones[p.zone++].weight;
  p.has_email = !rng.Chance(no_email_share);
  return p;
}

enum class Persona {
  kRegular,
  kLapsedRegular,
  kReturnsHeavy,
  kReferrer,
  kReferred,
  kBest,
  kOneTime
};

std::string_view PersonaName(Persona p) {
  switch (p) {
    case Persona::kRegular:
      return "regular";
    case Persona::kLapsedRegular:
      return "lapsed_regular";
    case Persona::kReturnsHeavy:
      return "returns_heavy";
    case Persona::kReferrer:
      return "referrer";
    case Persona::kReferred:
      return "referred";
    case Persona::kBest:
      return "best";
    case Persona::kOneTime:
      return "one_time";
  }
  return "regular";
}

// ---------------------------------------------------------------------------------------------
// Transactions.

enum class TxKind : uint8_t { kPurchase, kReturn, kRefund };

enum class Offer : uint8_t { kNone, kWelcome, kFriend, kSeasonal };

struct Txn {
  int64_t at = 0;
  int64_t amount = 0;  // minor units, > 0
  int64_t cost = -1;   // minor units; -1: none
  TxKind kind = TxKind::kPurchase;
  Offer offer = Offer::kNone;
};

std::string_view OfferCode(Offer offer, int64_t at) {
  switch (offer) {
    case Offer::kNone:
      return {};
    case Offer::kWelcome:
      return "WELCOME10";
    case Offer::kFriend:
      return "FRIEND10";
    case Offer::kSeasonal:
      break;
  }
  unsigned month = CivilFromDays(FloorDiv(at, kDay)).month;
  if (month >= 3 && month <= 5) return "SPRING10";
  if (month >= 6 && month <= 8) return "SUMMER15";
  if (month >= 9 && month <= 11) return "AUTUMN10";
  return "WINTER20";
}

double OfferDiscount(Offer offer, int64_t at) {
  std::string_view code = OfferCode(offer, at);
  if (code.empty()) return 0;
  // The last two digits of the code are the percentage.
  return ((code[code.size() - 2] - '0') * 10 + (code.back() - '0')) / 100.0;
}

// How one customer spends: value ~ scale * Gamma(kGgP); cost ~ cost_share of the list value.
struct Spend {
  double scale = 10;
  double cost_share = 0.55;
  double return_rate = 0.04;
};

struct Resolved {
  DemoModel model;
  int64_t first_second = 0;  // start day 00:00:00Z
  int64_t last_second = 0;   // end day 23:59:59Z
  int exponent = 2;
  double minor_per_major = 100;
  double mean_heavy = 0.5 * (kHeavyReturnLow + kHeavyReturnHigh);
};

// Generates one customer's transactions into `txns` (cleared first).
class CustomerSim {
 public:
  CustomerSim(Rng& rng, const Resolved& r, const DemoDataOptions& o, std::vector<Txn>& txns)
      : rng_(rng), r_(r), o_(o), txns_(txns) {}

  // Moves `t` to a random time of day on the same local day in `zone`, kept inside the window.
  // A `t` after the window stays after it (callers drop such events).
  int64_t Snap(double t, int zone) {
    if (t > static_cast<double>(r_.last_second)) return r_.last_second + 1;
    const int64_t offset = kZones[zone].offset_minutes * int64_t{60};
    const int64_t local_day = FloorDiv(static_cast<int64_t>(std::floor(t)) + offset, kDay);
    double u = rng_.Uniform() * kHourWeightSum;
    int hour = 0;
    while (hour < 23 && u >= kHourWeights[hour]) u -= kHourWeights[hour++];
    int64_t at = local_day * kDay + hour * 3600 + rng_.Below(3600) - offset;
    if (at < r_.first_second) at += kDay;
    if (at > r_.last_second) at -= kDay;
    return std::clamp(at, r_.first_second, r_.last_second);
  }

  Spend GammaGammaSpend() {
    Spend s;
    s.scale = r_.model.gg_gamma / rng_.Gamma(kGgQ);  // 1 / nu, nu ~ Gamma(q, rate gamma)
    s.cost_share = rng_.Uniform(0.4, 0.7);
    s.return_rate = o_.return_rate;
    return s;
  }

  void Begin(int zone, const Spend& spend) {
    txns_.clear();
    zone_ = zone;
    spend_ = spend;
    last_purchase_ = 0;
  }

  // The first purchase a few minutes after the account was created.
  int64_t FirstPurchase(int64_t created, Offer offer) {
    int64_t at = std::min(created + 120 + rng_.Below(40 * 60), r_.last_second);
    Purchase(at, offer);
    return at;
  }

  // Appends a purchase at `at` (clamped after the previous one); false when past the window.
  bool Purchase(int64_t at, Offer offer = Offer::kNone) {
    if (!txns_.empty() && at <= last_purchase_) at = last_purchase_ + 300 + rng_.Below(3 * 3600);
    if (at > r_.last_second) return false;
    if (offer == Offer::kNone && !txns_.empty() && rng_.Chance(o_.offer_share))
      offer = Offer::kSeasonal;
    if (offer == Offer::kNone && txns_.empty() && rng_.Chance(o_.offer_share))
      offer = Offer::kWelcome;
    double value = spend_.scale * rng_.Gamma(kGgP) * r_.minor_per_major;
    double share = std::clamp(spend_.cost_share + 0.03 * rng_.Normal(), 0.2, 0.95);
    int64_t amount = Round(value * (1 - OfferDiscount(offer, at)));
    amount = std::max<int64_t>(amount, static_cast<int64_t>(r_.minor_per_major));  // >= 1.00
    int64_t cost = std::min(amount, Round(value * share));
    txns_.push_back({at, amount, cost, TxKind::kPurchase, offer});
    last_purchase_ = at;
    return true;
  }

  // BG/NBD after the first purchase at `first`: exponential gaps at rate lambda (per day), drop
  // out with probability p after each repeat purchase.
  void BgNbd(int64_t first, double lambda, double p) {
    double t = static_cast<double>(first);
    for (int64_t n = 1; n < kMaxPurchasesPerCustomer; ++n) {
      t += rng_.Exponential() / lambda * kDay;
      if (!(t <= static_cast<double>(r_.last_second))) return;
      if (!Purchase(Snap(t, zone_))) return;
      if (rng_.Chance(p)) return;
    }
  }

  void DrawBgNbd(int64_t first) {
    double lambda = rng_.Gamma(r_.model.r) / r_.model.alpha;
    double p = rng_.Beta(r_.model.a, r_.model.b);
    BgNbd(first, lambda, p);
  }

  // A steady buyer until the end of the window: gaps of `mean_gap_days` give or take (Gamma(4)).
  void Steady(int64_t first, double mean_gap_days) {
    double t = static_cast<double>(first);
    for (int64_t n = 1; n < kMaxPurchasesPerCustomer; ++n) {
      t += mean_gap_days * rng_.Gamma(4) / 4 * kDay;
      if (t > static_cast<double>(r_.last_second)) return;
      if (!Purchase(Snap(t, zone_))) return;
    }
  }

  // Returns and refunds for the purchases so far, then everything in time order.
  void Finish() {
    const size_t purchases = txns_.size();
    for (size_t i = 0; i < purchases; ++i) {
      if (!rng_.Chance(spend_.return_rate)) continue;
      const Txn& p = txns_[i];
      int64_t at = Snap(static_cast<double>(p.at) + rng_.Uniform(2, 30) * kDay, zone_);
      bool refund = rng_.Chance(kRefundShare);
      double fraction = refund             ? rng_.Uniform(0.1, 0.5)
                        : rng_.Chance(0.6) ? 1.0
                                           : rng_.Uniform(0.25, 0.8);
      if (at <= p.at || at > r_.last_second) continue;  // not within the history
      Txn t;
      t.at = at;
      t.kind = refund ? TxKind::kRefund : TxKind::kReturn;
      t.amount = std::clamp<int64_t>(Round(static_cast<double>(p.amount) * fraction), 1, p.amount);
      t.cost = refund ? -1 : std::min(p.cost, Round(static_cast<double>(p.cost) * fraction));
      txns_.push_back(t);
    }
    std::stable_sort(txns_.begin(), txns_.end(),
                     [](const Txn& a, const Txn& b) { return a.at < b.at; });
  }

  int64_t last_purchase() const { return last_purchase_; }

 private:
  Rng& rng_;
  const Resolved& r_;
  const DemoDataOptions& o_;
  std::vector<Txn>& txns_;
  int zone_ = 0;
  Spend spend_;
  int64_t last_purchase_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Output: rows are formatted into a buffer, written in large blocks.

class Out {
 public:
  explicit Out(std::ostream& os) : os_(os) {}

  void Char(char c) { buf_[pos_++] = c; }
  void Str(std::string_view s) {
    if (s.empty()) return;  // an empty view may hold a null pointer, which memcpy must not get
    std::memcpy(buf_ + pos_, s.data(), s.size());
    pos_ += s.size();
  }
  // RFC 4180: quoted when it holds a comma, quote or line break.
  void Field(std::string_view s) {
    if (s.find_first_of(",\"\r\n") == std::string_view::npos) return Str(s);
    Char('"');
    for (char c : s) {
      if (c == '"') Char('"');
      Char(c);
    }
    Char('"');
  }
  void Lower(std::string_view s) {
    for (char c : s) Char(AsciiLower(c));
  }
  void Int(int64_t v) { pos_ = std::to_chars(buf_ + pos_, buf_ + kSize, v).ptr - buf_; }
  // v left-padded with zeros to `width` digits.
  void Padded(int64_t v, int width) {
    char digits[24];
    auto len = std::to_chars(digits, digits + sizeof digits, v).ptr - digits;
    for (auto i = len; i < width; ++i) Char('0');
    Str({digits, static_cast<size_t>(len)});
  }
  void Digits2(unsigned v) {
    Char(static_cast<char>('0' + v / 10));
    Char(static_cast<char>('0' + v % 10));
  }
  // YYYY-MM-DDTHH:MM:SSZ
  void Time(int64_t t) {
    const int64_t days = FloorDiv(t, kDay);
    const auto sod = static_cast<unsigned>(t - days * kDay);
    const Civil c = CivilFromDays(days);
    Padded(c.year, 4);
    Char('-');
    Digits2(c.month);
    Char('-');
    Digits2(c.day);
    Char('T');
    Digits2(sod / 3600);
    Char(':');
    Digits2(sod / 60 % 60);
    Char(':');
    Digits2(sod % 60);
    Char('Z');
  }
  // Minor units with `exponent` decimals: 2933, 2 -> 29.33 (never negative here).
  void Amount(int64_t minor, int exponent) {
    int64_t scale = 1;
    for (int i = 0; i < exponent; ++i) scale *= 10;
    Int(minor / scale);
    if (exponent > 0) {
      Char('.');
      Padded(minor % scale, exponent);
    }
  }
  void EndRow() {
    Char('\n');
    if (pos_ > kSize - kMaxRow) Flush();
  }
  bool Flush() {
    os_.write(buf_, static_cast<std::streamsize>(pos_));
    pos_ = 0;
    return static_cast<bool>(os_);
  }
  bool ok() const { return static_cast<bool>(os_); }

 private:
  static constexpr size_t kSize = 1 << 17;
  static constexpr size_t kMaxRow = 2048;  // no row comes near this
  std::ostream& os_;
  char buf_[kSize];
  size_t pos_ = 0;
};

struct Writer {
  Out customers;
  Out transactions;
  const DemoDataOptions& options;
  const Resolved& resolved;
  int customer_width = 6;
  int64_t customer_rows = 0;
  int64_t transaction_rows = 0;

  Writer(std::ostream& c, std::ostream& t, const DemoDataOptions& o, const Resolved& r)
      : customers(c), transactions(t), options(o), resolved(r) {
    customers.Str("id,email,name,created_at,referred_by,timezone,segment");
    customers.EndRow();
    transactions.Str("id,customer_id,occurred_at,kind,amount,cost,currency,offer_code");
    transactions.EndRow();
    for (int64_t n = options.customers; n >= 1000000; n /= 10) ++customer_width;
  }

  void Customer(int64_t number, const Person& p, int64_t created, int64_t referrer,
                Persona persona) {
    Out& o = customers;
    o.Char('c');
    o.Padded(number, customer_width);
    o.Char(',');
    if (p.has_email) {
      std::string_view first = kFirstNames[p.first];
      std::string_view last = kLastNames[p.last];
      switch (p.email_style) {
        case 0:
          o.Lower(first), o.Char('.'), o.Lower(last), o.Int(number), o.Str("@example.com");
          break;
        case 1:
          o.Lower(first.substr(0, 1)), o.Lower(last), o.Int(number), o.Str("@example.org");
          break;
        case 2:
          o.Lower(first), o.Char('_'), o.Lower(last), o.Int(number), o.Str("@example.net");
          break;
        default:
          o.Lower(first), o.Int(number), o.Str("@example.com");
          break;
      }
    }
    o.Char(',');
    o.Field(kFirstNames[p.first]);
    o.Char(' ');
    o.Field(kLastNames[p.last]);
    o.Char(',');
    o.Time(created);
    o.Char(',');
    if (referrer > 0) {
      o.Char('c');
      o.Padded(referrer, customer_width);
    }
    o.Char(',');
    o.Field(kZones[p.zone].name);
    o.Char(',');
    o.Field(PersonaName(persona));
    o.EndRow();
    ++customer_rows;
  }

  void Transaction(int64_t customer_number, const Txn& t) {
    Out& o = transactions;
    ++transaction_rows;
    o.Char('t');
    o.Padded(transaction_rows, 8);
    o.Str(",c");
    o.Padded(customer_number, customer_width);
    o.Char(',');
    o.Time(t.at);
    o.Str(t.kind == TxKind::kPurchase ? ",purchase,"
          : t.kind == TxKind::kReturn ? ",return,"
                                      : ",refund,");
    o.Amount(t.amount, resolved.exponent);
    o.Char(',');
    if (t.cost >= 0) o.Amount(t.cost, resolved.exponent);
    o.Char(',');
    o.Str(options.currency);
    o.Char(',');
    o.Str(OfferCode(t.offer, t.at));
    o.EndRow();
  }

  Result<void> Finish() {
    bool ok = customers.Flush();
    ok = transactions.Flush() && ok;
    if (!ok) return RuntimeFailure("demo data: writing the CSV output failed");
    return {};
  }
};

// ---------------------------------------------------------------------------------------------
// The BG/NBD scale that yields a mean number of purchases.

// Mean purchases per customer (the first one included) when T, the time from the first purchase to
// the end, is uniform on [0, span] days:
//   1 + E_p[ (1/p) (1 - avg_T (alpha / (alpha + p T))^r) ]      (E[X(T) | lambda, p] integrated)
// The average over T is closed-form; the expectation over p ~ Beta(a, b) is a midpoint rule after
// p = u^(1/a), which takes the p^(a-1) singularity out.
double MeanPurchases(double r, double alpha, double a, double b, double span) {
  constexpr int kSteps = 4096;
  double sum = 0, weight_sum = 0;
  for (int i = 0; i < kSteps; ++i) {
    double u = (i + 0.5) / kSteps;
    double p = std::pow(u, 1 / a);
    double w = std::pow(1 - p, b - 1);
    double x = p * span / alpha;
    double g;  // (1/p) (1 - avg_T (1 + x T/span)^-r)
    if (x < 1e-3) {
      g = span / alpha * (r / 2 - r * (r + 1) * x / 6 + r * (r + 1) * (r + 2) * x * x / 24);
    } else {
      double avg = std::abs(r - 1) < 1e-12 ? std::log1p(x) / x
                                           : std::expm1((1 - r) * std::log1p(x)) / (x * (1 - r));
      g = (1 - avg) / p;
    }
    sum += w * g;
    weight_sum += w;
  }
  return 1 + sum / weight_sum;
}

Result<Resolved> Resolve(const DemoDataOptions& o) {
  Resolved res;
  int64_t start_day = 0, end_day = 0;
  if (!ParseDay(o.start, start_day))
    return InvalidInput("demo data: start '" + o.start + "' is not a date YYYY-MM-DD");
  if (!ParseDay(o.end, end_day))
    return InvalidInput("demo data: end '" + o.end + "' is not a date YYYY-MM-DD");
  if (end_day < start_day + 6)
    return InvalidInput("demo data: end must be at least a week after start");
  if (o.sample && end_day - start_day + 1 < 730)
    return InvalidInput("demo data: sample mode needs at least two years between start and end");
  if (o.customers < 0) return InvalidInput("demo data: customers must not be negative");
  if (o.sample && o.customers != 0 && (o.customers < 20 || o.customers > kMaxSampleCustomers))
    return InvalidInput("demo data: sample mode takes 20 to " +
                        std::to_string(kMaxSampleCustomers) + " customers");
  if (!IsCurrencyCode(o.currency))
    return InvalidInput("demo data: currency '" + o.currency + "' is not an ISO 4217 code");
  auto share = [](double v) { return v >= 0 && v <= 1; };
  if (!share(o.return_rate) || !share(o.returns_heavy_share) || !share(o.referred_share) ||
      !share(o.referrer_share) || !share(o.no_email_share) || !share(o.offer_share))
    return InvalidInput("demo data: shares and rates must lie in [0, 1]");
  if (o.referred_share + o.referrer_share + o.returns_heavy_share > 1)
    return InvalidInput("demo data: referred, referrer and returns-heavy shares exceed 1");
  if (!(o.bgnbd_r > 0) || !(o.bgnbd_a > 0) || !(o.bgnbd_b > 0))
    return InvalidInput("demo data: BG/NBD r, a and b must be positive");
  if (!(o.mean_order_value >= 1) || !(o.mean_order_value <= 1e6))
    return InvalidInput("demo data: mean order value must lie in [1, 1000000]");

  res.first_second = start_day * kDay;
  res.last_second = (end_day + 1) * kDay - 1;
  res.exponent = CurrencyExponent(o.currency);
  res.minor_per_major = std::pow(10.0, res.exponent);

  DemoModel& m = res.model;
  m.r = o.bgnbd_r;
  m.a = o.bgnbd_a;
  m.b = o.bgnbd_b;
  m.gg_p = kGgP;
  m.gg_q = kGgQ;
  m.gg_gamma = o.mean_order_value * (kGgQ - 1) / kGgP;
  // Returns per purchase, averaged over ordinary and returns-heavy customers.
  double heavy = o.returns_heavy_share;
  m.return_rows_per_purchase = (1 - heavy) * o.return_rate + heavy * res.mean_heavy;
  if (o.sample) m.return_rows_per_purchase = o.return_rate;  // the regular background
  const double target = o.mean_transactions_per_customer / (1 + m.return_rows_per_purchase);

  const double span = static_cast<double>(end_day + 1 - start_day);
  double lo = std::log(1e-4), hi = std::log(1e7);  // log alpha; purchases fall as alpha grows
  if (!(target > 1.0001) || MeanPurchases(m.r, std::exp(lo), m.a, m.b, span) < target)
    return InvalidInput("demo data: mean transactions per customer " +
                        std::to_string(o.mean_transactions_per_customer) +
                        " is out of reach (it must exceed 1 plus returns; raise bgnbd_b or lower "
                        "bgnbd_a for very high means)");
  for (int i = 0; i < 80; ++i) {
    double mid = (lo + hi) / 2;
    (MeanPurchases(m.r, std::exp(mid), m.a, m.b, span) > target ? lo : hi) = mid;
  }
  m.alpha = std::exp((lo + hi) / 2);
  m.purchases_per_customer = MeanPurchases(m.r, m.alpha, m.a, m.b, span);
  return res;
}

// ---------------------------------------------------------------------------------------------
// Population mode: customers in acquisition order, each written with its transactions at once.

void GeneratePopulation(const DemoDataOptions& o, const Resolved& res, Writer& out,
                        const DemoDataProgress& progress) {
  Rng rng(o.seed);
  std::vector<Txn> txns;
  CustomerSim sim(rng, res, o, txns);
  // Referrers as they can be picked; a referrer is added again each time it refers someone, so
  // that a few bring several friends.
  struct Referrer {
    int64_t number;
    int64_t created;
    int64_t active_until;  // last purchase + 90 days
  };
  std::vector<Referrer> referrers;
  const double non_referred = 1 - o.referred_share;
  const double p_referrer = non_referred > 0 ? o.referrer_share / non_referred : 0;
  const double p_heavy = non_referred > 0 ? o.returns_heavy_share / non_referred : 0;
  const double span = static_cast<double>(res.last_second + 1 - res.first_second);

  double u = 0;  // sorted uniform order statistics, drawn in ascending order
  for (int64_t i = 0; i < o.customers; ++i) {
    u = 1 - (1 - u) * std::pow(rng.OpenUniform(), 1.0 / static_cast<double>(o.customers - i));
    const Person person = DrawPerson(rng, o.no_email_share);
    const int64_t created = sim.Snap(static_cast<double>(res.first_second) + u * span, person.zone);

    Persona persona = Persona::kRegular;
    int64_t referrer = 0;
    if (!referrers.empty() && rng.Chance(o.referred_share)) {
      // An earlier customer, preferably one still buying.
      const Referrer* pick = nullptr;
      for (int tries = 0; tries < 8; ++tries) {
        const Referrer& c = referrers[static_cast<size_t>(rng.Below(std::ssize(referrers)))];
        if (c.created >= created) continue;
        pick = &c;
        if (c.active_until >= created) break;
      }
      if (pick != nullptr) {
        persona = Persona::kReferred;
        referrer = pick->number;
        referrers.push_back(*pick);
      }
    }
    if (persona != Persona::kReferred) {
      double v = rng.Uniform();
      if (v < p_referrer)
        persona = Persona::kReferrer;
      else if (v < p_referrer + p_heavy)
        persona = Persona::kReturnsHeavy;
    }

    Spend spend = sim.GammaGammaSpend();
    if (persona == Persona::kReturnsHeavy)
      spend.return_rate = rng.Uniform(kHeavyReturnLow, kHeavyReturnHigh);
    sim.Begin(person.zone, spend);
    int64_t first =
        sim.FirstPurchase(created, persona == Persona::kReferred ? Offer::kFriend : Offer::kNone);
    sim.DrawBgNbd(first);
    sim.Finish();

    const int64_t number = i + 1;
    out.Customer(number, person, created, referrer, persona);
    for (const Txn& t : txns) out.Transaction(number, t);
    if (persona == Persona::kReferrer)
      referrers.push_back({number, created, sim.last_purchase() + 90 * kDay});
    if (progress && number % 16384 == 0 && number < o.customers) progress(number, o.customers);
  }
}

// ---------------------------------------------------------------------------------------------
// Sample mode: planted personas, planned in memory, then written in order of creation.

struct Planned {
  Persona persona = Persona::kRegular;
  Person person;
  int64_t created = 0;
  int64_t referrer = -1;  // index into the plan
  std::vector<Txn> txns;
};

void GenerateSample(const DemoDataOptions& o, const Resolved& res, Writer& out) {
  Rng rng(o.seed);
  const int64_t n = o.customers;
  auto count = [&](double share) {
    return std::max<int64_t>(1, Round(share * static_cast<double>(n)));
  };
  const int64_t n_referrer = count(o.referrer_share);
  const int64_t n_referred = std::max(count(o.referred_share), 2 * n_referrer);
  const int64_t n_lapsed = count(0.08);
  const int64_t n_heavy = count(o.returns_heavy_share);
  const int64_t n_best = count(0.05);
  const int64_t n_one_time = count(0.15);
  const int64_t n_regular =
      std::max<int64_t>(1, n - n_referrer - n_referred - n_lapsed - n_heavy - n_best - n_one_time);

  const double first = static_cast<double>(res.first_second);
  const double last = static_cast<double>(res.last_second);
  const double span = last - first;
  const double day = static_cast<double>(kDay);

  std::vector<Planned> plan;
  plan.reserve(static_cast<size_t>(n_referrer + n_referred + n_lapsed + n_heavy + n_best +
                                   n_one_time + n_regular));
  std::vector<Txn> txns;
  CustomerSim sim(rng, res, o, txns);

  auto add = [&](Persona persona, auto&& script) {
    Planned p;
    p.persona = persona;
    p.person = DrawPerson(rng, o.no_email_share);
    Spend spend = sim.GammaGammaSpend();
    script(p, spend);
    sim.Finish();
    p.txns = txns;
    plan.push_back(std::move(p));
  };
  // Creates the account at about `t` and makes the first purchase.
  auto open = [&](Planned& p, const Spend& spend, double t, Offer offer = Offer::kNone) {
    sim.Begin(p.person.zone, spend);
    p.created = sim.Snap(t, p.person.zone);
    return sim.FirstPurchase(p.created, offer);
  };

  // Referrers: early, steady customers (every 20-45 days), still buying.
  for (int64_t i = 0; i < n_referrer; ++i)
    add(Persona::kReferrer, [&](Planned& p, Spend& s) {
      int64_t f = open(p, s, first + rng.Uniform() * 0.5 * span);
      sim.Steady(f, rng.Uniform(20, 45));
    });
  // Their friends: every referrer brings one, the rest go mostly to the first few (Zipf), so a few
  // bring several. Two in five are recent (first purchase 1-5 weeks before the end), the others
  // joined earlier and buy like the background.
  std::vector<double> zipf(static_cast<size_t>(n_referrer));
  double zipf_sum = 0;
  for (size_t k = 0; k < zipf.size(); ++k) zipf_sum += zipf[k] = 1.0 / static_cast<double>(k + 1);
  for (int64_t j = 0; j < n_referred; ++j) {
    int64_t k = j;
    if (j >= n_referrer) {
      double v = rng.Uniform() * zipf_sum;
      for (k = 0; k + 1 < n_referrer && v >= zipf[static_cast<size_t>(k)]; ++k)
        v -= zipf[static_cast<size_t>(k)];
    }
    const double ref_created = static_cast<double>(plan[static_cast<size_t>(k)].created);
    const bool recent = j % 5 < 2;
    add(Persona::kReferred, [&](Planned& p, Spend& s) {
      p.referrer = k;
      if (recent) {
        int64_t f = open(p, s, last - rng.Uniform(7, 35) * day, Offer::kFriend);
        if (rng.Chance(0.3)) sim.Purchase(sim.Snap(f + rng.Uniform(3, 10) * day, p.person.zone));
      } else {
        double from = ref_created + 30 * day, to = last - 60 * day;
        int64_t f = open(p, s, from + rng.Uniform() * (to - from), Offer::kFriend);
        sim.DrawBgNbd(f);
      }
    });
  }
  // Lapsed regulars: every ~30 days for about a year, then silent for 3-5 of their gaps.
  for (int64_t i = 0; i < n_lapsed; ++i)
    add(Persona::kLapsedRegular, [&](Planned& p, Spend& s) {
      const double gap = rng.Uniform(26, 34);
      const int purchases = 12 + static_cast<int>(rng.Below(3));
      const double silence = rng.Uniform(3, 5) * gap;
      std::vector<double> gaps(static_cast<size_t>(purchases - 1));
      double total = 0;
      for (double& g : gaps) total += g = gap * rng.Uniform(0.8, 1.2);
      double t = last - silence * day - total * day;
      open(p, s, t - rng.Uniform(0.002, 0.03) * day);
      for (double g : gaps) {
        t += g * day;
        sim.Purchase(sim.Snap(t, p.person.zone));
      }
    });
  // Returns-heavy: steady buyers who send back 30-60% of what they buy.
  for (int64_t i = 0; i < n_heavy; ++i)
    add(Persona::kReturnsHeavy, [&](Planned& p, Spend& s) {
      s.return_rate = rng.Uniform(kHeavyReturnLow, kHeavyReturnHigh);
      int64_t f = open(p, s, first + rng.Uniform() * (span - 120 * day));
      sim.Steady(f, rng.Uniform(20, 60));
    });
  // Best: early, frequent (every 10-21 days), large orders at a good margin, rarely a return.
  for (int64_t i = 0; i < n_best; ++i)
    add(Persona::kBest, [&](Planned& p, Spend& s) {
      s.scale = rng.Uniform(180, 400) / kGgP;
      s.cost_share = rng.Uniform(0.3, 0.45);
      s.return_rate = 0.01;
      int64_t f = open(p, s, first + rng.Uniform() * 0.4 * span);
      sim.Steady(f, rng.Uniform(10, 21));
    });
  // One-time buyers: one purchase, never a return.
  for (int64_t i = 0; i < n_one_time; ++i)
    add(Persona::kOneTime, [&](Planned& p, Spend& s) {
      s.return_rate = 0;
      open(p, s, first + rng.Uniform() * (span - 14 * day));
    });
  // The background: the BG/NBD story.
  for (int64_t i = 0; i < n_regular; ++i)
    add(Persona::kRegular, [&](Planned& p, Spend& s) {
      int64_t f = open(p, s, first + rng.Uniform() * span);
      sim.DrawBgNbd(f);
    });

  // Write in order of creation: a referrer always precedes its friends (30+ days earlier).
  std::vector<size_t> order(plan.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return plan[a].created < plan[b].created; });
  std::vector<int64_t> number(plan.size());
  for (size_t pos = 0; pos < order.size(); ++pos)
    number[order[pos]] = static_cast<int64_t>(pos) + 1;
  for (size_t idx : order) {
    const Planned& p = plan[idx];
    int64_t ref = p.referrer >= 0 ? number[static_cast<size_t>(p.referrer)] : 0;
    out.Customer(number[idx], p.person, p.created, ref, p.persona);
  }

  struct Row {
    int64_t at, customer;
    const Txn* txn;
  };
  std::vector<Row> rows;
  for (size_t idx : order)
    for (const Txn& t : plan[idx].txns) rows.push_back({t.at, number[idx], &t});
  // Stable: a customer's rows at the same second keep their order.
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.at != b.at ? a.at < b.at : a.customer < b.customer;
  });
  for (const Row& r : rows) out.Transaction(r.customer, *r.txn);
}

}  // namespace

DemoDataOptions SampleDemoDataOptions() {
  DemoDataOptions o;
  o.customers = 300;
  o.seed = 20260630;
  o.start = "2024-01-01";
  o.end = "2026-06-29";
  o.sample = true;
  return o;
}

Result<DemoModel> ResolveDemoModel(const DemoDataOptions& options) {
  auto resolved = Resolve(options);
  if (!resolved) return tl::unexpected(resolved.error());
  return resolved->model;
}

Result<DemoDataCounts> GenerateDemoData(const DemoDataOptions& options, std::ostream& customers_csv,
                                        std::ostream& transactions_csv,
                                        const DemoDataProgress& progress) {
  auto resolved = Resolve(options);
  if (!resolved) return tl::unexpected(resolved.error());
  // The buffers are large: keep them off the stack.
  auto writer = std::make_unique<Writer>(customers_csv, transactions_csv, options, *resolved);
  if (options.customers > 0) {
    if (options.sample)
      GenerateSample(options, *resolved, *writer);
    else
      GeneratePopulation(options, *resolved, *writer, progress);
  }
  if (progress) progress(options.customers, options.customers);
  auto finished = writer->Finish();
  if (!finished) return tl::unexpected(finished.error());
  return DemoDataCounts{writer->customer_rows, writer->transaction_rows};
}

}  // namespace followup::demo
