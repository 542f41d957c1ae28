// ops/dispatch.h (internal: included by ops/*.cc and the benches, never by layers, models or
// tools): run one kernel call on a tensor's device, and say what ran.
//
//   run_kernel("add", a, args, kernels::binary_cpu, LOOM_CUDA_FN(kernels::binary_cuda));
//
// picks the CPU function for CPU tensors and the CUDA one (with that device's CudaContext) for CUDA
// tensors, and prints the LOOM_TRACE line from the same place, so the trace cannot disagree with
// what ran. LOOM_CUDA_FN (core/compiled.h) is nullptr in a build without CUDA; reaching it then
// throws NotCompiled. Families with several implementations per device (the LSTM and the conv1d:
// ours, cuDNN, the naive reference) pick a row of their variant table instead and announce it
// with trace_choice().
#pragma once

#include "core/compiled.h"
#include "core/cuda_context.h"
#include "core/error.h"
#include "ops/impl.h"
#include "ops/tensor.h"

namespace loom::detail {

// Prints "loom: <op> -> <impl>" once per (op, impl) to stderr when LOOM_TRACE=1.
void trace_choice(const char* op, const char* impl);

}  // namespace loom::detail

namespace loom::ops {

// The CUDA context of a CUDA tensor's device.
inline const CudaContext& context_of(const Tensor& t) { return cuda_context(t.device().index); }

template <class T>
struct Exactly {
  using type = T;  // a parameter of this type takes part in no template deduction (nullptr fits)
};

template <class Args>
void run_kernel(const char* op, const Tensor& on, const Args& args, void (*cpu)(const Args&),
                typename Exactly<void (*)(const Args&, const CudaContext&)>::type cuda) {
  if (on.device().is_cpu()) {
    ::loom::detail::trace_choice(op, "cpu");
    cpu(args);
    return;
  }
  if (cuda == nullptr) ::loom::detail::throw_not_compiled("CUDA", op);
  ::loom::detail::trace_choice(op, "cuda");
  cuda(args, context_of(on));
}

}  // namespace loom::ops
