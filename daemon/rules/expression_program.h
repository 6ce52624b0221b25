// The compiled form of an expression (rules/expression.h): the steps its parser emits
// (expression_parser.cpp) and its evaluator runs (expression_evaluator.cpp). Internal to rules/.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "rules/expression.h"
#include "worth/facts.h"

namespace followup::rules {

using Step = Expression::Step;

// Null is a quiet NaN inside the evaluator: arithmetic propagates it for free.
constexpr double kNull = std::numeric_limits<double>::quiet_NaN();
// Distinct facts one expression may read (bits of the per-evaluation "already read" mask).
constexpr size_t kMaxFacts = 64;

enum Op : uint8_t {
  kConst,
  kFact,
  kNeg,
  kNot,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kLt,
  kLe,
  kGt,
  kGe,
  kEq,
  kNe,
  kAnd,
  kOr,
  kJumpIfFalse,  // top is false: leave it as the result of the `and`, jump past it
  kJumpIfTrue,   // top is true: make it 1, the result of the `or`, jump past it
  kMin,
  kMax,
  kAbs,
  kRound,
  kWeeks,
  kCoalesce,
  kDefined,
};

inline bool IsNull(double v) { return std::isnan(v); }
inline bool IsTrue(double v) { return !IsNull(v) && v != 0; }

// Runs a program: the value of its last step (kNull for null). `source` may be null when the
// program reads no fact (constant folding); otherwise each fact of `facts` is read from it at most
// once. The stack never grows past StackDepth(steps), which must be at most Expression::kMaxNodes.
double RunSteps(std::span<const Step> steps, std::span<const worth::Fact> facts,
                const FactSource* source);

// The deepest the stack of a program gets (jumps land where the depth matches the fall-through).
size_t StackDepth(std::span<const Step> steps);

}  // namespace followup::rules
