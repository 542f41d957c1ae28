// tests/ops/test_ops_reduce.cc: sum and mean over the first or the last dimension.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "ops/reduce.h"
#include "kernels/reduce/reduce.h"
#include "tests/support/backends.h"
#include "tests/support/compare.h"
#include "tests/support/devices.h"
#include "tests/support/errors.h"
#include "tests/support/gradcheck.h"
#include "tests/support/values.h"

using namespace loom;
using namespace loom::test;
using ops::ReduceDim;

namespace {

struct ReduceCase {
  const char* name;
  Tensor (*fn)(const Tensor&, ReduceDim);
  bool mean;
};
const ReduceCase kReduce[] = {{"sum", ops::sum, false}, {"mean", ops::mean, true}};

const char* dim_name(ReduceDim d) { return d == ReduceDim::First ? "first" : "last"; }

// Reference over a row-major [rows, cols] view: First sums rows away, Last sums columns away.
std::vector<double> naive_reduce(const std::vector<double>& x, std::int64_t rows, std::int64_t cols, ReduceDim dim,
                                 bool mean) {
  const bool first = dim == ReduceDim::First;
  std::vector<double> y(static_cast<std::size_t>(first ? cols : rows), 0.0);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c)
      y[static_cast<std::size_t>(first ? c : r)] += x[static_cast<std::size_t>(r * cols + c)];
  if (mean)
    for (auto& v : y) v /= static_cast<double>(first ? rows : cols);
  return y;
}

}  // namespace

TEST_CASE("reduce: F64 gradcheck over first and last dimension") {
  for (const ReduceCase& op : kReduce)
    for (ReduceDim dim : {ReduceDim::First, ReduceDim::Last}) {
      const std::string what = std::string(op.name) + " over " + dim_name(dim);
      auto f = [&](const std::vector<Tensor>& in) { return op.fn(in[0], dim); };
      gradcheck(f, {f64_random({4, 5}, 1)}, what + " [4, 5]");
      gradcheck(f, {f64_random({2, 3, 4}, 2)}, what + " [2, 3, 4]");
      gradcheck(f, {f64_random({6}, 3)}, what + " [6] -> scalar");
    }
}

TEST_CASE("reduce: output shapes") {
  const Tensor x = Tensor::zeros({2, 3, 4});
  CHECK(ops::sum(x, ReduceDim::Last).shape() == Shape{2, 3});
  CHECK(ops::sum(x, ReduceDim::First).shape() == Shape{3, 4});
  CHECK(ops::mean(Tensor::zeros({5}), ReduceDim::Last).shape() == Shape{});
  CHECK(ops::mean(Tensor::zeros({5}), ReduceDim::First).shape() == Shape{});
}

TEST_CASE("reduce: forward values against a loop") {
  // 1000 x 77 (77k elements: multi-threaded CPU path) and a tall-thin and short-wide case.
  const std::vector<std::array<std::int64_t, 2>> sizes = {{1000, 77}, {2001, 3}, {3, 2000}};
  for (const auto& size : sizes) {
    const std::int64_t rows = size[0], cols = size[1];
    const std::vector<double> x = random_values(rows * cols, 4, -1, 1);
    const std::vector<float> x32(x.begin(), x.end());
    for (const ReduceCase& op : kReduce)
      for (ReduceDim dim : {ReduceDim::First, ReduceDim::Last}) {
        const std::string what = std::string(op.name) + " over " + dim_name(dim) + " of [" +
                                 std::to_string(rows) + ", " + std::to_string(cols) + "]";
        const std::vector<double> expected = naive_reduce(x, rows, cols, dim, op.mean);
        check_close(op.fn(f64(x, {rows, cols}), dim).to_vector_f64(), expected, Tolerance{1e-12, 1e-12}, what);
        // An F32 sum of n O(1) terms drifts by a random walk of ulps of its ~sqrt(n) partial sums
        // (sigma ~ 2^-24 n / sqrt(2), 5e-5 for n = 2000), so the absolute floor grows with sqrt(n).
        const double n = static_cast<double>(dim == ReduceDim::First ? rows : cols);
        check_close(op.fn(Tensor::from_vector(x32, {rows, cols}), dim).to_vector(), expected,
                    Tolerance{1e-5, 1e-5 * std::sqrt(n)}, what + " f32");
      }
  }
}

