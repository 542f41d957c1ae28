// tools/doctor.h: `loom doctor`, the build matrix and what this machine can run.
#pragma once

#include <iosfwd>

namespace loom::tools {

// Prints the build matrix (CUDA compiled?, runtime/driver, devices or why there are none, cuDNN,
// cuBLAS, BLAS, architectures, threads) and, when a GPU is usable, the allocator's state.
int doctor_main(std::ostream& out);

}  // namespace loom::tools
