// tests/train/test_trace.cc: `loom trace` (train/trace.h, tools/trace.cc) on tiny lstm and bilstm
// runs trained on the synthetic corpus: the traced states are the model's own, the LSTM equations
// hold at every step, the attributions are gradients (finite differences in F64), the
// probabilities are predict's, and the flags and outputs behave as documented.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/csv.h"
#include "models/factory.h"
#include "ops/autograd.h"
#include "tests/train/train_util.h"
#include "tools/commands.h"
#include "train/plot.h"
#include "train/trace.h"

using namespace loom;
using loom::test::Cli;
using loom::test::TempDir;

namespace {

const char* kTweet = "i don't like this at all , never again zzqx good";

// A tiny run of `arch` on the synthetic corpus in `dir` (a second or two on the CPU).
void train_tiny(const TempDir& dir, const std::string& arch, const std::string& run, const std::string& layers) {
  Cli tr({"train", "--input", dir.file("train.csv"), "--arch", arch, "--embed-dim", "8", "--hidden", "6",
          "--layers", layers, "--filters", "4", "--widths", "2", "--epochs", "1", "--batch-size", "64",
          "--device", "cpu", "--ckpt-dir", dir.file(run)});
  REQUIRE_MESSAGE(tr.status == 0, tr.err.str());
}

struct Runs {
  TempDir dir;
  Runs() {
    Cli synth({"synth", "--out", dir.path(), "--rows", "300", "--seed", "4"});
    REQUIRE(synth.status == 0);
    train_tiny(dir, "lstm", "lstm", "1");
    train_tiny(dir, "bilstm", "bilstm", "2");  // two layers: layer 1 reads [h_fwd ; h_bwd] of layer 0
  }
};

Runs& runs() {
  static Runs r;  // trained once for every test case of this file
  return r;
}

train::TraceResult trace(const train::LoadedRun& run, const std::string& text) {
  train::TraceResult r;
  train::tokenize_for_trace(run.config, text, r);
  train::trace_tokens(run, ops::Precision::F32, r);
  return r;
}

// The F64 score s of the predicted class with e_t scaled by (1 + eps): a copy of the model whose
// vocabulary rows 2 + t hold the tweet's embeddings, as train/trace.cc builds it, but built here
// independently so the finite difference does not share its code.
double score_scaled(const train::LoadedRun& run, const train::TraceResult& r, std::int64_t which, double eps) {
  const auto T = static_cast<std::int64_t>(r.ids.size());
  const std::int64_t E = run.config.model.embed_dim;
  std::vector<layers::NamedTensor> sd = run.model->state_dict();
  for (auto& [name, t] : sd) {
    if (name != "embedding.weight") continue;
    const std::vector<double> w = t.to_vector_f64();
    std::vector<double> rows(w.begin(), w.begin() + 2 * E);
    for (std::int64_t k = 0; k < T; ++k)
      for (std::int64_t j = 0; j < E; ++j) rows.push_back(w[r.ids[k] * E + j] * (k == which ? 1.0 + eps : 1.0));
    t = Tensor::from_vector(rows, {T + 2, E});
  }
  models::ModelConfig mc = run.config.model;
  mc.vocab_size = T + 2;
  auto m = models::make_text_model(mc, 1, Device::cpu(), DType::F64);
  m->load_state_dict(sd);
  std::vector<std::int32_t> pos(static_cast<std::size_t>(T));
  std::iota(pos.begin(), pos.end(), 2);
  NoGradGuard ng;
  const double z = m->forward(Tensor::from_vector(pos, {T, 1}),
                              Tensor::from_vector(std::vector<std::int32_t>{static_cast<std::int32_t>(T)}, {1}),
                              layers::Phase::Eval, default_generator())
                       .to_vector_f64()[0];
  return r.predicted == 1 ? z : -z;  // binary runs: the score of the decided class
}

}  // namespace

