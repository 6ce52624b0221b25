// The lexer and parser of expressions: text in, the steps of expression_program.h out, with an
// error an operator can act on when the text is not an expression.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "base/ascii.h"
#include "rules/expression.h"
#include "rules/expression_program.h"

namespace followup::rules {
namespace {

// ---- Words ---------------------------------------------------------------------------------

// Edit distance with adjacent transpositions (optimal string alignment).
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The candidates nearest to `name` (case-insensitively), at most 3: "a", "a or b", "a, b or c";
// "" when none is near enough.
std::string Nearest(std::string_view name, std::span<const std::string_view> candidates) {
  const std::string lower = AsciiLower(name);
  const size_t limit = std::clamp<size_t>(lower.size() / 3, 1, 4);
  size_t best = limit + 1;
  std::vector<std::string_view> near;
  for (std::string_view c : candidates) {
    size_t d = EditDistance(lower, c);
    // A whole word of a longer name ("percentile" for profit_percentile) is near too.
    if (d > limit && lower.size() >= 4 && c.find(lower) != std::string_view::npos) d = limit;
    if (d < best) {
      best = d;
      near.clear();
    }
    if (d == best && near.size() < 3) near.push_back(c);
  }
  std::string out;
  for (size_t i = 0; i < near.size(); ++i) {
    if (i > 0) out += i + 1 == near.size() ? " or " : ", ";
    out += near[i];
  }
  return out;
}

std::string JoinAll(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::vector<std::string_view> FactNames() {
  std::vector<std::string_view> names;
  for (const worth::FactInfo& f : worth::AllFacts()) names.push_back(f.name);
  return names;
}

struct Function {
  std::string_view name;
  int min_args;
  int max_args;  // -1: no limit
  int op;        // -1: the argument itself (days)
};

constexpr std::array<Function, 8> kFunctions = {{
    {"min", 1, -1, kMin},
    {"max", 1, -1, kMax},
    {"abs", 1, 1, kAbs},
    {"round", 1, 1, kRound},
    {"coalesce", 2, -1, kCoalesce},
    {"defined", 1, 1, kDefined},
    {"days", 1, 1, -1},
    {"weeks", 1, 1, kWeeks},
}};

const Function* FindFunction(std::string_view name) {
  for (const Function& f : kFunctions)
    if (f.name == name) return &f;
  return nullptr;
}

std::vector<std::string_view> FunctionNames() {
  std::vector<std::string_view> names;
  for (const Function& f : kFunctions) names.push_back(f.name);
  return names;
}

std::string Plural(int n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

// ---- Tokens --------------------------------------------------------------------------------

enum class Tok {
  kNumber,
  kName,
  kLParen,
  kRParen,
  kComma,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kLt,
  kLe,
  kGt,
  kGe,
  kEq,
  kNe,
  kAnd,
  kOr,
  kNot,
  kTrue,
  kFalse,
  kNull,
  kEnd,
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t offset = 0;
  size_t length = 0;
  double number = 0;
  bool percent = false;  // a number written as N%
};

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsNameChar(char c) { return IsNameStart(c) || IsDigit(c); }
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// digits [. digits] [e [+-] digits], or . digits [...]: the whole of `s`.
bool IsWellFormedNumber(std::string_view s) {
  size_t i = 0, digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t fraction = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++fraction;
    if (fraction == 0) return false;
    digits += fraction;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exponent = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++exponent;
    if (exponent == 0) return false;
  }
  return i == s.size();
}

// ---- The compiler --------------------------------------------------------------------------

enum class Origin : uint8_t { kOther, kPercentLiteral, kNullLiteral };

struct Node {
  int op = kConst;
  double value = 0;
  worth::Fact fact{};
  Origin origin = Origin::kOther;
  size_t offset = 0;  // of the token it came from
  size_t length = 0;
  std::vector<int> args;
};

class Compiler {
 public:
  Compiler(std::string_view text, const Location& where, int continuation_column)
      : text_(text), where_(where), continuation_column_(continuation_column) {}

  // On success fills steps and facts, and for a top-level `a and b and ...` one program per
  // clause (reading the same facts).
  Result<void> Run(std::vector<Step>& steps, std::vector<worth::Fact>& facts,
                   std::vector<Expression::Clause>& clauses) {
    if (text_.size() > Expression::kMaxTextBytes) {
      return InvalidInput("expression is too long: " + std::to_string(text_.size()) +
                              " bytes, at most " + std::to_string(Expression::kMaxTextBytes),
                          At(0));
    }
    if (!Lex()) return tl::unexpected(std::move(*error_));
    if (tokens_.front().kind == Tok::kEnd) {
      return InvalidInput("empty expression: write a condition such as 'purchases >= 1'", At(0));
    }
    const int root = ParseOr();
    if (root >= 0 && Peek().kind != Tok::kEnd) Unexpected("after a complete expression");
    if (error_) return tl::unexpected(std::move(*error_));
    Emit(root, steps, facts);
    if (facts.size() > kMaxFacts || StackDepth(steps) > Expression::kMaxNodes) {
      return InvalidInput("expression is too complex", At(0));  // cannot happen within the bounds
    }
    if (nodes_[root].op == kAnd) {
      for (const auto& [node, begin, end] : top_clauses_) {
        Expression::Clause& clause = clauses.emplace_back();
        clause.text = std::string(text_.substr(begin, end - begin));
        Emit(node, clause.steps, facts);  // its facts are the whole's: `facts` stays as it is
      }
    }
    return {};
  }

 private:
  // -- positions and errors

  Location At(size_t offset) const {
    Location loc;
    loc.file = where_.file;
    const int line = std::max(where_.line, 1);
    const int column = std::max(where_.column, 1);
    int lines = 0;
    size_t line_start = 0;
    for (size_t i = 0; i < offset && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++lines;
        line_start = i + 1;
      }
    }
    loc.line = line + lines;
    loc.column = lines == 0
                     ? column + static_cast<int>(offset)
                     : std::max(continuation_column_, 1) + static_cast<int>(offset - line_start);
    return loc;
  }

  // Records the first error; returns -1 so that parse functions can `return Fail(...)`.
  int Fail(std::string message, size_t offset) {
    if (!error_) error_ = Error{ErrorCode::kInvalidInput, std::move(message), At(offset)};
    return -1;
  }

  std::string Describe(const Token& t) const {
    if (t.kind == Tok::kEnd) return "the end of the expression";
    return "'" + std::string(text_.substr(t.offset, t.length)) + "'";
  }

  // A token where an operator, `and`, `or`, a closing ')' or the end should be.
  int Unexpected(std::string_view context) {
    const Token& t = Peek();
    if (t.kind == Tok::kRParen) return Fail("unexpected ')': there is no '(' to close", t.offset);
    std::string message = "unexpected " + Describe(t) + " " + std::string(context);
    const std::string word = AsciiLower(text_.substr(t.offset, t.length));
    if (t.kind == Tok::kName && (word == "and" || word == "or" || word == "not")) {
      message += " (did you mean '" + word + "'? keywords are lower case)";
    } else {
      message += " (missing an operator, 'and' or 'or'?)";
    }
    return Fail(std::move(message), t.offset);
  }

  // -- tokens

  bool LexError(std::string message, size_t offset) {
    Fail(std::move(message), offset);
    return false;
  }

  bool Lex() {
    size_t i = 0;
    const std::string_view s = text_;
    while (true) {
      while (i < s.size() && IsSpace(s[i])) ++i;
      Token t;
      t.offset = i;
      if (i == s.size()) {
        tokens_.push_back(t);
        return true;
      }
      const char c = s[i];
      auto next_is = [&](char n) { return i + 1 < s.size() && s[i + 1] == n; };
      auto simple = [&](Tok kind, size_t length) {
        t.kind = kind;
        t.length = length;
        i += length;
      };
      if (IsDigit(c) || (c == '.' && i + 1 < s.size() && IsDigit(s[i + 1]))) {
        size_t j = i;
        while (j < s.size() &&
               (IsNameChar(s[j]) || s[j] == '.' ||
                ((s[j] == '+' || s[j] == '-') && (s[j - 1] == 'e' || s[j - 1] == 'E'))))
          ++j;
        const std::string_view run = s.substr(i, j - i);
        if (!IsWellFormedNumber(run)) {
          std::string message = "bad number '" + std::string(run) + "'";
          const size_t digits = std::find_if_not(run.begin(), run.end(), IsDigit) - run.begin();
          const std::string_view unit = run.substr(digits);
          if (digits > 0 && (unit == "d" || unit == "days" || unit == "w" || unit == "weeks")) {
            message += " (write " + std::string(unit.front() == 'd' ? "days(" : "weeks(") +
                       std::string(run.substr(0, digits)) + "))";
          }
          return LexError(std::move(message), i);
        }
        const auto [end, ec] = std::from_chars(run.data(), run.data() + run.size(), t.number);
        if (ec != std::errc() || end != run.data() + run.size() || !std::isfinite(t.number)) {
          return LexError("number '" + std::string(run) + "' is out of range", i);
        }
        t.kind = Tok::kNumber;
        if (j < s.size() && s[j] == '%') {
          t.percent = true;
          t.number /= 100;
          ++j;
        }
        t.length = j - i;
        i = j;
      } else if (IsNameStart(c)) {
        size_t j = i;
        while (j < s.size() && IsNameChar(s[j])) ++j;
        const std::string_view word = s.substr(i, j - i);
        t.kind = word == "and"     ? Tok::kAnd
                 : word == "or"    ? Tok::kOr
                 : word == "not"   ? Tok::kNot
                 : word == "true"  ? Tok::kTrue
                 : word == "false" ? Tok::kFalse
                 : word == "null"  ? Tok::kNull
                                   : Tok::kName;
        t.length = j - i;
        i = j;
      } else if (c == '(') {
        simple(Tok::kLParen, 1);
      } else if (c == ')') {
        simple(Tok::kRParen, 1);
      } else if (c == ',') {
        simple(Tok::kComma, 1);
      } else if (c == '+') {
        simple(Tok::kPlus, 1);
      } else if (c == '-') {
        simple(Tok::kMinus, 1);
      } else if (c == '*') {
        simple(Tok::kStar, 1);
      } else if (c == '/') {
        simple(Tok::kSlash, 1);
      } else if (c == '<' && next_is('=')) {
        simple(Tok::kLe, 2);
      } else if (c == '<' && next_is('>')) {
        return LexError("write '!=' for 'not equal', not '<>'", i);
      } else if (c == '<') {
        simple(Tok::kLt, 1);
      } else if (c == '>' && next_is('=')) {
        simple(Tok::kGe, 2);
      } else if (c == '>') {
        simple(Tok::kGt, 1);
      } else if (c == '=' && next_is('=')) {
        simple(Tok::kEq, 2);
      } else if (c == '=') {
        return LexError("write '==' to compare, not '='", i);
      } else if (c == '!' && next_is('=')) {
        simple(Tok::kNe, 2);
      } else if (c == '!') {
        return LexError("write 'not' instead of '!'", i);
      } else if (c == '&') {
        return LexError("write 'and' instead of '" + std::string(next_is('&') ? "&&" : "&") + "'",
                        i);
      } else if (c == '|') {
        return LexError("write 'or' instead of '" + std::string(next_is('|') ? "||" : "|") + "'",
                        i);
      } else if (c == '%') {
        return LexError("'%' must follow a number directly, as in 30%", i);
      } else {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
          return LexError("unexpected control character (code " + std::to_string(byte) + ")", i);
        }
        size_t j = i + 1;  // a whole UTF-8 sequence
        while (byte >= 0x80 && j < s.size() && (static_cast<unsigned char>(s[j]) & 0xc0) == 0x80)
          ++j;
        return LexError("unexpected character '" + std::string(s.substr(i, j - i)) + "'", i);
      }
      tokens_.push_back(t);
    }
  }

  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& Take() {
    const Token& t = Peek();
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }

