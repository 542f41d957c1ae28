// core/storage.h: a refcounted buffer on one device, and the allocators behind it.
//
// CPU memory is 64-byte aligned (one cache line, one AVX-512 vector). CUDA memory comes from a
// caching allocator (core/allocator_cuda.cc): freed blocks go to per-stream, size-class free lists
// and are reused, so no cudaMalloc/cudaFree happens inside a training step.
// LOOM_CUDA_ALLOC=plain turns caching off (every free is a cudaFree) for debugging with
// compute-sanitizer.
#pragma once

#include <cstddef>
#include <memory>

#include "core/device.h"

namespace loom {

class Allocator {
 public:
  virtual ~Allocator() = default;
  // `stream` is an opaque cudaStream_t for CUDA allocators and ignored on the CPU.
  virtual void* allocate(std::size_t bytes, void* stream) = 0;
  virtual void deallocate(void* ptr, std::size_t bytes, void* stream) noexcept = 0;
};

Allocator& cpu_allocator();
Allocator& cuda_allocator(int device);  // only in CUDA builds; reached through LOOM_IF_CUDA

struct CudaAllocStats {
  std::size_t in_use = 0;        // bytes handed out and not yet freed
  std::size_t peak = 0;          // max of in_use since start (or reset)
  std::size_t cached = 0;        // bytes held in free lists, ready for reuse
  std::size_t device_allocs = 0; // number of cudaMalloc calls
  std::size_t reuses = 0;        // allocations served from a free list
};
// Zeros for a device that was never used. Throws NotCompiled in a build without CUDA.
CudaAllocStats cuda_alloc_stats(int device);
void cuda_alloc_release_cached(int device);  // cudaFree every cached block

class Storage {
 public:
  Storage(std::size_t bytes, Device device);  // allocates; throws NotCompiled / NoDevice / CudaError
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return ptr_; }
  std::size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
  Device device_;
  Allocator* allocator_ = nullptr;
  void* stream_ = nullptr;
};

// Copies between any two devices (host<->device, device<->device); synchronous with respect to the
// host, because tensors copied this way are read right after.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes);

}  // namespace loom

namespace loom::detail {
// CUDA half of copy_bytes (core/allocator_cuda.cc): cudaMemcpyAsync on the device's loom stream,
// then a stream synchronize. At least one side is a CUDA device.
void cuda_copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes);
}  // namespace loom::detail
