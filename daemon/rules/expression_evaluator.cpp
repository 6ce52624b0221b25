// The evaluator of expressions: runs the steps the parser emitted (expression_program.h).
#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include "rules/expression.h"
#include "rules/expression_program.h"

namespace followup::rules {
namespace {

// The result of comparing a with b: null if either is null.
inline double Compared(double a, double b, bool result) {
  return IsNull(a) || IsNull(b) ? kNull : (result ? 1.0 : 0.0);
}

}  // namespace

double RunSteps(std::span<const Step> steps, std::span<const worth::Fact> facts,
                const FactSource* source) {
  std::array<double, Expression::kMaxNodes> stack;  // Compile() checks the depth fits
  std::array<double, kMaxFacts> read;               // facts already read, by slot
  uint64_t have_read = 0;
  size_t sp = 0;
  for (size_t pc = 0; pc < steps.size(); ++pc) {
    const Step& s = steps[pc];
    switch (static_cast<Op>(s.op)) {
      case kConst:
        stack[sp++] = s.value;
        break;
      case kFact: {
        const uint64_t bit = uint64_t{1} << s.slot;
        if ((have_read & bit) == 0) {
          std::optional<double> v = source->Get(facts[s.slot]);
          read[s.slot] = v ? *v : kNull;  // a NaN from the source stays null
          have_read |= bit;
        }
        stack[sp++] = read[s.slot];
        break;
      }
      case kNeg:
        stack[sp - 1] = -stack[sp - 1];
        break;
      case kNot: {
        const double a = stack[sp - 1];
        stack[sp - 1] = IsNull(a) ? kNull : (a == 0 ? 1.0 : 0.0);
        break;
      }
      case kAdd:
        --sp;
        stack[sp - 1] += stack[sp];
        break;
      case kSub:
        --sp;
        stack[sp - 1] -= stack[sp];
        break;
      case kMul:
        --sp;
        stack[sp - 1] *= stack[sp];
        break;
      case kDiv:
        --sp;
        stack[sp - 1] = stack[sp] == 0 ? kNull : stack[sp - 1] / stack[sp];
        break;
      case kLt:
        --sp;
        stack[sp - 1] = Compared(stack[sp - 1], stack[sp], stack[sp - 1] < stack[sp]);
        break;
      case kLe:
        --sp;
        stack[sp - 1] = Compared(stack[sp - 1], stack[sp], stack[sp - 1] <= stack[sp]);
        break;
      case kGt:
        --sp;
        stack[sp - 1] = Compared(stack[sp - 1], stack[sp], stack[sp - 1] > stack[sp]);
        break;
      case kGe:
        --sp;
        stack[sp - 1] = Compared(stack[sp - 1], stack[sp], stack[sp - 1] >= stack[sp]);
        break;
      case kEq:
        --sp;
        stack[sp - 1] = Compared(stack[sp - 1], stack[sp], stack[sp - 1] == stack[sp]);
        break;
      case kNe:
        --sp;
        stack[sp - 1] = Compared(stack[sp - 1], stack[sp], stack[sp - 1] != stack[sp]);
        break;

      case kAnd: {
        --sp;
        const double a = stack[sp - 1], b = stack[sp];
        stack[sp - 1] = (a == 0 || b == 0) ? 0.0 : (IsNull(a) || IsNull(b)) ? kNull : 1.0;
        break;
      }
      case kOr: {
        --sp;
        const double a = stack[sp - 1], b = stack[sp];
        stack[sp - 1] = (IsTrue(a) || IsTrue(b)) ? 1.0 : (IsNull(a) || IsNull(b)) ? kNull : 0.0;
        break;
      }
      case kJumpIfFalse:
        if (stack[sp - 1] == 0) pc = s.arg - 1;
        break;
      case kJumpIfTrue:
        if (IsTrue(stack[sp - 1])) {
          stack[sp - 1] = 1;
          pc = s.arg - 1;
        }
        break;
      case kMin:
      case kMax: {
        const size_t first = sp - s.arg;
        double r = stack[first];
        for (size_t i = first + 1; i < sp && !IsNull(r); ++i) {
          const double v = stack[i];
          r = IsNull(v) ? kNull : (s.op == kMin ? std::min(r, v) : std::max(r, v));
        }
        sp = first + 1;
        stack[first] = r;
        break;
      }
      case kAbs:
        stack[sp - 1] = std::fabs(stack[sp - 1]);
        break;
      case kRound:
        stack[sp - 1] = std::round(stack[sp - 1]);
        break;
      case kWeeks:
        stack[sp - 1] *= 7;
        break;
      case kCoalesce: {
        const size_t first = sp - s.arg;
        double r = kNull;
        for (size_t i = first; i < sp && IsNull(r); ++i) r = stack[i];
        sp = first + 1;
        stack[first] = r;
        break;
      }
      case kDefined:
        stack[sp - 1] = IsNull(stack[sp - 1]) ? 0.0 : 1.0;
        break;
    }
  }
  return stack[0];
}

size_t StackDepth(std::span<const Step> steps) {
  size_t depth = 0, max_depth = 0;
  for (const Step& s : steps) {
    switch (static_cast<Op>(s.op)) {
      case kConst:
      case kFact:
        ++depth;
        break;
      case kAdd:
      case kSub:
      case kMul:
      case kDiv:
      case kLt:
      case kLe:
      case kGt:
      case kGe:
      case kEq:
      case kNe:
      case kAnd:
      case kOr:
        --depth;
        break;
      case kMin:
      case kMax:
      case kCoalesce:
        depth -= s.arg - 1;
        break;
      default:
        break;
    }
    max_depth = std::max(max_depth, depth);
  }
  return max_depth;
}

Expression::Expression() : text_("true"), steps_{Step{kConst, 0, 0, 1.0}} {}

std::optional<double> Expression::Evaluate(const FactSource& facts) const {
  const double v = RunSteps(steps_, facts_, &facts);
  if (IsNull(v)) return std::nullopt;
  return v;
}

bool Expression::Matches(const FactSource& facts) const {
  return IsTrue(RunSteps(steps_, facts_, &facts));
}

std::optional<Expression::Failed> Expression::FailingClause(const FactSource& facts) const {
  auto failed = [&](std::string_view text, std::span<const Step> steps) {
    Failed out{text, {}};
    for (const Step& s : steps) {
      if (s.op != kFact) continue;
      const worth::Fact fact = facts_[s.slot];
      if (std::find(out.facts.begin(), out.facts.end(), fact) == out.facts.end())
        out.facts.push_back(fact);
    }
    return out;
  };
  for (const Clause& clause : clauses_)
    if (!IsTrue(RunSteps(clause.steps, facts_, &facts))) return failed(clause.text, clause.steps);
  if (Matches(facts)) return std::nullopt;
  return failed(text_, steps_);
}

}  // namespace followup::rules
