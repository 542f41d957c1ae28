// core/workspace.h: scratch memory for one kernel call (or one forward/backward pair).
//
// Kernels take their temporaries from a Workspace instead of allocating tensors, so the kernels
// floor needs nothing above core/. Every block is a Storage on the workspace's device and lives
// until the Workspace is destroyed. On CUDA it is stream-ordered: blocks come from and go back to
// the caching allocator's free list of the device's loom stream, so a block freed while a kernel
// that reads it is still queued is only handed out again to work queued after that kernel on the
// same stream. Nothing synchronizes.
//
//   Workspace ws(Device::cuda(0));
//   float* z = ws.alloc<float>(T * B * G);   // uninitialized
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/device.h"
#include "core/storage.h"

namespace loom {

class Workspace {
 public:
  explicit Workspace(Device device) : device_(device) {}
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  Device device() const { return device_; }

  // `bytes` of uninitialized memory, 64-byte aligned on the CPU (256 on CUDA). 0 bytes -> nullptr.
  void* alloc_bytes(std::size_t bytes);

  template <typename T>
  T* alloc(std::int64_t count) {
    return static_cast<T*>(alloc_bytes(static_cast<std::size_t>(count) * sizeof(T)));
  }

  std::size_t bytes_held() const { return bytes_held_; }

 private:
  Device device_;
  std::vector<std::unique_ptr<Storage>> blocks_;
  std::size_t bytes_held_ = 0;
};

}  // namespace loom