TEST_CASE("trace: the traced h is the model's own forward, and the LSTM equations hold") {
  for (const char* name : {"lstm", "bilstm"}) {
    CAPTURE(name);
    const train::LoadedRun run = train::load_run(runs().dir.file(name), Device::cpu());
    const train::TraceResult r = trace(run, kTweet);
    const int D = std::string(name) == "bilstm" ? 2 : 1, L = run.config.model.layers;
    REQUIRE(r.lstm.size() == static_cast<std::size_t>(L * D));
    const auto T = r.ids.size();
    const std::size_t H = static_cast<std::size_t>(run.config.model.hidden);
    // (1) against the engine's LSTM layer in F64 (same arithmetic up to summation order: 1e-12),
    // and against the run model's own F32 features (F32 rounding over a few steps: 1e-5).
    CHECK(r.check_layer >= 0);
    CHECK(r.check_layer < 1e-12);
    models::ModelInputs in;
    in.tokens = Tensor::from_vector(r.ids, {static_cast<std::int64_t>(T), 1});
    in.lengths = Tensor::from_vector(std::vector<std::int32_t>{static_cast<std::int32_t>(T)}, {1});
    const std::vector<double> feat = run.model->features(in, layers::Phase::Eval, default_generator()).to_vector_f64();
    REQUIRE(feat.size() == D * H);
    for (std::size_t u = 0; u < H; ++u) {
      CHECK(std::fabs(feat[u] - r.lstm[(L - 1) * D].h[T - 1][u]) < 1e-5);
      if (D == 2) CHECK(std::fabs(feat[H + u] - r.lstm[(L - 1) * D + 1].h[0][u]) < 1e-5);
    }
    CHECK(r.check_features < 1e-5);
    // (2) ranges and the cell update, step by step in each direction's reading order.
    for (const train::LstmTrace& l : r.lstm) {
      for (std::size_t step = 0; step < T; ++step) {
        const std::size_t t = l.direction ? T - 1 - step : step;
        for (std::size_t u = 0; u < H; ++u) {
          for (double gate : {l.i[t][u], l.f[t][u], l.o[t][u]}) CHECK((gate > 0 && gate < 1));
          CHECK((l.g[t][u] > -1 && l.g[t][u] < 1));
          const double c_prev = step == 0 ? 0.0 : l.c[l.direction ? t + 1 : t - 1][u];
          CHECK(std::fabs(l.c[t][u] - (l.f[t][u] * c_prev + l.i[t][u] * l.g[t][u])) < 1e-14);
          CHECK(std::fabs(l.h[t][u] - l.o[t][u] * std::tanh(l.c[t][u])) < 1e-14);
        }
      }
    }
  }
}

TEST_CASE("trace: attributions are gradient x input (F64 finite differences), probabilities are predict's") {
  for (const char* name : {"lstm", "bilstm"}) {
    CAPTURE(name);
    const train::LoadedRun run = train::load_run(runs().dir.file(name), Device::cpu());
    const train::TraceResult r = trace(run, kTweet);
    // "zzqx" is not in the synthetic vocabulary: the tokenizer's token is shown as <unk>.
    const auto zz = std::find(r.tokens.begin(), r.tokens.end(), "zzqx") - r.tokens.begin();
    REQUIRE(zz < static_cast<std::ptrdiff_t>(r.ids.size()));
    CHECK(r.ids[static_cast<std::size_t>(zz)] == data::Vocab::kUnk);
    CHECK(r.ids[0] != data::Vocab::kUnk);  // "i" is in every vocabulary of the synthetic corpus
    CHECK(std::fabs(score_scaled(run, r, -1, 0) - r.score) < 1e-12);
    double total = 0;
    for (std::size_t t = 0; t < r.ids.size(); ++t) {
      // d/d eps s(e_t (1 + eps)) at 0 = grad_t . e_t. Central difference in F64: truncation
      // ~eps^2 |s'''| and rounding ~1e-16 / eps, both far below 1e-7 at eps = 1e-5.
      const double eps = 1e-5;
      const double fd = (score_scaled(run, r, static_cast<std::int64_t>(t), eps) -
                         score_scaled(run, r, static_cast<std::int64_t>(t), -eps)) / (2 * eps);
      CAPTURE(t);
      CHECK(std::fabs(fd - r.attribution[t]) < 1e-7);
      total += std::fabs(r.attribution[t]);
    }
    for (std::size_t t = 0; t < r.ids.size(); ++t) CHECK(std::fabs(r.share[t] - r.attribution[t] / total) < 1e-15);

    // The probabilities `loom predict` writes for the same tweet (printed with 6 decimals).
    const std::string csv = runs().dir.file(std::string(name) + "_one.csv");
    std::ofstream(csv) << "text\n\"" << kTweet << "\"\n";
    const std::string pred = runs().dir.file(std::string(name) + "_pred.csv");
    Cli pr({"predict", "--model", runs().dir.file(name), "--input", csv, "--device", "cpu", "--output", pred});
    REQUIRE(pr.status == 0);
    const data::CsvTable t = data::read_csv(pred);
    REQUIRE(t.header == std::vector<std::string>{"prob_negative", "prob_positive", "label"});
    REQUIRE(t.records.size() == 1);
    CHECK(std::fabs(std::stod(t.records[0].fields[0]) - r.probs[0]) < 5.1e-7);
    CHECK(std::fabs(std::stod(t.records[0].fields[1]) - r.probs[1]) < 5.1e-7);
    CHECK(t.records[0].fields[2] == r.label_names[static_cast<std::size_t>(r.predicted)]);
  }
}

