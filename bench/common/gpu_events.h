// bench/common/gpu_events.h: a start/stop pair of CUDA events on loom's stream of one device.
//
// Plain C++ so the benches compile in every build shape: gpu_events_cuda.cc implements it with
// the CUDA runtime, gpu_events_none.cc (CPU-only builds) throws NotCompiled. CMake links one.
#pragma once

namespace loom::bench {

class GpuEvents {
 public:
  explicit GpuEvents(int device);
  ~GpuEvents();
  GpuEvents(const GpuEvents&) = delete;
  GpuEvents& operator=(const GpuEvents&) = delete;

  void start();        // records the start event on cuda_context(device).stream()
  double stop_ms();    // records the stop event, waits for it, returns the elapsed milliseconds
  void synchronize();  // waits for everything queued on the stream

 private:
  int device_;
  void* start_ = nullptr;  // cudaEvent_t
  void* stop_ = nullptr;
};

}  // namespace loom::bench
