// tests/ops/test_ops_loss.cc: softmax cross-entropy and BCE-with-logits, as PyTorch defines them
// (reduction "mean"; class weights give a WEIGHTED mean: sum_n w[y_n] l_n / sum_n w[y_n]).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ops/loss.h"
#include "tests/support/backends.h"
#include "tests/support/compare.h"
#include "tests/support/devices.h"
#include "tests/support/errors.h"
#include "tests/support/gradcheck.h"
#include "tests/support/values.h"

using namespace loom;
using namespace loom::test;

namespace {

// Cross-entropy by the textbook formula, in double: l_n = -log softmax(z_n)[y_n].
double hand_xent(const std::vector<double>& z, const std::vector<std::int32_t>& y, std::int64_t K,
                 const std::vector<double>& w) {
  double num = 0, den = 0;
  for (std::size_t n = 0; n < y.size(); ++n) {
    double denom = 0;
    for (std::int64_t k = 0; k < K; ++k) denom += std::exp(z[n * K + k]);
    const double p = std::exp(z[n * K + y[n]]) / denom;
    const double wn = w.empty() ? 1.0 : w[y[n]];
    num += wn * -std::log(p);
    den += wn;
  }
  return num / den;
}

// BCE by the textbook formula: -[p t log s(z) + (1 - t) log(1 - s(z))], mean over elements.
double hand_bce(const std::vector<double>& z, const std::vector<double>& t, std::int64_t K,
                const std::vector<double>& pos_weight) {
  double sum = 0;
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double s = 1.0 / (1.0 + std::exp(-z[i]));
    const double p = pos_weight.empty() ? 1.0 : pos_weight[i % static_cast<std::size_t>(K)];
    sum += -(p * t[i] * std::log(s) + (1 - t[i]) * std::log(1 - s));
  }
  return sum / static_cast<double>(z.size());
}

const std::vector<std::int32_t> kTargets = {2, 0, 1, 2, 3};  // N = 5, K = 4 (class 3 once)

}  // namespace

// ---- softmax cross-entropy ----------------------------------------------------------------------

TEST_CASE("softmax_cross_entropy: F64 gradcheck of the logits with and without class weights") {
  const Tensor targets = i32(kTargets, {5});
  const Tensor weights = f64({0.5, 2.0, 1.0, 3.0}, {4});
  auto plain = [&](const std::vector<Tensor>& in) { return ops::softmax_cross_entropy(in[0], targets); };
  auto weighted = [&](const std::vector<Tensor>& in) { return ops::softmax_cross_entropy(in[0], targets, weights); };
  gradcheck(plain, {f64_random({5, 4}, 1, -2, 2)}, "softmax_cross_entropy");
  gradcheck(weighted, {f64_random({5, 4}, 2, -2, 2)}, "softmax_cross_entropy with class weights");
}

TEST_CASE("softmax_cross_entropy: forward equals the hand formula (weighted mean)") {
  const std::vector<double> z = random_values(20, 3, -3, 3);
  const std::vector<double> w = {0.5, 2.0, 1.0, 3.0};
  const Tensor logits = f64(z, {5, 4}), targets = i32(kTargets, {5});
  const Tensor loss = ops::softmax_cross_entropy(logits, targets);
  CHECK(loss.shape() == Shape{});
  CHECK(loss.dtype() == DType::F64);
  CHECK(loss.item() == doctest::Approx(hand_xent(z, kTargets, 4, {})).epsilon(1e-12));
  CHECK(ops::softmax_cross_entropy(logits, targets, f64(w, {4})).item() ==
        doctest::Approx(hand_xent(z, kTargets, 4, w)).epsilon(1e-12));
  // F32 logits: F32 loss.
  const Tensor l32 = ops::softmax_cross_entropy(Tensor::from_vector(std::vector<float>(z.begin(), z.end()), {5, 4}),
                                                targets, Tensor::from_vector(std::vector<float>(w.begin(), w.end()), {4}));
  CHECK(l32.dtype() == DType::F32);
  CHECK(l32.item() == doctest::Approx(hand_xent(z, kTargets, 4, w)).epsilon(1e-5));
}

TEST_CASE("softmax_cross_entropy: stable for huge logits") {
  // logits (1000, 0): log-sum-exp must subtract the max; a naive exp(1000) is inf.
  const Tensor z = Tensor::from_vector(std::vector<float>{1000.0f, 0.0f, -1000.0f, 1000.0f}, {2, 2});
  const Tensor y = i32({1, 1}, {2});
  // Row 0: target 1 has logit 1000 below the max -> loss 1000. Row 1: target is the max -> loss 0.
  Tensor zl = z.clone();
  zl.set_requires_grad(true);
  Tape tape;
  Tensor loss;
  {
    auto rec = tape.record();
    loss = ops::softmax_cross_entropy(zl, y);
  }
  CHECK(loss.item() == doctest::Approx(500.0));
  tape.backward(loss);
  // d/dz = (softmax - onehot) / N = row 0: (1, -1)/2, row 1: (0, 0).
  check_close(zl.grad().to_vector(), std::vector<float>{0.5f, -0.5f, 0.0f, 0.0f}, DType::F32, "saturated gradient");
}