  // -- nodes

  // A new node; folds it into a constant when all its arguments are constants.
  int Make(int op, std::vector<int> args, const Token& from) {
    if (++node_count_ > Expression::kMaxNodes) {
      return Fail("expression is too complex: at most " + std::to_string(Expression::kMaxNodes) +
                      " numbers, facts, operators and function calls",
                  from.offset);
    }
    Node n;
    n.op = op;
    n.offset = from.offset;
    n.length = from.length;
    n.args = std::move(args);
    const bool foldable =
        op != kConst && op != kFact &&
        std::all_of(n.args.begin(), n.args.end(), [&](int a) { return nodes_[a].op == kConst; });
    nodes_.push_back(std::move(n));
    const int index = static_cast<int>(nodes_.size()) - 1;
    if (foldable) {
      std::vector<Step> steps;
      std::vector<worth::Fact> no_facts;
      Emit(index, steps, no_facts);
      Node& folded = nodes_[index];
      folded.value = RunSteps(steps, no_facts, nullptr);
      folded.op = kConst;
      folded.args.clear();
    }
    return index;
  }

  int Constant(double value, Origin origin, const Token& from) {
    const int index = Make(kConst, {}, from);
    if (index >= 0) {
      nodes_[index].value = value;
      nodes_[index].origin = origin;
    }
    return index;
  }

