// core/allocator_cuda.cc: the caching CUDA allocator behind Storage, and the CUDA half of
// copy_bytes.
//
// Why cache: cudaMalloc and cudaFree are slow (cudaFree also waits for the whole device), and a
// training step allocates and frees the same shapes every iteration. So a freed block goes to a
// free list keyed by (stream, size class) and the next request of that class on that stream takes
// it back without touching the driver.
//
// Why no events: a block is only handed out again on the stream it was used on. Work queued on one
// stream runs in order, so any kernel the next owner launches starts after every kernel the
// previous owner launched has finished with the block. Handing a block to a DIFFERENT stream would
// need a cudaEvent recorded at free time and waited on before reuse; loom uses one stream per
// device, so it never does that.
//
// Size classes: up to 1 MiB sizes round up to 512 bytes, above to 2 MiB, so blocks are reusable
// across slightly different shapes while the padding stays small relative to the block. Statistics
// (in_use, peak, cached) count class bytes, the memory actually held.
//
// LOOM_CUDA_ALLOC=plain disables caching: exact sizes, cudaMalloc and cudaFree every time, so
// compute-sanitizer sees each buffer's true bounds and lifetime.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/cuda_context.h"
#include "core/device.h"
#include "core/error.h"
#include "core/storage.h"

namespace loom {
namespace {

constexpr std::size_t kSmallGranule = 512;
constexpr std::size_t kSmallLimit = std::size_t{1} << 20;
constexpr std::size_t kLargeGranule = std::size_t{2} << 20;

std::size_t size_class(std::size_t bytes) {
  const std::size_t granule = bytes <= kSmallLimit ? kSmallGranule : kLargeGranule;
  return (bytes + granule - 1) / granule * granule;
}

bool caching_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("LOOM_CUDA_ALLOC");
    return !(v && std::strcmp(v, "plain") == 0);
  }();
  return enabled;
}

// Makes `device` current for a scope and restores the caller's device. It only logs errors,
// because it also runs inside deallocate(), which must not throw; a wrong current device would
// make the following CUDA call fail and be reported there.
class DeviceScope {
 public:
  explicit DeviceScope(int device) noexcept {
    if (cudaGetDevice(&previous_) != cudaSuccess || previous_ == device) {
      previous_ = -1;
      return;
    }
    LOOM_CUDA_WARN(cudaSetDevice(device));
  }
  ~DeviceScope() {
    if (previous_ >= 0) LOOM_CUDA_WARN(cudaSetDevice(previous_));
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = -1;
};

class CachingCudaAllocator final : public Allocator {
 public:
  explicit CachingCudaAllocator(int device) : device_(device), caching_(caching_enabled()) {}

  void* allocate(std::size_t bytes, void* stream) override {
    if (bytes == 0) return nullptr;
    const std::size_t size = caching_ ? size_class(bytes) : bytes;
    std::lock_guard<std::mutex> lock(mutex_);
    void* ptr = nullptr;
    if (caching_) {
      auto it = free_.find({stream, size});
      if (it != free_.end() && !it->second.empty()) {
        ptr = it->second.back();
        it->second.pop_back();
        stats_.cached -= size;
        ++stats_.reuses;
      }
    }
    if (!ptr) ptr = device_malloc_locked(size, bytes);
    live_[ptr] = Block{size, stream};
    stats_.in_use += size;
    stats_.peak = std::max(stats_.peak, stats_.in_use);
    return ptr;
  }

  void deallocate(void* ptr, std::size_t /*bytes*/, void* /*stream*/) noexcept override {
    if (!ptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(ptr);
    if (it == live_.end()) {
      std::fprintf(stderr, "loom: warning: cuda:%d deallocate of a pointer this allocator does not own (%p)\n",
                   device_, ptr);
      return;
    }
    // The block's own stream, recorded at allocation, is the one it may be reused on.
    const Block block = it->second;
    live_.erase(it);
    stats_.in_use -= block.size;
    if (caching_) {
      free_[{block.stream, block.size}].push_back(ptr);
      stats_.cached += block.size;
      return;
    }
    DeviceScope scope(device_);
    // Explicit, although cudaFree waits too: the last kernels using the block must be done.
    LOOM_CUDA_WARN(cudaStreamSynchronize(static_cast<cudaStream_t>(block.stream)));
    const cudaError_t err = cudaFree(ptr);
    // At process exit the runtime may already be gone; the memory goes with it.
    if (err != cudaErrorCudartUnloading) LOOM_CUDA_WARN(err);
  }

  CudaAllocStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  void release_cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cached_locked();
  }

