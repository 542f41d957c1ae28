// core/storage.cc: Storage lifetime and cross-device copies.
#include "core/storage.h"

#include <cstring>

#include "core/compiled.h"
#include "core/cuda_context.h"

namespace loom {

Storage::Storage(std::size_t bytes, Device device) : bytes_(bytes), device_(device) {
  require_usable(device);
  if (device.is_cpu()) {
    allocator_ = &cpu_allocator();
  } else {
    LOOM_IF_CUDA(allocator_ = &cuda_allocator(device.index);
                 stream_ = cuda_context(device.index).stream());
  }
  ptr_ = allocator_->allocate(bytes, stream_);
}

Storage::~Storage() {
  if (ptr_) allocator_->deallocate(ptr_, bytes_, stream_);
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  LOOM_IF_CUDA(detail::cuda_copy_bytes(dst, dst_device, src, src_device, bytes));
}

}  // namespace loom
