// tools/doctor.cc: `loom doctor`.
#include "tools/doctor.h"

#include <ostream>

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
  return 0;
}

}  // namespace loom::tools
