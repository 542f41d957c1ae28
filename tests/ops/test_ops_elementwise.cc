// tests/ops/test_ops_elementwise.cc: add, sub, mul, scale, sigmoid, tanh, relu, dropout.
//
// For each op: (a) F64 gradient check of the CPU path, (b) forward values against a naive loop,
// (c) shape errors, (d) CPU half storage and CUDA (F32/F16/BF16) against the CPU F32 reference.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ops/elementwise.h"
#include "core/philox.h"
#include "ops/reduce.h"
#include "tests/support/backends.h"
#include "tests/support/compare.h"
#include "tests/support/devices.h"
#include "tests/support/errors.h"
#include "tests/support/gradcheck.h"
#include "tests/support/values.h"

using namespace loom;
using namespace loom::test;

namespace {

using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);

struct BinaryCase {
  const char* name;
  BinaryFn fn;
  double (*ref)(double, double);
};

const BinaryCase kBinary[] = {
    {"add", ops::add, [](double a, double b) { return a + b; }},
    {"sub", ops::sub, [](double a, double b) { return a - b; }},
    {"mul", ops::mul, [](double a, double b) { return a * b; }},
};

struct UnaryCase {
  const char* name;
  Tensor (*fn)(const Tensor&);
  double (*ref)(double);
};

const UnaryCase kUnary[] = {
    {"sigmoid", ops::sigmoid, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }},
    {"tanh", ops::tanh, [](double x) { return std::tanh(x); }},
    {"relu", ops::relu, [](double x) { return x > 0 ? x : 0.0; }},
};

// The drop mask of dropout(x, p, gen) for a generator in state (seed, offset), per the header:
// element i is kept when uniform(seed, offset + i) >= p.
std::vector<bool> expected_keep(std::int64_t n, float p, std::uint64_t seed, std::uint64_t offset) {
  std::vector<bool> keep(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    keep[static_cast<std::size_t>(i)] = philox_uniform(seed, offset + static_cast<std::uint64_t>(i)) >= p;
  return keep;
}

}  // namespace

// ---- binary ops: add, sub, mul ----------------------------------------------------------------

TEST_CASE("elementwise binary: F64 gradcheck with same shape and row broadcast") {
  for (const BinaryCase& op : kBinary) {
    INFO(std::string(op.name));
    auto f = [&](const std::vector<Tensor>& in) { return op.fn(in[0], in[1]); };
    gradcheck(f, {f64_random({3, 4}, 1), f64_random({3, 4}, 2)}, std::string(op.name) + " same shape");
    gradcheck(f, {f64_random({3, 4}, 3), f64_random({4}, 4)}, std::string(op.name) + " bias row [4]");
    gradcheck(f, {f64_random({2, 3, 4}, 5), f64_random({4}, 6)}, std::string(op.name) + " 3-D with bias row");
  }
}

TEST_CASE("elementwise binary: forward values against a loop") {
  // Large enough (240k elements) to take the multi-threaded CPU path.
  const std::int64_t rows = 600, cols = 400;
  const std::vector<double> a = random_values(rows * cols, 11, -2, 2);
  const std::vector<double> b = random_values(rows * cols, 12, -2, 2);
  const std::vector<double> bias = random_values(cols, 13, -2, 2);
  for (const BinaryCase& op : kBinary) {
    INFO(std::string(op.name));
    std::vector<double> same(a.size()), row(a.size());
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c) {
        const auto i = static_cast<std::size_t>(r * cols + c);
        same[i] = op.ref(a[i], b[i]);
        row[i] = op.ref(a[i], bias[static_cast<std::size_t>(c)]);
      }
    const Tensor y = op.fn(f64(a, {rows, cols}), f64(b, {rows, cols}));
    CHECK(y.shape() == Shape{rows, cols});
    CHECK(y.dtype() == DType::F64);
    check_close(y.to_vector_f64(), same, DType::F64, std::string(op.name) + " same shape");
    check_close(op.fn(f64(a, {rows, cols}), f64(bias, {cols})).to_vector_f64(), row, DType::F64,
                std::string(op.name) + " bias row");
    // F32 storage computes in F32.
    const Tensor a32 = Tensor::from_vector(std::vector<float>(a.begin(), a.end()), {rows, cols});
    const Tensor b32 = Tensor::from_vector(std::vector<float>(b.begin(), b.end()), {rows, cols});
    check_close(op.fn(a32, b32).to_vector(), same, DType::F32, std::string(op.name) + " f32");
  }
}

