// sim/include/cub/device/device_radix_sort.cuh: the simulator's stand-in for CUB's
// DeviceRadixSort (the real CUB does not compile for the host). Only SortPairs over integer keys,
// the overload loom's embedding backward uses.
//
// Contract kept from CUB: called with d_temp_storage == nullptr it only writes the scratch size it
// needs; otherwise it sorts the (key, value) pairs by the key bits [begin_bit, end_bit), stably
// (equal keys keep their input order), and returns cudaSuccess. Signed keys order as numbers (CUB
// flips the sign bit). It runs on the host at the call, as every stream operation of the
// simulator does; the device buffers are checked as a kernel's accesses would be (all in live
// allocations: memcheck; inputs written: initcheck) and the outputs are marked written.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <type_traits>
#include <vector>

#include "sim/memory.h"
#include "sim/state.h"

namespace cub {

namespace sim_detail {

// A device range the sort reads or writes: in one live allocation, and written when read.
inline bool check_range(const char* what, const void* p, std::size_t bytes, bool read) {
  if (bytes == 0) return true;
  if (loom::sim::find_live(p, bytes) == nullptr) {
    char msg[200];
    std::snprintf(msg, sizeof msg, "cub::DeviceRadixSort::SortPairs: %s (%zu bytes at %p) is not inside a live device "
                  "allocation", what, bytes, p);
    loom::sim::report_fault(loom::sim::Check::memcheck, msg);
    return false;
  }
  const void* first = nullptr;
  if (read && loom::sim::check_enabled(loom::sim::Check::initcheck) && !loom::sim::all_written(p, bytes, &first)) {
    char msg[200];
    std::snprintf(msg, sizeof msg, "cub::DeviceRadixSort::SortPairs reads unwritten %s: byte %zu of %zu at %p", what,
                  static_cast<std::size_t>(static_cast<const char*>(first) - static_cast<const char*>(p)), bytes, p);
    loom::sim::report_fault(loom::sim::Check::initcheck, msg);
  }
  return true;
}

}  // namespace sim_detail

struct DeviceRadixSort {
  template <class KeyT, class ValueT, class NumItemsT>
  static cudaError_t SortPairs(void* d_temp_storage, std::size_t& temp_storage_bytes, const KeyT* d_keys_in,
                               KeyT* d_keys_out, const ValueT* d_values_in, ValueT* d_values_out, NumItemsT num_items,
                               int begin_bit = 0, int end_bit = sizeof(KeyT) * 8, cudaStream_t stream = 0) {
    static_assert(std::is_integral_v<KeyT>, "the simulator's SortPairs sorts integer keys only");
    (void)stream;
    using Bits = std::make_unsigned_t<KeyT>;
    constexpr int kBits = sizeof(KeyT) * 8;
    const std::size_t n = num_items > 0 ? static_cast<std::size_t>(num_items) : 0;
    // Scratch as CUB would ask for it: room for a second copy of keys and values (the radix
    // passes' double buffer). Asking for it keeps the caller's workspace sizing honest.
    const std::size_t scratch = n * (sizeof(KeyT) + sizeof(ValueT)) + 256;
    if (d_temp_storage == nullptr) {
      temp_storage_bytes = scratch;
      return cudaSuccess;
    }
    if (begin_bit < 0 || end_bit > kBits || begin_bit > end_bit) return cudaErrorInvalidValue;
    if (temp_storage_bytes < scratch) return cudaErrorInvalidValue;
    if (n == 0) return cudaSuccess;
    if (!sim_detail::check_range("temp storage", d_temp_storage, scratch, false) ||
        !sim_detail::check_range("d_keys_in", d_keys_in, n * sizeof(KeyT), true) ||
        !sim_detail::check_range("d_values_in", d_values_in, n * sizeof(ValueT), true) ||
        !sim_detail::check_range("d_keys_out", d_keys_out, n * sizeof(KeyT), false) ||
        !sim_detail::check_range("d_values_out", d_values_out, n * sizeof(ValueT), false))
      return cudaErrorIllegalAddress;

    // The sort key of an item: its bits [begin_bit, end_bit), sign bit flipped for signed keys.
    const int width = end_bit - begin_bit;
    const Bits field = width >= kBits ? static_cast<Bits>(~Bits{0}) : static_cast<Bits>((Bits{1} << width) - 1);
    const Bits flip = std::is_signed_v<KeyT> ? static_cast<Bits>(Bits{1} << (kBits - 1)) : Bits{0};
    auto radix = [&](KeyT k) {
      if (width == 0) return Bits{0};
      return static_cast<Bits>((static_cast<Bits>(static_cast<Bits>(k) ^ flip) >> begin_bit) & field);
    };
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return radix(d_keys_in[a]) < radix(d_keys_in[b]); });
    // Gathered into host vectors first, so nothing is overwritten while it is still to be read.
    std::vector<KeyT> keys(n);
    std::vector<ValueT> values(n);
    for (std::size_t i = 0; i < n; ++i) {
      keys[i] = d_keys_in[order[i]];
      values[i] = d_values_in[order[i]];
    }
    std::copy(keys.begin(), keys.end(), d_keys_out);
    std::copy(values.begin(), values.end(), d_values_out);
    loom::sim::mark_written(d_keys_out, n * sizeof(KeyT));
    loom::sim::mark_written(d_values_out, n * sizeof(ValueT));
    return cudaSuccess;
  }
};

}  // namespace cub
