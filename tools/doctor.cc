// tools/doctor.cc: `loom doctor`: the build matrix (ops/build_info.h), whether a GPU is usable, and
// what this CPU can run: its features (core/cpu_features.h) and what `--precision bf16` / `fp16`
// run on when training on the CPU. bf16: native bf16 GEMMs (oneDNN's matmul primitive, bf16
// products, F32 accumulation) on an AVX512_BF16 / AMX-BF16 CPU with oneDNN compiled in, otherwise
// emulated (operands widened to F32; same math, no speedup). fp16 is always emulated on the CPU:
// no fast f16 multiply here (kernels/gemm/gemm.h says why).
#include "tools/doctor.h"

#include <ostream>

#include "core/cpu_features.h"
#include "core/device.h"
#include "ops/build_info.h"

namespace loom::tools {

int doctor_main(std::ostream& out) {
  const BuildInfo info = build_info();
  out << build_info_text(info);
  if (!info.cuda) {
    out << "GPU: not usable: this binary was built without CUDA (configure with nvcc on PATH, LOOM_CUDA=ON)\n";
  } else if (info.devices.empty()) {
    out << "GPU: not usable: " << info.no_device_reason << "; loom runs on the CPU\n";
  } else {
    out << "GPU: " << info.devices.size() << " usable device(s); `--device auto` picks cuda:0\n";
  }
  out << "CPU: " << cpu_features_line() << "\n";
  const CpuBf16Route& bf16 = cpu_bf16_route();
  out << "CPU --precision bf16: ";
  if (!bf16.error.empty()) {
    out << "unusable: " << bf16.error << "\n";
  } else if (bf16.native) {
    out << "native bf16 GEMMs (oneDNN matmul, bf16 products, F32 accumulation)\n";
  } else {
    out << "emulated through F32 (" << bf16.why << "): same math, no bf16 speedup\n";
  }
  out << "CPU --precision fp16: emulated through F32 (no fast f16 multiply on this CPU path)\n";
  return 0;
}

}  // namespace loom::tools
