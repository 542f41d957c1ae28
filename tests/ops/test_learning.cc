// tests/ops/test_learning.cc: layer 5 of the pyramid, "it learns".
//
// 1. The MLP of `loom selftest` (tools/selftest.h: 8-64-64-4 tanh, AdamW lr 1e-2, softmax
//    cross-entropy on a fixed nonlinear 4-class task) must reach a training loss below 0.01, on
//    the CPU within a few seconds, and on CUDA.
// 2. An independent two-layer ReLU network trained with SGD + momentum on BCE, written here
//    against the ops directly, covers the ops the selftest does not use.
#include <doctest/doctest.h>

#include <cmath>
#include <iostream>
#include <vector>

#include "ops/autograd.h"
#include "ops/elementwise.h"
#include "ops/loss.h"
#include "ops/matmul.h"
#include "ops/optim.h"
#include "ops/reduce.h"
#include "tests/support/devices.h"
#include "tests/support/values.h"
#include "tools/selftest.h"
#include "tests/support/timing.h"

using namespace loom;

namespace {

tools::SelftestResult check_selftest(Device device) {
  tools::SelftestOptions opt;
  opt.device = device;
  const tools::SelftestResult r = tools::run_selftest(opt);
  MESSAGE("selftest on ", device.str(), ": final loss ", r.final_loss, ", accuracy ", r.accuracy, ", ",
          r.losses.size(), " steps in ", r.seconds, " s");
  REQUIRE(r.losses.size() == static_cast<std::size_t>(opt.steps));
  // Starts near chance: 4 classes -> ln 4 = 1.386 for a small random init.
  CHECK(r.losses.front() > 1.0f);
  CHECK(r.losses.front() < 2.0f);
  CHECK(r.final_loss < 0.01f);
  CHECK(r.accuracy == 1.0f);  // a loss below 0.01 leaves every point's target class far ahead
  // The loss goes down, not just ends low: every 50-step window's mean falls.
  double previous = 1e9;
  for (std::size_t w = 0; w + 50 <= r.losses.size(); w += 50) {
    double mean = 0;
    for (std::size_t i = w; i < w + 50; ++i) mean += r.losses[i];
    mean /= 50;
    CHECK(mean < previous);
    previous = mean;
  }
  for (float l : r.losses) REQUIRE(std::isfinite(l));
  return r;
}

}  // namespace

TEST_CASE("learning: the selftest MLP reaches loss < 0.01 on the CPU within a few seconds") {
  const tools::SelftestResult r = check_selftest(Device::cpu());
  // "A few seconds": 30 s only guards against a pathological slowdown (e.g. thread
  // oversubscription) on a shared machine without making the test flaky.
  CHECK(r.seconds < loom::testing::wall_bound(30.0));
  // Same seed, same data, same thread count: the same run, bit for bit.
  CHECK(tools::run_selftest(tools::SelftestOptions{}).losses == r.losses);
}

TEST_CASE("learning: a ReLU network trained with SGD + momentum fits XOR-like data (BCE)") {
  // 64 points in [-1, 1]^2, label 1 when x0 * x1 > 0: not linearly separable.
  const std::int64_t N = 64, H = 32;
  const std::vector<double> pts = test::random_values(N * 2, 1, -1, 1);
  std::vector<float> x(pts.begin(), pts.end()), labels(N);
  for (std::int64_t n = 0; n < N; ++n) {
    // Keep points away from the axes so the task has a margin.
    for (int j = 0; j < 2; ++j) {
      float& v = x[static_cast<std::size_t>(n * 2 + j)];
      v = v < 0 ? v - 0.1f : v + 0.1f;
    }
    labels[static_cast<std::size_t>(n)] = x[static_cast<std::size_t>(n * 2)] * x[static_cast<std::size_t>(n * 2 + 1)] > 0 ? 1.0f : 0.0f;
  }
  const Tensor xt = Tensor::from_vector(x, {N, 2});
  const Tensor yt = Tensor::from_vector(labels, {N, 1});

  // Init in the spirit of nn.Linear (bounds 1/sqrt(fan_in)), from loom's own generator.
  Tensor w1 = Tensor::uniform({H, 2}, -0.7f, 0.7f, 3, 0), b1 = Tensor::zeros({H});
  Tensor w2 = Tensor::uniform({1, H}, -0.18f, 0.18f, 3, 64), b2 = Tensor::zeros({1});
  for (Tensor* p : {&w1, &b1, &w2, &b2}) p->set_requires_grad(true);
  ops::Sgd opt({w1, b1, w2, b2}, ops::SgdConfig{0.1f, 0.9f, 0.0f, ops::Nesterov::Off});

  std::vector<double> losses;
  for (int step = 0; step < 1000; ++step) {
    Tape tape;
    Tensor loss;
    {
      auto rec = tape.record();
      const Tensor h = ops::relu(ops::linear(xt, w1, b1));
      loss = ops::bce_with_logits(ops::linear(h, w2, b2), yt);
    }
    opt.zero_grad();
    tape.backward(loss);
    opt.step();
    losses.push_back(loss.item());
  }
  MESSAGE("ReLU/SGD network: loss ", losses.front(), " -> ", losses.back());
  CHECK(losses.front() == doctest::Approx(std::log(2.0)).epsilon(0.1));  // chance level for 2 classes
  CHECK(losses.back() < 0.05);
  // Every training point is classified correctly.
  NoGradGuard no_grad;
  const std::vector<float> z = ops::linear(ops::relu(ops::linear(xt, w1, b1)), w2, b2).to_vector();
  int correct = 0;
  for (std::int64_t n = 0; n < N; ++n) correct += (z[static_cast<std::size_t>(n)] > 0) == (labels[static_cast<std::size_t>(n)] > 0.5f);
  CHECK(correct == N);
}

TEST_SUITE("cuda") {
  TEST_CASE("learning: the selftest MLP reaches loss < 0.01 on CUDA") {
    LOOM_REQUIRE_CUDA_DEVICE();
    (void)check_selftest(Device::cuda());
  }
}