TEST_CASE("reduce: sums are the same bits run to run") {
  const Tensor x = Tensor::from_vector(random_floats(300000, 5, -1, 1), {300, 1000});
  for (ReduceDim dim : {ReduceDim::First, ReduceDim::Last})
    CHECK(ops::sum(x, dim).to_vector() == ops::sum(x, dim).to_vector());
}

TEST_CASE("reduce: errors name the op") {
  CHECK_SHAPE_ERROR([] { ops::sum(Tensor::full({}, 1.0), ReduceDim::Last); }, "sum", "[]");
  CHECK_SHAPE_ERROR([] { ops::mean(Tensor::zeros({0, 3}), ReduceDim::First); }, "mean", "[0, 3]");
  CHECK_SHAPE_ERROR([] { ops::sum(Tensor::zeros({3}, DType::I32), ReduceDim::Last); }, "sum", "i32");
}

TEST_CASE("reduce: CPU half storage matches F32") {
  for (const ReduceCase& op : kReduce)
    for (ReduceDim dim : {ReduceDim::First, ReduceDim::Last}) {
      auto f = [&](const std::vector<Tensor>& in) { return op.fn(in[0], dim); };
      compare_cpu_half_storage(f, {diff_input({3, 8, 16}, 6)}, std::string(op.name) + " over " + dim_name(dim),
                               std::sqrt(dim == ReduceDim::First ? 3.0 : 16.0));
    }
}

TEST_CASE("reduce: cost counts one read of x and one write of y") {
  kernels::ReduceArgs args;
  args.rows = 10;
  args.cols = 20;
  args.dtype = DType::F32;
  args.dim = kernels::ReduceDim::Last;
  const kernels::Cost c = kernels::reduce_cost(args);
  CHECK(c.flops == 200.0);                 // one add per element
  CHECK(c.bytes == 4.0 * (200 + 10));      // x read, y written
}

TEST_SUITE("cuda") {
  TEST_CASE("reduce: CUDA matches CPU") {
    LOOM_REQUIRE_CUDA_DEVICE();
    for (const ReduceCase& op : kReduce)
      for (ReduceDim dim : {ReduceDim::First, ReduceDim::Last}) {
        auto f = [&](const std::vector<Tensor>& in) { return op.fn(in[0], dim); };
        const std::string what = std::string(op.name) + " over " + dim_name(dim);
        // Sums over n terms get an absolute tolerance scaled by sqrt(n) (see backends.h).
        const double n = dim == ReduceDim::First ? 5.0 : 48.0;
        compare_cuda_with_cpu(f, {diff_input({5, 33, 48}, 7)}, what, std::sqrt(n));
        // One long row and one long column: exercises the segmented reduction's block sums.
        compare_cuda_with_cpu(f, {diff_input({3, 3000}, 8)}, what + " long rows",
                              dim == ReduceDim::Last ? std::sqrt(3000.0) : std::sqrt(3.0));
        compare_cuda_with_cpu(f, {diff_input({3000, 3}, 9)}, what + " long columns",
                              dim == ReduceDim::First ? std::sqrt(3000.0) : std::sqrt(3.0));
      }
  }

  TEST_CASE("reduce: CUDA sums are the same bits run to run") {
    LOOM_REQUIRE_CUDA_DEVICE();
    const Tensor x = Tensor::from_vector(random_floats(300000, 5, -1, 1), {300, 1000}, DType::F32, Device::cuda());
    for (ReduceDim dim : {ReduceDim::First, ReduceDim::Last})
      CHECK(ops::sum(x, dim).to(Device::cpu()).to_vector() == ops::sum(x, dim).to(Device::cpu()).to_vector());
  }
}
