// tests/train/test_learning_real.cc: the learning checks on real tweets (../shared/data).
//
// TEST_SUITE("slow") gives them the ctest label `slow` (minutes on 2 cores): `ctest -LE slow`
// leaves them out of a quick run. They skip with a message when the data folder is absent (the
// data cannot be redistributed in the repository).
//   - lstm-cnn and bilstm trained on the first 20,000 tweets of sentiment140_100k/train.csv for 2
//     epochs on the CPU reach >= 0.74 accuracy on the first 2,000 tweets of dev.csv. All 20,000
//     train (no validation split: 2 epochs leave nothing to select) in batches of 32, which on
//     this small a set gives twice the steps of the default 64 (measured: 0.7535 and 0.7575;
//     batch 64 with a 5% validation split: 0.743 and 0.750, too close to the bar);
//   - a multi-label bilstm on semeval2018_ec_multilabel/train.csv (20% held out for the test,
//     10% of the rest for validation) beats the best constant prediction's micro-F1 by a clear
//     margin. Multi-label settings that matter here: early stopping on val_f1 (micro) rather than
//     val_loss, a decision threshold of 0.3 (most tweets carry 2-3 of 11 emotions, so 0.5 costs
//     recall), glove-twitter normalization (hashtags split into words) and lr 2e-3 (measured:
//     0.559 against 0.458).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "data/csv.h"
#include "data/dataset.h"
#include "tests/support/temp_dir.h"
#include "tests/train/train_util.h"
#include "tools/commands.h"
#include "train/trainer.h"

using namespace loom;
using loom::test::head_csv;
using loom::test::TempDir;

namespace {

const std::string kData = LOOM_SOURCE_DIR "/../shared/data";


// Trains on the CPU into DIR/run, shows the log, and requires a test report.
train::TrainResult train_with_test(train::TrainOptions o, const TempDir& dir) {
  o.device = "cpu";
  o.ckpt_dir = dir.file("run");
  std::ostringstream log;
  const train::TrainResult r = train::train(o, log);
  MESSAGE(log.str());
  REQUIRE(r.test.has_value());
  return r;
}

double sentiment140_accuracy(const std::string& arch) {
  TempDir dir;
  head_csv(kData + "/sentiment140_100k/train.csv", dir.file("train.csv"), 20000);
  head_csv(kData + "/sentiment140_100k/dev.csv", dir.file("dev.csv"), 2000);
  train::TrainOptions o;
  o.input = dir.file("train.csv");
  o.test_path = dir.file("dev.csv");
  o.val_split = 0.0;
  o.batch_size = 32;
  o.arch = arch;
  o.epochs = 2;
  o.max_len = 50;
  const train::TrainResult r = train_with_test(o, dir);
  CHECK(r.test->report.per_class.size() == 2);
  return r.test->metrics.accuracy;
}

void check_sentiment140_accuracy(const std::string& arch, double at_least) {
  if (!std::filesystem::exists(kData + "/sentiment140_100k/train.csv")) {
    MESSAGE("skipped: ../shared/data/sentiment140_100k is absent");
    return;
  }
  const double acc = sentiment140_accuracy(arch);
  MESSAGE(arch, " dev accuracy (first 2000 tweets): ", acc);
  CHECK(acc >= at_least);
}

}  // namespace

TEST_SUITE("slow") {
TEST_CASE("train: lstm-cnn on 20k sentiment140 tweets reaches 0.74 on dev") {
  check_sentiment140_accuracy("lstm-cnn", 0.74);
}

TEST_CASE("train: bilstm on 20k sentiment140 tweets reaches 0.74 on dev") {
  check_sentiment140_accuracy("bilstm", 0.74);
}

TEST_CASE("train: multi-label bilstm on semeval beats the best constant prediction") {
  const std::string path = kData + "/semeval2018_ec_multilabel/train.csv";
  if (!std::filesystem::exists(path)) {
    MESSAGE("skipped: ../shared/data/semeval2018_ec_multilabel is absent");
    return;
  }
  TempDir dir;
  train::TrainOptions o;
  o.input = path;
  o.label_cols = {"anger", "anticipation", "disgust", "fear",    "joy",  "love",
                  "optimism", "pessimism", "sadness", "surprise", "trust"};
  o.id_cols = {"id"};
  o.arch = "bilstm";
  o.test_split = 0.2;
  o.val_split = 0.1;
  o.epochs = 12;
  o.patience = 3;
  o.monitor = "val_f1";
  o.threshold = 0.3;
  o.normalize = "glove-twitter";
  o.lr = 2e-3;
  o.max_len = 50;
  const train::TrainResult r = train_with_test(o, dir);
  const double model_f1 = r.test->metrics.micro_f1;

  // Baseline: the constant prediction "always these labels" with the best micro-F1 on the held-out
  // rows themselves (the k most frequent labels, best k): generous to the baseline on purpose.
  // Per-label majority voting would predict nothing at all (no emotion is on > 50% of tweets).
  const auto& rep = r.test->multilabel_report;
  const std::size_t k = rep.per_label.size();
  REQUIRE(k == 11);
  std::int64_t total_pos = 0;
  std::vector<std::int64_t> support(k);
  for (std::size_t j = 0; j < k; ++j) total_pos += support[j] = rep.per_label[j].support;
  std::vector<std::size_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return support[a] > support[b]; });
  const double rows = static_cast<double>(r.test_rows);
  REQUIRE(rows > 1000);
  double best_baseline = 0.0;
  std::int64_t tp = 0;
  for (std::size_t m = 1; m <= k; ++m) {
    tp += support[order[m - 1]];  // every row predicted positive for these m labels
    const double precision = static_cast<double>(tp) / (rows * static_cast<double>(m));
    const double recall = static_cast<double>(tp) / static_cast<double>(total_pos);
    best_baseline = std::max(best_baseline, 2 * precision * recall / (precision + recall));
  }
  MESSAGE("semeval multi-label bilstm: test micro-F1 ", model_f1, " vs best constant prediction ", best_baseline,
          " (macro-F1 ", r.test->metrics.macro_f1, ", subset accuracy ", r.test->metrics.accuracy, ")");
  CHECK(model_f1 >= best_baseline + 0.06);
}
}
