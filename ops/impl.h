// ops/impl.h: which implementation runs an op.
//
// Cuda means our hand-written kernels, Cudnn the vendor library. Both are compiled whenever CUDA
// (and cuDNN) are found and chosen at run time, because the benches compare them. Auto: CPU
// tensors -> Cpu; CUDA tensors -> Cuda when it supports the arguments, else Cudnn, else an error
// that says why. LOOM_TRACE=1 prints each choice.
#pragma once

#include <string>

namespace loom {

enum class Impl { Auto, Cpu, Cuda, Cudnn };

const char* impl_name(Impl);
Impl parse_impl(const std::string&);  // "auto" | "cpu" | "cuda" | "cudnn"

}  // namespace loom
