// tests/kernels/test_pool_cuda.cc: the CUDA pooling kernels (kernels/pool/pool_cuda.cu), called
// directly, against the CPU reference (kernels/pool/pool_cpu.cc).
//
// Layer 2 of the pyramid. For each dtype (F32, F16, BF16) x shape, x is drawn once and rounded to
// the dtype; the CPU runs in F32 on those values, the GPU in the dtype. A max copies a stored value
// and both sides compare the same numbers with the same rule (first on ties, first NaN wins), so
// values, argmax and out_lengths must agree exactly up to the output rounding; BF16's coarse grid
// makes ties common, which is what checks the tie rule. Gradients: Overwrite into NaN-filled
// buffers, then Accumulate into the same buffers must give twice as much.
//
// Shapes: overlapping windows (k = 3, s = 2 and k = 4, s = 1), C = 300, B = 1, lengths with a zero
// and rows shorter than one window, T < k (no windows at all), and global max/mean with lengths.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/cuda_context.h"
#include "core/device.h"
#include "ops/tensor.h"
#include "kernels/pool/pool.h"
#include "tests/support/compare.h"
#include "tests/support/devices.h"
#include "tests/support/values.h"

using namespace loom;
using namespace loom::test;
using kernels::TimeReduce;

namespace {

constexpr DType kDtypes[] = {DType::F32, DType::F16, DType::BF16};

struct PoolCase {
  std::string name;
  std::int64_t T, B, C, k, s;
  std::vector<std::int32_t> lengths;  // empty: all T
};

std::vector<PoolCase> pool_cases() {
  return {
      {"k=3 s=2 overlapping with lengths and a zero", 9, 4, 5, 3, 2, {9, 4, 0, 3}},
      {"k=2 s=2 C=300 B=1", 8, 1, 300, 2, 2, {}},
      {"k=4 s=1 rows shorter than a window", 7, 3, 33, 4, 1, {7, 5, 1}},
      {"T < k has no windows", 2, 2, 3, 3, 1, {2, 1}},
  };
}

Tensor nan_tensor(const Shape& s, DType t, Device dev) {
  return Tensor::full(s, std::numeric_limits<double>::quiet_NaN(), t, dev);
}

std::vector<float> twice(const std::vector<float>& v) {
  std::vector<float> r(v);
  for (float& e : r) e *= 2.0f;
  return r;
}

struct MaxPoolOutputs {
  std::vector<float> y, dx, dx_acc;
  std::vector<std::int32_t> argmax, out_lengths;
};

MaxPoolOutputs run_maxpool(const PoolCase& c, const std::vector<float>& x_host, const std::vector<float>& dy_host,
                           DType t, bool on_gpu) {
  const Device dev = on_gpu ? Device::cuda(0) : Device::cpu();
  const std::int64_t T_out = kernels::maxpool1d_out_T(c.T, c.k, c.s);
  const Tensor x = Tensor::from_vector(x_host, {c.T, c.B, c.C}, t, dev);
  const Tensor dy = Tensor::from_vector(dy_host, {T_out, c.B, c.C}, t, dev);
  const Tensor lengths = c.lengths.empty() ? Tensor() : Tensor::from_vector(c.lengths, {c.B}, dev);
  const Tensor y = nan_tensor({T_out, c.B, c.C}, t, dev), dx = nan_tensor({c.T, c.B, c.C}, t, dev);
  const Tensor argmax = Tensor::full({T_out, c.B, c.C}, -7, DType::I32, dev);
  const Tensor out_lengths = Tensor::full({c.B}, -7, DType::I32, dev);
  kernels::MaxPool1dFwdArgs a;
  a.T = c.T;
  a.B = c.B;
  a.C = c.C;
  a.kernel = c.k;
  a.stride = c.s;
  a.dtype = t;
  a.x = x.data_ptr();
  a.lengths = lengths.defined() ? lengths.data<std::int32_t>() : nullptr;
  a.y = y.data_ptr();
  a.argmax = argmax.data<std::int32_t>();
  a.out_lengths = out_lengths.data<std::int32_t>();
  kernels::MaxPool1dBwdArgs b;
  b.T = c.T;
  b.B = c.B;
  b.C = c.C;
  b.kernel = c.k;
  b.stride = c.s;
  b.dtype = t;
  b.argmax = a.argmax;
  b.dy = dy.data_ptr();
  b.dx = dx.data_ptr();
  MaxPoolOutputs o;
  for (const GradMode mode : {GradMode::Overwrite, GradMode::Accumulate}) {
    b.mode = mode;
    if (on_gpu) {
      kernels::maxpool1d_fwd_cuda(a, cuda_context(0));
      kernels::maxpool1d_bwd_cuda(b, cuda_context(0));
    } else {
      kernels::maxpool1d_fwd_cpu(a);
      kernels::maxpool1d_bwd_cpu(b);
    }
    (mode == GradMode::Overwrite ? o.dx : o.dx_acc) = dx.to_vector();
  }
  o.y = y.to_vector();
  o.argmax = argmax.to_vector_i32();
  o.out_lengths = out_lengths.to_vector_i32();
  return o;
}

struct GlobalOutputs {
  std::vector<float> y, dx, dx_acc;
  std::vector<std::int32_t> argmax;
};

GlobalOutputs run_global(const PoolCase& c, TimeReduce op, const std::vector<float>& x_host,
                         const std::vector<float>& dy_host, DType t, bool on_gpu) {
  const Device dev = on_gpu ? Device::cuda(0) : Device::cpu();
  const Tensor x = Tensor::from_vector(x_host, {c.T, c.B, c.C}, t, dev);
  const Tensor dy = Tensor::from_vector(dy_host, {c.B, c.C}, t, dev);
  const Tensor lengths = c.lengths.empty() ? Tensor() : Tensor::from_vector(c.lengths, {c.B}, dev);
  const Tensor y = nan_tensor({c.B, c.C}, t, dev), dx = nan_tensor({c.T, c.B, c.C}, t, dev);
  const Tensor argmax = Tensor::full({c.B, c.C}, -7, DType::I32, dev);
  kernels::GlobalPoolFwdArgs a;
  a.T = c.T;
  a.B = c.B;
  a.C = c.C;
  a.dtype = t;
  a.op = op;
  a.x = x.data_ptr();
  a.lengths = lengths.defined() ? lengths.data<std::int32_t>() : nullptr;
  a.y = y.data_ptr();
  a.argmax = op == TimeReduce::Max ? argmax.data<std::int32_t>() : nullptr;
  kernels::GlobalPoolBwdArgs b;
  b.T = c.T;
  b.B = c.B;
  b.C = c.C;
  b.dtype = t;
  b.op = op;
  b.lengths = a.lengths;
  b.argmax = a.argmax;
  b.dy = dy.data_ptr();
  b.dx = dx.data_ptr();
  GlobalOutputs o;
  for (const GradMode mode : {GradMode::Overwrite, GradMode::Accumulate}) {
    b.mode = mode;
    if (on_gpu) {
      kernels::global_pool_fwd_cuda(a, cuda_context(0));
      kernels::global_pool_bwd_cuda(b, cuda_context(0));
    } else {
      kernels::global_pool_fwd_cpu(a);
      kernels::global_pool_bwd_cpu(b);
    }
    (mode == GradMode::Overwrite ? o.dx : o.dx_acc) = dx.to_vector();
  }
  o.y = y.to_vector();
  if (op == TimeReduce::Max) o.argmax = argmax.to_vector_i32();
  return o;
}

}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("maxpool1d cuda matches the CPU reference") {
    LOOM_REQUIRE_CUDA_DEVICE();
    std::uint64_t seed = 0x900;
    for (const DType t : kDtypes) {
      for (const PoolCase& c : pool_cases()) {
        INFO("maxpool1d ", dtype_name(t), " ", c.name);
        const std::int64_t T_out = kernels::maxpool1d_out_T(c.T, c.k, c.s);
        const std::vector<float> x = round_to(random_floats(c.T * c.B * c.C, ++seed, -1, 1), t);
        const std::vector<float> dy = round_to(random_floats(T_out * c.B * c.C, ++seed, -1, 1), t);
        const MaxPoolOutputs got = run_maxpool(c, x, dy, t, true);
        const MaxPoolOutputs ref = run_maxpool(c, x, dy, DType::F32, false);
        check_close(got.y, ref.y, t, "y");
        check_equal(got.argmax, ref.argmax, "argmax");
        check_equal(got.out_lengths, ref.out_lengths, "out_lengths");
        check_close(got.dx, ref.dx, t, "dx");
        check_close(got.dx_acc, twice(ref.dx), t, "dx (Accumulate)");
      }
    }
  }

  TEST_CASE("global max and mean pooling cuda match the CPU reference") {
    LOOM_REQUIRE_CUDA_DEVICE();
    std::uint64_t seed = 0xa00;
    const std::vector<PoolCase> cases = {
        {"T=7 B=4 C=5 lengths 7 3 0 1", 7, 4, 5, 1, 1, {7, 3, 0, 1}},
        {"T=50 B=1 C=300 no lengths", 50, 1, 300, 1, 1, {}},
    };
    for (const DType t : kDtypes) {
      for (const PoolCase& c : cases) {
        for (const TimeReduce op : {TimeReduce::Max, TimeReduce::Mean}) {
          INFO("global ", op == TimeReduce::Max ? "max " : "mean ", dtype_name(t), " ", c.name);
          const std::vector<float> x = round_to(random_floats(c.T * c.B * c.C, ++seed, -1, 1), t);
          const std::vector<float> dy = round_to(random_floats(c.B * c.C, ++seed, -1, 1), t);
          const GlobalOutputs got = run_global(c, op, x, dy, t, true);
          const GlobalOutputs ref = run_global(c, op, x, dy, DType::F32, false);
          check_close(got.y, ref.y, t, "y");
          if (op == TimeReduce::Max) check_equal(got.argmax, ref.argmax, "argmax");
          check_close(got.dx, ref.dx, t, "dx");
          check_close(got.dx_acc, twice(ref.dx), t, "dx (Accumulate)");
        }
      }
    }
  }
}
