// train/trace.cc: the numbers of `loom trace` (see train/trace.h for the math and where each
// number comes from): tokenization as the model reads, the F64 recomputation of the LSTM gates,
// the two checks against the engine, the probabilities (predict's path) and gradient x input.
#include "train/trace.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "data/tokenizer.h"
#include "layers/lstm.h"
#include "models/factory.h"
#include "models/lstm.h"
#include "ops/autograd.h"
#include "ops/lstm.h"
#include "train/evaluate.h"

namespace loom::train {
namespace {

using Matrix = std::vector<std::vector<double>>;  // [rows][cols]

// The state-dict tensor `name` as F64 values on the host (row-major), with its shape checked.
std::vector<double> param(const std::vector<layers::NamedTensor>& sd, const std::string& name) {
  for (const auto& [n, t] : sd)
    if (n == name) return t.to(Device::cpu()).to_vector_f64();
  LOOM_THROW(CheckpointError, "trace: the run's weights have no tensor '", name, "'");
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// One direction of one layer over the whole input x [T][C]: the step of train/trace.h.
LstmTrace run_direction(const Matrix& x, const std::vector<layers::NamedTensor>& sd, int layer, int direction,
                        std::int64_t H) {
  const std::string s = "_l" + std::to_string(layer) + (direction ? "_reverse" : "");
  const std::vector<double> w_ih = param(sd, "lstm.weight_ih" + s), w_hh = param(sd, "lstm.weight_hh" + s);
  const std::vector<double> b_ih = param(sd, "lstm.bias_ih" + s), b_hh = param(sd, "lstm.bias_hh" + s);
  const std::size_t T = x.size(), C = x[0].size(), G = static_cast<std::size_t>(4 * H);
  LOOM_CHECK(w_ih.size() == G * C, "trace: lstm.weight_ih", s, " does not match the layer's input width ", C);
  LstmTrace tr;
  tr.layer = layer;
  tr.direction = direction;
  for (Matrix* m : {&tr.i, &tr.f, &tr.g, &tr.o, &tr.c, &tr.h}) m->assign(T, std::vector<double>(H));
  std::vector<double> h(H, 0.0), c(H, 0.0), z(G);
  for (std::size_t step = 0; step < T; ++step) {
    const std::size_t t = direction ? T - 1 - step : step;
    for (std::size_t r = 0; r < G; ++r) {
      double acc = b_ih[r] + b_hh[r];
      for (std::size_t k = 0; k < C; ++k) acc += w_ih[r * C + k] * x[t][k];
      for (std::size_t k = 0; k < static_cast<std::size_t>(H); ++k) acc += w_hh[r * H + k] * h[k];
      z[r] = acc;
    }
    for (std::size_t u = 0; u < static_cast<std::size_t>(H); ++u) {
      const double i = sigmoid(z[u]), f = sigmoid(z[H + u]), g = std::tanh(z[2 * H + u]), o = sigmoid(z[3 * H + u]);
      c[u] = f * c[u] + i * g;
      h[u] = o * std::tanh(c[u]);
      tr.i[t][u] = i, tr.f[t][u] = f, tr.g[t][u] = g, tr.o[t][u] = o, tr.c[t][u] = c[u], tr.h[t][u] = h[u];
    }
  }
  return tr;
}

// The LSTM stack over the embeddings e [T][E]; returns the layers' traces (index l * D + d).
std::vector<LstmTrace> run_stack(const Matrix& e, const std::vector<layers::NamedTensor>& sd, int L, int D,
                                 std::int64_t H) {
  std::vector<LstmTrace> out;
  Matrix x = e;
  for (int l = 0; l < L; ++l) {
    for (int d = 0; d < D; ++d) out.push_back(run_direction(x, sd, l, d, H));
    Matrix next(x.size(), std::vector<double>(static_cast<std::size_t>(D * H)));
    for (std::size_t t = 0; t < x.size(); ++t)
      for (int d = 0; d < D; ++d)
        std::copy(out[l * D + d].h[t].begin(), out[l * D + d].h[t].end(), next[t].begin() + d * H);
    x = std::move(next);  // no dropout between layers: eval mode
  }
  return out;
}

// The engine's own LSTM layer (layers::Lstm, F64, CPU) with the run's weights, on x [T][C]:
// its output y [T][D*H], the reference the recomputation is checked against.
Matrix engine_lstm_output(const models::ModelConfig& mc, const Matrix& x, const std::vector<layers::NamedTensor>& sd,
                          int D) {
  const layers::LstmConfig lc = models::lstm_config(mc, static_cast<std::int64_t>(x[0].size()),
                                                    D == 2 ? layers::Directions::Bi : layers::Directions::Uni, DType::F64);
  layers::Lstm lstm(lc, 0, Device::cpu());
  for (const auto& [name, t] : lstm.named_parameters()) {
    const std::vector<double> v = param(sd, "lstm." + name);
    LOOM_CHECK(static_cast<std::int64_t>(v.size()) == t.numel(), "trace: lstm.", name, " has the wrong size");
    std::memcpy(t.data<double>(), v.data(), v.size() * sizeof(double));
  }
  const auto T = static_cast<std::int64_t>(x.size()), C = static_cast<std::int64_t>(x[0].size());
  std::vector<double> flat;
  for (const auto& row : x) flat.insert(flat.end(), row.begin(), row.end());
  NoGradGuard no_grad;
  const std::vector<double> y =
      lstm.forward(Tensor::from_vector(flat, {T, 1, C}), Tensor(), Tensor(), Tensor(), layers::Phase::Eval)
          .output.to_vector_f64();
  const std::int64_t W = D * mc.hidden;
  Matrix out(static_cast<std::size_t>(T), std::vector<double>(static_cast<std::size_t>(W)));
  for (std::int64_t t = 0; t < T; ++t)
    for (std::int64_t k = 0; k < W; ++k) out[t][k] = y[t * W + k];
  return out;
}

}  // namespace

void tokenize_for_trace(const RunConfig& rc, const std::string& text, TraceResult& r) {
  r.tokens = data::tokenize(text, rc.tokenizer);
  r.ids = rc.vocab.encode(r.tokens);
  // As data::collate reads a row: the first max_len tokens; an empty row is one <unk>.
  if (rc.max_len > 0 && static_cast<std::int64_t>(r.ids.size()) > rc.max_len) {
    r.truncated = static_cast<std::int64_t>(r.ids.size()) - rc.max_len;
    r.ids.resize(static_cast<std::size_t>(rc.max_len));
  }
  if (r.ids.empty()) r.ids.push_back(data::Vocab::kUnk);
}

std::size_t dump_lstm_tape(const LoadedRun& run, const TraceResult& r, int steps, std::ostream& out) {
  LOOM_CHECK(!r.lstm.empty(), "--tape: ", r.no_lstm_reason.empty() ? "no LSTM was traced" : r.no_lstm_reason);
  const std::vector<layers::NamedTensor> sd = run.model->state_dict();
  const std::int64_t E = run.config.model.embed_dim, H = run.config.model.hidden;
  auto weight = [&](const std::string& name, const Shape& shape) {
    Tensor t = Tensor::from_vector(param(sd, name), shape);
    t.set_requires_grad(true);  // so that lstm_cell records: the tape holds what needs a gradient
    return t;
  };
  const Tensor w_ih = weight("lstm.weight_ih_l0", {4 * H, E}), w_hh = weight("lstm.weight_hh_l0", {4 * H, H});
  const Tensor b_ih = weight("lstm.bias_ih_l0", {4 * H}), b_hh = weight("lstm.bias_hh_l0", {4 * H});
  const std::vector<double> table = param(sd, "embedding.weight");
  ops::LstmState state{Tensor::zeros({1, H}, DType::F64), Tensor::zeros({1, H}, DType::F64)};
  Tape tape;
  const auto n = std::min<std::size_t>(r.ids.size(), static_cast<std::size_t>(std::max(steps, 1)));
  {
    auto rec = tape.record();
    for (std::size_t t = 0; t < n; ++t) {
      const std::vector<double> e(table.begin() + r.ids[t] * E, table.begin() + (r.ids[t] + 1) * E);
      state = ops::lstm_cell(Tensor::from_vector(e, {1, E}), state, w_ih, w_hh, b_ih, b_hh);
    }
  }
  out << "autograd tape of ops::lstm_cell, first " << n << " tokens, layer 0 forward: " << tape.size()
      << " nodes in execution order\n(backward walks them from the last)\n";
  tape.dump(out);
  return tape.size();
}

VecStats vec_stats(const std::vector<double>& v, bool tanh_range) {
  VecStats s;
  if (v.empty()) return s;
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  std::size_t sat = 0;
  for (double x : v) sat += tanh_range ? std::fabs(x) > 0.95 : (x > 0.95 || x < 0.05);
  s.saturated = static_cast<double>(sat) / static_cast<double>(v.size());
  return s;
}

std::vector<int> top_units(const std::vector<double>& v, int k) {
  std::vector<int> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return std::fabs(v[a]) > std::fabs(v[b]); });
  idx.resize(std::min<std::size_t>(idx.size(), static_cast<std::size_t>(std::max(k, 0))));
  return idx;
}

