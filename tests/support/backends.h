// tests/support/backends.h: layer 2 of the test pyramid, "every backend x dtype agrees with the
// CPU F32 reference".
//
// compare_with_reference(f, inputs, dtype, device, what) runs the op twice:
//   reference: on the CPU in F32, with every input (and the upstream gradient dy) first rounded to
//              `dtype`, so both runs see exactly the same input values;
//   candidate: on `device`, with the inputs stored in `dtype`;
// then compares the output and the gradient of every differentiable input with the tolerance of
// `dtype` from compare.h. The rounding step matters: without it an F16 run would be judged on
// the error of rounding its inputs, which says nothing about the kernel.
//
// Used by the TEST_SUITE("cuda") cases (device = cuda, dtypes F32/F16/BF16) and by the CPU
// half-storage cases (device = cpu, dtypes F16/BF16), which run on every machine.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "ops/autograd.h"
#include "ops/tensor.h"
#include "tests/support/compare.h"
#include "tests/support/gradcheck.h"
#include "tests/support/values.h"

namespace loom::test {

enum class InputKind {
  Diff,      // floating, stored in the tested dtype, differentiated
  Const,     // floating, stored in the tested dtype, not differentiated (e.g. BCE targets)
  F32Const,  // always F32 whatever the tested dtype (class weights, pos_weight: loss dtype)
  Int,       // I32 (ids, class targets); values must be integral
};

struct OpInput {
  std::vector<float> values;
  Shape shape;
  InputKind kind = InputKind::Diff;
};

struct OpRun {
  DType out_dtype = DType::F32;
  Shape out_shape;
  std::vector<float> out;
  std::vector<std::vector<float>> grads;  // one per input; empty for inputs not differentiated
};

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Runs f once on `device`, storing floating inputs in `dtype` after rounding them to `round_like`,
// and seeds backward with dy (fixed random values, rounded the same way) or with 1 for a scalar.
inline OpRun run_op(const OpFn& f, const std::vector<OpInput>& inputs, DType dtype, Device device,
                    DType round_like, std::uint64_t dy_seed = 0xd1) {
  std::vector<Tensor> tensors;
  for (const OpInput& in : inputs) {
    REQUIRE(static_cast<std::int64_t>(in.values.size()) == numel(in.shape));
    Tensor t;
    switch (in.kind) {
      case InputKind::Diff:
      case InputKind::Const:
        t = Tensor::from_vector(round_to(in.values, round_like), in.shape, dtype, device);
        break;
      case InputKind::F32Const:
        t = Tensor::from_vector(in.values, in.shape, DType::F32, device);
        break;
      case InputKind::Int: {
        std::vector<std::int32_t> ints(in.values.begin(), in.values.end());
        t = Tensor::from_vector(ints, in.shape, device);
        break;
      }
    }
    if (in.kind == InputKind::Diff) t.set_requires_grad(true);
    tensors.push_back(t);
  }
  Tape tape;
  const Tensor y = record_forward(tape, f, tensors);
  REQUIRE(y.defined());
  REQUIRE(y.device() == device);
  OpRun run;
  run.out_dtype = y.dtype();
  run.out_shape = y.shape();
  run.out = y.to(Device::cpu()).to_vector();
  if (y.numel() == 1) {
    tape.backward(y);
  } else {
    const std::vector<float> dy = round_to(random_floats(y.numel(), dy_seed, -1.0f, 1.0f), round_like);
    tape.backward(y, Tensor::from_vector(dy, y.shape(), y.dtype(), device));
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::vector<float> g;
    if (inputs[i].kind == InputKind::Diff) {
      const Tensor grad = tensors[i].grad();
      if (grad.defined()) {
        CHECK(grad.shape() == tensors[i].shape());
        CHECK(grad.dtype() == tensors[i].dtype());
        CHECK(grad.device() == device);
        g = grad.to(Device::cpu()).to_vector();
      } else {
        g.assign(inputs[i].values.size(), 0.0f);
      }
    }
    run.grads.push_back(g);
  }
  return run;
}

// atol_scale multiplies the table's absolute tolerance for ops whose rounding errors are relative
// to intermediates larger than O(1): a sum of n O(1) terms has partial sums ~sqrt(n), and two
// summation orders differ by a random walk of ulps of those, so reductions pass sqrt(n).
inline void compare_with_reference(const OpFn& f, const std::vector<OpInput>& inputs, DType dtype,
                                   Device device, const std::string& what, double atol_scale = 1.0) {
  const std::string label = what + " on " + device.str() + " in " + dtype_name(dtype);
  INFO(label);
  Tolerance tol = tolerance(dtype);
  tol.atol *= atol_scale;
  const OpRun ref = run_op(f, inputs, DType::F32, Device::cpu(), dtype);
  const OpRun got = run_op(f, inputs, dtype, device, dtype);
  CHECK(got.out_shape == ref.out_shape);
  const std::string tol_note = std::string(" [") + dtype_name(dtype) + " tolerance]";
  check_close(got.out, ref.out, tol, label + ": forward" + tol_note);
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].kind == InputKind::Diff)
      check_close(got.grads[i], ref.grads[i], tol, label + ": gradient of input " + std::to_string(i) + tol_note);
}

// The CUDA-vs-CPU check of one op: F32, F16 and BF16 against the CPU F32 reference.
inline void compare_cuda_with_cpu(const OpFn& f, const std::vector<OpInput>& inputs, const std::string& what,
                                  double atol_scale = 1.0) {
  for (DType dt : {DType::F32, DType::F16, DType::BF16})
    compare_with_reference(f, inputs, dt, Device::cuda(), what, atol_scale);
}

// The CPU half-storage check: CPU kernels reading/writing F16 and BF16 agree with CPU F32.
inline void compare_cpu_half_storage(const OpFn& f, const std::vector<OpInput>& inputs, const std::string& what,
                                     double atol_scale = 1.0) {
  for (DType dt : {DType::F16, DType::BF16}) compare_with_reference(f, inputs, dt, Device::cpu(), what, atol_scale);
}

inline OpInput diff_input(const Shape& shape, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  return {random_floats(numel(shape), seed, lo, hi), shape, InputKind::Diff};
}

}  // namespace loom::test
