// tests/layers/test_conv1d_layer.cc: Conv1d, MaxPool1d and the text-CNN block above the kernels:
// weight layout conversion, the fused block against the composed ops, and live parity with
// PyTorch (Conv1d with padding 0 / same / dilation 2, MaxPool1d, the Kim block), forward and every
// gradient within 1e-5 relative in F32. Kernel-level checks: tests/kernels/test_conv1d_cpu.cc.
#include <doctest/doctest.h>

#include "ops/autograd.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "layers/conv1d.h"
#include "layers/pooling.h"
#include "tests/support/compare.h"
#include "tests/support/errors.h"
#include "tests/support/peer.h"
#include "tests/support/values.h"

using namespace loom;
using loom::test::check_close;

namespace {

std::vector<float> flat(const Tensor& t) { return t.to_vector(); }

// loss = sum(y * dy) recorded on `tape`, so every gradient is exercised with random weights.
Tensor dot(const Tensor& y, const Tensor& dy) {
  return ops::sum(ops::reshape(ops::mul(y, dy), {y.numel()}), ops::ReduceDim::Last);
}

const loom::test::Tolerance kPeerTol{1e-5, 1e-6};  // F32 parity: 1e-5 relative, 1e-6 floor

}  // namespace

TEST_CASE("conv1d layer: state_dict exports PyTorch's (F, C, K) and the round trip is exact") {
  layers::Conv1dConfig cfg;
  cfg.in_channels = 3;
  cfg.out_channels = 4;
  cfg.kernel_size = 2;
  const layers::Conv1d conv(cfg, 1);
  CHECK(conv.weight().shape() == Shape({4, 2, 3}));
  const auto sd = conv.state_dict();
  REQUIRE(sd.size() == 2);
  CHECK(sd[0].first == "weight");
  CHECK(sd[0].second.shape() == Shape({4, 3, 2}));
  const std::vector<float> fkc = conv.weight().to_vector(), fck = sd[0].second.to_vector();
  for (int f = 0; f < 4; ++f)
    for (int k = 0; k < 2; ++k)
      for (int c = 0; c < 3; ++c) CHECK(fkc[(f * 2 + k) * 3 + c] == fck[(f * 3 + c) * 2 + k]);
  CHECK(layers::conv_weight_from_torch(sd[0].second).to_vector() == fkc);
}

TEST_CASE("textcnn block: the fused kernel equals conv + relu + masked max composed") {
  const std::int64_t T = 9, B = 3, E = 5;
  layers::TextCnnConfig cfg;
  cfg.in_channels = E;
  cfg.widths = {2, 3};
  cfg.filters = 4;
  const layers::TextCnnBlock block(cfg, 3);
  const Tensor lengths = loom::test::i32({9, 4, 2}, {B});
  const Tensor dy = Tensor::uniform({B, 8}, -1, 1, 5);
  auto run = [&](bool fused) {
    Tensor x = Tensor::uniform({T, B, E}, -1, 1, 4);
    x.set_requires_grad(true);
    for (Tensor p : block.parameters()) p.zero_grad();
    Tape tape;
    Tensor y, loss;
    {
      auto rec = tape.record();
      if (fused) {
        CHECK(block.uses_fused(x));
        y = block.forward(x, lengths);
      } else {
        std::vector<Tensor> parts;
        const auto params = block.named_parameters();
        for (int w = 0; w < 2; ++w) {
          const Tensor& weight = params[2 * w].second;
          const Tensor& bias = params[2 * w + 1].second;
          const Tensor conv = ops::relu(ops::conv1d(x, weight, bias));
          const Tensor len = ops::conv1d_output_lengths(lengths, ops::conv1d_geometry(x, weight, {}));
          parts.push_back(ops::global_max_pool(conv, len));
        }
        y = ops::concat_last(parts);
      }
      loss = dot(y, dy);
    }
    tape.backward(loss);
    std::vector<std::vector<float>> out{flat(y), flat(x.grad())};
    for (const Tensor& p : block.parameters()) out.push_back(flat(p.grad()));
    return out;
  };
  const auto fused = run(true), composed = run(false);
  for (std::size_t i = 0; i < fused.size(); ++i) check_close(fused[i], composed[i], DType::F32, "output or gradient " + std::to_string(i));
}

TEST_CASE("conv1d: a sequence shorter than the kernel is a clear error") {
  const Tensor x = Tensor::zeros({2, 1, 3}), w = Tensor::zeros({4, 3, 3});
  CHECK_SHAPE_ERROR([&] { ops::conv1d(x, w, Tensor()); }, "conv1d", "T = 2", "K = 3");
  ops::Conv1dOptions same;
  same.padding = ops::Padding::Same;
  CHECK(ops::conv1d(x, w, Tensor(), same).shape() == Shape({2, 1, 4}));
}

