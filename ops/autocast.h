// ops/autocast.h: mixed precision for the op front-ends, the way torch.autocast works.
//
// Inside an AutocastScope(Precision::BF16) (or F16) on this thread, every op front-end asks the
// policy table (ops/autocast_policy.cc: one row per op, with the reason for each F32 exception)
// what dtype its floating inputs should have, and casts them first with the autograd cast op, so
// the gradient of an F32 master weight arrives in F32 through the cast's backward:
//
//   {
//     ops::AutocastScope amp(ops::Precision::BF16);
//     logits = model.forward(tokens, lengths, ...);   // LSTM, conv1d, linear GEMMs in BF16
//     loss = objective(logits, targets);              // the loss casts logits to F32
//   }
//   tape.backward(loss);                              // master weights get F32 gradients
//
// Outside any scope (or in a Precision::F32 scope) nothing is cast and every op runs exactly as
// before: the F32 paths stay bitwise what they were.
//
// Weights are cast once per region: a leaf tensor that requires grad (a parameter) keeps its
// low-precision copy for the life of the scope, so the six ops that read one weight share one cast,
// and the copy is dropped when the scope ends. A training step opens one scope, so the copies are
// refreshed from the F32 masters after every optimizer step.
#pragma once

#include <string>
#include <vector>

#include "ops/tensor.h"

namespace loom::ops {

// The run-time precision choice: --precision fp32 | bf16 | fp16.
enum class Precision { F32, BF16, F16 };

// "fp32" | "bf16" | "fp16" (also "f32", "float32", "bfloat16", "f16", "float16", "half");
// throws loom::Error naming the valid values for anything else.
Precision parse_precision(const std::string& name);
const char* precision_name(Precision p);  // "fp32", "bf16", "fp16"
DType compute_dtype(Precision p);         // F32, BF16, F16

// How an op treats its floating inputs inside a low-precision region.
enum class OpPrecision {
  Low,     // cast to the region's dtype: the GEMM-heavy ops (LSTM, conv1d, linear, matmul, embedding)
  F32,     // cast to F32: losses, softmax, reductions, norms (range and accumulated rounding)
  Widest,  // cast to the widest floating dtype among the inputs: pointwise ops of several inputs
  AsIs,    // run in whatever dtype arrives: pointwise ops of one input, pooling, shape ops
};

struct OpPolicy {
  const char* op;             // the name the front-end passes (and LOOM_TRACE prints)
  OpPrecision precision;
  const char* why;            // one line; ops/README.md lists the table (a test keeps the two equal)
};

// The whole table, in the order of ops/autocast_policy.cc.
const std::vector<OpPolicy>& autocast_policy();
// The row of one op; throws loom::Error for an op missing from the table (so a new op cannot
// silently skip the policy).
OpPrecision autocast_policy_of(const std::string& op);

// An autocast region on this thread. Regions nest; the innermost wins; the destructor restores
// the previous one and drops the weight copies made in this one.
class AutocastScope {
 public:
  explicit AutocastScope(Precision p);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  Precision previous_;
};

// The innermost region's precision on this thread (F32 outside any region).
Precision autocast_precision();

// What front-ends call at entry: each floating input as the op's policy wants it (the tensor
// itself when nothing changes, undefined tensors and integer tensors untouched).
Tensor autocast_input(const char* op, const Tensor& x);
std::vector<Tensor> autocast_inputs(const char* op, const std::vector<Tensor>& xs);

// For a Low op that computes in its master's dtype and casts its result instead (embedding: the
// table stays F32, the gathered rows are cast): y in the region's dtype; y itself elsewhere.
Tensor autocast_output(const char* op, const Tensor& y);

// How many weight casts the cache has made on this thread (cache hits do not count): for tests.
std::int64_t autocast_weight_casts();

}  // namespace loom::ops
