// tests/models/test_meta_encoding.cc: --meta-encoding ple, the piecewise-linear encoding of the
// account features (models/meta_mlp.h MetaTower, fit_ple_bins): the bins against a hand
// computation (a continuous and a binary feature, values past the training range), the config
// field's JSON (written only when not the default, so older configs are unchanged), the buffers in
// the state_dict and their checked setter. The F64 gradient check and the PyTorch parity of the
// ple models are in tests/models/test_hybrid.cc, next to those of the plain models. Last, the
// trainer's side (train/bot_run.h): the flags' checks, the config from them, and the fit on the
// training rows.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "io/safetensors.h"
#include "models/factory.h"
#include "models/hybrid.h"
#include "models/meta_mlp.h"
#include "ops/autograd.h"
#include "tests/support/temp_dir.h"
#include "train/bot_run.h"

using namespace loom;

namespace {

models::ModelConfig ple_mlp_config(std::int64_t features, std::int64_t bins) {
  models::ModelConfig c;
  c.arch = models::Arch::MetaMlp;
  c.vocab_size = 0;
  c.meta_features = features;
  c.meta_hidden = 3;
  c.meta_encoding = "ple";
  c.meta_bins = bins;
  return c;
}

// Feature 0: raw 10, 12, ..., 18 with scaler mean 10, std 2 -> z = 0, 1, 2, 3, 4: with 4 bins the
// quantiles k/4 are the order statistics k (n - 1 = 4), edges 0, 1, 2, 3, 4, width 1 each.
// Feature 1: binary (three 0s, two 1s), identity scaler: the quantiles are 0, 0, 0, 1, 1, merged
// to the edges 0, 1: one bin [0, 1], slots 1..3 unused.
const std::vector<std::vector<float>> kRows{{10, 0}, {12, 1}, {14, 0}, {16, 1}, {18, 0}};
const std::vector<float> kMean{10, 0}, kStd{2, 1};

}  // namespace

TEST_CASE("meta encoding: the PLE bins of a continuous and a binary feature, by hand") {
  const models::PleBins bins = models::fit_ple_bins(kRows, kMean, kStd, 4);
  CHECK(bins.lo == std::vector<float>{0, 1, 2, 3, 0, 0, 0, 0});
  CHECK(bins.inv_width == std::vector<float>{1, 1, 1, 1, 1, 0, 0, 0});

  // A constant feature gets no bin; more bins than distinct values merge to the distinct ones.
  const models::PleBins few = models::fit_ple_bins({{5, 1}, {5, 2}, {5, 4}}, {0, 0}, {1, 1}, 8);
  CHECK(few.inv_width == std::vector<float>{0, 0, 0, 0, 0, 0, 0, 0, 1, 0.5f, 0, 0, 0, 0, 0, 0});
  CHECK(few.lo[8] == 1.0f);
  CHECK(few.lo[9] == 2.0f);

  CHECK_THROWS_WITH_AS(models::fit_ple_bins({}, kMean, kStd, 4), doctest::Contains("no training rows"), Error);
  CHECK_THROWS_WITH_AS(models::fit_ple_bins({{1, 2}, {3}}, kMean, kStd, 4), doctest::Contains("row 1 has 1 features"),
                       Error);
}

TEST_CASE("meta encoding: the encoded values, by hand, including values outside the training range") {
  const models::ModelConfig c = ple_mlp_config(2, 4);
  models::MetaTower tower(c, 1, Device::cpu(), DType::F64);
  tower.set_scaler(kMean, kStd);
  const models::PleBins bins = models::fit_ple_bins(kRows, kMean, kStd, 4);
  tower.set_encoding(bins.lo, bins.inv_width);
  // Row A: z0 = 2.5 fills bins 0 and 1, half of bin 2; z1 = 1 fills its one bin.
  // Row B: z0 = 7 is past the last edge (4): the last bin extrapolates to 7 - 3 = 4; z1 = 0.
  // Row C: z0 = -2 is below the first edge: the first bin extrapolates to -2; z1 = 2 (past the
  //        binary feature's range) gives 2 in its only bin, which is both first and last.
  const Tensor meta = Tensor::from_vector(std::vector<float>{15, 1, 24, 0, 6, 2}, {3, 2});
  const Tensor v = tower.encode(meta, "test");
  REQUIRE(v.shape() == Shape{3, 8});
  // Every value is exact in binary (sums and products of small integers and halves).
  CHECK(v.to_vector_f64() == std::vector<double>{1, 1, 0.5, 0, 1, 0, 0, 0,  //
                                                 1, 1, 1, 4, 0, 0, 0, 0,    //
                                                 -2, 0, 0, 0, 2, 0, 0, 0});
  // The tower's meta.0 reads the F*m encoded values.
  CHECK(tower.named_parameters()[0].second.shape() == Shape{3, 8});
}

