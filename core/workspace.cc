// core/workspace.cc: see workspace.h.
#include "core/workspace.h"

namespace loom {

void* Workspace::alloc_bytes(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  blocks_.push_back(std::make_unique<Storage>(bytes, device_));
  bytes_held_ += bytes;
  return blocks_.back()->data();
}

}  // namespace loom
