// bench/common/gpu_events_none.cc: GpuEvents in a build without CUDA. Benches check
// cuda_device_count() first and never get here; if one does, it is told why.
#include "bench/common/gpu_events.h"
#include "core/error.h"

namespace loom::bench {

GpuEvents::GpuEvents(int device) : device_(device) {
  LOOM_THROW(NotCompiled, "bench: CUDA events need a CUDA build (this one has no CUDA backend)");
}
GpuEvents::~GpuEvents() = default;
void GpuEvents::start() {}
double GpuEvents::stop_ms() { return 0.0; }
void GpuEvents::synchronize() {}

}  // namespace loom::bench