TEST_CASE("meta encoding: config JSON round trip, older configs unchanged, bad values named") {
  models::ModelConfig c = ple_mlp_config(5, 16);
  const nlohmann::json j = c.to_json();
  CHECK(j.at("meta_encoding") == "ple");
  CHECK(j.at("meta_bins") == 16);
  const models::ModelConfig back = models::ModelConfig::from_json(j);
  CHECK(back.meta_encoding == "ple");
  CHECK(back.meta_bins == 16);
  CHECK(back.to_json() == j);
  CHECK(c.summary().find("meta 5 (ple x16) -> 3") != std::string::npos);

  // The default writes neither field, and a config without them reads as the default.
  models::ModelConfig plain = c;
  plain.meta_encoding = "standardize";
  nlohmann::json pj = plain.to_json();
  CHECK(!pj.contains("meta_encoding"));
  CHECK(!pj.contains("meta_bins"));
  CHECK(models::ModelConfig::from_json(pj).meta_encoding == "standardize");
  CHECK(plain.summary().find("ple") == std::string::npos);

  nlohmann::json bad = j;
  bad["meta_encoding"] = "quantile";
  CHECK_THROWS_WITH_AS(models::ModelConfig::from_json(bad), doctest::Contains("meta_encoding"), CheckpointError);
  bad = j;
  bad["meta_bins"] = 0;
  CHECK_THROWS_WITH_AS(models::ModelConfig::from_json(bad), doctest::Contains("meta_bins"), CheckpointError);
  bad = j;
  bad["meta_bins"] = "8";
  CHECK_THROWS_WITH_AS(models::ModelConfig::from_json(bad), doctest::Contains("meta_bins"), CheckpointError);
  // A text model's config may not hold them.
  models::ModelConfig text;
  text.vocab_size = 10;
  nlohmann::json tj = text.to_json();
  tj["meta_encoding"] = "ple";
  CHECK_THROWS_WITH_AS(models::ModelConfig::from_json(tj), doctest::Contains("meta_encoding"), CheckpointError);
}