TEST_CASE("trace: flags, rows, architectures without an LSTM") {
  Runs& rs = runs();
  // --text and --input are exclusive (CLI11 answers with a usage error, exit status != 0).
  Cli both({"trace", "--model", rs.dir.file("lstm"), "--text", "hi", "--input", rs.dir.file("test.csv"), "--row", "1"});
  CHECK(both.status != 0);
  CHECK(both.err.str().find("excludes") != std::string::npos);
  // Neither: a one-line loom::Error saying how to give the tweet.
  CHECK_THROWS_WITH_AS(Cli({"trace", "--model", rs.dir.file("lstm")}),
                       doctest::Contains("give the tweet with --text or with --input FILE --row N"), Error);
  // A row past the end names the file and its row count.
  const std::size_t n = data::read_csv(rs.dir.file("test.csv")).records.size();
  try {
    Cli past({"trace", "--model", rs.dir.file("lstm"), "--input", rs.dir.file("test.csv"), "--row",
              std::to_string(n + 1)});
    FAIL("no error for a row past the end");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find(rs.dir.file("test.csv")) != std::string::npos);
    CHECK(msg.find("has " + std::to_string(n) + " data rows") != std::string::npos);
  }
  // --row N reads the N-th data row: the same trace as --text with that row's text.
  Cli by_row({"trace", "--model", rs.dir.file("lstm"), "--input", rs.dir.file("test.csv"), "--row", "2", "--tape", "2",
              "--png", rs.dir.file("row.png")});
  REQUIRE(by_row.status == 0);
  const data::CsvTable test = data::read_csv(rs.dir.file("test.csv"));
  const auto text_col = std::find(test.header.begin(), test.header.end(), "text") - test.header.begin();
  Cli by_text({"trace", "--model", rs.dir.file("lstm"), "--text", test.records[1].fields[static_cast<std::size_t>(text_col)],
               "--tape", "2", "--png", rs.dir.file("row.png")});
  REQUIRE(by_text.status == 0);
  CHECK(by_row.out.str() == by_text.out.str());
  // The terminal view (with the tape and the ASCII heat map of a short tweet) stays within 100 columns.
  std::istringstream lines(by_text.out.str());
  for (std::string line; std::getline(lines, line);) CHECK_MESSAGE(line.size() <= 100, line);

  // --tape 3: the unrolled lstm_cell tape, the same nodes for each of the 3 steps.
  {
    const train::LoadedRun run = train::load_run(rs.dir.file("lstm"), Device::cpu());
    const train::TraceResult r = trace(run, kTweet);
    std::ostringstream tape;
    const std::size_t nodes = train::dump_lstm_tape(run, r, 3, tape);
    CHECK(nodes > 0);
    CHECK(nodes % 3 == 0);
    const std::string text = tape.str();
    CHECK(std::count(text.begin(), text.end(), '\n') == static_cast<std::ptrdiff_t>(nodes + 2));
    CHECK(text.find("f64[1, 24]") != std::string::npos);  // the gates z [B, 4H] of one step, H = 6
    Cli c({"trace", "--model", rs.dir.file("lstm"), "--text", kTweet, "--tape", "3"});
    REQUIRE(c.status == 0);
    CHECK(c.out.str().find(text) != std::string::npos);
  }

  // A cnn has no LSTM: the decision and the attributions only, and it says so.
  train_tiny(rs.dir, "cnn", "cnn", "1");
  Cli cnn({"trace", "--model", rs.dir.file("cnn"), "--text", kTweet, "--png", rs.dir.file("h.png")});
  REQUIRE(cnn.status == 0);
  CHECK(cnn.out.str().find("no gate trace (cnn has no LSTM): the decision and attributions only") != std::string::npos);
  CHECK(cnn.out.str().find("decision: ") != std::string::npos);
}

