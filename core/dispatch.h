// core/dispatch.h (internal: included by core/*.cc, core/ops/*.cc and the benches, never by layers,
// models or tools).
//
// The one preprocessor switch of the engine. LOOM_IF_CUDA(call) is the call in a CUDA build and a
// NotCompiled throw otherwise; LOOM_IF_CUDNN likewise for cuDNN. LOOM_WITH_CUDA / LOOM_WITH_CUDNN
// are private compile definitions set by CMakeLists.txt.
#pragma once

#include "core/cuda_context.h"
#include "core/error.h"
#include "core/impl.h"
#include "core/tensor.h"

namespace loom::detail {

[[noreturn]] void throw_not_compiled(const char* backend, const char* call);

// Prints "loom: <op> -> <impl>" once per (op, impl) to stderr when LOOM_TRACE=1.
void trace_choice(const char* op, const char* impl);

}  // namespace loom::detail

#if LOOM_WITH_CUDA
#define LOOM_IF_CUDA(...) __VA_ARGS__
#else
#define LOOM_IF_CUDA(...) ::loom::detail::throw_not_compiled("CUDA", #__VA_ARGS__)
#endif

#if LOOM_WITH_CUDNN
#define LOOM_IF_CUDNN(...) __VA_ARGS__
#else
#define LOOM_IF_CUDNN(...) ::loom::detail::throw_not_compiled("cuDNN", #__VA_ARGS__)
#endif
