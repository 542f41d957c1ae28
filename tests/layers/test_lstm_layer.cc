// tests/layers/test_lstm_layer.cc: the LSTM above the kernels: ops::lstm_cell (composed) against
// ops::lstm_seq (fused), the autograd of lstm_seq (bias folding, initial states), layers::Lstm
// (names, shapes, init presets, stacking, dropout), and live parity with torch.nn.LSTM.
// Kernel-level checks (finite differences, reverse/length invariances) are in
// tests/kernels/test_lstm_cpu.cc; GPU variants in tests/kernels/test_lstm_cuda.cc.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <sstream>

#include "ops/autograd.h"
#include "ops/elementwise.h"
#include "ops/lstm.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "layers/lstm.h"
#include "tests/support/compare.h"
#include "tests/support/errors.h"
#include "tests/support/gradcheck.h"
#include "tests/support/peer.h"
#include "tests/support/values.h"

using namespace loom;
using loom::test::check_close;
using loom::test::f64_random;
using loom::test::random_floats;

namespace {

struct Weights {
  Tensor w_ih, w_hh, b_ih, b_hh;
};

Weights random_weights(std::int64_t C, std::int64_t H, std::uint64_t seed, DType dtype) {
  auto make = [&](const Shape& s, std::uint64_t k) {
    Tensor t = Tensor::from_vector(loom::test::random_values(numel(s), seed * 31 + k, -0.5, 0.5), s, dtype);
    t.set_requires_grad(true);
    return t;
  };
  return {make({4 * H, C}, 1), make({4 * H, H}, 2), make({4 * H}, 3), make({4 * H}, 4)};
}

Tensor leaf(const Shape& s, std::uint64_t seed, DType dtype = DType::F64) {
  Tensor t = Tensor::from_vector(loom::test::random_values(numel(s), seed, -1.0, 1.0), s, dtype);
  t.set_requires_grad(true);
  return t;
}

// sum(w * y) with fixed random weights: a scalar whose gradient exercises every element.
Tensor weighted_sum(const Tensor& y, std::uint64_t seed) {
  const Tensor w = Tensor::from_vector(loom::test::random_values(y.numel(), seed, -1.0, 1.0), y.shape(), y.dtype());
  return ops::sum(ops::reshape(ops::mul(y, w), {y.numel()}), ops::ReduceDim::Last);
}

}  // namespace

TEST_CASE("lstm: lstm_cell unrolled T times equals lstm_seq in outputs and every gradient") {
  const std::int64_t T = 5, B = 3, C = 4, H = 3;
  const Weights w = random_weights(C, H, 7, DType::F64);
  const Tensor x = leaf({T, B, C}, 11), h0 = leaf({B, H}, 12), c0 = leaf({B, H}, 13);
  auto grads = [&](bool fused) {
    for (Tensor t : {w.w_ih, w.w_hh, w.b_ih, w.b_hh, x, h0, c0}) t.zero_grad();
    Tape tape;
    Tensor loss;
    {
      auto rec = tape.record();
      Tensor y;
      ops::LstmState final_state;
      if (fused) {
        ops::LstmDirectionParams p{ops::Direction::Forward, w.w_ih, w.w_hh, w.b_ih, w.b_hh, h0, c0};
        const ops::LstmSeqResult r = ops::lstm_seq(x, Tensor(), {p});
        y = r.y;
        final_state = {r.h_n[0], r.c_n[0]};
      } else {
        ops::LstmState s{h0, c0};
        std::vector<Tensor> steps;
        for (std::int64_t t = 0; t < T; ++t) {
          s = ops::lstm_cell(ops::reshape(ops::slice0(x, t, t + 1), {B, C}), s, w.w_ih, w.w_hh, w.b_ih, w.b_hh);
          steps.push_back(ops::reshape(s.h, {1, B, H}));
        }
        y = ops::concat0(steps);
        final_state = s;
      }
      loss = ops::add(ops::add(weighted_sum(y, 1), weighted_sum(final_state.h, 2)), weighted_sum(final_state.c, 3));
    }
    if (!fused) CHECK(tape.size() > static_cast<std::size_t>(10 * T));  // BPTT unrolled on the tape
    tape.backward(loss);
    std::vector<std::vector<double>> out{loss.to_vector_f64()};
    for (const Tensor& t : {w.w_ih, w.w_hh, w.b_ih, w.b_hh, x, h0, c0}) out.push_back(t.grad().to_vector_f64());
    return out;
  };
  const auto composed = grads(false), fused = grads(true);
  const char* names[] = {"loss", "dW_ih", "dW_hh", "db_ih", "db_hh", "dx", "dh0", "dc0"};
  for (std::size_t i = 0; i < composed.size(); ++i) check_close(fused[i], composed[i], DType::F64, names[i]);
}