TEST_CASE("trace: --jsonl lines parse and hold the full vectors, --png without gnuplot prints ASCII") {
  Runs& rs = runs();
  const std::string path = rs.dir.file("trace.jsonl");
  Cli c({"trace", "--model", rs.dir.file("bilstm"), "--text", kTweet, "--jsonl", path, "--top", "3"});
  REQUIRE(c.status == 0);
  const train::LoadedRun run = train::load_run(rs.dir.file("bilstm"), Device::cpu());
  const train::TraceResult r = trace(run, kTweet);
  std::ifstream f(path);
  std::vector<nlohmann::json> objs;
  for (std::string line; std::getline(f, line);) objs.push_back(nlohmann::json::parse(line));
  const std::size_t T = r.ids.size();
  REQUIRE(objs.size() == T * 4 + 1);  // 2 layers x 2 directions per token, then the decision
  for (std::size_t k = 0; k + 1 < objs.size(); ++k) {
    CHECK(objs[k]["type"] == "step");
    for (const char* v : {"i", "f", "g", "o", "c", "h"}) CHECK(objs[k][v].size() == 6u);
  }
  // Object (t = 3, layer 1, reverse) holds exactly the traced vector.
  const nlohmann::json& one = objs[3 * 4 + 3];
  CHECK(one["t"] == 3);
  CHECK(one["layer"] == 1);
  CHECK(one["direction"] == "reverse");
  CHECK(one["h"].get<std::vector<double>>() == r.lstm[3].h[3]);
  const nlohmann::json& last = objs.back();
  CHECK(last["type"] == "decision");
  CHECK(last["attribution"].get<std::vector<double>>() == r.attribution);
  CHECK(last["probs"][r.label_names[1]].get<double>() == r.probs[1]);

  if (train::find_on_path("gnuplot").empty()) {
    Cli png({"trace", "--model", rs.dir.file("lstm"), "--text", kTweet, "--png", rs.dir.file("h.png")});
    REQUIRE(png.status == 0);
    CHECK(png.out.str().find("gnuplot was not found on PATH") != std::string::npos);
    CHECK(png.out.str().find("h, last layer (rows: units, columns: tokens 1..") != std::string::npos);
  } else {
    MESSAGE("gnuplot on PATH: the ASCII fallback is not exercised here");
  }
}

TEST_CASE("trace: lstm-cnn gets its gates, cnn-lstm the decision and the attributions only") {
  Runs& rs = runs();
  train_tiny(rs.dir, "lstm-cnn", "lstm-cnn", "1");
  train_tiny(rs.dir, "cnn-lstm", "cnn-lstm", "1");
  {
    const train::LoadedRun run = train::load_run(rs.dir.file("lstm-cnn"), Device::cpu());
    const train::TraceResult r = trace(run, kTweet);
    REQUIRE(r.lstm.size() == 1u);
    CHECK(r.no_lstm_reason.empty());
    CHECK(r.check_layer >= 0);
    CHECK(r.check_layer < 1e-12);   // the engine's LSTM layer on the same embeddings
    CHECK(r.check_features == -1);  // the features are the convolutions' maxima, not h_n
  }
  const train::LoadedRun run = train::load_run(rs.dir.file("cnn-lstm"), Device::cpu());
  const train::TraceResult r = trace(run, kTweet);
  CHECK(r.lstm.empty());
  CHECK(r.no_lstm_reason == "cnn-lstm's LSTM reads convolution windows, not tokens");
  // The attributions are still gradients: the same F64 central difference as above, token 2.
  const double eps = 1e-5;
  const double fd = (score_scaled(run, r, 2, eps) - score_scaled(run, r, 2, -eps)) / (2 * eps);
  CHECK(std::fabs(fd - r.attribution[2]) < 1e-7);
  CHECK_THROWS_WITH_AS(Cli({"trace", "--model", rs.dir.file("cnn-lstm"), "--text", kTweet, "--tape", "3"}),
                       doctest::Contains("--tape: cnn-lstm's LSTM reads convolution windows"), Error);
}

TEST_CASE("trace: a hybrid run (account metadata) is refused with a one-line error") {
  TempDir dir;
  {
    // 40 accounts with two numeric columns, two tweets each: enough for a 1-epoch hybrid run.
    std::ofstream a(dir.file("accounts.csv")), t(dir.file("tweets.csv"));
    a << "user_id,followers,statuses\n";
    t << "user_id,label,text\n";
    for (int u = 0; u < 40; ++u) {
      const int bot = u % 2;
      a << "u" << u << "," << (u * 7) % 100 + bot * 500 << "," << (u * 3) % 50 << "\n";
      for (int k = 0; k < 2; ++k) t << "u" << u << "," << bot << "," << (bot ? "buy now free " : "hello friend ") << k << "\n";
    }
  }
  Cli tr({"train", "--input", dir.file("tweets.csv"), "--accounts", dir.file("accounts.csv"), "--join", "user_id",
          "--meta-cols", "all-numeric", "--arch", "hybrid", "--text-arch", "lstm", "--embed-dim", "8", "--hidden", "4",
          "--meta-hidden", "4", "--fuse-hidden", "4", "--epochs", "1", "--test-split", "0.2", "--device", "cpu",
          "--ckpt-dir", dir.file("hybrid")});
  REQUIRE_MESSAGE(tr.status == 0, tr.err.str());
  CHECK_THROWS_WITH_AS(Cli({"trace", "--model", dir.file("hybrid"), "--text", "buy now"}),
                       doctest::Contains("trace: the run is a hybrid model, which reads account metadata"), Error);
}
