// sim/memory.h: what runtime.cc and cublas.cc need from memory.cc beyond sim/state.h (allocating,
// freeing, and "is this a live device range?"). Private to the simulator's library parts.
#pragma once

#include <cstddef>

#include "sim/state.h"

namespace loom::sim {

// A fresh allocation (poisoned, nothing written, 256-byte aligned), or nullptr when the host is
// out of memory.
void* device_alloc(std::size_t bytes);

enum class DeviceFree { ok, not_allocated, double_free };
DeviceFree device_free(void* p);  // nullptr is ok, as for cudaFree

// The live allocation that holds all of [p, p + bytes), or nullptr (host memory, freed memory,
// or a range that runs past the end).
const Allocation* find_live(const void* p, std::size_t bytes);

std::size_t device_bytes_in_use();  // sum of the live allocations' sizes

// After a device-to-device copy of [src, src + bytes) to dst: each destination byte is written
// exactly when its source byte was (both ranges live; the caller checked).
void copy_written(void* dst, const void* src, std::size_t bytes);  // sum of the live allocations' sizes

}  // namespace loom::sim
