// tests/train/test_tasks.cc: the three task kinds through the command line (binary is in
// test_cli.cc), class weighting, and pretrained embeddings with --freeze-embeddings.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "data/csv.h"
#include "io/safetensors.h"
#include "tests/train/train_util.h"
#include "tools/commands.h"
#include "train/checkpoint.h"
#include "train/objective.h"

using namespace loom;
using loom::test::TempDir;

namespace {

int run(std::vector<std::string> args, std::string* out_text = nullptr) {
  std::ostringstream out, err;
  const int status = tools::run_cli(args, out, err);
  if (out_text) *out_text = out.str();
  return status;
}

// Rows whose class is given by one keyword among filler words, so a tiny model can learn it.
void write_multiclass(const std::string& path, int rows) {
  const char* keys[] = {"sunny", "rainy", "snowy"};
  const char* names[] = {"sun", "rain", "snow"};
  const char* filler[] = {"today", "the", "city", "looks", "so", "very", "outside", "again"};
  std::ofstream f(path);
  f << "tweet_id,weather,tweet\n";
  for (int i = 0; i < rows; ++i) {
    const int k = (i * 7 + i / 3) % 3;
    f << "t" << i << "," << names[k] << ",\"" << filler[i % 8] << " " << keys[k] << ", " << filler[(i / 8) % 8]
      << "\"\n";
  }
}

// Two labels, each present when its keyword is.
void write_multilabel(const std::string& path, int rows) {
  std::ofstream f(path);
  f << "id,happy,angry,text\n";
  for (int i = 0; i < rows; ++i) {
    const bool h = i % 2 == 0, a = (i / 2) % 2 == 0;
    f << i << "," << h << "," << a << ",so " << (h ? "glad " : "meh ") << (a ? "furious " : "calm ") << "now\n";
  }
}

}  // namespace

TEST_CASE("train: multi-class run end to end with class weights") {
  TempDir dir;
  write_multiclass(dir.file("w.csv"), 300);
  std::string log;
  REQUIRE(run({"train", "--input", dir.file("w.csv"), "--text-col", "tweet", "--label-col", "weather", "--id-col",
               "tweet_id", "--arch", "bow", "--embed-dim", "16", "--epochs", "15", "--lr", "0.02", "--class-weight",
               "balanced", "--device", "cpu", "--ckpt-dir", dir.file("run")},
              &log) == 0);
  CHECK(log.find("multiclass, 3 labels") != std::string::npos);
  CHECK(log.find("softmax cross-entropy, class_weight") != std::string::npos);
  const train::RunConfig rc = train::read_run_config(dir.file("run"));
  CHECK(rc.label_names == std::vector<std::string>{"rain", "snow", "sun"});  // sorted names
  CHECK(rc.model.num_outputs == 3);
  std::string report;
  REQUIRE(run({"eval", "--model", dir.file("run"), "--input", dir.file("w.csv")}, &report) == 0);
  // The keyword decides the class: the model must have learned it (chance is 1/3).
  const auto at = report.find("accuracy");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(report.substr(report.find_first_of("0123456789", at))) >= 0.9);
  REQUIRE(run({"predict", "--model", dir.file("run"), "--input", dir.file("w.csv"), "--output", dir.file("p.csv")}) ==
          0);
  const data::CsvTable p = data::read_csv(dir.file("p.csv"));
  CHECK(p.header == std::vector<std::string>{"tweet_id", "prob_rain", "prob_snow", "prob_sun", "label"});
  REQUIRE(p.records.size() == 300);
  CHECK(p.records[0].fields[0] == "t0");
  double sum = 0;
  for (int j = 1; j <= 3; ++j) sum += std::stod(p.records[0].fields[static_cast<std::size_t>(j)]);
  CHECK(sum == doctest::Approx(1.0).epsilon(1e-4));
}

TEST_CASE("train: multi-label run end to end") {
  TempDir dir;
  write_multilabel(dir.file("m.csv"), 240);
  std::string log;
  REQUIRE(run({"train", "--input", dir.file("m.csv"), "--label-cols", "happy,angry", "--arch", "bow", "--embed-dim",
               "16", "--epochs", "15", "--lr", "0.02", "--pos-weight", "auto", "--device", "cpu", "--ckpt-dir",
               dir.file("run")},
              &log) == 0);
  CHECK(log.find("multilabel, 2 labels") != std::string::npos);
  CHECK(log.find("BCE with logits per label, pos_weight 1,1") != std::string::npos);  // balanced labels
  std::string report;
  REQUIRE(run({"eval", "--model", dir.file("run"), "--input", dir.file("m.csv"), "--output", dir.file("e.json")},
              &report) == 0);
  CHECK(report.find("samples avg") != std::string::npos);
  std::ifstream jf(dir.file("e.json"));
  const nlohmann::json j = nlohmann::json::parse(jf);
  CHECK(j["task"] == "multilabel");
  CHECK(j["rows"].get<int>() == 240);
  CHECK(j["micro avg"]["f1-score"].get<double>() >= 0.9);  // each label is one keyword
  REQUIRE(run({"predict", "--model", dir.file("run"), "--input", dir.file("m.csv"), "--output", dir.file("p.csv")}) ==
          0);
  const data::CsvTable p = data::read_csv(dir.file("p.csv"));
  CHECK(p.header == std::vector<std::string>{"id", "prob_happy", "prob_angry", "labels"});
  REQUIRE(p.records.size() == 240);
  // Row 0 is glad and furious: both labels, joined with ';'. Row 3 is neither: empty.
  CHECK(p.records[0].fields[3] == "happy;angry");
  CHECK(p.records[3].fields[3] == "");
}