void trace_tokens(const LoadedRun& run, ops::Precision precision, TraceResult& r) {
  const RunConfig& rc = run.config;
  const models::ModelConfig& mc = rc.model;
  r.arch = models::arch_name(mc.arch);
  LOOM_CHECK(!run.model->uses_meta(), "trace: the run is a ", r.arch,
             " model, which reads account metadata; trace explains text-only runs (lstm, bilstm, lstm-cnn, "
             "cnn-lstm, cnn, bow)");
  r.label_names = rc.label_names;
  const auto T = static_cast<std::int64_t>(r.ids.size());
  const auto K = static_cast<std::int64_t>(rc.label_names.size());

  // 1. The probabilities, exactly as `loom predict` computes them.
  data::EncodedExample row;
  row.ids = r.ids;
  const Scores s = predict_scores(*run.model, {row}, rc.task, K, rc.max_len, nullptr, 1, precision);
  r.probs.clear();
  if (rc.task == data::TaskKind::Binary) {
    r.probs = {1.0 - s.probs[0], s.probs[0]};
    r.predicted = s.probs[0] >= rc.threshold ? 1 : 0;
  } else {
    r.probs.assign(s.probs.begin(), s.probs.begin() + s.k);
    r.predicted = static_cast<int>(std::max_element(r.probs.begin(), r.probs.end()) - r.probs.begin());
  }

  // 2. The F64 copy with one vocabulary row per position (row 2 + t = e_t; 0 and 1 stay pad, unk).
  const std::vector<layers::NamedTensor> sd = run.model->state_dict();
  const std::vector<double> table = param(sd, "embedding.weight");
  const std::int64_t E = mc.embed_dim;
  Matrix e(static_cast<std::size_t>(T), std::vector<double>(static_cast<std::size_t>(E)));
  std::vector<double> rows(table.begin(), table.begin() + 2 * E);
  for (std::int64_t t = 0; t < T; ++t) {
    std::copy(table.begin() + r.ids[t] * E, table.begin() + (r.ids[t] + 1) * E, e[t].begin());
    rows.insert(rows.end(), e[t].begin(), e[t].end());
  }
  models::ModelConfig mc64 = mc;
  mc64.vocab_size = T + 2;
  mc64.lstm_impl = ops::LstmSeqOptions{};
  mc64.conv_impl = Impl::Auto;
  std::unique_ptr<models::TextClassifier> copy = models::make_text_model(mc64, 0, Device::cpu(), DType::F64);
  std::vector<layers::NamedTensor> sd64;
  for (const auto& [name, t] : sd)
    sd64.emplace_back(name, name == "embedding.weight" ? Tensor::from_vector(rows, {T + 2, E}) : t);
  copy->load_state_dict(sd64);
  std::vector<std::int32_t> pos(static_cast<std::size_t>(T));
  std::iota(pos.begin(), pos.end(), 2);
  const Tensor tokens = Tensor::from_vector(pos, {T, 1});
  const Tensor lengths = Tensor::from_vector(std::vector<std::int32_t>{static_cast<std::int32_t>(T)}, {1});

  // 3. Gradient x input: d s / d e_t from the copy's autograd, one backward of the chosen logit.
  Tape tape;
  Tensor logits;
  {
    auto rec = tape.record();
    logits = copy->forward(tokens, lengths, layers::Phase::Eval, default_generator());
  }
  std::vector<double> seed(static_cast<std::size_t>(logits.numel()), 0.0);
  int unit = r.predicted;
  double sign = 1.0;
  if (rc.task == data::TaskKind::Binary) unit = 0, sign = r.predicted == 1 ? 1.0 : -1.0;
  seed[static_cast<std::size_t>(unit)] = sign;
  r.score = sign * logits.to_vector_f64()[static_cast<std::size_t>(unit)];
  tape.backward(logits, Tensor::from_vector(seed, logits.shape()));
  const Tensor grad = copy->embedding_weight().grad();
  LOOM_CHECK(grad.defined(), "trace: the embedding got no gradient (is it frozen in this architecture?)");
  const std::vector<double> gv = grad.to_vector_f64();
  r.attribution.assign(static_cast<std::size_t>(T), 0.0);
  double total = 0;
  for (std::int64_t t = 0; t < T; ++t) {
    for (std::int64_t k = 0; k < E; ++k) r.attribution[t] += gv[(t + 2) * E + k] * e[t][k];
    total += std::fabs(r.attribution[t]);
  }
  r.share.assign(static_cast<std::size_t>(T), 0.0);
  for (std::int64_t t = 0; t < T; ++t) r.share[t] = total > 0 ? r.attribution[t] / total : 0.0;

  // 4. The gates, where the LSTM reads the embeddings directly.
  const bool uni = mc.arch == models::Arch::Lstm || mc.arch == models::Arch::LstmCnn;
  if (!uni && mc.arch != models::Arch::Bilstm) {
    r.no_lstm_reason = mc.arch == models::Arch::CnnLstm ? "cnn-lstm's LSTM reads convolution windows, not tokens"
                                                        : r.arch + " has no LSTM";
    return;
  }
  const int D = uni ? 1 : 2, L = mc.layers;
  r.lstm = run_stack(e, sd, L, D, mc.hidden);

  // Check 1: the last layer's h against the engine's LSTM layer on the same input (F64).
  {
    // The engine's full stack (all L layers) on the embeddings: its y is the last layer's output.
    const Matrix y = engine_lstm_output(mc, e, sd, D);
    r.check_layer = 0;
    for (std::int64_t t = 0; t < T; ++t)
      for (int d = 0; d < D; ++d)
        for (std::int64_t u = 0; u < mc.hidden; ++u)
          r.check_layer = std::max(r.check_layer, std::fabs(y[t][d * mc.hidden + u] - r.lstm[(L - 1) * D + d].h[t][u]));
  }
  // Check 2: lstm / bilstm features are the last layer's h_n: the run model's own forward (F32).
  if (mc.arch != models::Arch::LstmCnn) {
    models::ModelInputs in;
    in.tokens = Tensor::from_vector(r.ids, {T, 1});
    in.lengths = lengths;
    NoGradGuard no_grad;
    const std::vector<double> feat =
        run.model->features(in, layers::Phase::Eval, default_generator()).to(Device::cpu()).to_vector_f64();
    std::vector<double> hn = r.lstm[(L - 1) * D].h[static_cast<std::size_t>(T - 1)];
    if (D == 2) hn.insert(hn.end(), r.lstm[(L - 1) * D + 1].h[0].begin(), r.lstm[(L - 1) * D + 1].h[0].end());
    LOOM_CHECK(feat.size() == hn.size(), "trace: the model's features have ", feat.size(), " values, h_n has ",
               hn.size());
    r.check_features = 0;
    for (std::size_t k = 0; k < hn.size(); ++k) r.check_features = std::max(r.check_features, std::fabs(feat[k] - hn[k]));
  }
}

}  // namespace loom::train
