// core/device.h: where a tensor lives, and what this build and machine can run.
//
// cuda_compiled() says whether this binary contains the CUDA backend; cuda_device_count() says how
// many GPUs the runtime sees (0, never an exception, on a machine without a driver or device).
#pragma once

#include <string>
#include <vector>

namespace loom {

enum class DeviceType { Cpu, Cuda };

struct Device {
  DeviceType type = DeviceType::Cpu;
  int index = 0;

  static Device cpu() { return {DeviceType::Cpu, 0}; }
  static Device cuda(int i = 0) { return {DeviceType::Cuda, i}; }
  bool is_cpu() const { return type == DeviceType::Cpu; }
  bool is_cuda() const { return type == DeviceType::Cuda; }
  bool operator==(const Device& o) const { return type == o.type && (is_cpu() || index == o.index); }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

// Parses "cpu", "cuda", "cuda:1". Throws loom::Error on anything else.
Device parse_device(const std::string& s);

bool cuda_compiled();
bool cudnn_compiled();
int cuda_device_count();                 // 0 when none is usable
std::string cuda_unavailable_reason();   // why cuda_device_count() is 0 ("" when it is not)

// Throws NotCompiled / NoDevice when `d` is a CUDA device that cannot run here.
void require_usable(Device d);

// What `loom doctor` and tests/main.cc print.
struct CudaDeviceInfo {
  std::string name;
  int major = 0, minor = 0;
  std::size_t total_memory = 0;
  int multiprocessors = 0;
};
struct BuildInfo {
  bool cuda = false;
  bool cudnn = false;
  int cuda_runtime_version = 0;   // e.g. 13000
  int cuda_driver_version = 0;    // 0 when no driver
  int cublas_version = 0;
  long cudnn_version = 0;         // runtime cudnnGetVersion()
  std::string cuda_architectures; // as configured at build time
  std::vector<CudaDeviceInfo> devices;
  std::string no_device_reason;
  std::string blas;               // CPU GEMM provider and its settings
  int threads = 1;
  std::string openmp_wait;        // openmp_wait_policy_text()
};
std::string build_info_text(const BuildInfo&);  // multi-line, human-readable

}  // namespace loom

namespace loom::detail {
// Implemented by core/cuda_probe.cc (CUDA builds) or core/cuda_probe_none.cc (CPU-only builds).
void fill_cuda_build_info(BuildInfo& info);
// Implemented by core/cudnn_support.cc or core/cudnn_none.cc; 0 when cuDNN is absent.
long cudnn_runtime_version();
}  // namespace loom::detail