TEST_CASE("softmax_cross_entropy: errors name the op and the shapes") {
  const Tensor logits = Tensor::zeros({4, 3});
  CHECK_SHAPE_ERROR([&] { ops::softmax_cross_entropy(logits, i32({0, 1, 2, 0, 1}, {5})); }, "softmax_cross_entropy",
                    "[4, 3]", "[5]");
  CHECK_SHAPE_ERROR([&] { ops::softmax_cross_entropy(logits, i32({0, 1, 2, 0}, {4}), Tensor::zeros({4})); },
                    "softmax_cross_entropy", "[4, 3]", "[4]");
  CHECK_SHAPE_ERROR([&] { ops::softmax_cross_entropy(logits, i32({0, 1, 3, 0}, {4})); }, "softmax_cross_entropy", "3");
  CHECK_SHAPE_ERROR([&] { ops::softmax_cross_entropy(logits, Tensor::zeros({4})); }, "softmax_cross_entropy", "f32");
  CHECK_SHAPE_ERROR([&] { ops::softmax_cross_entropy(Tensor::zeros({12}), i32({0}, {1})); }, "softmax_cross_entropy",
                    "[12]");
}

// ---- BCE with logits ----------------------------------------------------------------------------

TEST_CASE("bce_with_logits: F64 gradcheck of the logits with and without pos_weight") {
  // Soft targets (not just 0/1) exercise both terms of the loss in every element.
  const Tensor t2 = f64(random_values(12, 4, 0, 1), {4, 3});
  const Tensor pw = f64({0.5, 2.0, 3.0}, {3});
  gradcheck([&](const std::vector<Tensor>& in) { return ops::bce_with_logits(in[0], t2); },
            {f64_random({4, 3}, 5, -3, 3)}, "bce_with_logits [4, 3]");
  gradcheck([&](const std::vector<Tensor>& in) { return ops::bce_with_logits(in[0], t2, pw); },
            {f64_random({4, 3}, 6, -3, 3)}, "bce_with_logits [4, 3] with pos_weight");
  const Tensor t1 = f64({1, 0, 1, 0.25, 0}, {5});
  gradcheck([&](const std::vector<Tensor>& in) { return ops::bce_with_logits(in[0], t1, f64({4.0}, {1})); },
            {f64_random({5}, 7, -3, 3)}, "bce_with_logits [5] with pos_weight [1]");
}

TEST_CASE("bce_with_logits: forward equals the hand formula") {
  const std::vector<double> z = random_values(12, 8, -4, 4), t = random_values(12, 9, 0, 1);
  const std::vector<double> pw = {0.5, 2.0, 3.0};
  CHECK(ops::bce_with_logits(f64(z, {4, 3}), f64(t, {4, 3})).item() ==
        doctest::Approx(hand_bce(z, t, 3, {})).epsilon(1e-12));
  CHECK(ops::bce_with_logits(f64(z, {4, 3}), f64(t, {4, 3}), f64(pw, {3})).item() ==
        doctest::Approx(hand_bce(z, t, 3, pw)).epsilon(1e-12));
  const Tensor l32 = ops::bce_with_logits(Tensor::from_vector(std::vector<float>(z.begin(), z.end()), {12}),
                                          Tensor::from_vector(std::vector<float>(t.begin(), t.end()), {12}));
  CHECK(l32.dtype() == DType::F32);
  CHECK(l32.shape() == Shape{});
  CHECK(l32.item() == doctest::Approx(hand_bce(z, t, 1, {})).epsilon(1e-5));
}

TEST_CASE("bce_with_logits: stable for huge logits") {
  // z = 100, t = 0 and z = -100, t = 1 each lose 100 (log(1 - sigmoid(100)) must not be log 0);
  // z = 100, t = 1 loses ~0.
  const Tensor z = Tensor::from_vector(std::vector<float>{100.0f, -100.0f, 100.0f}, {3});
  const Tensor t = Tensor::from_vector(std::vector<float>{0.0f, 1.0f, 1.0f}, {3});
  const double loss = ops::bce_with_logits(z, t).item();
  CHECK(std::isfinite(loss));
  CHECK(loss == doctest::Approx(200.0 / 3.0));
}

