// tests/models/test_fasttext.cc: --arch fasttext (models/fasttext.h): its table of V + buckets
// rows, the mean over words and n-grams by hand, the F64 gradient check, the config's JSON round
// trip and refusals, the fasttext-only flags, and whole runs through the trainer: a tiny fasttext
// run learns, and resume with --word-dropout on equals never stopping, bitwise.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "models/factory.h"
#include "models/fasttext.h"
#include "tests/models/model_gradcheck.h"
#include "tests/models/model_util.h"
#include "tests/support/temp_dir.h"
#include "tests/train/train_util.h"
#include "train/checkpoint.h"
#include "train/run_setup.h"
#include "train/trainer.h"

using namespace loom;
using loom::test::TempDir;
using loom::test::read_bytes;

namespace {

models::ModelConfig fasttext_config() {
  models::ModelConfig c = test::tiny_config(models::Arch::FastText);
  c.word_ngrams = 2;
  c.ngram_buckets = 5;
  c.char_min = 2;
  c.char_max = 3;
  return c;
}

}  // namespace

TEST_CASE("fasttext: the table holds V + buckets rows and the features are the mean of words and n-grams") {
  const models::ModelConfig c = fasttext_config();
  auto m = models::make_text_model(c, 3, Device::cpu());
  const Tensor w = m->embedding_weight();
  CHECK(w.shape() == Shape({11 + 5, 4}));
  // Row 0: word 3 then n-gram ids 12 and 15 (buckets 1 and 4); row 1: word 2 only (then garbage).
  const Tensor tokens = Tensor::from_vector(std::vector<std::int32_t>{3, 2, 12, 9, 15, 9}, {3, 2});
  const Tensor lengths = Tensor::from_vector(std::vector<std::int32_t>{3, 1}, {2});
  Generator gen;
  const std::vector<float> f = m->encode(tokens, lengths, layers::Phase::Eval, gen).to_vector();
  const std::vector<float> table = w.to_vector();
  for (std::int64_t e = 0; e < 4; ++e) {
    CHECK(f[e] == doctest::Approx((table[3 * 4 + e] + table[12 * 4 + e] + table[15 * 4 + e]) / 3).epsilon(1e-6));
    CHECK(f[4 + e] == doctest::Approx(table[2 * 4 + e]).epsilon(1e-6));
  }
  CHECK(m->config().summary() ==
        "fasttext: embed 4, mean over words + word 2..2-grams + char 2..3-grams in 5 buckets, dropout 0.3, 1 output, "
        "init torch");
}

TEST_CASE("fasttext: gradient check in F64 (words and n-gram rows, dropout on)") {
  const models::ModelConfig c = fasttext_config();
  auto m = models::make_model(c, 5, Device::cpu(), DType::F64);
  const Tensor tokens = Tensor::from_vector(std::vector<std::int32_t>{3, 2, 12, 14, 15, 0, 11, 0}, {4, 2});
  const Tensor lengths = Tensor::from_vector(std::vector<std::int32_t>{4, 2}, {2});
  test::classifier_gradcheck(*m, {tokens, lengths, Tensor()}, "fasttext");
}

TEST_CASE("fasttext: config JSON round trip, the n-gram fields belong to fasttext only") {
  const models::ModelConfig c = fasttext_config();
  const nlohmann::json j = c.to_json();
  CHECK(j.at("word_ngrams") == 2);
  CHECK(j.at("ngram_buckets") == 5);
  CHECK(j.at("char_ngrams") == nlohmann::json::array({2, 3}));
  const models::ModelConfig back = models::ModelConfig::from_json(j);
  CHECK(back.to_json() == j);
  CHECK(back.embedding_rows() == 16);
  // Another arch neither writes nor accepts them.
  const nlohmann::json lstm = test::tiny_config(models::Arch::Lstm).to_json();
  CHECK_FALSE(lstm.contains("word_ngrams"));
  nlohmann::json bad = lstm;
  bad["ngram_buckets"] = 5;
  CHECK_THROWS_WITH_AS(models::ModelConfig::from_json(bad), doctest::Contains("belongs to fasttext"), CheckpointError);
  nlohmann::json missing = j;
  missing.erase("char_ngrams");
  CHECK_THROWS_WITH_AS(models::ModelConfig::from_json(missing), doctest::Contains("char_ngrams"), CheckpointError);
  nlohmann::json no_buckets = j;
  no_buckets["ngram_buckets"] = 0;
  CHECK_THROWS_WITH_AS(models::ModelConfig::from_json(no_buckets), doctest::Contains("ngram_buckets"), CheckpointError);
  // A hybrid may use it as its text branch: it then writes, requires and checks the same fields,
  // and its embedding has the bucket rows too; a hybrid with another text branch refuses them.
  models::ModelConfig h = c;
  h.arch = models::Arch::Hybrid;
  h.text_arch = models::Arch::FastText;
  h.meta_features = 3;
  CHECK_NOTHROW(h.validate());
  CHECK(h.embedding_rows() == 16);
  const nlohmann::json hj = h.to_json();
  CHECK(hj.at("word_ngrams") == 2);
  CHECK(models::ModelConfig::from_json(hj).to_json() == hj);
  models::ModelConfig hb = h;
  hb.word_ngrams = 7;
  CHECK_THROWS_WITH_AS(hb.validate(), doctest::Contains("word_ngrams"), Error);
  nlohmann::json hl = hj;
  hl["text_arch"] = "lstm";
  CHECK_THROWS_WITH_AS(models::ModelConfig::from_json(hl), doctest::Contains("belongs to fasttext"), CheckpointError);
}

