// bench/common/gpu_events_cuda.cc: GpuEvents on the CUDA runtime (linked in CUDA builds).
//
// Events are recorded on the stream every loom op uses (CudaContext::stream()), so the elapsed
// time covers exactly the work the timed function queued there, measured by the GPU's clock.
#include <cuda_runtime_api.h>

#include "bench/common/gpu_events.h"
#include "core/cuda_context.h"
#include "core/error.h"

namespace loom::bench {
namespace {

cudaEvent_t ev(void* e) { return static_cast<cudaEvent_t>(e); }
cudaStream_t stream_of(int device) { return cuda_context(device).stream(); }

}  // namespace

GpuEvents::GpuEvents(int device) : device_(device) {
  stream_of(device_);  // creates the context and makes the device current
  cudaEvent_t a = nullptr, b = nullptr;
  LOOM_CUDA_CHECK(cudaEventCreate(&a));
  LOOM_CUDA_CHECK(cudaEventCreate(&b));
  start_ = a;
  stop_ = b;
}

GpuEvents::~GpuEvents() {
  if (start_) LOOM_CUDA_WARN(cudaEventDestroy(ev(start_)));  // destructors log, never throw
  if (stop_) LOOM_CUDA_WARN(cudaEventDestroy(ev(stop_)));
}

void GpuEvents::start() { LOOM_CUDA_CHECK(cudaEventRecord(ev(start_), stream_of(device_))); }

double GpuEvents::stop_ms() {
  LOOM_CUDA_CHECK(cudaEventRecord(ev(stop_), stream_of(device_)));
  LOOM_CUDA_CHECK(cudaEventSynchronize(ev(stop_)));
  float ms = 0.0f;
  LOOM_CUDA_CHECK(cudaEventElapsedTime(&ms, ev(start_), ev(stop_)));
  return static_cast<double>(ms);
}

void GpuEvents::synchronize() { cuda_context(device_).synchronize(); }

}  // namespace loom::bench