 private:
  struct Block {
    std::size_t size;
    void* stream;
  };

  void release_cached_locked() {
    if (stats_.cached == 0) return;
    DeviceScope scope(device_);
    // Kernels queued before a block was freed may still be running on it.
    LOOM_CUDA_CHECK(cudaDeviceSynchronize());
    for (auto& entry : free_) {
      for (void* p : entry.second) LOOM_CUDA_CHECK(cudaFree(p));
    }
    free_.clear();
    stats_.cached = 0;
  }

  void* device_malloc_locked(std::size_t size, std::size_t requested) {
    DeviceScope scope(device_);
    void* ptr = nullptr;
    cudaError_t err = cudaMalloc(&ptr, size);
    if (err == cudaErrorMemoryAllocation) {
      // Out-of-memory is not sticky, but it stays in cudaGetLastError() and would be reported by
      // the next launch check: clear it, give the cache back to the driver and try once more.
      (void)cudaGetLastError();
      release_cached_locked();
      err = cudaMalloc(&ptr, size);
    }
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      std::size_t free_bytes = 0, total_bytes = 0;
      if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) (void)cudaGetLastError();
      LOOM_THROW(CudaError, "cuda:", device_, ": cudaMalloc of ", requested, " bytes (", size,
                 " with rounding) failed: ", cudaGetErrorName(err), "; loom holds ", stats_.in_use,
                 " bytes in use (peak ", stats_.peak, "), ", stats_.cached, " cached; device reports ",
                 free_bytes, " free of ", total_bytes);
    }
    ++stats_.device_allocs;
    return ptr;
  }

  const int device_;
  const bool caching_;
  std::mutex mutex_;
  std::map<std::pair<void*, std::size_t>, std::vector<void*>> free_;  // (stream, size) -> blocks
  std::unordered_map<void*, Block> live_;
  CudaAllocStats stats_;
};

// One allocator per device, created on first use and never destroyed: Storage objects held in
// statics may be freed during exit, after any ordinary static would be gone.
struct Registry {
  std::mutex mutex;
  std::vector<CachingCudaAllocator*> allocators;
};

Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

// The allocator of `device` if it was ever created, else null.
CachingCudaAllocator* existing_allocator(int device) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (device < 0 || static_cast<std::size_t>(device) >= r.allocators.size()) return nullptr;
  return r.allocators[device];
}

}  // namespace

Allocator& cuda_allocator(int device) {
  const int count = cuda_device_count();
  if (count == 0)
    LOOM_THROW(NoDevice, "cuda:", device, " memory requested but no CUDA device is usable: ",
               cuda_unavailable_reason());
  if (device < 0 || device >= count)
    LOOM_THROW(NoDevice, "cuda:", device, " does not exist: this machine has ", count, " CUDA device(s)");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (r.allocators.size() < static_cast<std::size_t>(count)) r.allocators.resize(count, nullptr);
  if (!r.allocators[device]) r.allocators[device] = new CachingCudaAllocator(device);
  return *r.allocators[device];
}

CudaAllocStats cuda_alloc_stats(int device) {
  CachingCudaAllocator* a = existing_allocator(device);
  return a ? a->stats() : CudaAllocStats{};
}

void cuda_alloc_release_cached(int device) {
  if (CachingCudaAllocator* a = existing_allocator(device)) a->release_cached();
}

namespace detail {

void cuda_copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes) {
  LOOM_CHECK(dst_device.is_cuda() || src_device.is_cuda(), "cuda_copy_bytes: neither ", dst_device.str(),
             " nor ", src_device.str(), " is a CUDA device");
  if (bytes == 0) return;
  // The copy is ordered on the stream of the side that owns the pending GPU work: the destination
  // when it is on a GPU (its earlier readers and writers are queued there), else the source.
  const Device side = dst_device.is_cuda() ? dst_device : src_device;
  if (dst_device.is_cuda() && src_device.is_cuda() && dst_device.index != src_device.index) {
    // The source's last writes are queued on its own device's stream.
    cuda_context(src_device.index).synchronize();
  }
  CudaContext& ctx = cuda_context(side.index);
  // cudaMemcpyDefault: unified addressing tells the runtime which side is which.
  LOOM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, ctx.stream()));
  LOOM_CUDA_CHECK(cudaStreamSynchronize(ctx.stream()));
}

}  // namespace detail
}  // namespace loom