TEST_CASE("bce_with_logits: errors name the op and the shapes") {
  CHECK_SHAPE_ERROR([] { ops::bce_with_logits(Tensor::zeros({4, 3}), Tensor::zeros({4, 2})); }, "bce_with_logits",
                    "[4, 3]", "[4, 2]");
  CHECK_SHAPE_ERROR([] { ops::bce_with_logits(Tensor::zeros({4, 3}), Tensor::zeros({4, 3}), Tensor::zeros({2})); },
                    "bce_with_logits", "[4, 3]", "[2]");
  CHECK_SHAPE_ERROR([] { ops::bce_with_logits(Tensor::zeros({4, 3}), Tensor::zeros({4, 3}, DType::F64)); },
                    "bce_with_logits", "f32", "f64");
}

// ---- half storage and CUDA ----------------------------------------------------------------------

namespace {

std::vector<OpInput> xent_inputs(std::int64_t N, std::int64_t K, std::uint64_t seed) {
  const std::vector<std::int32_t> y = random_ints(N, seed, static_cast<std::int32_t>(K));
  return {diff_input({N, K}, seed, -3, 3), {std::vector<float>(y.begin(), y.end()), {N}, InputKind::Int},
          {random_floats(K, seed + 1, 0.5f, 2.0f), {K}, InputKind::F32Const}};
}

std::vector<OpInput> bce_inputs(std::int64_t N, std::int64_t K, std::uint64_t seed) {
  return {diff_input({N, K}, seed, -3, 3), {random_floats(N * K, seed + 1, 0, 1), {N, K}, InputKind::Const},
          {random_floats(K, seed + 2, 0.5f, 3.0f), {K}, InputKind::F32Const}};
}

Tensor xent(const std::vector<Tensor>& in) { return ops::softmax_cross_entropy(in[0], in[1], in[2]); }
Tensor xent_unweighted(const std::vector<Tensor>& in) { return ops::softmax_cross_entropy(in[0], in[1]); }
Tensor bce(const std::vector<Tensor>& in) { return ops::bce_with_logits(in[0], in[1], in[2]); }
Tensor bce_unweighted(const std::vector<Tensor>& in) { return ops::bce_with_logits(in[0], in[1]); }

}  // namespace

// The losses are means over few rows here, so gradients are O(1/N): N stays small (4 to 8) to keep
// them O(0.1) against the absolute tolerance.
TEST_CASE("losses: CPU half storage matches F32") {
  compare_cpu_half_storage(xent, xent_inputs(6, 5, 10), "softmax_cross_entropy weighted");
  compare_cpu_half_storage(xent_unweighted, xent_inputs(6, 5, 11), "softmax_cross_entropy");
  compare_cpu_half_storage(bce, bce_inputs(4, 3, 12), "bce_with_logits weighted");
  compare_cpu_half_storage(bce_unweighted, bce_inputs(4, 3, 13), "bce_with_logits");
}

TEST_SUITE("cuda") {
  TEST_CASE("softmax_cross_entropy: CUDA matches CPU") {
    LOOM_REQUIRE_CUDA_DEVICE();
    compare_cuda_with_cpu(xent, xent_inputs(8, 5, 20), "softmax_cross_entropy weighted");
    compare_cuda_with_cpu(xent_unweighted, xent_inputs(8, 33, 21), "softmax_cross_entropy K=33");
    compare_cuda_with_cpu(xent_unweighted, xent_inputs(4, 1000, 22), "softmax_cross_entropy K=1000");
  }

  TEST_CASE("bce_with_logits: CUDA matches CPU") {
    LOOM_REQUIRE_CUDA_DEVICE();
    compare_cuda_with_cpu(bce, bce_inputs(4, 3, 23), "bce_with_logits weighted");
    compare_cuda_with_cpu(bce_unweighted, bce_inputs(8, 1, 24), "bce_with_logits K=1");
    compare_cuda_with_cpu([](const std::vector<Tensor>& in) { return ops::bce_with_logits(in[0], in[1]); },
                          {diff_input({6}, 25, -3, 3), {random_floats(6, 26, 0, 1), {6}, InputKind::Const}},
                          "bce_with_logits [N]");
  }

  TEST_CASE("losses: out-of-range targets are caught on CUDA") {
    LOOM_REQUIRE_CUDA_DEVICE();
    const Tensor logits = Tensor::zeros({4, 3}, DType::F32, Device::cuda());
    CHECK_SHAPE_ERROR([&] { ops::softmax_cross_entropy(logits, i32({0, 1, 3, 0}, {4}, Device::cuda())); },
                      "softmax_cross_entropy", "3");
  }
}
