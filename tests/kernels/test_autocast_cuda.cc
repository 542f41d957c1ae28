// tests/kernels/test_autocast_cuda.cc: an autocast region on CUDA does what it does on the CPU.
//
// A small embedding -> lstm_seq -> linear -> softmax_cross_entropy step with F32 master
// parameters, forward in a BF16 region and in an F16 region, backward after the region, once on
// the CPU and once on CUDA: the loss and every master gradient agree, and both devices give what
// the policy promises (low-precision activations, an F32 loss, F32 master gradients).
//
// Tolerance: on both devices the same F32 masters are rounded (to nearest even) to the same low
// precision values and every GEMM accumulates in F32; the devices differ only in the order of the
// F32 sums (cuBLAS / our kernels vs the CPU's blocking) and in exp/tanh by a few F32 ulps. An
// F32 difference turns into a one-ulp difference of a rounded value only where it straddles a
// rounding boundary, and the following ops carry such ulps on: the table's row for the region's
// dtype (tests/support/compare.h: about five ulps of that dtype at O(1) values, which these
// shapes keep by construction: weights in [-0.5, 0.5], T = 6, H = 8).
// Shapes are small on purpose: CI runs this under the simulator (the SIM build shape).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ops/autocast.h"
#include "ops/autograd.h"
#include "ops/embedding.h"
#include "ops/loss.h"
#include "ops/lstm.h"
#include "ops/matmul.h"
#include "tests/support/compare.h"
#include "tests/support/devices.h"

using namespace loom;

namespace {

constexpr std::int64_t V = 13, E = 5, H = 8, T = 6, B = 4, K = 3;

struct Params {
  Tensor emb, w_ih, w_hh, b_ih, b_hh, head_w, head_b;
  std::vector<Tensor> all() const { return {emb, w_ih, w_hh, b_ih, b_hh, head_w, head_b}; }
};

Params make_params(Device device) {
  Params p;
  std::uint64_t seed = 40;
  auto make = [&](const Shape& shape) {
    Tensor t = Tensor::uniform(shape, -0.5f, 0.5f, seed++, 0, DType::F32, device);
    t.set_requires_grad(true);
    return t;
  };
  p.emb = make({V, E});
  p.w_ih = make({4 * H, E});
  p.w_hh = make({4 * H, H});
  p.b_ih = make({4 * H});
  p.b_hh = make({4 * H});
  p.head_w = make({K, H});
  p.head_b = make({K});
  return p;
}

struct StepResult {
  double loss = 0;
  DType y_dtype = DType::F32, loss_dtype = DType::F32;
  std::vector<std::vector<float>> grads;
  std::vector<DType> grad_dtypes;
};

StepResult step(Device device, ops::Precision precision) {
  const Params p = make_params(device);
  std::vector<std::int32_t> ids(static_cast<std::size_t>(T * B));
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>((7 * i + 3) % V);
  const Tensor tokens = Tensor::from_vector(ids, {T, B}, device);
  const Tensor lengths = Tensor::from_vector(std::vector<std::int32_t>{6, 1, 4, 3}, {B}, device);
  const Tensor targets = Tensor::from_vector(std::vector<std::int32_t>{0, 2, 1, 2}, {B}, device);
  Tape tape;
  Tensor loss;
  StepResult r;
  {
    auto rec = tape.record();
    ops::AutocastScope amp(precision);
    const Tensor x = ops::embedding(p.emb, tokens);  // [T, B, E]
    ops::LstmDirectionParams dir;
    dir.w_ih = p.w_ih;
    dir.w_hh = p.w_hh;
    dir.b_ih = p.b_ih;
    dir.b_hh = p.b_hh;
    const ops::LstmSeqResult seq = ops::lstm_seq(x, lengths, {dir});
    r.y_dtype = seq.y.dtype();
    const Tensor logits = ops::linear(seq.h_n[0], p.head_w, p.head_b);
    loss = ops::softmax_cross_entropy(logits, targets);
  }
  tape.backward(loss);
  r.loss = loss.to(Device::cpu()).item();
  r.loss_dtype = loss.dtype();
  for (const Tensor& t : p.all()) {
    REQUIRE(t.grad().defined());
    r.grads.push_back(t.grad().to(Device::cpu()).to_vector());
    r.grad_dtypes.push_back(t.grad().dtype());
  }
  return r;
}

}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("autocast: a BF16 and an F16 embedding + LSTM + linear + loss step on CUDA matches the CPU") {
    LOOM_REQUIRE_CUDA_DEVICE();
    const char* names[] = {"embedding", "w_ih", "w_hh", "b_ih", "b_hh", "head.weight", "head.bias"};
    for (ops::Precision precision : {ops::Precision::BF16, ops::Precision::F16}) {
      const DType low = ops::compute_dtype(precision);
      INFO(ops::precision_name(precision));
      const StepResult cpu = step(Device::cpu(), precision);
      const StepResult gpu = step(Device::cuda(), precision);
      for (const StepResult* r : {&cpu, &gpu}) {
        CHECK(r->y_dtype == low);
        CHECK(r->loss_dtype == DType::F32);
        for (DType d : r->grad_dtypes) CHECK(d == DType::F32);
      }
      test::check_close(std::vector<double>{gpu.loss}, std::vector<double>{cpu.loss}, low, "loss");
      for (std::size_t i = 0; i < cpu.grads.size(); ++i)
        test::check_close(gpu.grads[i], cpu.grads[i], low, std::string("d ") + names[i]);
    }
  }
}
