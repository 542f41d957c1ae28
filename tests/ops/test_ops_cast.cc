// tests/ops/test_ops_cast.cc: dtype conversion with autograd (backward casts the gradient back).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ops/cast.h"
#include "tests/support/compare.h"
#include "tests/support/devices.h"
#include "tests/support/errors.h"
#include "tests/support/gradcheck.h"
#include "tests/support/values.h"

using namespace loom;
using namespace loom::test;

namespace {

// Forward cast of x (stored as `from`) to `to`, then backward seeded with dy (stored as `to`).
// Returns {y, dx} as floats.
std::pair<std::vector<float>, std::vector<float>> cast_round_trip(const std::vector<float>& x, DType from, DType to,
                                                                  const std::vector<float>& dy, Device device) {
  const auto n = static_cast<std::int64_t>(x.size());
  Tensor leaf = Tensor::from_vector(x, {n}, from, device);
  leaf.set_requires_grad(true);
  Tape tape;
  Tensor y;
  {
    auto rec = tape.record();
    y = ops::cast(leaf, to);
  }
  REQUIRE(y.dtype() == to);
  REQUIRE(y.device() == device);
  tape.backward(y, Tensor::from_vector(dy, {n}, to, device));
  REQUIRE(leaf.grad().dtype() == from);
  return {y.to(Device::cpu()).to_vector(), leaf.grad().to(Device::cpu()).to_vector()};
}

const DType kStorage[] = {DType::F32, DType::F16, DType::BF16};

}  // namespace

TEST_CASE("cast: F64 gradcheck through an F32 round trip") {
  // f(x) = cast(cast(x, F32), F64) has derivative 1 almost everywhere, but it is a staircase with
  // steps of one f32 ulp (<= 6e-8 for |x| <= 1), so h = 1e-6 would straddle only ~16 steps. With
  // h = 1e-3 the quotient is off by at most 2 * 6e-8 / 2e-3 = 6e-5, hence atol 1e-4.
  GradcheckOptions opt;
  opt.h = 1e-3;
  opt.atol = 1e-4;
  opt.rtol = 0;
  auto f = [](const std::vector<Tensor>& in) { return ops::cast(ops::cast(in[0], DType::F32), DType::F64); };
  gradcheck(f, {f64_random({3, 4}, 1, -0.9, 0.9)}, "cast f64 -> f32 -> f64", opt);
}

TEST_CASE("cast: forward rounds like the dtype functions and backward casts the gradient back") {
  const std::vector<float> x = {0.1f, -1.0f / 3.0f, 65519.0f, 70000.0f, 1e-6f, -2.0f};
  const std::vector<float> dy = {1.0f, 0.2f, -0.7f, 3.0f, 1e-3f, 0.0f};
  // F32 -> F16: y = round_f16(x); dy is given in F16, and dx (F32) is exactly its value.
  const auto [y16, dx32] = cast_round_trip(x, DType::F32, DType::F16, dy, Device::cpu());
  CHECK(y16 == round_to(x, DType::F16));
  CHECK(dx32 == round_to(dy, DType::F16));
  // F16 -> F32: y is exact; the F32 gradient is rounded to F16 on the way back.
  const auto [y32, dx16] = cast_round_trip(x, DType::F16, DType::F32, dy, Device::cpu());
  CHECK(y32 == round_to(x, DType::F16));
  CHECK(dx16 == round_to(dy, DType::F16));
  // F32 -> BF16 and back.
  const auto [yb, dxb] = cast_round_trip(x, DType::F32, DType::BF16, dy, Device::cpu());
  CHECK(yb == round_to(x, DType::BF16));
  CHECK(dxb == round_to(dy, DType::BF16));
  // F16 -> BF16 goes through the exact F32 value.
  const auto [yhb, dxhb] = cast_round_trip(x, DType::F16, DType::BF16, dy, Device::cpu());
  CHECK(yhb == round_to(round_to(x, DType::F16), DType::BF16));
  CHECK(dxhb == round_to(round_to(dy, DType::BF16), DType::F16));
}

TEST_CASE("cast: F64 <-> F32 with autograd") {
  Tensor x = f64({0.1, 1.0 / 3.0, -1e-40}, {3});
  x.set_requires_grad(true);
  Tape tape;
  Tensor y;
  {
    auto rec = tape.record();
    y = ops::cast(x, DType::F32);
  }
  CHECK(y.to_vector() == std::vector<float>{0.1f, 1.0f / 3.0f, -1e-40f});
  tape.backward(y, Tensor::from_vector(std::vector<float>{0.1f, 2.0f, -3.0f}, {3}));
  CHECK(x.grad().dtype() == DType::F64);
  CHECK(x.grad().to_vector_f64() == std::vector<double>{0.1f, 2.0, -3.0});  // the f32 values, exactly
}

TEST_CASE("cast: same dtype returns x itself and integers do not convert") {
  const Tensor x = Tensor::zeros({3}, DType::F16);
  CHECK(ops::cast(x, DType::F16).same_data(x));
  CHECK_SHAPE_ERROR([] { ops::cast(Tensor::zeros({3}, DType::I32), DType::F32); }, "cast", "i32");
  CHECK_SHAPE_ERROR([] { ops::cast(Tensor::zeros({3}), DType::I32); }, "cast", "i32");
}

TEST_CASE("cast: large CPU casts round every element") {
  // 200k elements: the multi-threaded path must round each element exactly like the scalar code.
  const std::vector<float> x = random_floats(200000, 2, -70000, 70000);
  for (DType to : {DType::F16, DType::BF16}) {
    INFO(std::string(dtype_name(to)));
    CHECK(ops::cast(Tensor::from_vector(x, {200000}), to).to_vector() == round_to(x, to));
  }
}

TEST_SUITE("cuda") {
  TEST_CASE("cast: CUDA produces the CPU's bits in both directions") {
    LOOM_REQUIRE_CUDA_DEVICE();
    // Includes values around every rounding hazard: overflow to inf, subnormal halves, ties.
    std::vector<float> x = random_floats(5000, 3, -3, 3);
    for (float v : {65519.0f, 65520.0f, -70000.0f, 5.9604644775390625e-8f, 2.98023223876953125e-8f, 1.00048828125f})
      x.push_back(v);
    const std::vector<float> dy = random_floats(static_cast<std::int64_t>(x.size()), 4, -2, 2);
    for (DType from : kStorage)
      for (DType to : kStorage) {
        if (from == to) continue;
        INFO(std::string(dtype_name(from)), " -> ", std::string(dtype_name(to)));
        const auto cpu = cast_round_trip(x, from, to, dy, Device::cpu());
        const auto gpu = cast_round_trip(x, from, to, dy, Device::cuda());
        CHECK(gpu.first == cpu.first);
        CHECK(gpu.second == cpu.second);
      }
  }
}