TEST_CASE("conv1d and textcnn: Conv1dVariant::Reference runs the naive reference row through the ops") {
  // Same values and gradients as the default CPU row (the GEMM form), so the reference is
  // selectable from the op front-end (the bench times it this way).
  const std::int64_t T = 8, B = 3, C = 4, F = 5;
  const Tensor dy = Tensor::uniform({T - 2, B, F}, -1, 1, 21);
  const Tensor dp = Tensor::uniform({B, 2 * F}, -1, 1, 22);
  const Tensor lengths = loom::test::i32({8, 5, 1}, {B});
  auto run = [&](ops::Conv1dVariant variant) {
    Tensor x = Tensor::uniform({T, B, C}, -1, 1, 23), w3 = Tensor::uniform({F, 3, C}, -1, 1, 24);
    Tensor w2 = Tensor::uniform({F, 2, C}, -1, 1, 25), b = Tensor::uniform({F}, -1, 1, 26);
    for (Tensor* t : {&x, &w3, &w2, &b}) t->set_requires_grad(true);
    ops::Conv1dOptions o;
    o.impl = Impl::Cpu;
    o.variant = variant;
    Tape tape;
    Tensor y, pooled, loss;
    {
      auto rec = tape.record();
      y = ops::conv1d(x, w3, b, o);
      pooled = ops::textcnn(x, lengths, {{w3, b, {}}, {w2, Tensor(), {}}}, o).pooled;
      loss = ops::add(dot(y, dy), dot(pooled, dp));
    }
    tape.backward(loss);
    return std::vector<std::vector<float>>{flat(y), flat(pooled), flat(x.grad()), flat(w3.grad()), flat(w2.grad()),
                                           flat(b.grad())};
  };
  const auto reference = run(ops::Conv1dVariant::Reference), cpu = run(ops::Conv1dVariant::ImplicitGemm);
  for (std::size_t i = 0; i < cpu.size(); ++i)
    check_close(reference[i], cpu[i], DType::F32, "output or gradient " + std::to_string(i));
  CHECK(std::string(ops::conv1d_variant_name(ops::Conv1dVariant::Reference)) == "reference");
}

// ---- PyTorch parity ------------------------------------------------------------------------------

namespace {

struct ConvCase {
  std::int64_t K, dilation;
  ops::Padding padding;
  const char* torch_padding;  // "0" or "same"
};

void conv_parity(const ConvCase& c) {
  const std::int64_t T = 11, B = 3, C = 4, F = 5;
  layers::Conv1dConfig cfg;
  cfg.in_channels = C;
  cfg.out_channels = F;
  cfg.kernel_size = c.K;
  cfg.options.padding = c.padding;
  cfg.options.dilation = c.dilation;
  const layers::Conv1d conv(cfg, 7);
  Tensor x = Tensor::uniform({T, B, C}, -1, 1, 8);
  x.set_requires_grad(true);
  Tape tape;
  Tensor y, loss, dy;
  {
    auto rec = tape.record();
    y = conv.forward(x);
    dy = Tensor::uniform(y.shape(), -1, 1, 9);
    loss = dot(y, dy);
  }
  tape.backward(loss);

  nlohmann::json in;
  in["case"] = "conv";
  in["T"] = T;
  in["B"] = B;
  in["C"] = C;
  in["F"] = F;
  in["K"] = c.K;
  in["dilation"] = c.dilation;
  if (std::string(c.torch_padding) == "same") in["padding"] = "same";
  else in["padding"] = 0;
  in["x"] = flat(x);
  in["weight"] = flat(conv.state_dict()[0].second);
  in["bias"] = flat(conv.bias());
  in["dy"] = flat(dy);
  const auto torch = loom::test::run_peer("torch_conv.py", in);
  if (!loom::test::peer_available(torch, "PyTorch (python3-torch)")) return;
  check_close(flat(y), torch.out["y"].get<std::vector<double>>(), kPeerTol, "y");
  check_close(flat(x.grad()), torch.out["dx"].get<std::vector<double>>(), kPeerTol, "dx");
  check_close(flat(layers::conv_weight_to_torch(conv.weight().grad())),
              torch.out["grads"]["weight"].get<std::vector<double>>(), kPeerTol, "dweight");
  check_close(flat(conv.bias().grad()), torch.out["grads"]["bias"].get<std::vector<double>>(), kPeerTol, "dbias");
}

}  // namespace

TEST_CASE("conv1d peer: padding 0 matches torch.nn.Conv1d") { conv_parity({3, 1, ops::Padding::Valid, "0"}); }
TEST_CASE("conv1d peer: padding same matches torch.nn.Conv1d") { conv_parity({4, 1, ops::Padding::Same, "same"}); }
TEST_CASE("conv1d peer: dilation 2 matches torch.nn.Conv1d") { conv_parity({3, 2, ops::Padding::Valid, "0"}); }

