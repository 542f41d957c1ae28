// tests/bench/test_torch_peer.cc: the in-process libtorch peer of `loom bench`
// (bench/torch_peer/torch_peer.h). In every build: without libtorch each run says why instead of
// timing. With the peer (LOOM_TORCH=ON and libtorch found): at small shapes its outputs and
// gradients equal loom's own CPU F32 ops (ops::lstm_seq, ops::conv1d, ops::textcnn) on the same
// values, bf16 runs within a stated tolerance, and unsupported or malformed cases come back as
// ok = false with a reason. Cases that need the peer print "skipped: no peer ..." in a build
// without it (ctest reports them as skipped).
//
// Errors are normwise, ||a - e||_2 / ||e||_2, because that is how a bench validates a variant
// before timing it: one number per output, insensitive to an element that cancelled to ~0.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "bench/torch_peer/torch_peer.h"
#include "ops/autograd.h"
#include "ops/conv1d.h"
#include "ops/lstm.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "tests/support/values.h"

using namespace loom;
namespace tp = loom::bench::torch_peer;

namespace {

// F32 peer against loom's F32 ops: both sum the same O(1) terms in different orders (oneDNN /
// OpenBLAS vs torch's kernels), a few ulps per op, ~1e-7 normwise in practice.
constexpr double kF32Normwise = 1e-5;
// bf16 peer against the F32 truth: bf16 keeps 8 significant bits (unit roundoff 2^-8 = 3.9e-3).
// Inputs and weights are rounded once each and every op's output once more; through the LSTM's
// 2 layers x 5 steps those roundings compound (the state c carries them forward), so a few
// roundoffs in norm, not one: 3e-2 (~8 roundoffs). Measured in this file's cases: ~4e-3 to 1e-2.
constexpr double kBf16Normwise = 3e-2;

bool skip_without_peer() {
  if (tp::available()) return false;
  MESSAGE("skipped: no peer: " << tp::version());
  return true;
}

double normwise(const std::vector<float>& a, const std::vector<float>& e) {
  if (a.size() != e.size() || e.empty()) return std::numeric_limits<double>::infinity();
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - e[i]) * (double(a[i]) - e[i]);
    den += double(e[i]) * e[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

const std::vector<float>& output(const tp::Result& r, const std::string& name) {
  static const std::vector<float> none;
  for (const auto& [n, v] : r.outputs)
    if (n == name) return v;
  return none;
}

// Compares every reference output with the peer's output of the same name; returns the worst error.
double check_outputs(const tp::Result& r, const std::map<std::string, std::vector<float>>& want, double tol) {
  double worst = 0;
  for (const auto& item : want) {
    // Named, not a structured binding: clang 14 cannot capture one in doctest's lambdas.
    const auto& name = item.first;
    const auto& values = item.second;
    const double err = normwise(output(r, name), values);
    INFO(name << ": normwise error " << err << " (tolerance " << tol << ")");
    CHECK(err <= tol);
    worst = std::max(worst, err);
  }
  return worst;
}

void check_times(const tp::Result& r, int reps) {
  INFO("error: " << r.error);
  REQUIRE(r.ok);
  CHECK(r.error.empty());
  CHECK(r.ms.size() == static_cast<size_t>(reps));
  for (double ms : r.ms) CHECK(ms > 0);
}

Tensor leaf(const std::vector<float>& v, const Shape& s) {
  Tensor t = Tensor::from_vector(v, s, DType::F32);
  t.set_requires_grad(true);
  return t;
}

Tensor sum_all(const Tensor& y) { return ops::sum(ops::reshape(y, {y.numel()}), ops::ReduceDim::Last); }

// torch's conv weight [F, C, K] <-> loom's [F, K, C].
std::vector<float> fck_to_fkc(const std::vector<float>& w, std::int64_t F, std::int64_t C, std::int64_t K) {
  std::vector<float> out(w.size());
  for (std::int64_t f = 0; f < F; ++f)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t k = 0; k < K; ++k) out[(f * K + k) * C + c] = w[(f * C + c) * K + k];
  return out;
}
std::vector<float> fkc_to_fck(const std::vector<float>& w, std::int64_t F, std::int64_t C, std::int64_t K) {
  std::vector<float> out(w.size());
  for (std::int64_t f = 0; f < F; ++f)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t k = 0; k < K; ++k) out[(f * C + c) * K + k] = w[(f * K + k) * C + c];
  return out;
}

// ---- the LSTM: T 5, B 3, C 4, H 6, two bidirectional layers, mixed lengths ----------------------

