// core/allocator_cpu.cc: 64-byte aligned host memory (one cache line, one AVX-512 vector).
#include <cstdlib>
#include <new>

#include "core/storage.h"

namespace loom {
namespace {

class CpuAllocator final : public Allocator {
 public:
  void* allocate(std::size_t bytes, void*) override {
    constexpr std::size_t kAlign = 64;
    // aligned_alloc wants a size that is a multiple of the alignment; zero-byte tensors still get
    // a unique pointer so views and comparisons behave.
    const std::size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
    void* p = std::aligned_alloc(kAlign, rounded == 0 ? kAlign : rounded);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void deallocate(void* ptr, std::size_t, void*) noexcept override { std::free(ptr); }
};

}  // namespace

Allocator& cpu_allocator() {
  static CpuAllocator allocator;
  return allocator;
}

}  // namespace loom
