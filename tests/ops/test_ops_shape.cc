// tests/ops/test_ops_shape.cc: reshape, slice0, concat_last, split_last (with autograd).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ops/elementwise.h"
#include "ops/shape_ops.h"
#include "tests/support/backends.h"
#include "tests/support/compare.h"
#include "tests/support/devices.h"
#include "tests/support/errors.h"
#include "tests/support/gradcheck.h"
#include "tests/support/values.h"

using namespace loom;
using namespace loom::test;

namespace {

// Parts of widths 2, 3 and 1 of a [rows, 6] matrix, joined back in a different order with the
// middle part scaled: every part's gradient must land in its own columns.
Tensor split_scale_rejoin(const Tensor& x) {
  const std::vector<Tensor> parts = ops::split_last(x, {2, 3, 1});
  return ops::concat_last({parts[2], ops::scale(parts[1], 3.0f), parts[0]});
}

}  // namespace

TEST_CASE("reshape and slice0: F64 gradcheck") {
  auto reshape = [](const std::vector<Tensor>& in) { return ops::reshape(in[0], {4, -1}); };
  gradcheck(reshape, {f64_random({2, 3, 4}, 1)}, "reshape [2,3,4] -> [4,6]");
  auto slice = [](const std::vector<Tensor>& in) { return ops::slice0(in[0], 1, 3); };
  gradcheck(slice, {f64_random({4, 3}, 2)}, "slice0 rows 1..3 of [4, 3]");
  // Two overlapping slices of one tensor: their gradients add up in the shared row.
  auto two_slices = [](const std::vector<Tensor>& in) {
    return ops::mul(ops::slice0(in[0], 0, 2), ops::slice0(in[0], 1, 3));
  };
  gradcheck(two_slices, {f64_random({3, 4}, 3)}, "overlapping slices");
}

TEST_CASE("reshape and slice0: forward is a view of the same data") {
  const Tensor x = f64_random({4, 3}, 4);
  const Tensor r = ops::reshape(x, {3, 4});
  CHECK(r.shape() == Shape{3, 4});
  CHECK(r.same_data(x));
  const Tensor s = ops::slice0(x, 2, 4);
  CHECK(s.shape() == Shape{2, 3});
  const std::vector<double> all = x.to_vector_f64();
  CHECK(s.to_vector_f64() == std::vector<double>(all.begin() + 6, all.end()));
}

TEST_CASE("reshape and slice0: errors name the op and the shapes") {
  const Tensor x = Tensor::zeros({2, 3, 4});
  CHECK_SHAPE_ERROR([&] { ops::reshape(x, {5, 5}); }, "reshape", "[2, 3, 4]", "[5, 5]");
  CHECK_SHAPE_ERROR([&] { ops::slice0(x, 1, 3); }, "slice", "[2, 3, 4]");
  CHECK_SHAPE_ERROR([&] { ops::slice0(x, 2, 1); }, "slice");
}

TEST_CASE("concat_last and split_last: F64 gradcheck") {
  auto concat = [](const std::vector<Tensor>& in) { return ops::concat_last({in[0], in[1], in[2]}); };
  gradcheck(concat, {f64_random({3, 2}, 5), f64_random({3, 4}, 6), f64_random({3, 1}, 7)}, "concat_last 2-D");
  gradcheck(concat, {f64_random({2, 3, 2}, 8), f64_random({2, 3, 1}, 9), f64_random({2, 3, 3}, 10)},
            "concat_last 3-D");
  gradcheck([](const std::vector<Tensor>& in) { return split_scale_rejoin(in[0]); }, {f64_random({4, 6}, 11)},
            "split_last then concat_last");
  // A part nobody uses gets a zero gradient (its columns), not garbage.
  auto first_part_only = [](const std::vector<Tensor>& in) { return ops::split_last(in[0], {2, 4})[0]; };
  gradcheck(first_part_only, {f64_random({3, 6}, 12)}, "split_last with an unused part");
}