TEST_CASE("lstm: lstm_seq passes a finite-difference check through the op (bias folding and states)") {
  const std::int64_t T = 4, B = 3, C = 2, H = 2;
  const Tensor lengths = loom::test::i32({4, 1, 3}, {B});
  auto f = [&](const std::vector<Tensor>& in) {
    std::vector<ops::LstmDirectionParams> dirs;
    for (int d = 0; d < 2; ++d)
      dirs.push_back({d == 0 ? ops::Direction::Forward : ops::Direction::Reverse, in[1 + 6 * d], in[2 + 6 * d],
                      in[3 + 6 * d], in[4 + 6 * d], in[5 + 6 * d], in[6 + 6 * d]});
    const ops::LstmSeqResult r = ops::lstm_seq(in[0], lengths, dirs);
    return ops::concat_last({ops::reshape(r.y, {T * B * 2 * H}), ops::reshape(r.h_n[1], {B * H}),
                             ops::reshape(r.c_n[0], {B * H})});
  };
  std::vector<Tensor> inputs{f64_random({T, B, C}, 1)};
  for (int d = 0; d < 2; ++d)
    for (const Shape& s : {Shape{4 * H, C}, Shape{4 * H, H}, Shape{4 * H}, Shape{4 * H}, Shape{B, H}, Shape{B, H}})
      inputs.push_back(f64_random(s, 100 + inputs.size(), -0.8, 0.8));
  loom::test::gradcheck(f, inputs, "lstm_seq D=2 with lengths and initial states");
}

TEST_CASE("lstm layer: parameter names and shapes follow torch.nn.LSTM's state_dict") {
  layers::LstmConfig cfg;
  cfg.input_size = 5;
  cfg.hidden_size = 4;
  cfg.num_layers = 2;
  cfg.directions = layers::Directions::Bi;
  const layers::Lstm lstm(cfg, 3);
  std::ostringstream names;
  for (const auto& [name, t] : lstm.named_parameters()) names << name << shape_str(t.shape()) << " ";
  CHECK(names.str() ==
        "weight_ih_l0[16, 5] weight_hh_l0[16, 4] bias_ih_l0[16] bias_hh_l0[16] "
        "weight_ih_l0_reverse[16, 5] weight_hh_l0_reverse[16, 4] bias_ih_l0_reverse[16] bias_hh_l0_reverse[16] "
        "weight_ih_l1[16, 8] weight_hh_l1[16, 4] bias_ih_l1[16] bias_hh_l1[16] "
        "weight_ih_l1_reverse[16, 8] weight_hh_l1_reverse[16, 4] bias_ih_l1_reverse[16] bias_hh_l1_reverse[16] ");
  const Tensor x = Tensor::uniform({6, 3, 5}, -1, 1, 9);
  const layers::LstmOutput out = lstm.forward(x, loom::test::i32({6, 2, 0}, {3}), Tensor(), Tensor(), layers::Phase::Eval);
  CHECK(out.output.shape() == Shape({6, 3, 8}));
  CHECK(out.h_n.shape() == Shape({4, 3, 4}));
  CHECK(out.c_n.shape() == Shape({4, 3, 4}));
  // Row 1 has length 2: its outputs from t = 2 on are zero; row 2 (length 0) is zero everywhere
  // and its final states are the zero initial states.
  const std::vector<float> y = out.output.to_vector(), h = out.h_n.to_vector();
  for (int t = 0; t < 6; ++t)
    for (int j = 0; j < 8; ++j) {
      if (t >= 2) CHECK(y[(t * 3 + 1) * 8 + j] == 0.0f);
      CHECK(y[(t * 3 + 2) * 8 + j] == 0.0f);
    }
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 4; ++j) CHECK(h[(r * 3 + 2) * 4 + j] == 0.0f);
}