TEST_CASE("meta encoding: buffers in the state_dict travel with the weights, the setter refuses bad bins") {
  const models::ModelConfig c = ple_mlp_config(2, 4);
  const auto a = models::make_model(c, 3, Device::cpu());
  const auto names = [](const std::vector<layers::NamedTensor>& ts) {
    std::vector<std::string> out;
    for (const auto& [n, t] : ts) out.push_back(n + " " + shape_str(t.shape()));
    return out;
  };
  CHECK(names(a->named_buffers()) == std::vector<std::string>{"meta_scaler.mean [2]", "meta_scaler.std [2]",
                                                               "meta_encoding.lo [8]", "meta_encoding.inv_width [8]"});
  // A standardize model has no such buffers (its state_dict is what it was before the option).
  models::ModelConfig plain = c;
  plain.meta_encoding = "standardize";
  CHECK(models::make_model(plain, 3, Device::cpu())->named_buffers().size() == 2);

  auto& mlp = dynamic_cast<models::MetaMlpClassifier&>(*a);
  mlp.set_meta_scaler(kMean, kStd);
  const models::PleBins bins = models::fit_ple_bins(kRows, kMean, kStd, 4);
  mlp.set_meta_encoding(bins.lo, bins.inv_width);

  const test::TempDir dir("meta_encoding");
  const std::string path = dir.file("ple.safetensors");
  io::write_safetensors(path, a->state_dict(), {});
  const auto b = models::make_model(c, 4, Device::cpu());
  const models::ModelInputs in{Tensor(), Tensor(), Tensor::from_vector(std::vector<float>{15, 1, 24, 0, 6, 2}, {3, 2})};
  auto logits = [&](const models::Classifier& m) {
    NoGradGuard no_grad;
    Generator gen(1);
    return m.forward(in, layers::Phase::Eval, gen).to_vector();
  };
  CHECK(logits(*a) != logits(*b));
  b->load_state_dict(io::read_safetensors(path).tensors);
  CHECK(logits(*a) == logits(*b));  // the bins came with the weights

  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(mlp.set_meta_encoding({0, 0}, {1, 1}), doctest::Contains("8 slots"), Error);
  CHECK_THROWS_WITH_AS(mlp.set_meta_encoding({0, 0, 0, 0, nan, 0, 0, 0}, {1, 1, 1, 1, 1, 0, 0, 0}),
                       doctest::Contains("feature 1, bin 0"), Error);
  CHECK_THROWS_WITH_AS(mlp.set_meta_encoding({0, 0, 0, 0, 0, 0, 0, 0}, {1, -1, 1, 1, 1, 0, 0, 0}),
                       doctest::Contains("feature 0, bin 1"), Error);
  CHECK_THROWS_WITH_AS(mlp.set_meta_encoding({0, 0, 0, 0, 0, 0, 0, 0}, {1, 0, 1, 1, 1, 0, 0, 0}),
                       doctest::Contains("used bin 2 after an unused one"), Error);
  CHECK(logits(*a) == logits(*b));  // refusals leave the bins as they were
  const auto plain_model = models::make_model(plain, 3, Device::cpu());
  auto& plain_mlp = dynamic_cast<models::MetaMlpClassifier&>(*plain_model);
  CHECK_THROWS_WITH_AS(plain_mlp.set_meta_encoding(bins.lo, bins.inv_width), doctest::Contains("standardize"), Error);
}

TEST_CASE("meta encoding: the flags' checks, the config from them, the trainer's fit sets the bins") {
  train::TrainOptions o;
  o.arch = "lstm";
  o.meta_encoding = "ple";
  CHECK_THROWS_WITH_AS(train::check_bot_options(o), doctest::Contains("--meta-encoding ple applies to --arch hybrid"),
                       Error);
  o.arch = "meta-mlp";
  o.meta_cols = {"all-numeric"};
  o.meta_bins = 0;
  CHECK_THROWS_WITH_AS(train::check_bot_options(o), doctest::Contains("--meta-bins must be in [1, 1024]"), Error);
  o.meta_bins = 4;
  o.meta_encoding = "quantile";
  CHECK_THROWS_WITH_AS(train::check_bot_options(o), doctest::Contains("--meta-encoding must be standardize or ple"),
                       Error);
  o.meta_encoding = "ple";

  models::ModelConfig c = ple_mlp_config(2, 8);
  c.meta_encoding = "standardize";
  train::apply_meta_encoding(o, c);
  CHECK(c.meta_encoding == "ple");
  CHECK(c.meta_bins == 4);
  models::ModelConfig text;  // a text model's config keeps the default
  train::apply_meta_encoding(o, text);
  CHECK(text.meta_encoding == "standardize");

  std::vector<data::EncodedExample> rows(kRows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i].meta = kRows[i];
  const train::MetaScaler scaler{kMean, kStd};
  const auto m = models::make_model(c, 3, Device::cpu());
  m->set_meta_scaler(scaler.mean, scaler.std);
  const std::string line = train::fit_meta_encoding(*m, c, scaler, rows);
  CHECK(line.find("5 bins over 2 features") != std::string::npos);  // 4 + the binary feature's 1
  const auto buffers = m->named_buffers();
  REQUIRE(buffers.size() == 4);
  CHECK(buffers[2].second.to_vector() == std::vector<float>{0, 1, 2, 3, 0, 0, 0, 0});
  CHECK(buffers[3].second.to_vector() == std::vector<float>{1, 1, 1, 1, 1, 0, 0, 0});
  // The plain standardization fits nothing and says nothing.
  models::ModelConfig plain = c;
  plain.meta_encoding = "standardize";
  const auto p = models::make_model(plain, 3, Device::cpu());
  CHECK(train::fit_meta_encoding(*p, plain, scaler, rows).empty());
}