tp::LstmCase lstm_case() {
  tp::LstmCase c;
  c.T = 5, c.B = 3, c.C = 4, c.H = 6, c.layers = 2, c.bidirectional = true;
  c.lengths = {5, 2, 4};
  c.x = test::random_floats(c.T * c.B * c.C, 1, -1.0f, 1.0f);
  std::uint64_t seed = 10;
  for (int l = 0; l < c.layers; ++l)
    for (const std::string suffix : {"", "_reverse"}) {
      const std::int64_t in = l == 0 ? c.C : 2 * c.H;
      const std::string tag = "_l" + std::to_string(l) + suffix;
      c.params.push_back({"weight_ih" + tag, test::random_floats(4 * c.H * in, ++seed, -0.5f, 0.5f)});
      c.params.push_back({"weight_hh" + tag, test::random_floats(4 * c.H * c.H, ++seed, -0.5f, 0.5f)});
      c.params.push_back({"bias_ih" + tag, test::random_floats(4 * c.H, ++seed, -0.5f, 0.5f)});
      c.params.push_back({"bias_hh" + tag, test::random_floats(4 * c.H, ++seed, -0.5f, 0.5f)});
    }
  return c;
}

// loom's F32 CPU LSTM on the same values: y, and the gradients of sum(y) (= backward(ones)).
std::map<std::string, std::vector<float>> loom_lstm(const tp::LstmCase& c, bool backward) {
  std::map<std::string, Tensor> p;
  for (const auto& [name, values] : c.params) {
    const bool weight = name.rfind("weight", 0) == 0;
    const std::int64_t rows = 4 * c.H, cols = weight ? static_cast<std::int64_t>(values.size()) / rows : 0;
    p[name] = weight ? leaf(values, {rows, cols}) : leaf(values, {rows});
  }
  const Tensor x = leaf(c.x, {c.T, c.B, c.C});
  const Tensor lengths = test::i32(c.lengths, {c.B});
  Tape tape;
  Tensor y, loss;
  {
    auto rec = tape.record();
    Tensor in = x;
    for (int l = 0; l < c.layers; ++l) {
      std::vector<ops::LstmDirectionParams> dirs;
      for (const std::string suffix : {"", "_reverse"}) {
        const std::string tag = "_l" + std::to_string(l) + suffix;
        dirs.push_back({suffix.empty() ? ops::Direction::Forward : ops::Direction::Reverse, p["weight_ih" + tag],
                        p["weight_hh" + tag], p["bias_ih" + tag], p["bias_hh" + tag], Tensor(), Tensor()});
      }
      in = ops::lstm_seq(in, lengths, dirs).y;
    }
    y = in;
    loss = sum_all(y);
  }
  std::map<std::string, std::vector<float>> out{{"y", y.to_vector()}};
  if (!backward) return out;
  tape.backward(loss);  // d sum(y) / d y = ones, as the peer's backward(ones)
  out["dx"] = x.grad().to_vector();
  for (const auto& [name, t] : p) out[name] = t.grad().to_vector();
  return out;
}

// ---- conv1d and the text-CNN block: T 5, B 3, C 4, F 6 ------------------------------------------

tp::Conv1dCase conv_case() {
  tp::Conv1dCase c;
  c.T = 5, c.B = 3, c.C = 4, c.F = 6, c.K = 3;
  c.x = test::random_floats(c.T * c.B * c.C, 2, -1.0f, 1.0f);
  c.params = {{"weight", test::random_floats(c.F * c.C * c.K, 3, -0.5f, 0.5f)},
              {"bias", test::random_floats(c.F, 4, -0.5f, 0.5f)}};
  return c;
}

std::map<std::string, std::vector<float>> loom_conv1d(const tp::Conv1dCase& c, bool backward) {
  const Tensor x = leaf(c.x, {c.T, c.B, c.C});
  const Tensor w = leaf(fck_to_fkc(c.params[0].second, c.F, c.C, c.K), {c.F, c.K, c.C});
  const Tensor b = leaf(c.params[1].second, {c.F});
  Tape tape;
  Tensor y, loss;
  {
    auto rec = tape.record();
    y = ops::conv1d(x, w, b);
    loss = sum_all(y);
  }
  std::map<std::string, std::vector<float>> out{{"y", y.to_vector()}};
  if (!backward) return out;
  tape.backward(loss);  // d sum(y) / d y = ones, as the peer's backward(ones)
  out["dx"] = x.grad().to_vector();
  out["weight"] = fkc_to_fck(w.grad().to_vector(), c.F, c.C, c.K);
  out["bias"] = b.grad().to_vector();
  return out;
}

