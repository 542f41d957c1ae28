// core/device.cc: device parsing, the usability check, and the text of the build report
// (`loom doctor`; ops/build_info.cc fills it in, because the CPU GEMM provider is a kernel's).
#include "core/device.h"

#include <sstream>

#include "core/error.h"
#include "core/parallel.h"

namespace loom {

Device parse_device(const std::string& s) {
  if (s == "cpu") return Device::cpu();
  if (s == "cuda") return Device::cuda(0);
  if (s.rfind("cuda:", 0) == 0) {
    const std::string idx = s.substr(5);
    if (!idx.empty() && idx.find_first_not_of("0123456789") == std::string::npos)
      return Device::cuda(std::stoi(idx));
  }
  throw Error("unknown device '" + s + "' (expected cpu, cuda or cuda:N)");
}

void require_usable(Device d) {
  if (d.is_cpu()) return;
  if (!cuda_compiled())
    throw NotCompiled("cannot use " + d.str() + ": " + cuda_unavailable_reason());
  const int n = cuda_device_count();
  if (n == 0) throw NoDevice("cannot use " + d.str() + ": " + cuda_unavailable_reason());
  if (d.index < 0 || d.index >= n)
    throw NoDevice("cannot use " + d.str() + ": only " + std::to_string(n) + " CUDA device(s) visible");
}

namespace {
std::string version_str(long v, long major_div, long minor_div) {
  if (v <= 0) return "none";
  return std::to_string(v / major_div) + "." + std::to_string((v % major_div) / minor_div);
}
}  // namespace

std::string build_info_text(const BuildInfo& info) {
  std::ostringstream os;
  os << "loom build matrix\n";
  os << "  CUDA compiled      : " << (info.cuda ? "yes" : "no") << "\n";
  if (info.cuda) {
    os << "  CUDA runtime       : " << version_str(info.cuda_runtime_version, 1000, 10) << "\n";
    os << "  CUDA driver        : "
       << (info.cuda_driver_version ? version_str(info.cuda_driver_version, 1000, 10) : "none") << "\n";
    os << "  cuBLAS             : " << info.cublas_version / 10000 << "." << (info.cublas_version / 100) % 100
       << "." << info.cublas_version % 100 << "\n";
    os << "  architectures      : " << info.cuda_architectures << "\n";
  }
  os << "  cuDNN              : "
     << (info.cudnn ? "yes, " + std::to_string(info.cudnn_version / 10000) + "." +
                          std::to_string((info.cudnn_version / 100) % 100) + "." +
                          std::to_string(info.cudnn_version % 100)
                    : std::string("no"))
     << "\n";
  os << "  CUDA devices       : " << info.devices.size();
  if (info.devices.empty()) os << " (" << info.no_device_reason << ")";
  os << "\n";
  for (std::size_t i = 0; i < info.devices.size(); ++i) {
    const auto& d = info.devices[i];
    os << "    cuda:" << i << "  " << d.name << ", sm_" << d.major << d.minor << ", "
       << d.total_memory / (1024 * 1024) << " MiB, " << d.multiprocessors << " SMs\n";
  }
  os << "  CPU GEMM           : " << info.blas << "\n";
  os << "  CPU threads        : " << info.threads << "\n";
  os << "  OpenMP wait        : " << info.openmp_wait << "\n";
  return os.str();
}

}  // namespace loom