  bool Enter(const Token& at) {
    if (++depth_ > Expression::kMaxDepth) {
      Fail("expression is nested too deeply: at most " + std::to_string(Expression::kMaxDepth) +
               " levels of parentheses, function calls, 'not' and '-'",
           at.offset);
      return false;
    }
    return true;
  }
  void Leave() { --depth_; }

  // -- grammar, loosest first

  // One level of left-associative binary operators: operand (operator operand)*. `op_of` gives
  // the opcode of a token kind, or -1 for a token that is no operator of this level.
  int ParseLeftAssociative(int (Compiler::*operand)(), int (*op_of)(Tok)) {
    int left = (this->*operand)();
    while (left >= 0 && op_of(Peek().kind) >= 0) {
      const Token& op = Take();
      const int right = (this->*operand)();
      if (right < 0) return -1;
      left = Make(op_of(op.kind), {left, right}, op);
    }
    return left;
  }

  int ParseOr() {
    return ParseLeftAssociative(&Compiler::ParseAnd,
                                [](Tok kind) { return kind == Tok::kOr ? int{kOr} : -1; });
  }

  int ParseAnd() {
    // The first `and` chain outside any parentheses is the top level's, if the whole is one: its
    // operands, with where they are in the text, are the clauses.
    const bool top = depth_ == 0 && !top_seen_;
    top_seen_ = true;
    auto operand = [&] {
      const size_t begin = Peek().offset;
      const int node = ParseNot();
      if (top && node >= 0 && pos_ > 0) {
        const Token& last = tokens_[pos_ - 1];
        top_clauses_.push_back({node, begin, last.offset + last.length});
      }
      return node;
    };
    int left = operand();
    while (left >= 0 && Peek().kind == Tok::kAnd) {
      const Token& op = Take();
      const int right = operand();
      if (right < 0) return -1;
      left = Make(kAnd, {left, right}, op);
    }
    return left;
  }

