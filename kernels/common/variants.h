// kernels/common/variants.h: the shape of a kernel family's variant table.
//
// Each family (kernels/lstm, kernels/conv1d) lists every implementation of its forward and backward
// in ONE table of Variant rows: the naive reference, the fast CPU path, our CUDA versions, cuDNN.
// The op front-end (ops/) picks a row, the tests compare every row with the reference, and the
// benches time every row, all by looping over the same table, so a new variant is added in one
// place and is tested and benchmarked from then on. Rows whose backend is not compiled into this
// build are simply absent from the table.
#pragma once

#include <memory>
#include <string>

#include "core/cuda_context.h"
#include "core/device.h"

namespace loom::kernels {

// What a backend keeps from a training forward for its backward beyond the buffers every backend
// shares (cuDNN's opaque reserve space, for example). Variants that need nothing return nullptr.
struct BackendSaved {
  virtual ~BackendSaved() = default;
};

template <class FwdArgs, class BwdArgs>
struct Variant {
  const char* name = "";                 // "reference", "cpu", "cuda-v1", "cuda-v2", "cudnn", ...
  DeviceType device = DeviceType::Cpu;   // the tensors it takes
  // False, with the reason, for arguments this variant cannot run (null: runs everything).
  bool (*supports)(const FwdArgs&, std::string* why_not) = nullptr;
  // `cuda` is the device's context for CUDA variants and nullptr for CPU ones.
  std::unique_ptr<BackendSaved> (*forward)(const FwdArgs&, const CudaContext* cuda) = nullptr;
  void (*backward)(const BwdArgs&, const CudaContext* cuda, const BackendSaved* saved) = nullptr;
};

template <class FwdArgs, class BwdArgs>
bool variant_supports(const Variant<FwdArgs, BwdArgs>& v, const FwdArgs& args, std::string* why_not) {
  return v.supports == nullptr || v.supports(args, why_not);
}

}  // namespace loom::kernels