TEST_CASE("max_pool1d peer: overlapping windows match torch max_pool1d") {
  const std::int64_t T = 10, B = 2, C = 3;
  Tensor x = Tensor::uniform({T, B, C}, -1, 1, 3);
  x.set_requires_grad(true);
  Tape tape;
  Tensor y, loss, dy;
  {
    auto rec = tape.record();
    y = ops::max_pool1d(x, Tensor(), 3, 2).y;
    dy = Tensor::uniform(y.shape(), -1, 1, 4);
    loss = dot(y, dy);
  }
  tape.backward(loss);
  nlohmann::json in;
  in["case"] = "maxpool";
  in["T"] = T;
  in["B"] = B;
  in["C"] = C;
  in["kernel"] = 3;
  in["stride"] = 2;
  in["x"] = flat(x);
  in["dy"] = flat(dy);
  const auto torch = loom::test::run_peer("torch_conv.py", in);
  if (!loom::test::peer_available(torch, "PyTorch (python3-torch)")) return;
  CHECK(y.shape() == Shape({4, B, C}));
  check_close(flat(y), torch.out["y"].get<std::vector<double>>(), kPeerTol, "y");
  check_close(flat(x.grad()), torch.out["dx"].get<std::vector<double>>(), kPeerTol, "dx");
}

TEST_CASE("textcnn peer: the Kim block (widths 3 4 5) matches PyTorch conv + relu + max over time") {
  const std::int64_t T = 12, B = 3, E = 6;
  layers::TextCnnConfig cfg;
  cfg.in_channels = E;
  cfg.widths = {3, 4, 5};
  cfg.filters = 4;
  const layers::TextCnnBlock block(cfg, 11);
  Tensor x = Tensor::uniform({T, B, E}, -1, 1, 12);
  x.set_requires_grad(true);
  const Tensor dy = Tensor::uniform({B, 12}, -1, 1, 13);
  Tape tape;
  Tensor y, loss;
  {
    auto rec = tape.record();
    y = block.forward(x);
    loss = dot(y, dy);
  }
  tape.backward(loss);
  nlohmann::json in;
  in["case"] = "textcnn";
  in["T"] = T;
  in["B"] = B;
  in["C"] = E;
  in["x"] = flat(x);
  in["dy"] = flat(dy);
  const auto sd = block.state_dict();
  for (int w = 0; w < 3; ++w)
    in["widths"].push_back({{"F", 4}, {"K", cfg.widths[w]}, {"weight", flat(sd[2 * w].second)}, {"bias", flat(sd[2 * w + 1].second)}});
  const auto torch = loom::test::run_peer("torch_conv.py", in);
  if (!loom::test::peer_available(torch, "PyTorch (python3-torch)")) return;
  check_close(flat(y), torch.out["y"].get<std::vector<double>>(), kPeerTol, "pooled");
  check_close(flat(x.grad()), torch.out["dx"].get<std::vector<double>>(), kPeerTol, "dx");
  const auto params = block.named_parameters();
  for (int w = 0; w < 3; ++w) {
    check_close(flat(layers::conv_weight_to_torch(params[2 * w].second.grad())),
                torch.out["grads"]["convs." + std::to_string(w) + ".weight"].get<std::vector<double>>(), kPeerTol,
                params[2 * w].first);
    check_close(flat(params[2 * w + 1].second.grad()),
                torch.out["grads"]["convs." + std::to_string(w) + ".bias"].get<std::vector<double>>(), kPeerTol,
                params[2 * w + 1].first);
  }
}

TEST_CASE("pooling layers: lengths are respected and output lengths returned") {
  // x[t, b, 0] = t + 1 for row 0 and 10 - t for row 1, so maxima are easy to predict.
  std::vector<float> v;
  for (int t = 0; t < 6; ++t) {
    v.push_back(static_cast<float>(t + 1));
    v.push_back(static_cast<float>(10 - t));
  }
  const Tensor x = Tensor::from_vector(v, {6, 2, 1});
  const Tensor lengths = loom::test::i32({5, 3}, {2});
  const ops::MaxPool1dResult mp = layers::MaxPool1d(2, 2).forward(x, lengths);
  CHECK(mp.y.shape() == Shape({3, 2, 1}));
  CHECK(mp.lengths.to_vector_i32() == std::vector<std::int32_t>{2, 1});  // (5-2)/2+1, (3-2)/2+1
  // Row 0 windows [0,2) [2,4) are valid (max 2, 4); [4,6) reaches past length 5 -> 0.
  // Row 1 window [0,2) is valid (max 10); the others reach past length 3 -> 0.
  CHECK(mp.y.to_vector() == std::vector<float>{2, 10, 4, 0, 0, 0});
  CHECK(layers::GlobalMaxPool().forward(x, lengths).to_vector() == std::vector<float>{5, 10});
  const std::vector<float> mean = layers::GlobalMeanPool().forward(x, lengths).to_vector();
  CHECK(mean[0] == doctest::Approx(3.0));  // (1+2+3+4+5)/5
  CHECK(mean[1] == doctest::Approx(9.0));  // (10+9+8)/3
}