TEST_CASE("lstm layer: init presets") {
  layers::LstmConfig cfg;
  cfg.input_size = 6;
  cfg.hidden_size = 5;
  SUBCASE("torch: every parameter within 1/sqrt(H)") {
    const layers::Lstm lstm(cfg, 1);
    const float bound = 1.0f / std::sqrt(5.0f);
    for (const auto& item : lstm.named_parameters()) {
      // Named, not a structured binding: clang 14 cannot capture one in doctest's lambdas.
      const auto& name = item.first;
      const auto& t = item.second;
      float lo = 1, hi = -1;
      for (float v : t.to_vector()) lo = std::min(lo, v), hi = std::max(hi, v);
      INFO(name);
      CHECK(lo >= -bound);
      CHECK(hi <= bound);
      CHECK(hi - lo > bound);  // spread over the range, not a constant
    }
  }
  SUBCASE("keras: orthogonal recurrent kernel, forget bias 1, Glorot input kernel") {
    cfg.init = layers::LstmInit::Keras;
    const layers::Lstm lstm(cfg, 1);
    std::map<std::string, std::vector<float>> p;
    for (const auto& [name, t] : lstm.named_parameters()) p[name] = t.to_vector();
    const auto& w = p["weight_hh_l0"];  // [4H, H] with orthonormal columns
    for (int a = 0; a < 5; ++a)
      for (int b = 0; b < 5; ++b) {
        double dot = 0;
        for (int r = 0; r < 20; ++r) dot += double(w[r * 5 + a]) * w[r * 5 + b];
        CHECK(dot == doctest::Approx(a == b ? 1.0 : 0.0).epsilon(1e-5).scale(1.0));
      }
    for (int j = 0; j < 20; ++j) CHECK(p["bias_ih_l0"][j] == (j >= 5 && j < 10 ? 1.0f : 0.0f));
    for (float v : p["bias_hh_l0"]) CHECK(v == 0.0f);
    const float limit = std::sqrt(6.0f / (6 + 20));
    for (float v : p["weight_ih_l0"]) CHECK(std::abs(v) <= limit);
  }
}

TEST_CASE("lstm layer: dropout between layers acts only in training") {
  layers::LstmConfig cfg;
  cfg.input_size = 3;
  cfg.hidden_size = 4;
  cfg.num_layers = 2;
  cfg.dropout = 0.5f;
  const layers::Lstm lstm(cfg, 5);
  const Tensor x = Tensor::uniform({4, 2, 3}, -1, 1, 2);
  Generator g1(9), g2(9), g3(10);
  const auto eval1 = lstm.forward(x, {}, {}, {}, layers::Phase::Eval, g1).output.to_vector();
  const auto eval2 = lstm.forward(x, {}, {}, {}, layers::Phase::Eval, g3).output.to_vector();
  CHECK(eval1 == eval2);  // no randomness in evaluation
  Generator a(9), b(9);
  const auto train1 = lstm.forward(x, {}, {}, {}, layers::Phase::Train, a).output.to_vector();
  const auto train2 = lstm.forward(x, {}, {}, {}, layers::Phase::Train, b).output.to_vector();
  CHECK(train1 == train2);  // the same generator state drops the same units
  CHECK(train1 != eval1);
}

