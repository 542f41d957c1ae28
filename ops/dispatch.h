// ops/dispatch.h (internal: included by ops/*.cc and the benches, never by layers, models or
// tools): run one kernel call on a tensor's device, and say what ran. Every op front-end calls
// its kernels through run_kernel or, for the families with a variant table, run_row_forward /
// run_row_backward.
//
//   run_kernel("add", a, args, kernels::binary_cpu, LOOM_CUDA_FN(kernels::binary_cuda));
//
// picks the CPU function for CPU tensors and the CUDA one (with that device's CudaContext) for CUDA
// tensors, and prints the LOOM_TRACE line from the same place, so the trace cannot disagree with
// what ran. LOOM_CUDA_FN (core/compiled.h) is nullptr in a build without CUDA; reaching it then
// throws NotCompiled.
//
// Families with several implementations per device (the LSTM and the conv1d: the naive reference,
// the fast CPU path, our CUDA versions, cuDNN) pick a row of their variant table
// (kernels/common/variants.h) and run it with
//
//   saved = run_row_forward("lstm_seq", row, "hand-written kernels support these arguments", x, args);
//   ... later, in the backward closure:  run_row_backward(row, x, bwd_args, saved.get());
//
// which prints "loom: lstm_seq -> cuda-v2 (why)" under LOOM_TRACE=1 and hands the row its device
// context.
//
// The same three functions are the kernel profiler's one hook (ops/profile.h, `loom trace
// --kernels`): each call opens a profile::Span around the kernel, which records the op, the row,
// the device, the arguments' shapes and cost and the time when a profile::Session is recording,
// and is one branch on an atomic flag when none is.
#pragma once

#include "core/compiled.h"
#include "core/cuda_context.h"
#include "core/error.h"
#include "kernels/common/variants.h"
#include "ops/impl.h"
#include "ops/profile.h"
#include "ops/tensor.h"

namespace loom::detail {

// Prints "loom: <op> -> <impl>" once per (op, impl) to stderr when LOOM_TRACE=1.
void trace_choice(const char* op, const char* impl);

}  // namespace loom::detail

namespace loom::ops {

// What a kernel takes: nullptr for CPU tensors, the device's context for CUDA ones (a build
// without CUDA has no contexts: there it throws NotCompiled, which no CUDA tensor reaches anyway).
inline const CudaContext* context_or_null(const Tensor& t) {
  if (t.device().is_cpu()) return nullptr;
  const CudaContext* context = nullptr;
  LOOM_IF_CUDA(context = &cuda_context(t.device().index));
  return context;
}

template <class T>
struct Exactly {
  using type = T;  // a parameter of this type takes part in no template deduction (nullptr fits)
};

template <class Args>
void run_kernel(const char* op, const Tensor& on, const Args& args, void (*cpu)(const Args&),
                typename Exactly<void (*)(const Args&, const CudaContext&)>::type cuda) {
  if (on.device().is_cpu()) {
    ::loom::detail::trace_choice(op, "cpu");
    const profile::Span span(op, "cpu", on.device(), args);
    cpu(args);
    return;
  }
  if (cuda == nullptr) ::loom::detail::throw_not_compiled("CUDA", op);
  ::loom::detail::trace_choice(op, "cuda");
  const profile::Span span(op, "cuda", on.device(), args);
  cuda(args, *context_or_null(on));
}

template <class Fwd, class Bwd>
std::unique_ptr<kernels::BackendSaved> run_row_forward(const char* op, const kernels::Variant<Fwd, Bwd>& row,
                                                       const std::string& why, const Tensor& on, const Fwd& args) {
  ::loom::detail::trace_choice(op, (std::string(row.name) + " (" + why + ")").c_str());
  const profile::Span span(op, row.name, on.device(), args);
  return row.forward(args, context_or_null(on));
}

template <class Fwd, class Bwd>
void run_row_backward(const kernels::Variant<Fwd, Bwd>& row, const Tensor& on, const Bwd& args,
                      const kernels::BackendSaved* saved) {
  // The op's name comes from describe(): the backward's argument struct knows its family.
  const profile::Span span("?", row.name, on.device(), args);
  row.backward(args, context_or_null(on), saved);
}

}  // namespace loom::ops