TEST_CASE("elementwise binary: shape and dtype errors name the op and both operands") {
  const Tensor a = Tensor::zeros({2, 3});
  for (const BinaryCase& op : kBinary) {
    INFO(std::string(op.name));
    CHECK_SHAPE_ERROR([&] { op.fn(a, Tensor::zeros({3, 2})); }, op.name, "[2, 3]", "[3, 2]");
    CHECK_SHAPE_ERROR([&] { op.fn(a, Tensor::zeros({2})); }, op.name, "[2, 3]", "[2]");  // not a row
    CHECK_SHAPE_ERROR([&] { op.fn(a, Tensor::zeros({1, 3})); }, op.name, "[2, 3]", "[1, 3]");
    CHECK_SHAPE_ERROR([&] { op.fn(a, Tensor::zeros({2, 3}, DType::F64)); }, op.name, "f32", "f64");
    CHECK_SHAPE_ERROR([&] { op.fn(a, Tensor::zeros({2, 3}, DType::I32)); }, op.name, "i32");
  }
}

TEST_CASE("elementwise binary: CPU half storage matches F32") {
  for (const BinaryCase& op : kBinary) {
    auto f = [&](const std::vector<Tensor>& in) { return op.fn(in[0], in[1]); };
    compare_cpu_half_storage(f, {diff_input({5, 8}, 1), diff_input({5, 8}, 2)}, std::string(op.name));
    compare_cpu_half_storage(f, {diff_input({5, 8}, 3), diff_input({8}, 4)}, std::string(op.name) + " row");
  }
}

// ---- scale --------------------------------------------------------------------------------------

TEST_CASE("scale: F64 gradcheck and forward values and half storage") {
  for (float alpha : {2.5f, -0.5f, 0.0f}) {
    INFO("alpha ", alpha);
    auto f = [alpha](const std::vector<Tensor>& in) { return ops::scale(in[0], alpha); };
    gradcheck(f, {f64_random({3, 5}, 21)}, "scale");
    const std::vector<double> x = random_values(15, 22, -3, 3);
    std::vector<double> expected;
    for (double v : x) expected.push_back(static_cast<double>(alpha) * v);
    check_close(ops::scale(f64(x, {3, 5}), alpha).to_vector_f64(), expected, DType::F64, "scale forward");
    compare_cpu_half_storage(f, {diff_input({4, 6}, 23)}, "scale");
  }
  CHECK_SHAPE_ERROR([&] { ops::scale(Tensor::zeros({2}, DType::I32), 2.0f); }, "scale", "i32");
}

// ---- activations --------------------------------------------------------------------------------

TEST_CASE("activations: F64 gradcheck") {
  for (const UnaryCase& op : kUnary) {
    auto f = [&](const std::vector<Tensor>& in) { return op.fn(in[0]); };
    // |x| >= 0.05 keeps relu's kink (x = 0) far from x +- h.
    const Tensor x = f64(random_values_away_from_zero(24, 31, -3, 3, 0.05), {4, 6});
    gradcheck(f, {x}, op.name);
  }
}