TEST_CASE("lstm: bad arguments name the shapes") {
  const Tensor x = Tensor::zeros({5, 2, 3});
  Weights w = random_weights(3, 4, 1, DType::F32);
  ops::LstmDirectionParams p{ops::Direction::Forward, w.w_ih, w.w_hh, w.b_ih, w.b_hh, Tensor(), Tensor()};
  p.w_ih = Tensor::zeros({16, 4});
  CHECK_SHAPE_ERROR([&] { ops::lstm_seq(x, Tensor(), {p}); }, "lstm_seq", "w_ih", "[16, 3]", "[16, 4]");
  p.w_ih = w.w_ih;
  p.h0 = Tensor::zeros({3, 4});
  CHECK_SHAPE_ERROR([&] { ops::lstm_seq(x, Tensor(), {p}); }, "lstm_seq", "[2, 4]", "[3, 4]");
  p.h0 = Tensor();
  CHECK_SHAPE_ERROR([&] { ops::lstm_seq(x, loom::test::i32({6, 1}, {2}), {p}); }, "lstm_seq", "lengths[0] = 6",
                    "[0, 5]");
  CHECK_SHAPE_ERROR([&] { ops::lstm_seq(x, loom::test::i32({5, 1, 1}, {3}), {p}); }, "lstm_seq", "lengths", "[2]");
  CHECK_SHAPE_ERROR([&] { ops::lstm_seq(x, Tensor::zeros({2}), {p}); }, "lstm_seq", "lengths", "i32");
  ops::LstmSeqOptions cuda_on_cpu;
  cuda_on_cpu.impl = Impl::Cuda;
  CHECK_THROWS_WITH_AS(ops::lstm_seq(x, Tensor(), {p}, cuda_on_cpu), doctest::Contains("cannot run tensors on cpu"),
                       loom::Error);
}

TEST_CASE("lstm: lstm_seq runs any CPU row of the variant table by name, with the same results") {
  const std::int64_t T = 4, B = 3, C = 4, H = 3;
  const Tensor lengths = loom::test::i32({4, 1, 3}, {B});
  struct Run {
    ops::LstmSeqResult r;
    std::vector<std::vector<float>> grads;
  };
  auto run = [&](const std::string& row) {
    const Weights w0 = random_weights(C, H, 11, DType::F64), w1 = random_weights(C, H, 12, DType::F64);
    const Tensor x = leaf({T, B, C}, 13);
    std::vector<ops::LstmDirectionParams> dirs{{ops::Direction::Forward, w0.w_ih, w0.w_hh, w0.b_ih, w0.b_hh, {}, {}},
                                               {ops::Direction::Reverse, w1.w_ih, w1.w_hh, w1.b_ih, w1.b_hh, {}, {}}};
    ops::LstmSeqOptions o;
    o.row = row;
    Tape tape;
    Run out;
    Tensor loss;
    {
      auto rec = tape.record();
      out.r = ops::lstm_seq(x, lengths, dirs, o);
      loss = weighted_sum(out.r.y, 14);
    }
    tape.backward(loss);
    for (const Tensor* t : {&x, &w0.w_ih, &w0.w_hh, &w0.b_ih, &w1.w_hh, &w1.b_hh}) out.grads.push_back(t->grad().to_vector());
    return out;
  };
  const Run cpu = run(""), reference = run("reference");
  CHECK(cpu.r.row == "cpu");
  CHECK(cpu.r.impl == Impl::Cpu);
  CHECK(reference.r.row == "reference");
  CHECK(reference.r.impl == Impl::Cpu);
  const loom::test::Tolerance tol = loom::test::tolerance(DType::F64);
  check_close(reference.r.y.to_vector(), cpu.r.y.to_vector(), tol, "y");
  for (std::size_t k = 0; k < cpu.grads.size(); ++k)
    check_close(reference.grads[k], cpu.grads[k], tol, "gradient " + std::to_string(k));
  const Tensor x = Tensor::zeros({T, B, C});
  const Weights w = random_weights(C, H, 1, DType::F32);
  ops::LstmDirectionParams p{ops::Direction::Forward, w.w_ih, w.w_hh, w.b_ih, w.b_hh, Tensor(), Tensor()};
  ops::LstmSeqOptions gpu_row;
  gpu_row.row = "cuda-v2";  // absent from a CPU build, and never for CPU tensors
  CHECK_THROWS_AS(ops::lstm_seq(x, Tensor(), {p}, gpu_row), loom::Error);
}

// ---- PyTorch parity ------------------------------------------------------------------------------