TEST_CASE("concat_last and split_last: forward values") {
  const Tensor a = f64({1, 2, 3, 4}, {2, 2});
  const Tensor b = f64({5, 6, 7, 8, 9, 10}, {2, 3});
  const Tensor c = ops::concat_last({a, b});
  CHECK(c.shape() == Shape{2, 5});
  CHECK(c.to_vector_f64() == std::vector<double>{1, 2, 5, 6, 7, 3, 4, 8, 9, 10});
  const std::vector<Tensor> parts = ops::split_last(c, {2, 3});
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].to_vector_f64() == a.to_vector_f64());
  CHECK(parts[1].to_vector_f64() == b.to_vector_f64());
  CHECK(parts[1].shape() == Shape{2, 3});
  // 1-D works too (one row).
  CHECK(ops::concat_last({f64({1}, {1}), f64({2, 3}, {2})}).to_vector_f64() == std::vector<double>{1, 2, 3});
  // An empty part first: the rows come from the leading dimensions, not from part 0's width
  // (found by the SIM shape's initcheck: the joined tensor was left unwritten).
  CHECK(ops::concat_last({f64({}, {0}), f64({2, 3}, {2})}).to_vector_f64() == std::vector<double>{2, 3});
  CHECK(ops::concat_last({f64({}, {2, 0}), b}).to_vector_f64() == b.to_vector_f64());
  // Large enough to be copied by several threads.
  const std::vector<float> big = random_floats(3000 * 50, 13, -1, 1);
  const Tensor x = Tensor::from_vector(big, {3000, 50});
  const std::vector<Tensor> p = ops::split_last(x, {20, 30});
  CHECK(ops::concat_last(p).to_vector() == big);
}

TEST_CASE("concat_last and split_last: errors name the op and the shapes") {
  CHECK_SHAPE_ERROR([] { ops::concat_last({Tensor::zeros({2, 3}), Tensor::zeros({3, 3})}); }, "concat_last", "[2, 3]",
                    "[3, 3]");
  CHECK_SHAPE_ERROR([] { ops::concat_last({Tensor::zeros({2, 3}), Tensor::zeros({2, 3}, DType::F64)}); },
                    "concat_last", "f32", "f64");
  CHECK_SHAPE_ERROR([] { ops::split_last(Tensor::zeros({2, 5}), {2, 2}); }, "split_last", "[2, 5]");
}

TEST_CASE("shape ops: CPU half storage matches F32") {
  compare_cpu_half_storage([](const std::vector<Tensor>& in) { return split_scale_rejoin(in[0]); },
                           {diff_input({5, 6}, 14)}, "split_last + concat_last");
  compare_cpu_half_storage([](const std::vector<Tensor>& in) { return ops::slice0(ops::reshape(in[0], {6, -1}), 1, 4); },
                           {diff_input({3, 2, 5}, 15)}, "reshape + slice0");
}

TEST_SUITE("cuda") {
  TEST_CASE("shape ops: CUDA matches CPU") {
    LOOM_REQUIRE_CUDA_DEVICE();
    compare_cuda_with_cpu([](const std::vector<Tensor>& in) { return split_scale_rejoin(in[0]); },
                          {diff_input({130, 6}, 16)}, "split_last + concat_last");
    compare_cuda_with_cpu([](const std::vector<Tensor>& in) { return ops::concat_last({in[0], in[1]}); },
                          {diff_input({4, 33, 7}, 17), diff_input({4, 33, 65}, 18)}, "concat_last 3-D");
    compare_cuda_with_cpu([](const std::vector<Tensor>& in) { return ops::concat_last({in[0], in[1]}); },
                          {diff_input({4, 0}, 20), diff_input({4, 9}, 21)}, "concat_last with an empty part first");
    compare_cuda_with_cpu([](const std::vector<Tensor>& in) { return ops::slice0(ops::reshape(in[0], {6, -1}), 1, 4); },
                          {diff_input({3, 2, 50}, 19)}, "reshape + slice0");
  }
}
