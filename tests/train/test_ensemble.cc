// tests/train/test_ensemble.cc: ensembles (issue 17): eval of several runs averages their
// probabilities (checked against the hand-computed mean of the two runs' own scores), members with
// different pipelines (arch, max-len), incompatible members refused, ensemble.json round trip
// (loom ensemble), loom predict with several --model flags or the folder, and loom train --seeds
// writing a seed ensemble folder.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "data/csv.h"
#include "tests/support/temp_dir.h"
#include "tests/train/train_util.h"
#include "train/checkpoint.h"
#include "train/ensemble.h"
#include "train/evaluate.h"
#include "train/text_data.h"

using namespace loom;
using loom::test::Cli;
using loom::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> tiny_run(const TempDir& dir, const std::string& run, const std::string& arch,
                                  const std::string& seed, const std::string& max_len) {
  return {"train", "--input", dir.file("train.csv"), "--arch", arch, "--embed-dim", "16", "--filters", "8",
          "--hidden", "8", "--epochs", "1", "--batch-size", "32", "--device", "cpu", "--seed", seed, "--max-len",
          max_len, "--ckpt-dir", dir.file(run)};
}

// One run's probabilities on a file, computed the way a single-model eval does.
train::Scores own_scores(const std::string& run_dir, const data::Dataset& d) {
  const train::LoadedRun run = train::load_run(run_dir, Device::cpu());
  const train::RunConfig& rc = run.config;
  const auto rows = data::encode_examples(d, train::tokenize_all(d, rc.tokenizer), rc.vocab);
  return train::predict_scores(*run.model, rows, rc.task, 2, rc.max_len, nullptr);
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// Accuracy of probabilities p against the labels of d at threshold 0.5.
double accuracy(const std::vector<double>& p, const data::Dataset& d) {
  double right = 0;
  for (std::size_t i = 0; i < p.size(); ++i) right += (p[i] >= 0.5 ? 1 : 0) == d.examples[i].label;
  return right / static_cast<double>(p.size());
}

}  // namespace

TEST_CASE("ensemble: eval and predict average the members' probabilities - ensemble.json round trip - bad members refused") {
  TempDir dir("ensemble");
  test::write_corpus(dir, 400, 3);
  // Two different pipelines: a cnn with max-len 40 and an lstm-cnn with max-len 12.
  REQUIRE(Cli(tiny_run(dir, "a", "cnn", "1", "40")).status == 0);
  REQUIRE(Cli(tiny_run(dir, "b", "lstm-cnn", "2", "12")).status == 0);

  train::TrainOptions t = train::read_run_config(dir.file("a")).training;
  const data::Dataset d = data::load_dataset(train::dataset_spec(t, dir.file("test.csv")), nullptr);
  REQUIRE(d.examples.size() == 80);
  const train::Scores pa = own_scores(dir.file("a"), d), pb = own_scores(dir.file("b"), d);
  std::vector<double> mean(pa.probs.size());
  for (std::size_t i = 0; i < mean.size(); ++i) mean[i] = (pa.probs[i] + pb.probs[i]) / 2;
  // The two runs disagree somewhere, or averaging would test nothing.
  double most = 0;
  for (std::size_t i = 0; i < mean.size(); ++i) most = std::max(most, std::abs(pa.probs[i] - pb.probs[i]));
  CHECK(most > 1e-3);

  // The library: each member's scores are its own, their mean is the ensemble's.
  const train::Ensemble ens({dir.file("a"), dir.file("b")}, Device::cpu());
  REQUIRE(ens.size() == 2);
  const std::vector<train::Scores> members = ens.member_scores(d);
  const train::Scores avg = ens.probabilities(d);
  REQUIRE(avg.probs.size() == mean.size());
  for (std::size_t i = 0; i < mean.size(); ++i) {
    CHECK(members[0].probs[i] == doctest::Approx(pa.probs[i]).epsilon(1e-12));
    CHECK(members[1].probs[i] == doctest::Approx(pb.probs[i]).epsilon(1e-12));
    CHECK(avg.probs[i] == doctest::Approx(mean[i]).epsilon(1e-12));
  }

  // The command: the same accuracy as the hand-computed mean, each member's line printed.
  Cli ev({"eval", "--model", dir.file("a"), "--model", dir.file("b"), "--input", dir.file("test.csv"), "--output",
          dir.file("ens.json")});
  MESSAGE(ev.out.str());
  REQUIRE(ev.status == 0);
  CHECK(ev.out.str().find("ensemble: 2 members") != std::string::npos);
  CHECK(ev.out.str().find("member 2 " + dir.file("b") + " (lstm-cnn): accuracy") != std::string::npos);
  const nlohmann::json j = read_json(dir.file("ens.json"));
  CHECK(j["accuracy"].get<double>() == doctest::Approx(accuracy(mean, d)));
  CHECK(j["members"].size() == 2);
  CHECK(j["members"][0]["accuracy"].get<double>() == doctest::Approx(accuracy(pa.probs, d)));
  CHECK(std::isfinite(j["loss"].get<double>()));

  // loom ensemble writes the folder; eval --model FOLDER gives the same numbers.
  Cli mk({"ensemble", "--member", dir.file("a"), "--member", dir.file("b"), "--out", dir.file("ens")});
  MESSAGE(mk.out.str());
  REQUIRE(mk.status == 0);
  const nlohmann::json e = read_json(dir.file("ens/ensemble.json"));
  CHECK(e["members"] == nlohmann::json::array({"../a", "../b"}));  // relative: the folders move together
  CHECK(e["task"] == "binary");
  CHECK(train::is_ensemble_dir(dir.file("ens")));
  CHECK(train::expand_members({dir.file("ens")}) ==
        std::vector<std::string>{fs::path(dir.file("a")).lexically_normal().string(),
                                 fs::path(dir.file("b")).lexically_normal().string()});
  Cli ev2({"eval", "--model", dir.file("ens"), "--input", dir.file("test.csv"), "--output", dir.file("ens2.json")});
  REQUIRE(ev2.status == 0);
  CHECK(read_json(dir.file("ens2.json"))["accuracy"].get<double>() == doctest::Approx(accuracy(mean, d)));

  // loom predict: two --model flags, and the ensemble folder, streamed in chunks of 7 rows; each
  // row's probability is the hand-computed mean (written with 6 decimals).
  const std::vector<std::string> label_names = train::read_run_config(dir.file("a")).label_names;
  for (const std::vector<std::string>& models :
       {std::vector<std::string>{"--model", dir.file("a"), "--model", dir.file("b")},
        std::vector<std::string>{"--model", dir.file("ens")}}) {
    std::vector<std::string> args{"predict"};
    args.insert(args.end(), models.begin(), models.end());
    for (const char* a : {"--input", "", "--output", "", "--chunk-rows", "7"}) args.emplace_back(a);
    args[args.size() - 5] = dir.file("test.csv");
    args[args.size() - 3] = dir.file("pred.csv");
    Cli pr(args);
    REQUIRE(pr.status == 0);
    const data::CsvTable out = data::read_csv(dir.file("pred.csv"));
    const auto col = std::find(out.header.begin(), out.header.end(), "prob_" + label_names[1]) - out.header.begin();
    REQUIRE(col < static_cast<std::ptrdiff_t>(out.header.size()));
    REQUIRE(out.records.size() == mean.size());
    for (std::size_t i = 0; i < mean.size(); ++i)
      CHECK(std::abs(std::stod(out.records[i].fields[static_cast<std::size_t>(col)]) - mean[i]) <= 6e-7);
  }

  // Incompatible: a copy of b that predicts other label names is refused, naming both folders.
  fs::copy(dir.file("b"), dir.file("c"), fs::copy_options::recursive);
  nlohmann::json cfg = read_json(dir.file("c/config.json"));
  cfg["label_names"] = {"bad", "good"};
  std::ofstream(dir.file("c/config.json")) << cfg.dump(2);
  try {
    train::Ensemble({dir.file("a"), dir.file("c")}, Device::cpu());
    FAIL("members with different label names must be refused");
  } catch (const Error& err) {
    const std::string what = err.what();
    MESSAGE(what);
    CHECK(what.find(dir.file("a")) != std::string::npos);
    CHECK(what.find(dir.file("c")) != std::string::npos);
    CHECK(what.find("[bad, good]") != std::string::npos);
  }
  CHECK_THROWS_AS(train::write_ensemble(dir.file("ens3"), {dir.file("a"), dir.file("c")}), Error);
  CHECK_FALSE(fs::exists(dir.file("ens3/ensemble.json")));
  // A folder that is neither a run nor an ensemble.
  CHECK_THROWS_WITH_AS(train::expand_members({dir.path()}), doctest::Contains("neither a run folder"), Error);
}