tp::TextCnnCase textcnn_case() {
  tp::TextCnnCase c;
  c.T = 5, c.B = 3, c.C = 4, c.F = 6, c.widths = {2, 3};
  c.x = test::random_floats(c.T * c.B * c.C, 5, -1.0f, 1.0f);
  for (size_t i = 0; i < c.widths.size(); ++i) {
    const std::string tag = "convs." + std::to_string(i) + ".";
    c.params.push_back({tag + "weight", test::random_floats(c.F * c.C * c.widths[i], 6 + i, -0.5f, 0.5f)});
    c.params.push_back({tag + "bias", test::random_floats(c.F, 16 + i, -0.5f, 0.5f)});
  }
  return c;
}

std::map<std::string, std::vector<float>> loom_textcnn(const tp::TextCnnCase& c, bool backward) {
  const Tensor x = leaf(c.x, {c.T, c.B, c.C});
  std::vector<Tensor> ws, bs;
  std::vector<ops::TextCnnFilter> filters;
  for (size_t i = 0; i < c.widths.size(); ++i) {
    ws.push_back(leaf(fck_to_fkc(c.params[2 * i].second, c.F, c.C, c.widths[i]), {c.F, c.widths[i], c.C}));
    bs.push_back(leaf(c.params[2 * i + 1].second, {c.F}));
    filters.push_back({ws.back(), bs.back(), {}});
  }
  Tape tape;
  Tensor y, loss;
  {
    auto rec = tape.record();
    y = ops::textcnn(x, Tensor(), filters).pooled;
    loss = sum_all(y);
  }
  std::map<std::string, std::vector<float>> out{{"y", y.to_vector()}};
  if (!backward) return out;
  tape.backward(loss);  // d sum(y) / d y = ones, as the peer's backward(ones)
  out["dx"] = x.grad().to_vector();
  for (size_t i = 0; i < c.widths.size(); ++i) {
    const std::string tag = "convs." + std::to_string(i) + ".";
    out[tag + "weight"] = fkc_to_fck(ws[i].grad().to_vector(), c.F, c.C, c.widths[i]);
    out[tag + "bias"] = bs[i].grad().to_vector();
  }
  return out;
}

tp::Settings settings(const std::string& dtype, bool backward, int reps = 3) {
  tp::Settings s;
  s.dtype = dtype;
  s.backward = backward;
  s.warmup = 1;
  s.reps = reps;
  return s;
}

}  // namespace

TEST_CASE("torch peer: a build without libtorch says why on every run") {
  // Loading libtorch (the first call) sets OpenMP's process-wide thread count to torch's default;
  // the loader puts loom's back.
  const int threads_before = omp_get_max_threads();
  CHECK(!tp::version().empty());
  CHECK(omp_get_max_threads() == threads_before);
  if (tp::available()) {
    CHECK(tp::version().find("libtorch ") == 0);  // the peer names itself and its version
    return;
  }
  const tp::Settings s;
  for (const tp::Result& r : {tp::run_lstm(lstm_case(), s), tp::run_conv1d(conv_case(), s),
                              tp::run_textcnn(textcnn_case(), s)}) {
    CHECK(!r.ok);
    CHECK(!r.error.empty());
    CHECK(r.ms.empty());
  }
  CHECK(!tp::cuda_available());
}

TEST_CASE("torch peer: F32 lstm conv1d and textcnn equal loom's CPU ops in outputs and gradients") {
  if (skip_without_peer()) return;
  MESSAGE(tp::version());
  double worst[3] = {0, 0, 0};
  for (bool backward : {false, true}) {
    INFO("backward " << backward);
    const tp::Result lstm = tp::run_lstm(lstm_case(), settings("f32", backward));
    check_times(lstm, 3);
    worst[0] = std::max(worst[0], check_outputs(lstm, loom_lstm(lstm_case(), backward), kF32Normwise));
    // 2 layers x 2 directions x 4 tensors, plus y and dx.
    CHECK(lstm.outputs.size() == (backward ? 18u : 1u));
    // Padding past each row's length is zero, as in loom (row 1 has length 2: t = 2..4 are padding).
    const std::vector<float>& y = output(lstm, "y");
    for (std::int64_t t = 2; t < 5; ++t)
      for (std::int64_t h = 0; h < 12; ++h) CHECK(y[(t * 3 + 1) * 12 + h] == 0.0f);

    const tp::Result conv = tp::run_conv1d(conv_case(), settings("f32", backward));
    check_times(conv, 3);
    worst[1] = std::max(worst[1], check_outputs(conv, loom_conv1d(conv_case(), backward), kF32Normwise));

    const tp::Result cnn = tp::run_textcnn(textcnn_case(), settings("f32", backward));
    check_times(cnn, 3);
    worst[2] = std::max(worst[2], check_outputs(cnn, loom_textcnn(textcnn_case(), backward), kF32Normwise));
  }
  MESSAGE("F32 worst normwise errors: lstm " << worst[0] << ", conv1d " << worst[1] << ", textcnn " << worst[2]);
}