namespace {

std::vector<float> flat(const Tensor& t) { return t.to_vector(); }

void torch_parity(int num_layers, bool bidirectional, bool with_lengths, bool with_state) {
  const std::int64_t T = 6, B = 4, C = 5, H = 7;
  const int D = bidirectional ? 2 : 1;
  layers::LstmConfig cfg;
  cfg.input_size = C;
  cfg.hidden_size = H;
  cfg.num_layers = num_layers;
  cfg.directions = bidirectional ? layers::Directions::Bi : layers::Directions::Uni;
  const layers::Lstm lstm(cfg, 42);
  Tensor x = Tensor::uniform({T, B, C}, -1, 1, 5);
  x.set_requires_grad(true);
  Tensor h0, c0;
  if (with_state) {
    h0 = Tensor::uniform({num_layers * D, B, H}, -1, 1, 6).set_requires_grad(true);
    c0 = Tensor::uniform({num_layers * D, B, H}, -1, 1, 7).set_requires_grad(true);
  }
  const std::vector<std::int32_t> len{6, 2, 5, 1};
  const Tensor lengths = with_lengths ? loom::test::i32(len, {B}) : Tensor();
  const Tensor dy = Tensor::uniform({T, B, D * H}, -1, 1, 8), dh = Tensor::uniform({num_layers * D, B, H}, -1, 1, 9),
               dc = Tensor::uniform({num_layers * D, B, H}, -1, 1, 10);

  Tape tape;
  layers::LstmOutput out;
  Tensor loss;
  {
    auto rec = tape.record();
    out = lstm.forward(x, lengths, h0, c0, layers::Phase::Train);
    auto dot = [](const Tensor& a, const Tensor& b) {
      return ops::sum(ops::reshape(ops::mul(a, b), {a.numel()}), ops::ReduceDim::Last);
    };
    loss = ops::add(ops::add(dot(out.output, dy), dot(out.h_n, dh)), dot(out.c_n, dc));
  }
  tape.backward(loss);

  nlohmann::json in;
  in["input_size"] = C;
  in["hidden_size"] = H;
  in["num_layers"] = num_layers;
  in["bidirectional"] = bidirectional;
  in["T"] = T;
  in["B"] = B;
  in["x"] = flat(x);
  in["lengths"] = with_lengths ? nlohmann::json(len) : nlohmann::json(nullptr);
  in["h0"] = with_state ? nlohmann::json(flat(h0)) : nlohmann::json(nullptr);
  in["c0"] = with_state ? nlohmann::json(flat(c0)) : nlohmann::json(nullptr);
  for (const auto& [name, t] : lstm.named_parameters()) in["params"][name] = flat(t);
  in["dy"] = flat(dy);
  in["dh_n"] = flat(dh);
  in["dc_n"] = flat(dc);
  const loom::test::PeerAnswer torch = loom::test::run_peer("torch_lstm.py", in);
  if (!loom::test::peer_available(torch, "PyTorch (python3-torch)")) return;
  MESSAGE("compared with torch " << torch.out["torch_version"].get<std::string>());

  // F32 parity: <= 1e-5 relative, with a 1e-6 floor for values that cancel to near zero.
  const loom::test::Tolerance tol{1e-5, 1e-6};
  auto expect = [&](const char* key) { return torch.out[key].get<std::vector<double>>(); };
  check_close(flat(out.output), expect("y"), tol, "output");
  check_close(flat(out.h_n), expect("h_n"), tol, "h_n");
  check_close(flat(out.c_n), expect("c_n"), tol, "c_n");
  check_close(flat(x.grad()), expect("dx"), tol, "d input");
  if (with_state) {
    check_close(flat(h0.grad()), expect("dh0"), tol, "dh0");
    check_close(flat(c0.grad()), expect("dc0"), tol, "dc0");
  }
  for (const auto& [name, t] : lstm.named_parameters())
    check_close(flat(t.grad()), torch.out["grads"][name].get<std::vector<double>>(), tol, "d " + name);
}

}  // namespace

TEST_CASE("lstm peer: 2-layer bidirectional LSTM on a packed batch of mixed lengths matches torch.nn.LSTM") {
  torch_parity(2, true, true, false);
}

TEST_CASE("lstm peer: 1-layer LSTM with initial states matches torch.nn.LSTM") { torch_parity(1, false, false, true); }

TEST_CASE("lstm peer: 2-layer bidirectional LSTM with lengths and initial states matches torch.nn.LSTM") {
  torch_parity(2, true, true, true);
}