TEST_CASE("activations: forward values including saturation without NaN") {
  std::vector<double> x = random_values(100000, 32, -8, 8);
  for (double v : {-100.0, -30.0, 0.0, 30.0, 100.0}) x.push_back(v);
  const auto n = static_cast<std::int64_t>(x.size());
  for (const UnaryCase& op : kUnary) {
    INFO(std::string(op.name));
    std::vector<double> expected;
    for (double v : x) expected.push_back(op.ref(v));
    check_close(op.fn(f64(x, {n})).to_vector_f64(), expected, DType::F64, std::string(op.name) + " f64");
    // F32 at saturation must give 0 or 1 (or x), never NaN or inf.
    const std::vector<float> y32 = op.fn(Tensor::from_vector(std::vector<float>(x.begin(), x.end()), {n})).to_vector();
    check_close(y32, expected, DType::F32, std::string(op.name) + " f32");
  }
  // relu'(x) at exactly 0 is 0 (PyTorch's convention).
  Tensor z = f64({0.0, -1.0, 2.0}, {3});
  z.set_requires_grad(true);
  Tape tape;
  Tensor y;
  {
    auto rec = tape.record();
    y = ops::relu(z);
  }
  tape.backward(y, f64({1.0, 1.0, 1.0}, {3}));
  CHECK(z.grad().to_vector_f64() == std::vector<double>{0.0, 0.0, 1.0});
}

TEST_CASE("activations: integer input is a dtype error naming the op") {
  const Tensor ints = Tensor::zeros({3}, DType::I32);
  for (const UnaryCase& op : kUnary) {
    INFO(std::string(op.name));
    CHECK_SHAPE_ERROR([&] { op.fn(ints); }, op.name, "i32");
  }
}

TEST_CASE("activations: CPU half storage matches F32") {
  for (const UnaryCase& op : kUnary) {
    auto f = [&](const std::vector<Tensor>& in) { return op.fn(in[0]); };
    compare_cpu_half_storage(f, {diff_input({6, 7}, 33, -3, 3)}, op.name);
  }
}

// ---- dropout ------------------------------------------------------------------------------------

TEST_CASE("dropout: F64 gradcheck with a fixed generator state") {
  // The mask is a pure function of (seed, offset), so re-creating the generator in the same state
  // inside f gives the same mask for every finite-difference evaluation.
  auto f = [](const std::vector<Tensor>& in) {
    Generator gen(1234);
    return ops::dropout(in[0], 0.3f, gen);
  };
  gradcheck(f, {f64_random({5, 8}, 41)}, "dropout p=0.3");
}

TEST_CASE("dropout: mask follows the Philox stream and the drop rate is p") {
  const std::int64_t n = 200000;
  const float p = 0.25f;
  const std::vector<double> x = random_values_away_from_zero(n, 42, -1, 1, 1e-3);
  Generator gen(777);
  gen.set_state(777, 64);
  const Tensor y = ops::dropout(f64(x, {n}), p, gen);
  CHECK(gen.offset() >= 64 + static_cast<std::uint64_t>(n));  // it reserved n numbers
  const std::vector<double> v = y.to_vector_f64();
  const std::vector<bool> keep = expected_keep(n, p, 777, 64);
  std::int64_t dropped = 0, wrong = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    const double expected = keep[k] ? x[k] / (1.0 - p) : 0.0;
    wrong += std::fabs(v[k] - expected) > 1e-6 * std::fabs(expected);
    dropped += v[k] == 0.0;
  }
  CHECK(wrong == 0);
  // Binomial(2e5, 0.25): standard deviation of the rate is 0.001.
  CHECK(static_cast<double>(dropped) / n == doctest::Approx(p).epsilon(0.03));

  // The next call draws fresh numbers: a different mask.
  const std::vector<double> v2 = ops::dropout(f64(x, {n}), p, gen).to_vector_f64();
  std::int64_t same_pattern = 0;
  for (std::int64_t i = 0; i < n; ++i)
    same_pattern += (v[static_cast<std::size_t>(i)] == 0.0) == (v2[static_cast<std::size_t>(i)] == 0.0);
  CHECK(same_pattern < n * 0.7);  // independent masks agree on ~62.5% of elements

  // p = 0 is the identity and returns x itself.
  const Tensor x_t = f64(x, {n});
  CHECK(ops::dropout(x_t, 0.0f, gen).same_data(x_t));
  // F32 and half storage drop the same elements as F64 for the same state.
  Generator g32(777);
  g32.set_state(777, 64);
  const std::vector<float> v32 =
      ops::dropout(Tensor::from_vector(std::vector<float>(x.begin(), x.end()), {n}), p, g32).to_vector();
  std::int64_t mask_mismatch = 0;
  for (std::int64_t i = 0; i < n; ++i)
    mask_mismatch += (v32[static_cast<std::size_t>(i)] == 0.0f) != !keep[static_cast<std::size_t>(i)];
  CHECK(mask_mismatch == 0);
}

