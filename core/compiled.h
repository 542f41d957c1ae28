// core/compiled.h: which backends this build has, as the engine's one preprocessor switch.
//
// LOOM_IF_CUDA(call) is the call in a CUDA build and a NotCompiled throw otherwise; LOOM_IF_CUDNN
// likewise for cuDNN. LOOM_CUDA_FN(f) / LOOM_CUDNN_FN(f) name a backend function where it exists
// and are nullptr where it does not, so a dispatch table can list it either way
// (ops/dispatch.h). LOOM_WITH_CUDA / LOOM_WITH_CUDNN are private compile definitions set by
// CMakeLists.txt. Nothing else in the tree tests them.
#pragma once

namespace loom::detail {

[[noreturn]] void throw_not_compiled(const char* backend, const char* call);

}  // namespace loom::detail

#if LOOM_WITH_CUDA
#define LOOM_IF_CUDA(...) __VA_ARGS__
#define LOOM_CUDA_FN(f) (f)
#else
#define LOOM_IF_CUDA(...) ::loom::detail::throw_not_compiled("CUDA", #__VA_ARGS__)
#define LOOM_CUDA_FN(f) nullptr
#endif

#if LOOM_WITH_CUDNN
#define LOOM_IF_CUDNN(...) __VA_ARGS__
#define LOOM_CUDNN_FN(f) (f)
#else
#define LOOM_IF_CUDNN(...) ::loom::detail::throw_not_compiled("cuDNN", #__VA_ARGS__)
#define LOOM_CUDNN_FN(f) nullptr
#endif