TEST_CASE("train: objective weights follow sklearn and PyTorch conventions") {
  using data::TaskKind;
  // Binary 300 negatives / 100 positives: pos_weight auto = 3 (PyTorch's docs example).
  CHECK(train::Objective(TaskKind::Binary, 2, {300, 100}, 400, "auto", "none", Device::cpu()).weights() ==
        std::vector<float>{3.0f});
  CHECK(train::Objective(TaskKind::Binary, 2, {300, 100}, 400, "none", "balanced", Device::cpu()).weights() ==
        std::vector<float>{3.0f});
  CHECK(train::Objective(TaskKind::Binary, 2, {300, 100}, 400, "none", "1,4", Device::cpu()).weights() ==
        std::vector<float>{4.0f});
  // Multi-class balanced: n / (K * count_k), sklearn's compute_class_weight.
  CHECK(train::Objective(TaskKind::MultiClass, 3, {50, 30, 20}, 100, "none", "balanced", Device::cpu()).weights() ==
        std::vector<float>{100.0f / 150, 100.0f / 90, 100.0f / 60});
  // Multi-label auto: negatives / positives per label; an absent label gets 1.
  CHECK(train::Objective(TaskKind::MultiLabel, 3, {10, 50, 0}, 100, "auto", "none", Device::cpu()).weights() ==
        std::vector<float>{9.0f, 1.0f, 1.0f});
  CHECK(train::Objective(TaskKind::Binary, 2, {1, 1}, 2, "none", "none", Device::cpu()).weights().empty());
  CHECK_THROWS_WITH_AS(train::Objective(TaskKind::MultiClass, 3, {1, 1, 1}, 3, "none", "1,2", Device::cpu()),
                       doctest::Contains("expected 3"), Error);
  CHECK_THROWS_AS(train::Objective(TaskKind::MultiClass, 3, {1, 1, 1}, 3, "auto", "none", Device::cpu()), Error);
  CHECK_THROWS_AS(train::Objective(TaskKind::Binary, 2, {1, 1}, 2, "auto", "balanced", Device::cpu()), Error);
  CHECK_THROWS_AS(train::Objective(TaskKind::Binary, 2, {1, 1}, 2, "-1", "none", Device::cpu()), Error);
}

TEST_CASE("train: pretrained embeddings are loaded, reported and stay frozen") {
  TempDir dir;
  test::write_corpus(dir, 200);
  // A GloVe text file with vectors for two tokens the corpus surely has and one it does not.
  std::ofstream(dir.file("vec.txt")) << "the 0.5 0.5 0.5 0.5 0.5 0.5 0.5 0.5\n"
                                     << "not -1 -1 -1 -1 -1 -1 -1 -1\n"
                                     << "zzzunseen 9 9 9 9 9 9 9 9\n";
  std::string log;
  REQUIRE(run({"train", "--input", dir.file("train.csv"), "--arch", "lstm", "--embed-dim", "8", "--hidden", "8",
               "--epochs", "2", "--embeddings", dir.file("vec.txt"), "--freeze-embeddings", "--device", "cpu",
               "--ckpt-dir", dir.file("run")},
              &log) == 0);
  CHECK(log.find("embeddings: ") != std::string::npos);
  CHECK(log.find("glove, dim 8") != std::string::npos);
  CHECK(log.find("(embeddings frozen)") != std::string::npos);
  const train::RunConfig rc = train::read_run_config(dir.file("run"));
  const io::SafetensorsFile w = io::read_safetensors(dir.file("run/last.safetensors"));
  Tensor emb;
  for (const auto& [name, t] : w.tensors)
    if (name == "embedding.weight") emb = t;
  REQUIRE(emb.defined());
  const std::vector<float> e = emb.to_vector();
  const std::int32_t the = rc.vocab.find("the"), neg = rc.vocab.find("not");
  REQUIRE(the > 1);
  REQUIRE(neg > 1);
  for (int c = 0; c < 8; ++c) {  // after 2 epochs of training: untouched
    CHECK(e[static_cast<std::size_t>(the * 8 + c)] == 0.5f);
    CHECK(e[static_cast<std::size_t>(neg * 8 + c)] == -1.0f);
  }
  // Frozen: no optimizer state for the table.
  const io::SafetensorsFile opt = io::read_safetensors(dir.file("run/optimizer.safetensors"));
  for (const auto& [name, t] : opt.tensors) CHECK(name.find("embedding") == std::string::npos);
}