TEST_CASE("dropout: backward uses the forward mask") {
  auto f = [](const std::vector<Tensor>& in) {
    Generator gen(99);
    return ops::dropout(in[0], 0.5f, gen);
  };
  compare_cpu_half_storage(f, {diff_input({16, 16}, 43)}, "dropout");
  CHECK_SHAPE_ERROR([&] { ops::dropout(Tensor::zeros({4}, DType::I32), 0.5f); }, "dropout", "i32");
  CHECK_THROWS_AS(ops::dropout(Tensor::zeros({4}), 1.0f), Error);   // p must be < 1
  CHECK_THROWS_AS(ops::dropout(Tensor::zeros({4}), -0.1f), Error);  // and >= 0
}

// ---- CUDA ---------------------------------------------------------------------------------------

TEST_SUITE("cuda") {
  TEST_CASE("elementwise binary: CUDA matches CPU") {
    LOOM_REQUIRE_CUDA_DEVICE();
    for (const BinaryCase& op : kBinary) {
      auto f = [&](const std::vector<Tensor>& in) { return op.fn(in[0], in[1]); };
      compare_cuda_with_cpu(f, {diff_input({37, 65}, 1), diff_input({37, 65}, 2)}, op.name);
      compare_cuda_with_cpu(f, {diff_input({3, 37, 65}, 3), diff_input({65}, 4)}, std::string(op.name) + " row");
    }
  }

  TEST_CASE("scale: CUDA matches CPU") {
    LOOM_REQUIRE_CUDA_DEVICE();
    auto f = [](const std::vector<Tensor>& in) { return ops::scale(in[0], -1.75f); };
    compare_cuda_with_cpu(f, {diff_input({129, 33}, 5)}, "scale");
  }

  TEST_CASE("activations: CUDA matches CPU") {
    LOOM_REQUIRE_CUDA_DEVICE();
    for (const UnaryCase& op : kUnary) {
      auto f = [&](const std::vector<Tensor>& in) { return op.fn(in[0]); };
      compare_cuda_with_cpu(f, {diff_input({257, 31}, 6, -4, 4)}, op.name);
    }
  }

  TEST_CASE("dropout: CUDA drops exactly the CPU's elements") {
    LOOM_REQUIRE_CUDA_DEVICE();
    const std::int64_t n = 100003;  // not a multiple of 4 or of a block size
    const std::vector<float> x = random_floats(n, 44, 0.5f, 1.5f);  // never zero before dropout
    for (DType dt : {DType::F32, DType::F16, DType::BF16}) {
      INFO(std::string(dtype_name(dt)));
      Generator g_cpu(5), g_gpu(5);
      g_cpu.set_state(5, 1024);
      g_gpu.set_state(5, 1024);
      const std::vector<float> cpu = ops::dropout(Tensor::from_vector(x, {n}, dt), 0.4f, g_cpu).to_vector();
      const std::vector<float> gpu =
          ops::dropout(Tensor::from_vector(x, {n}, dt, Device::cuda()), 0.4f, g_gpu).to(Device::cpu()).to_vector();
      CHECK(g_cpu.offset() == g_gpu.offset());
      std::int64_t mask_mismatch = 0;
      for (std::int64_t i = 0; i < n; ++i)
        mask_mismatch += (cpu[static_cast<std::size_t>(i)] == 0.0f) != (gpu[static_cast<std::size_t>(i)] == 0.0f);
      CHECK(mask_mismatch == 0);
      check_close(gpu, cpu, dt, "dropout values");
    }
    auto f = [](const std::vector<Tensor>& in) {
      Generator gen(99);
      return ops::dropout(in[0], 0.5f, gen);
    };
    compare_cuda_with_cpu(f, {diff_input({64, 33}, 45)}, "dropout");
  }
}
