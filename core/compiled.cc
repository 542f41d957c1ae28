// core/compiled.cc: the NotCompiled throw behind LOOM_IF_CUDA / LOOM_IF_CUDNN.
#include "core/compiled.h"

#include <string>

#include "core/error.h"

namespace loom::detail {

void throw_not_compiled(const char* backend, const char* call) {
  throw NotCompiled(std::string(backend) + " is not compiled into this build; needed for: " + call +
                    " (rebuild with nvcc available, or use CPU tensors)");
}

}  // namespace loom::detail
