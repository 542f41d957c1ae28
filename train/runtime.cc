// train/runtime.cc: see runtime.h.
#include "train/runtime.h"

#include <ctime>
#include <filesystem>

#include "core/error.h"
#include "core/parallel.h"

namespace loom::train {

Device resolve_device(const std::string& flag, std::ostream& out) {
  if (flag == "auto") {
    if (cuda_device_count() > 0) {
      out << "device: cuda:0 (auto: a CUDA device is available)\n";
      return Device::cuda(0);
    }
    const std::string why = cuda_compiled() ? cuda_unavailable_reason() : "this build has no CUDA backend";
    out << "device: cpu (auto: " << why << ")\n";
    return Device::cpu();
  }
  const Device d = parse_device(flag);
  require_usable(d);
  out << "device: " << d.str() << "\n";
  return d;
}

ops::Precision check_precision(const std::string& flag) {
  return ops::parse_precision(flag);  // its error names the valid values
}

void note_precision(ops::Precision p, Device device, std::ostream& out) {
  if (p == ops::Precision::F16 && device.is_cpu())
    out << "fp16 on the CPU runs emulated through F32: slower than fp32; bf16 is the fast low precision here\n";
}

Impl resolve_impl(const std::string& flag, bool deterministic, Device device) {
  const Impl impl = parse_impl(flag);
  if (!deterministic || device.is_cpu()) return impl;
  LOOM_CHECK(impl != Impl::Cudnn, "--deterministic cannot use --impl cudnn: cuDNN's LSTM backward is not "
                                  "run-to-run deterministic; use --impl cuda or auto");
  return impl == Impl::Auto ? Impl::Cuda : impl;
}

void apply_threads(int threads) {
  LOOM_CHECK(threads >= 0, "--threads must be >= 0, got ", threads);
  if (threads > 0) set_num_threads(threads);
}

std::string default_run_dir(const std::string& arch) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  const std::string base = "runs/" + arch + "-" + buf;
  std::string dir = base;
  for (int i = 2; std::filesystem::exists(dir); ++i) dir = base + "-" + std::to_string(i);
  return dir;
}

}  // namespace loom::train