  int ParseNot() {
    if (Peek().kind != Tok::kNot) return ParseComparison();
    const Token& op = Take();
    if (!Enter(op)) return -1;
    const int operand = ParseNot();
    Leave();
    if (operand < 0) return -1;
    return Make(kNot, {operand}, op);
  }

  static int ComparisonOp(Tok kind) {
    switch (kind) {
      case Tok::kLt:
        return kLt;
      case Tok::kLe:
        return kLe;
      case Tok::kGt:
        return kGt;
      case Tok::kGe:
        return kGe;
      case Tok::kEq:
        return kEq;
      case Tok::kNe:
        return kNe;
      default:
        return -1;
    }
  }

  int ParseComparison() {
    const int left = ParseSum();
    const int op_code = left >= 0 ? ComparisonOp(Peek().kind) : -1;
    if (op_code < 0) return left;
    const Token& op = Take();
    const int right = ParseSum();
    if (right < 0) return -1;
    if (ComparisonOp(Peek().kind) >= 0) {
      return Fail("comparisons cannot be chained: write 'a < b and b < c'", Peek().offset);
    }
    for (int side : {left, right}) {
      if (nodes_[side].origin == Origin::kNullLiteral) {
        return Fail("a comparison with null is never true: write defined(x) or not defined(x)",
                    nodes_[side].offset);
      }
    }
    for (auto [fact_side, literal_side] : {std::pair{left, right}, std::pair{right, left}}) {
      const Node& f = nodes_[fact_side];
      const Node& l = nodes_[literal_side];
      if (f.op == kFact && worth::InfoOf(f.fact).type == worth::FactType::kPercent &&
          l.origin == Origin::kPercentLiteral) {
        const std::string written(text_.substr(l.offset, l.length));
        return Fail(std::string(worth::InfoOf(f.fact).name) + " goes from 0 to 100: write " +
                        written.substr(0, written.size() - 1) + ", not " + written,
                    l.offset);
      }
    }
    return Make(op_code, {left, right}, op);
  }

