// The audience expression language of rules: the `where:` of a rule, such as
//
//   purchases >= 3 and overdue_ratio > 2 and return_rate < 30%
//
// Language (the whole of it):
//   literals     3  0.25  .5  1e3  30% (= 0.30)  true (= 1)  false (= 0)  null
//   facts        every name of worth::AllFacts(), resolved when compiling
//   arithmetic   + - * /  and unary -
//   comparisons  < <= > >= == !=    (not chained: `1 < x < 3` is an error; == is exact)
//   logic        and or not
//   functions    min(a, ...) max(a, ...) abs(x) round(x) coalesce(a, b, ...) defined(x)
//                days(n) (= n: day facts are in days) weeks(n) (= n * 7)
//   grouping     ( )
// Precedence, loosest first: or; and; not; comparisons; + -; * /; unary -. Binary operators are
// left-associative. Keywords and names are lower case. Everything is a number: comparisons and
// logic give 1 (true) or 0 (false), and any non-zero number counts as true.
//
// Null (an undefined fact: no purchase yet, no model ...) follows SQL's three-valued logic:
// arithmetic, comparisons, min, max, abs, round, days and weeks give null when any argument is
// null; division by zero gives null, and so does any result that is not a number (inf - inf). `and`
// is false if either side is false, else null if either is null, else true; `or` is true if either
// side is true, else null if either is null, else false; `not null` is null. coalesce() gives its
// first non-null argument (null when all are), defined(x) gives 1 if x is not null, else 0. Use
// them to ask about null: comparing with the literal null (`x == null`) is a compile error, since
// it is never true.
//
// Bounds (docs/architecture.md): text at most kMaxTextBytes, nesting (parentheses, function calls,
// unary operators) at most kMaxDepth levels, at most kMaxNodes literals, facts, operators and
// calls. There are no loops, so one evaluation runs at most a few hundred steps.
//
// Pure: no I/O, no clock, no globals. Thread safety: an Expression is immutable once compiled;
// any number of threads may call its const members at the same time (each evaluation uses only
// its own stack). Copying copies the compiled program (a few kilobytes at most).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "worth/facts.h"

namespace followup::rules {

// What an expression reads: the facts of one customer. Implemented by the rules engine over
// CustomerBase. Get() returns nullopt for an undefined fact (a NaN counts as undefined too). One
// evaluation calls it at most once per fact, only for facts in facts(), on the evaluating thread.
class FactSource {
 public:
  virtual ~FactSource() = default;
  virtual std::optional<double> Get(worth::Fact fact) const = 0;
};

class Expression {
 public:
  static constexpr size_t kMaxTextBytes = 4096;
  static constexpr int kMaxDepth = 64;
  static constexpr int kMaxNodes = 256;

  // The expression `true`: matches every customer (for a rule without `where:`).
  Expression();

  // Compiles `text`. On success, the compiled expression (it keeps a copy of `text`). On failure,
  // a kInvalidInput Error whose message an operator can act on ("unknown fact 'overdue_ration'
  // (did you mean overdue_ratio?)", "unclosed '('") and whose `where` points at the offending
  // token: `where.file` as given; on the first line of `text`, column = where.column + the token's
  // byte offset; on later lines (after a '\n'), line = where.line + lines before it and column =
  // continuation_column + the token's byte offset in its line. `where` is the position of the first
  // byte of `text` in its file; for a YAML block scalar, whose lines lose their common indentation,
  // pass that indentation + 1 as continuation_column. A line or column of 0 in `where` (unknown)
  // counts as 1, so a text without a file still gets positions inside it. Errors about the whole
  // text (too long, empty) point at `where`. Besides the grammar, Compile rejects two sure
  // mistakes: a comparison with the literal null, and a 0..100 fact (profit_percentile) compared
  // with a percent literal (`profit_percentile >= 90%`).
  static Result<Expression> Compile(std::string_view text, const Location& where,
                                    int continuation_column = 1);

  // The value for one customer: nullopt when it is null (undefined). Reads the facts it needs
  // from `facts`, each at most once; a false left side of `and` or a true left side of `or` skips
  // the right side. Allocates nothing and never fails.
  std::optional<double> Evaluate(const FactSource& facts) const;
  // True only when Evaluate() is non-null and non-zero: whether a rule selects the customer.
  bool Matches(const FactSource& facts) const;

  // Why Matches() is false, for `followupd explain`: the first clause of a top-level
  // `a and b and ...` that is not true (false or null) for these facts, as written, with the facts
  // it reads; for any other expression, the whole text and facts(). nullopt when it matches.
  struct Failed {
    std::string_view text;
    std::vector<worth::Fact> facts;  // in order of first appearance
  };
  std::optional<Failed> FailingClause(const FactSource& facts) const;

  // The distinct facts the expression reads, in order of first appearance in the text (so the
  // engine can fetch only those). Valid as long as the Expression.
  std::span<const worth::Fact> facts() const { return facts_; }
  // The source text as given to Compile() ("true" for a default-constructed Expression).
  const std::string& text() const { return text_; }

  // One step of the compiled program: postfix order, with forward jumps that cut `and`/`or`
  // short. Public only so that the implementation's helpers can name it; not part of the contract.
  struct Step {
    uint8_t op = 0;
    uint8_t slot = 0;  // for a fact read: its index in facts()
    uint16_t arg = 0;  // argument count of a function, or a jump's target step
    double value = 0;  // for a constant (NaN = null)
  };
  // A clause of a top-level `and`: its text and its own program (over the whole's facts).
  struct Clause {
    std::string text;
    std::vector<Step> steps;
  };

 private:
  std::string text_;
  std::vector<Step> steps_;
  std::vector<worth::Fact> facts_;
  std::vector<Clause> clauses_;  // empty unless the whole is a top-level `and`
};

}  // namespace followup::rules