TEST_CASE("fasttext: the n-gram flags are refused with another arch and reach the model config") {
  train::TrainOptions o;
  o.arch = "lstm";
  o.word_ngrams = 2;
  CHECK_THROWS_WITH_AS(train::check_ngram_flags(o), doctest::Contains("--word-ngrams is for --arch fasttext"), Error);
  o.word_ngrams = 1;
  o.char_ngrams = {3, 5};
  CHECK_THROWS_WITH_AS(train::check_ngram_flags(o), doctest::Contains("--char-ngrams"), Error);
  o.char_ngrams.clear();
  o.ngram_buckets = 1000;
  CHECK_THROWS_WITH_AS(train::check_ngram_flags(o), doctest::Contains("--buckets"), Error);
  o.arch = "fasttext";
  o.char_ngrams = {3};
  CHECK_THROWS_WITH_AS(train::check_ngram_flags(o), doctest::Contains("--char-ngrams"), Error);
  o.char_ngrams = {3, 5};
  o.word_ngrams = 2;
  train::check_ngram_flags(o);
  const models::ModelConfig mc = train::model_config(o, 100, 1, Impl::Auto, 0);
  CHECK(mc.arch == models::Arch::FastText);
  CHECK(mc.embedding_rows() == 1100);
  CHECK((mc.char_min == 3 && mc.char_max == 5 && mc.word_ngrams == 2));
  o.char_ngrams.clear();
  o.word_ngrams = 1;
  CHECK(train::model_config(o, 100, 1, Impl::Auto, 0).ngram_buckets == 0);  // nothing hashed, no rows
}

TEST_CASE("fasttext: a tiny run learns, and eval-side n-grams match the trainer's") {
  TempDir dir;
  test::write_corpus(dir);
  train::TrainOptions o = test::tiny_options(dir, "ft");
  o.arch = "fasttext";
  o.word_ngrams = 2;
  o.char_ngrams = {3, 4};
  o.ngram_buckets = 4096;
  o.dropout = 0.0;
  o.lr = 0.05;
  o.test_path = dir.file("test.csv");
  std::ostringstream log;
  const train::TrainResult r = train::train(o, log);
  CHECK(log.str().find("n-gram ids per training tweet") != std::string::npos);
  REQUIRE(r.test.has_value());
  // The synthetic corpus is built so that a bag of words cannot separate it (data/synthetic.h):
  // the check is that the bag of words and n-grams fits its training split, not the test set.
  REQUIRE(r.train_loss.size() == 4);
  CHECK(r.train_loss.back() < 0.8 * r.train_loss.front());
  CHECK(r.train_accuracy.back() > r.train_accuracy.front());
  const train::RunConfig rc = train::read_run_config(dir.file("ft"));
  CHECK(rc.model.embedding_rows() == rc.model.vocab_size + 4096);
  const data::NgramOptions n = train::ngram_options(rc.training);
  CHECK((n.buckets == 4096 && n.word_ngrams == 2 && n.char_min == 3 && n.char_max == 4));
  // loom eval encodes the file with the run's n-grams: the trainer's own test loss and accuracy.
  // (Scored on its words only, as eval did before the n-grams reached it, the loss differs.)
  test::Cli ev({"eval", "--model", dir.file("ft"), "--input", dir.file("test.csv"), "--output", dir.file("ev.json")});
  REQUIRE(ev.status == 0);
  const nlohmann::json j = nlohmann::json::parse(read_bytes(dir.file("ev.json")));
  CHECK(j["loss"].get<double>() == doctest::Approx(r.test->metrics.loss).epsilon(1e-9));
  CHECK(j["accuracy"].get<double>() == doctest::Approx(r.test->metrics.accuracy));
  // As an ensemble member too (the run twice: the mean of two equal probabilities is the run's).
  test::Cli ens({"eval", "--model", dir.file("ft"), "--model", dir.file("ft"), "--input", dir.file("test.csv"),
                 "--output", dir.file("ens.json")});
  REQUIRE(ens.status == 0);
  const nlohmann::json je = nlohmann::json::parse(read_bytes(dir.file("ens.json")));
  // (Its loss is the log loss of the averaged probabilities, computed apart from the trainer's.)
  CHECK(je["loss"].get<double>() == doctest::Approx(r.test->metrics.loss).epsilon(1e-5));
  CHECK(je["accuracy"].get<double>() == doctest::Approx(r.test->metrics.accuracy));
}

TEST_CASE("word dropout: resume equals never stopping bitwise, and the dropout changes the weights") {
  TempDir dir;
  test::write_corpus(dir);
  auto options = [&](const std::string& run, double p) {
    train::TrainOptions o = test::tiny_options(dir, run);
    o.word_dropout = p;
    o.epochs = 3;
    return o;
  };
  std::ostringstream log;
  train::train(options("straight", 0.2), log);
  train::train(options("plain", 0.0), log);
  CHECK(read_bytes(dir.file("straight/last.safetensors")) != read_bytes(dir.file("plain/last.safetensors")));
  train::TrainOptions first = options("resumed", 0.2);
  first.stop_after_epochs = 1;
  REQUIRE(train::train(first, log).interrupted);
  train::TrainOptions second = train::read_run_config(dir.file("resumed")).training;
  CHECK(second.word_dropout == 0.2);
  second.resume = dir.file("resumed");
  CHECK(train::train(second, log).epochs_done == 3);
  for (const char* f : {"last.safetensors", "best.safetensors", "optimizer.safetensors", "trainer_state.json"}) {
    INFO("file ", f);
    CHECK(read_bytes(dir.file(std::string("straight/") + f)) == read_bytes(dir.file(std::string("resumed/") + f)));
  }
}