TEST_CASE("torch peer: bf16 on the CPU runs and agrees with loom's F32 within the bf16 tolerance") {
  if (skip_without_peer()) return;
  const tp::Result lstm = tp::run_lstm(lstm_case(), settings("bf16", true));
  check_times(lstm, 3);
  const double e_lstm = check_outputs(lstm, loom_lstm(lstm_case(), true), kBf16Normwise);
  const tp::Result conv = tp::run_conv1d(conv_case(), settings("bf16", true));
  check_times(conv, 3);
  const double e_conv = check_outputs(conv, loom_conv1d(conv_case(), true), kBf16Normwise);
  const tp::Result cnn = tp::run_textcnn(textcnn_case(), settings("bf16", false));
  check_times(cnn, 3);
  const double e_cnn = check_outputs(cnn, loom_textcnn(textcnn_case(), false), kBf16Normwise);
  MESSAGE("bf16 worst normwise errors: lstm " << e_lstm << ", conv1d " << e_conv << ", textcnn " << e_cnn);
  // It really ran in bf16: an F32 run would agree to ~1e-7.
  CHECK(e_lstm > 1e-4);
  CHECK(e_conv > 1e-4);
}

TEST_CASE("torch peer: unsupported dtypes and malformed cases return a reason and no time") {
  if (skip_without_peer()) return;
  auto refused = [](const tp::Result& r, const std::string& must_name) {
    INFO("error: " << r.error);
    CHECK(!r.ok);
    CHECK(r.ms.empty());
    CHECK(r.error.find(must_name) != std::string::npos);
    CHECK(r.error.find('\n') == std::string::npos);  // one line, no C++ backtrace
  };
  // libtorch 1.13 has no Half GEMM on the CPU ("addmm_impl_cpu_" not implemented for 'Half').
  refused(tp::run_lstm(lstm_case(), settings("f16", false)), "Half");

  tp::LstmCase c = lstm_case();
  c.params[4].second.pop_back();  // weight_ih_l0_reverse one value short
  refused(tp::run_lstm(c, settings("f32", true)), "weight_ih_l0_reverse");
  c = lstm_case();
  c.params.erase(c.params.begin() + 1);
  refused(tp::run_lstm(c, settings("f32", false)), "missing parameter 'weight_hh_l0'");
  c = lstm_case();
  c.params.push_back({"weight_ih_l2", {1.0f}});
  refused(tp::run_lstm(c, settings("f32", false)), "unknown parameter 'weight_ih_l2'");
  c = lstm_case();
  c.lengths[1] = 0;
  refused(tp::run_lstm(c, settings("f32", false)), "lengths[1] = 0");
  c = lstm_case();
  c.x.resize(7);
  refused(tp::run_lstm(c, settings("f32", false)), "x has 7 values");

  tp::Conv1dCase k = conv_case();
  k.params[0].second.resize(5);
  refused(tp::run_conv1d(k, settings("f32", false)), "parameter 'weight' has 5 values");
  tp::TextCnnCase t = textcnn_case();
  t.widths = {2, 9};
  refused(tp::run_textcnn(t, settings("f32", false)), "width 9");
  refused(tp::run_conv1d(conv_case(), [] { tp::Settings s; s.dtype = "f8"; return s; }()), "dtype 'f8'");
  refused(tp::run_conv1d(conv_case(), [] { tp::Settings s; s.device = "tpu"; return s; }()), "device 'tpu'");
  if (!tp::cuda_available())
    refused(tp::run_conv1d(conv_case(), [] { tp::Settings s; s.device = "cuda"; return s; }()), "no CUDA device");
}

TEST_CASE("torch peer: the time budget stops early and the caller's thread count is put back") {
  if (skip_without_peer()) return;
  tp::Settings s = settings("f32", false, 1000000);  // a million repetitions would take minutes
  s.budget_s = 0.05;
  const int threads_before = omp_get_max_threads();
  s.threads = threads_before == 1 ? 2 : 1;
  const tp::Result r = tp::run_conv1d(conv_case(), s);
  INFO("error: " << r.error);
  REQUIRE(r.ok);
  CHECK(r.ms.size() >= 1);
  CHECK(r.ms.size() < 1000000u);
  CHECK(omp_get_max_threads() == threads_before);
}
