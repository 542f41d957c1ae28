// core/cuda_context.h: per-device CUDA state: one stream, lazily created cuBLAS and cuDNN handles,
// and a reusable scratch workspace.
//
// Plain C++: the CUDA types are only forward-declared, so kernel headers can name a CudaContext
// without including CUDA headers. All loom work on a device is ordered on its one stream.
#pragma once

#include <cstddef>
#include <memory>

struct CUstream_st;
struct cublasContext;
struct cudnnContext;

namespace loom {

enum class MathMode { Default, AllowTf32 };  // TF32 for F32 GEMMs only when asked (parity tests: off)

class CudaContext {
 public:
  explicit CudaContext(int device);
  ~CudaContext();
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  int device() const { return device_; }
  CUstream_st* stream() const { return stream_; }
  cublasContext* cublas() const;  // created on first use, bound to stream()
  cudnnContext* cudnn() const;    // created on first use; throws NotCompiled without cuDNN
  // Scratch memory for one kernel call at a time on this stream; grows, never shrinks.
  void* workspace(std::size_t bytes) const;
  void synchronize() const;

  MathMode math_mode = MathMode::Default;

 private:
  int device_;
  CUstream_st* stream_ = nullptr;
  mutable cublasContext* cublas_ = nullptr;
  mutable cudnnContext* cudnn_ = nullptr;
  mutable void* workspace_ = nullptr;
  mutable std::size_t workspace_bytes_ = 0;
};

// The context of device `index`, created on first use (sets the current device).
CudaContext& cuda_context(int index);

}  // namespace loom