TEST_CASE("ensemble: average_scores and log_loss by hand") {
  train::Scores a, b;
  a.n = b.n = 2;
  a.k = b.k = 1;
  a.probs = {0.9, 0.2};
  b.probs = {0.5, 0.4};
  const train::Scores m = train::average_scores({a, b});
  CHECK(m.probs[0] == doctest::Approx(0.7));
  CHECK(m.probs[1] == doctest::Approx(0.3));
  std::vector<data::Example> ex(2);
  ex[0].label = 1;
  ex[1].label = 0;
  CHECK(train::log_loss(m, ex, data::TaskKind::Binary) == doctest::Approx(-(std::log(0.7) + std::log(0.7)) / 2));
  train::Scores odd;
  odd.n = 1;
  odd.k = 1;
  odd.probs = {0.5};
  CHECK_THROWS_AS(train::average_scores({a, odd}), Error);
}

TEST_CASE("ensemble: loom train --seeds trains one run per seed and writes the ensemble folder") {
  TempDir dir("ensemble");
  test::write_corpus(dir, 300, 4);
  std::vector<std::string> args = tiny_run(dir, "seeds", "cnn", "9", "30");
  args.insert(args.end(), {"--seeds", "7,8"});
  Cli tr(args);
  MESSAGE(tr.out.str());
  REQUIRE(tr.status == 0);
  CHECK(tr.out.str().find("== seed 8 (2 of 2)") != std::string::npos);
  const nlohmann::json e = read_json(dir.file("seeds/ensemble.json"));
  CHECK(e["members"] == nlohmann::json::array({"seed-7", "seed-8"}));
  CHECK(e["seeds"] == nlohmann::json::array({7, 8}));
  const train::RunConfig r7 = train::read_run_config(dir.file("seeds/seed-7"));
  const train::RunConfig r8 = train::read_run_config(dir.file("seeds/seed-8"));
  CHECK(r7.training.seed == 7);
  CHECK(r8.training.seed == 8);
  CHECK(r7.training.ensemble_seeds.empty());  // a member is an ordinary run
  Cli ev({"eval", "--model", dir.file("seeds"), "--input", dir.file("test.csv")});
  REQUIRE(ev.status == 0);
  CHECK(ev.out.str().find("ensemble: 2 members") != std::string::npos);
  // --seeds with a seed twice is refused before anything is overwritten.
  std::vector<std::string> twice = tiny_run(dir, "twice", "cnn", "9", "30");
  twice.insert(twice.end(), {"--seeds", "5,5"});
  CHECK_THROWS_WITH_AS(Cli{twice}, doctest::Contains("twice"), Error);
}