  int ParseSum() {
    return ParseLeftAssociative(&Compiler::ParseProduct, [](Tok kind) {
      return kind == Tok::kPlus ? int{kAdd} : kind == Tok::kMinus ? int{kSub} : -1;
    });
  }

  int ParseProduct() {
    return ParseLeftAssociative(&Compiler::ParseUnary, [](Tok kind) {
      return kind == Tok::kStar ? int{kMul} : kind == Tok::kSlash ? int{kDiv} : -1;
    });
  }

  int ParseUnary() {
    if (Peek().kind != Tok::kMinus) return ParsePrimary();
    const Token& op = Take();
    if (!Enter(op)) return -1;
    const int operand = ParseUnary();
    Leave();
    if (operand < 0) return -1;
    return Make(kNeg, {operand}, op);
  }

  int ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kNumber:
        Take();
        return Constant(t.number, t.percent ? Origin::kPercentLiteral : Origin::kOther, t);
      case Tok::kTrue:
        Take();
        return Constant(1, Origin::kOther, t);
      case Tok::kFalse:
        Take();
        return Constant(0, Origin::kOther, t);
      case Tok::kNull:
        Take();
        return Constant(kNull, Origin::kNullLiteral, t);
      case Tok::kLParen: {
        Take();
        if (!Enter(t)) return -1;
        const int inner = ParseOr();
        Leave();
        if (inner < 0) return -1;
        if (Peek().kind == Tok::kEnd) return Fail("unclosed '('", t.offset);
        if (Peek().kind != Tok::kRParen) return Unexpected("inside '(...)'");
        Take();
        return inner;
      }
      case Tok::kName:
        return Peek(1).kind == Tok::kLParen ? ParseCall() : ParseFact();
      default:
        return Fail("expected a number, a fact or '(' but found " + Describe(t), t.offset);
    }
  }

  int ParseFact() {
    const Token& t = Take();
    const std::string_view name = text_.substr(t.offset, t.length);
    if (const std::optional<worth::Fact> fact = worth::FindFact(name)) {
      const int index = Make(kFact, {}, t);
      if (index >= 0) nodes_[index].fact = *fact;
      return index;
    }
    if (FindFunction(name)) {
      return Fail(std::string(name) + " is a function: write " + std::string(name) + "(...)",
                  t.offset);
    }
    const std::string lower = AsciiLower(name);
    for (std::string_view keyword : {"and", "or", "not", "true", "false", "null"}) {
      if (lower == keyword) {
        return Fail("unknown fact '" + std::string(name) + "' (did you mean " +
                        std::string(keyword) + "? keywords are lower case)",
                    t.offset);
      }
    }
    const std::vector<std::string_view> facts = FactNames();
    const std::string near = Nearest(name, facts);
    return Fail(
        "unknown fact '" + std::string(name) + "' (" +
            (near.empty() ? "the facts are: " + JoinAll(facts) : "did you mean " + near + "?") +
            ")",
        t.offset);
  }

  int ParseCall() {
    const Token& name_token = Take();
    const std::string_view name = text_.substr(name_token.offset, name_token.length);
    const Function* function = FindFunction(name);
    if (!function) {
      if (worth::FindFact(name)) {
        return Fail("'" + std::string(name) + "' is a fact, not a function", name_token.offset);
      }
      const std::vector<std::string_view> functions = FunctionNames();
      const std::string near = Nearest(name, functions);
      return Fail("unknown function '" + std::string(name) + "' (" +
                      (near.empty() ? "the functions are: " + JoinAll(functions)
                                    : "did you mean " + near + "?") +
                      ")",
                  name_token.offset);
    }
    const Token& open = Take();
    if (!Enter(open)) return -1;
    std::vector<int> args;
    if (Peek().kind != Tok::kRParen) {
      while (true) {
        const int arg = ParseOr();
        if (arg < 0) return -1;
        args.push_back(arg);
        if (Peek().kind == Tok::kComma) {
          Take();
          continue;
        }
        if (Peek().kind == Tok::kRParen) break;
        if (Peek().kind == Tok::kEnd) {
          return Fail("unclosed '(' of " + std::string(name) + "()", open.offset);
        }
        return Fail("expected ',' or ')' after an argument of " + std::string(name) +
                        "() but found " + Describe(Peek()),
                    Peek().offset);
      }
    }
    Take();  // ')'
    Leave();
    const int count = static_cast<int>(args.size());
    if (count < function->min_args || (function->max_args >= 0 && count > function->max_args)) {
      std::string message = std::string(name) + "() needs ";
      if (function->min_args == function->max_args) {
        message += "exactly " + Plural(function->min_args, "argument");
      } else {
        message += "at least " + Plural(function->min_args, "argument");
      }
      return Fail(message + ", not " + std::to_string(count), name_token.offset);
    }
    if (function->op < 0) return args.front();  // days(n) is n
    return Make(function->op, std::move(args), name_token);
  }

  // -- code

  void Emit(int index, std::vector<Step>& steps, std::vector<worth::Fact>& facts) const {
    const Node& n = nodes_[index];
    Step step;
    step.op = static_cast<uint8_t>(n.op);
    switch (n.op) {
      case kConst:
        step.value = n.value;
        break;
      case kFact: {
        auto it = std::find(facts.begin(), facts.end(), n.fact);
        if (it == facts.end()) it = facts.insert(facts.end(), n.fact);
        step.slot = static_cast<uint8_t>(std::min<size_t>(it - facts.begin(), 255));
        break;
      }
      case kAnd:
      case kOr: {
        Emit(n.args[0], steps, facts);
        const size_t jump = steps.size();
        steps.push_back(Step{static_cast<uint8_t>(n.op == kAnd ? kJumpIfFalse : kJumpIfTrue)});
        Emit(n.args[1], steps, facts);
        steps.push_back(step);
        steps[jump].arg = static_cast<uint16_t>(steps.size());
        return;
      }
      default:
        for (int a : n.args) Emit(a, steps, facts);
        step.arg = static_cast<uint16_t>(n.args.size());
        break;
    }
    steps.push_back(step);
  }

  std::string_view text_;
  Location where_;
  int continuation_column_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  std::vector<Node> nodes_;
  int depth_ = 0;
  int node_count_ = 0;
  std::optional<Error> error_;
  bool top_seen_ = false;
  struct TopClause {
    int node;
    size_t begin, end;  // bytes of the text
  };
  std::vector<TopClause> top_clauses_;
};

}  // namespace

Result<Expression> Expression::Compile(std::string_view text, const Location& where,
                                       int continuation_column) {
  Expression e;
  e.steps_.clear();
  Compiler compiler(text, where, continuation_column);
  if (Result<void> ok = compiler.Run(e.steps_, e.facts_, e.clauses_); !ok) {
    return tl::unexpected(std::move(ok.error()));
  }
  e.text_ = std::string(text);
  return e;
}

}  // namespace followup::rules
