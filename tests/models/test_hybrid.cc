// tests/models/test_hybrid.cc: the account-metadata models, hybrid (models/hybrid.h) and meta-mlp
// (models/meta_mlp.h): their config (JSON, validation, summary), state_dict names and shapes, the
// checked loading (buffers included), the metadata scaler, an F64 finite-difference gradient
// check, autocast, and live parity with the equivalent PyTorch modules (TorchHybrid and
// TorchMetaMlp in tests/peers/torch_models.py).
#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <sstream>

#include "io/safetensors.h"
#include "layers/conv1d.h"
#include "models/hybrid.h"
#include "models/meta_mlp.h"
#include "ops/autocast.h"
#include "ops/autograd.h"
#include "ops/loss.h"
#include "tests/models/model_gradcheck.h"
#include "tests/models/model_util.h"
#include "tests/support/compare.h"
#include "tests/support/devices.h"
#include "tests/support/gradcheck.h"
#include "tests/support/peer.h"
#include "tests/support/temp_dir.h"
#include "tests/support/values.h"

using namespace loom;

namespace {

constexpr std::int64_t kMetaFeatures = 3;

// Hybrid around the text architecture `text`, with tiny_config's text sizes (two LSTM layers, two
// conv widths) and a metadata tower small enough for finite differences.
models::ModelConfig hybrid_config(models::Arch text, std::int64_t K = 1) {
  models::ModelConfig c = test::tiny_config(text, K);
  c.arch = models::Arch::Hybrid;
  c.text_arch = text;
  c.meta_features = kMetaFeatures;
  c.meta_hidden = 4;
  c.fuse_hidden = 5;
  return c;
}

models::ModelConfig meta_mlp_config(std::int64_t K = 1) {
  models::ModelConfig c = hybrid_config(models::Arch::Lstm, K);
  c.arch = models::Arch::MetaMlp;
  c.vocab_size = 0;  // meta-mlp reads no tokens
  return c;
}

// Raw account features at very different scales (feature f lives around 2 * 10^(f mod 4) with a
// spread of 10^(f mod 4): counts in the thousands next to ratios near 1), and the scaler that maps
// them to about [-2, 2], as the trainer's fit on the training split would.
struct MetaBatch {
  Tensor meta;  // [B, F] F32
  std::vector<float> mean, std;
};

MetaBatch make_meta(std::int64_t B, std::int64_t F, std::uint64_t seed) {
  MetaBatch m;
  const std::vector<double> u = test::random_values(B * F, seed, -2.0, 2.0);
  std::vector<float> v(static_cast<std::size_t>(B * F));
  for (std::int64_t f = 0; f < F; ++f) {
    const double base = std::pow(10.0, static_cast<double>(f % 4));
    m.mean.push_back(static_cast<float>(2.0 * base));
    m.std.push_back(static_cast<float>(base));
    for (std::int64_t b = 0; b < B; ++b) v[b * F + f] = static_cast<float>(2.0 * base + base * u[b * F + f]);
  }
  m.meta = Tensor::from_vector(v, {B, F});
  return m;
}

std::vector<std::pair<std::string, Shape>> names_and_shapes(const std::vector<layers::NamedTensor>& tensors) {
  std::vector<std::pair<std::string, Shape>> out;
  for (const auto& [name, t] : tensors) out.emplace_back(name, t.shape());
  return out;
}

Tensor eval_logits(const models::Classifier& m, const models::ModelInputs& in) {
  NoGradGuard no_grad;
  Generator gen(1);
  return m.forward(in, layers::Phase::Eval, gen);
}

// --meta-encoding ple: `c` with m bins, and its bins fitted (after the scaler `fit` carries) on the
// rows of fit.meta, as the trainer fits them on the training split.
models::ModelConfig with_ple(models::ModelConfig c, std::int64_t bins) {
  c.meta_encoding = "ple";
  c.meta_bins = bins;
  return c;
}

void fit_ple(models::Classifier& m, const models::ModelConfig& c, const MetaBatch& fit) {
  const std::int64_t F = fit.meta.dim(1);
  const std::vector<float> v = fit.meta.to_vector();
  std::vector<std::vector<float>> rows;
  for (std::int64_t r = 0; r < fit.meta.dim(0); ++r) rows.emplace_back(v.begin() + r * F, v.begin() + (r + 1) * F);
  const models::PleBins bins = models::fit_ple_bins(rows, fit.mean, fit.std, c.meta_bins);
  if (auto* mlp = dynamic_cast<models::MetaMlpClassifier*>(&m))
    mlp->set_meta_encoding(bins.lo, bins.inv_width);
  else
    dynamic_cast<models::HybridClassifier&>(m).set_meta_encoding(bins.lo, bins.inv_width);
}

}  // namespace

// ---- config --------------------------------------------------------------------------------------

TEST_CASE("hybrid config: names, feature size, summary and validation") {
  CHECK(models::parse_arch("hybrid") == models::Arch::Hybrid);
  CHECK(models::parse_arch("meta-mlp") == models::Arch::MetaMlp);
  CHECK(std::string(models::arch_name(models::Arch::MetaMlp)) == "meta-mlp");
  CHECK_FALSE(models::is_text_arch(models::Arch::Hybrid));
  CHECK(models::is_text_arch(models::Arch::Bilstm));

  models::ModelConfig h;  // the defaults: lstm text encoder, embed 128, 1x128
  h.arch = models::Arch::Hybrid;
  h.meta_features = 21;
  CHECK(h.summary() == "hybrid: text lstm (embed 128, lstm 1x128) + meta 21 -> 64, fuse 64, dropout 0.5, 1 output, "
                       "init torch");
  models::ModelConfig m = h;
  m.arch = models::Arch::MetaMlp;
  CHECK(m.summary() == "meta-mlp: meta 21 -> 64, dropout 0.5, 1 output, init torch");
  h.fuse_hidden = 7;
  m.meta_hidden = 5;
  CHECK(h.feature_size() == 7);
  CHECK(m.feature_size() == 5);

  m.vocab_size = 0;
  CHECK_NOTHROW(m.validate());  // meta-mlp needs no vocabulary
  h.vocab_size = 0;
  CHECK_THROWS_WITH_AS(h.validate(), doctest::Contains("vocab_size"), Error);  // the encoder does
  h.vocab_size = 100;
  CHECK_NOTHROW(h.validate());
  auto fails = [](models::ModelConfig c, const char* field) {
    INFO(field);
    CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains(field), Error);
  };
  models::ModelConfig bad = h;
  bad.text_arch = models::Arch::MetaMlp;
  fails(bad, "text_arch");
  bad = h;
  bad.text_arch = models::Arch::Cnn;
  bad.filters = 0;  // the encoder's fields are checked for the text arch it uses
  fails(bad, "filters");
  for (models::ModelConfig c : {h, m}) {
    bad = c;
    bad.meta_features = 0;
    fails(bad, "meta_features");
    bad = c;
    bad.meta_hidden = 0;
    fails(bad, "meta_hidden");
    bad = c;
    bad.fuse_hidden = 0;
    fails(bad, "fuse_hidden");
  }
}

TEST_CASE("hybrid config: JSON round trip, text models' config.json unchanged") {
  // A text model's JSON as written before hybrid existed: it loads and is written back the same.
  const std::string old =
      R"({"arch":"lstm","dropout":0.5,"embed_dim":8,"filters":100,"hidden":6,"init":"torch","layers":1,)"
      R"("num_outputs":1,"preset":"","vocab_size":50,"widths":[3,4,5]})";
  const models::ModelConfig text = models::ModelConfig::from_json(nlohmann::json::parse(old));
  CHECK(text.to_json().dump() == old);
  std::set<std::string> keys;
  const nlohmann::json written = text.to_json();
  for (auto it = written.begin(); it != written.end(); ++it) keys.insert(it.key());
  CHECK(keys.size() == 11);
  CHECK_FALSE(keys.count("meta_hidden"));

  for (models::ModelConfig c : {hybrid_config(models::Arch::Cnn, 3), meta_mlp_config(2)}) {
    c.init = models::Init::Keras;
    const nlohmann::json j = c.to_json();
    INFO(j.dump());
    CHECK(j.size() == 15);
    const models::ModelConfig back = models::ModelConfig::from_json(j);
    CHECK(back.to_json() == j);
    CHECK(back.arch == c.arch);
    CHECK(back.text_arch == c.text_arch);
    CHECK(back.meta_features == c.meta_features);
    CHECK(back.meta_hidden == c.meta_hidden);
    CHECK(back.fuse_hidden == c.fuse_hidden);
    CHECK(back.summary() == c.summary());
    // Each of the four is required for the metadata models.
    for (const char* field : {"text_arch", "meta_features", "meta_hidden", "fuse_hidden"}) {
      nlohmann::json missing = j;
      missing.erase(field);
      CHECK_THROWS_WITH_AS(models::ModelConfig::from_json(missing),
                           doctest::Contains((std::string("missing field '") + field + "'").c_str()), CheckpointError);
    }
  }
  nlohmann::json j = hybrid_config(models::Arch::Lstm).to_json();
  j["text_arch"] = "gru";
  CHECK_THROWS_WITH_AS(models::ModelConfig::from_json(j), doctest::Contains("text_arch"), CheckpointError);
  j["text_arch"] = "hybrid";
  CHECK_THROWS_WITH_AS(models::ModelConfig::from_json(j), doctest::Contains("text_arch"), CheckpointError);
  j = hybrid_config(models::Arch::Lstm).to_json();
  j["meta_features"] = 0;
  CHECK_THROWS_WITH_AS(models::ModelConfig::from_json(j), doctest::Contains("meta_features"), CheckpointError);
  j = hybrid_config(models::Arch::Lstm).to_json();
  j["meta_hidden"] = "64";
  CHECK_THROWS_WITH_AS(models::ModelConfig::from_json(j), doctest::Contains("'meta_hidden' must be an integer"),
                       CheckpointError);
  j = hybrid_config(models::Arch::Lstm).to_json();
  j["tower"] = 1;
  CHECK_THROWS_WITH_AS(models::ModelConfig::from_json(j), doctest::Contains("unknown field 'tower'"), CheckpointError);
  // A text model's config may not carry the metadata fields.
  nlohmann::json t = nlohmann::json::parse(old);
  t["meta_hidden"] = 64;
  CHECK_THROWS_WITH_AS(models::ModelConfig::from_json(t), doctest::Contains("meta_hidden"), CheckpointError);
}

// ---- construction, names, loading ----------------------------------------------------------------

TEST_CASE("hybrid: state_dict names and shapes, the encoder is the text model of the same seed") {
  for (models::Arch text : test::all_archs()) {
    INFO(models::arch_name(text));
    const models::ModelConfig c = hybrid_config(text, 2);
    const auto m = models::make_model(c, 7, Device::cpu());
    const auto plain = models::make_text_model(models::text_encoder_config(c), 7, Device::cpu());
    // The encoder's tensors minus its head, then the tower, fuse, head and the two buffers.
    std::vector<std::pair<std::string, Shape>> want;
    for (const auto& [name, shape] : names_and_shapes(plain->state_dict()))
      if (name.rfind("head.", 0) != 0) want.emplace_back(name, shape);
    const std::int64_t D = models::text_encoder_config(c).feature_size();
    want.push_back({"meta.0.weight", {4, kMetaFeatures}});
    want.push_back({"meta.0.bias", {4}});
    want.push_back({"fuse.weight", {5, D + 4}});
    want.push_back({"fuse.bias", {5}});
    want.push_back({"head.weight", {2, 5}});
    want.push_back({"head.bias", {2}});
    want.push_back({"meta_scaler.mean", {kMetaFeatures}});
    want.push_back({"meta_scaler.std", {kMetaFeatures}});
    CHECK(names_and_shapes(m->state_dict()) == want);
    // Parameters are everything but the buffers, all trainable.
    CHECK(m->named_parameters().size() == want.size() - 2);
    CHECK(m->trainable_parameters().size() == want.size() - 2);
    CHECK(m->named_buffers().size() == 2);
    CHECK(m->uses_meta());
    // Same seed, same encoder weights as the text model alone (the embedding, and the body).
    const auto sd = m->state_dict(), psd = plain->state_dict();
    for (std::size_t i = 0; i + 2 < psd.size(); ++i) {
      INFO(psd[i].first);
      CHECK(sd[i].second.to_vector() == psd[i].second.to_vector());
    }
    CHECK(m->config().feature_size() == 5);
  }
  // A conv weight is exported in PyTorch's [F, C, K] layout.
  const auto cnn = models::make_model(hybrid_config(models::Arch::Cnn), 1, Device::cpu());
  CHECK(cnn->state_dict()[1].first == "convs.0.weight");
  CHECK(cnn->state_dict()[1].second.shape() == Shape({3, 4, 2}));
}

TEST_CASE("meta-mlp: state_dict names and shapes, buffers start as the identity") {
  const auto m = models::make_model(meta_mlp_config(3), 7, Device::cpu());
  const std::vector<std::pair<std::string, Shape>> want{
      {"meta.0.weight", {4, kMetaFeatures}}, {"meta.0.bias", {4}},          {"head.weight", {3, 4}},
      {"head.bias", {3}},                   {"meta_scaler.mean", {kMetaFeatures}}, {"meta_scaler.std", {kMetaFeatures}}};
  CHECK(names_and_shapes(m->state_dict()) == want);
  CHECK(m->trainable_parameters().size() == 4);
  CHECK(m->num_parameters() == 4 * 3 + 4 + 3 * 4 + 3);
  CHECK(m->state_dict()[4].second.to_vector() == std::vector<float>(kMetaFeatures, 0.0f));
  CHECK(m->state_dict()[5].second.to_vector() == std::vector<float>(kMetaFeatures, 1.0f));
  for (const auto& [name, b] : m->named_buffers()) CHECK_FALSE(b.requires_grad());
  // No text side.
  CHECK_FALSE(m->has_embedding());
  CHECK_THROWS_WITH_AS(m->embedding_weight(), doctest::Contains("no embedding table"), Error);
  CHECK_THROWS_WITH_AS(m->set_freeze_embeddings(true), doctest::Contains("no embedding table"), Error);
  CHECK_NOTHROW(m->set_freeze_embeddings(false));
  // Tokens are not read: undefined ones are fine.
  const MetaBatch mb = make_meta(4, kMetaFeatures, 3);
  CHECK(eval_logits(*m, {Tensor(), Tensor(), mb.meta}).shape() == Shape({4, 3}));
}

TEST_CASE("hybrid and meta-mlp: make_text_model refuses them, bad inputs are named") {
  CHECK_THROWS_WITH_AS(models::make_text_model(hybrid_config(models::Arch::Lstm), 1, Device::cpu()),
                       doctest::Contains("not a text-only architecture"), Error);
  CHECK_THROWS_WITH_AS(models::make_text_model(meta_mlp_config(), 1, Device::cpu()),
                       doctest::Contains("not a text-only architecture"), Error);
  models::ModelConfig bad = hybrid_config(models::Arch::Lstm);
  bad.meta_features = 0;
  CHECK_THROWS_WITH_AS(models::make_model(bad, 1, Device::cpu()), doctest::Contains("meta_features"), Error);

  const auto h = models::make_model(hybrid_config(models::Arch::Lstm), 1, Device::cpu());
  const test::TokenBatch batch = test::make_batch({3, 1, 2}, 3, 11, 1);
  const MetaBatch mb = make_meta(3, kMetaFeatures, 1);
  CHECK(eval_logits(*h, {batch.tokens, batch.lengths, mb.meta}).shape() == Shape({3, 1}));
  CHECK_THROWS_WITH_AS(eval_logits(*h, {batch.tokens, batch.lengths, Tensor()}),
                       doctest::Contains("meta must be float [B, 3]"), ShapeError);
  CHECK_THROWS_WITH_AS(eval_logits(*h, {batch.tokens, batch.lengths, make_meta(3, 2, 1).meta}),
                       doctest::Contains("meta must be float [B, 3]"), ShapeError);
  CHECK_THROWS_WITH_AS(eval_logits(*h, {batch.tokens, batch.lengths, make_meta(2, kMetaFeatures, 1).meta}),
                       doctest::Contains("meta has 2 rows but the batch has 3 examples"), ShapeError);
  // The scaler's statistics are checked.
  CHECK_THROWS_WITH_AS(h->set_meta_scaler({0, 0}, {1, 1}), doctest::Contains("reads 3 metadata features"), Error);
  CHECK_THROWS_WITH_AS(h->set_meta_scaler({0, 0, 0}, {1, 0, 1}), doctest::Contains("std of feature 1"), Error);
  CHECK_THROWS_WITH_AS(h->set_meta_scaler({0, NAN, 0}, {1, 1, 1}), doctest::Contains("mean of feature 1"), Error);
  // A text model reads no metadata.
  const auto text = models::make_model(test::tiny_config(models::Arch::Lstm), 1, Device::cpu());
  CHECK_FALSE(text->uses_meta());
  CHECK_THROWS_WITH_AS(text->set_meta_scaler({0}, {1}), doctest::Contains("reads no account metadata"), Error);
}

TEST_CASE("hybrid: embedding hooks reach the encoder's table") {
  const auto h = models::make_model(hybrid_config(models::Arch::Bilstm), 1, Device::cpu());
  const auto& hybrid = dynamic_cast<const models::HybridClassifier&>(*h);
  REQUIRE(h->has_embedding());
  CHECK(h->embedding_weight().same_data(hybrid.encoder().embedding_weight()));
  CHECK(h->embedding_weight().same_data(h->named_parameters().front().second));
  const std::size_t n = h->trainable_parameters().size();
  h->set_freeze_embeddings(true);
  CHECK(h->embeddings_frozen());
  CHECK(h->trainable_parameters().size() == n - 1);
  h->set_freeze_embeddings(false);
  CHECK(h->trainable_parameters().size() == n);
}

namespace {

// A copy of `m`'s weights into a model of config `c` with the embedding table times `factor`: for a
// bow text branch (the mean of embeddings) its text vector is the original's times `factor`.
std::unique_ptr<models::Classifier> with_scaled_text(const models::Classifier& m, const models::ModelConfig& c,
                                                     double factor) {
  auto out = models::make_model(c, 99, Device::cpu());
  std::vector<layers::NamedTensor> sd = m.state_dict();
  for (auto& [name, t] : sd)
    if (name == "embedding.weight") {
      std::vector<float> v = t.to_vector();
      for (float& x : v) x = static_cast<float>(x * factor);
      t = Tensor::from_vector(v, t.shape());
    }
  out->load_state_dict(sd);
  return out;
}

}  // namespace

TEST_CASE("hybrid: --text-dropout drops whole text vectors and scales the kept ones in training only") {
  models::ModelConfig c = hybrid_config(models::Arch::Bow);
  c.dropout = 0.0f;  // the text dropout is then the only random step
  c.fuse_hidden = 16;  // wide enough that the ReLU rarely zeroes a whole row either way
  models::ModelConfig td = c;
  td.text_dropout = 0.5f;
  const std::int64_t B = 64;
  std::vector<std::int32_t> lengths;
  for (std::int64_t b = 0; b < B; ++b) lengths.push_back(static_cast<std::int32_t>(1 + b % 5));
  const test::TokenBatch batch = test::make_batch(lengths, 5, c.vocab_size, 3);
  const MetaBatch mb = make_meta(B, kMetaFeatures, 3);
  const models::ModelInputs in{batch.tokens, batch.lengths, mb.meta};
  const auto plain = models::make_model(c, 7, Device::cpu());
  const auto dropping = models::make_model(td, 7, Device::cpu());  // the same weights: same seed
  plain->set_meta_scaler(mb.mean, mb.std);
  dropping->set_meta_scaler(mb.mean, mb.std);
  // Evaluation always sees the text.
  CHECK(eval_logits(*plain, in).to_vector() == eval_logits(*dropping, in).to_vector());

  // Training: each row is the features with the text vector zeroed, or with it times 1/(1-p) = 2.
  NoGradGuard no_grad;
  Generator gen(5), eval_gen(1);
  const std::vector<float> train = dropping->features(in, layers::Phase::Train, gen).to_vector();
  const std::vector<float> zero =
      with_scaled_text(*plain, c, 0.0)->features(in, layers::Phase::Eval, eval_gen).to_vector();
  const std::vector<float> twice =
      with_scaled_text(*plain, c, 2.0)->features(in, layers::Phase::Eval, eval_gen).to_vector();
  const std::size_t H = static_cast<std::size_t>(c.fuse_hidden);
  auto row_is = [&](const std::vector<float>& ref, std::size_t b) {
    for (std::size_t h = 0; h < H; ++h)
      if (std::abs(train[b * H + h] - ref[b * H + h]) > 1e-5f) return false;
    return true;
  };
  int dropped = 0, kept = 0;
  for (std::size_t b = 0; b < static_cast<std::size_t>(B); ++b) {
    INFO("row ", b);
    const bool z = row_is(zero, b), t = row_is(twice, b);
    CHECK((z || t));
    dropped += z && !t, kept += t && !z;  // a row the ReLU zeroes either way counts as neither
  }
  // Binomial(64, 0.5): mean 32, sd 4.
  CHECK(dropped >= 16);
  CHECK(kept >= 16);

  // Saved only when set, refused for other models.
  CHECK_FALSE(c.to_json().contains("text_dropout"));
  CHECK(models::ModelConfig::from_json(td.to_json()).text_dropout == 0.5f);
  models::ModelConfig m = meta_mlp_config();
  m.text_dropout = 0.2f;
  CHECK_THROWS_WITH_AS(m.validate(), doctest::Contains("text_dropout"), Error);
  td.text_dropout = 1.0f;
  CHECK_THROWS_WITH_AS(td.validate(), doctest::Contains("text_dropout"), Error);
}

TEST_CASE("hybrid and meta-mlp: save and load round trip with the scaler buffers, refusals name the tensor") {
  const test::TempDir dir("hybrid");
  const test::TokenBatch batch = test::make_batch({5, 1, 3, 2}, 5, 11, 2, /*pad_id=*/9);
  const MetaBatch mb = make_meta(4, kMetaFeatures, 2);
  for (const models::ModelConfig& c : {hybrid_config(models::Arch::Cnn, 2), meta_mlp_config(2)}) {
    INFO(c.summary());
    const auto a = models::make_model(c, 3, Device::cpu());
    a->set_meta_scaler(mb.mean, mb.std);
    const std::string path = dir.file(std::string(models::arch_name(c.arch)) + ".safetensors");
    io::write_safetensors(path, a->state_dict(), {});
    const auto b = models::make_model(c, 4, Device::cpu());  // other weights, identity scaler
    const models::ModelInputs in{batch.tokens, batch.lengths, mb.meta};
    CHECK(eval_logits(*a, in).to_vector() != eval_logits(*b, in).to_vector());
    b->load_state_dict(io::read_safetensors(path).tensors);
    const auto sa = a->state_dict(), sb = b->state_dict();
    REQUIRE(sa.size() == sb.size());
    for (std::size_t i = 0; i < sa.size(); ++i) {
      INFO(sa[i].first);
      CHECK(sa[i].second.to_vector() == sb[i].second.to_vector());
    }
    CHECK(b->named_buffers()[0].second.to_vector() == mb.mean);  // the scaler came with the weights
    CHECK(eval_logits(*a, in).to_vector() == eval_logits(*b, in).to_vector());

    // Refusals: each names the tensor, and leaves the model as it was.
    const std::vector<float> before = eval_logits(*b, in).to_vector();
    auto refuses = [&](const std::vector<layers::NamedTensor>& tensors, const std::string& words) {
      INFO(words);
      CHECK_THROWS_WITH_AS(b->load_state_dict(tensors), doctest::Contains(words.c_str()), CheckpointError);
      CHECK(eval_logits(*b, in).to_vector() == before);
    };
    const auto fresh = models::make_model(c, 5, Device::cpu());
    std::vector<layers::NamedTensor> t = fresh->state_dict();
    t.pop_back();  // meta_scaler.std
    refuses(t, "missing tensors: meta_scaler.std");
    t = fresh->state_dict();
    t.emplace_back("encoder.head.weight", Tensor::zeros({2, 5}));
    refuses(t, "unexpected tensors: encoder.head.weight");
    t = fresh->state_dict();
    t[t.size() - 2].second = Tensor::zeros({kMetaFeatures + 1});
    refuses(t, "tensor 'meta_scaler.mean': expected shape [3], found [4]");
    t = fresh->state_dict();
    for (auto& [name, v] : t)
      if (name == "head.weight") v = Tensor::zeros({2, 6});
    refuses(t, "tensor 'head.weight': expected shape [2, ");
  }
}

// ---- the scaler ------------------------------------------------------------------------------------

// F64 models, so both sides are exact to ~1e-15 relative: (1000x - 1000m) / (1000s) and
// (x - m) / s differ by a few roundings of values of size |x| ~ 4s, and the logits of this tiny
// net amplify that by its weights (< 1 each): 1e-9 leaves a 1e5 margin.
TEST_CASE("hybrid and meta-mlp: the scaler standardizes: a feature x1000 with a matching scaler gives the same logits") {
  const test::TokenBatch batch = test::make_batch({4, 2, 1}, 4, 11, 6);
  const MetaBatch mb = make_meta(3, kMetaFeatures, 6);
  const test::Tolerance tol{1e-9, 1e-12};
  for (const models::ModelConfig& c : {hybrid_config(models::Arch::Lstm), meta_mlp_config(2)}) {
    INFO(c.summary());
    const auto a = models::make_model(c, 8, Device::cpu(), DType::F64);
    const auto b = models::make_model(c, 8, Device::cpu(), DType::F64);
    a->set_meta_scaler(mb.mean, mb.std);
    const std::vector<double> ref = eval_logits(*a, {batch.tokens, batch.lengths, mb.meta}).to_vector_f64();

    // Feature 1 in other units (x1000) with its statistics in the same units. The scaled features
    // are F64 (x1000 of an F32 value is exact there; in F32 it would round by 6e-8 relative), and
    // feature 1's mean 20 and std 10 scale exactly in F32.
    std::vector<double> raw = mb.meta.to_vector_f64();
    std::vector<float> mean = mb.mean, std = mb.std;
    for (std::int64_t r = 0; r < 3; ++r) raw[r * kMetaFeatures + 1] *= 1000.0;
    mean[1] *= 1000.0f;
    std[1] *= 1000.0f;
    const Tensor scaled = Tensor::from_vector(raw, {3, kMetaFeatures}, DType::F64);
    // With the identity scaler the scaled feature changes the logits: the check below can fail.
    CHECK_FALSE(test::first_mismatch(eval_logits(*b, {batch.tokens, batch.lengths, scaled}).to_vector_f64(), ref,
                                     tol).empty());
    b->set_meta_scaler(mean, std);
    test::check_close(eval_logits(*b, {batch.tokens, batch.lengths, scaled}).to_vector_f64(), ref, tol,
                      "x1000 feature with a x1000 scaler");

    // And it is exactly (x - mean) / std: standardized by hand, fed through the identity scaler.
    const auto id = models::make_model(c, 8, Device::cpu(), DType::F64);
    std::vector<double> z = mb.meta.to_vector_f64();
    for (std::int64_t r = 0; r < 3; ++r)
      for (std::int64_t f = 0; f < kMetaFeatures; ++f)
        z[r * kMetaFeatures + f] = (z[r * kMetaFeatures + f] - mb.mean[f]) / mb.std[f];
    test::check_close(
        eval_logits(*id, {batch.tokens, batch.lengths, Tensor::from_vector(z, {3, kMetaFeatures})}).to_vector_f64(),
        ref, tol, "standardized by hand");
  }
}

// ---- gradients ------------------------------------------------------------------------------------


TEST_CASE("hybrid and meta-mlp: every gradient passes an F64 finite-difference check") {
  // Lengths 6 (full), 1 and 2 (shorter than width 3), 4; garbage ids past each length.
  const test::TokenBatch batch = test::make_batch({6, 1, 2, 4}, 6, 11, 5, /*pad_id=*/9);
  const MetaBatch mb = make_meta(4, kMetaFeatures, 5);
  for (std::int64_t K : {1, 3}) {
    std::vector<models::ModelConfig> configs{hybrid_config(models::Arch::Lstm, K), hybrid_config(models::Arch::Cnn, K),
                                             meta_mlp_config(K)};
    for (const models::ModelConfig& c : configs) {
      const auto m = models::make_model(c, 17, Device::cpu(), DType::F64);
      m->set_meta_scaler(mb.mean, mb.std);
      test::classifier_gradcheck(*m, {batch.tokens, batch.lengths, mb.meta}, c.summary());
    }
  }
}

// The same check with --meta-encoding ple: the bins are fitted on 30 other rows, so the batch's
// features fall inside bins, on the flat parts and past the outer edges (the encoding's kinks are in
// the inputs, which the check does not perturb).
TEST_CASE("hybrid and meta-mlp with ple: every gradient passes an F64 finite-difference check") {
  const test::TokenBatch batch = test::make_batch({6, 1, 2, 4}, 6, 11, 5, /*pad_id=*/9);
  const MetaBatch mb = make_meta(4, kMetaFeatures, 5), fit = make_meta(30, kMetaFeatures, 8);
  for (std::int64_t K : {1, 3}) {
    for (const models::ModelConfig& c :
         {with_ple(hybrid_config(models::Arch::Lstm, K), 3), with_ple(meta_mlp_config(K), 3)}) {
      const auto m = models::make_model(c, 17, Device::cpu(), DType::F64);
      m->set_meta_scaler(mb.mean, mb.std);
      fit_ple(*m, c, fit);
      test::classifier_gradcheck(*m, {batch.tokens, batch.lengths, mb.meta}, c.summary());
    }
  }
}

// Under a BF16 autocast region the scaler's sub and mul take the widest input (F32 raw features and
// buffers), the dense layers run in BF16: the logits stay within the BF16 tolerance of
// tests/support/compare.h (a few roundings of 2^-8 through three small layers).
TEST_CASE("hybrid and meta-mlp: run under BF16 autocast close to F32") {
  const test::TokenBatch batch = test::make_batch({5, 2, 3}, 5, 11, 9);
  const MetaBatch mb = make_meta(3, kMetaFeatures, 9);
  for (const models::ModelConfig& c : {hybrid_config(models::Arch::Bilstm, 2), meta_mlp_config(2)}) {
    INFO(c.summary());
    const auto m = models::make_model(c, 2, Device::cpu());
    m->set_meta_scaler(mb.mean, mb.std);
    const models::ModelInputs in{batch.tokens, batch.lengths, mb.meta};
    const std::vector<float> f32 = eval_logits(*m, in).to_vector();
    Tensor low;
    {
      ops::AutocastScope amp(ops::Precision::BF16);
      low = eval_logits(*m, in);
    }
    CHECK(low.dtype() == DType::BF16);
    test::check_close(low.to_vector(), f32, test::tolerance(DType::BF16), "bf16 vs f32 logits");
  }
}

// ---- CUDA ------------------------------------------------------------------------------------------

// The same seed gives the same weights on every device; the scaler's sub and mul, the concat and
// the dense layers run on the GPU. Tolerance as the PyTorch parity below (1e-4 relative, 1e-6
// absolute): both sides compute in F32 and accumulate in different orders (cuBLAS vs oneDNN).
TEST_SUITE("cuda") {
  TEST_CASE("hybrid and meta-mlp: CUDA matches CPU (logits and every gradient)") {
    LOOM_REQUIRE_CUDA_DEVICE();
    const test::TokenBatch batch = test::make_batch({6, 1, 2, 4}, 6, 11, 5, /*pad_id=*/9);
    const MetaBatch mb = make_meta(4, kMetaFeatures, 5);
    const Tensor targets = test::random_targets(4, 2, 3);
    const test::Tolerance tol{1e-4, 1e-6};
    for (const models::ModelConfig& c :
         {hybrid_config(models::Arch::Lstm, 2), hybrid_config(models::Arch::Cnn, 2), meta_mlp_config(2)}) {
      INFO(c.summary());
      std::vector<std::vector<float>> logits, grads[2];
      for (int d = 0; d < 2; ++d) {
        const Device device = d == 0 ? Device::cpu() : Device::cuda();
        const auto m = models::make_model(c, 21, device);
        m->set_meta_scaler(mb.mean, mb.std);
        Tape tape;
        Tensor y, loss;
        {
          auto rec = tape.record();
          Generator gen(1);
          y = m->forward({batch.tokens, batch.lengths, mb.meta}, layers::Phase::Eval, gen);
          loss = ops::bce_with_logits(y, targets.to(device));
        }
        tape.backward(loss);
        logits.push_back(y.to(Device::cpu()).to_vector());
        for (const auto& [name, p] : m->named_parameters()) grads[d].push_back(p.grad().to(Device::cpu()).to_vector());
      }
      test::check_close(logits[1], logits[0], tol, "logits");
      REQUIRE(grads[1].size() == grads[0].size());
      for (std::size_t i = 0; i < grads[0].size(); ++i)
        test::check_close(grads[1][i], grads[0][i], tol, "gradient " + std::to_string(i));
    }
  }
}

// ---- live PyTorch parity --------------------------------------------------------------------------

// Tolerance as tests/models/test_models_torch.cc (1e-4 relative, 1e-6 absolute: both sides compute
// in F32 and sum in different orders). The raw features are at scales up to 10^3 and the scaler
// brings them to O(1) on both sides, so the buffers take part in every compared value.
TEST_CASE("hybrid and meta-mlp: logits and every parameter gradient match TorchHybrid / TorchMetaMlp") {
  struct Case {
    models::ModelConfig config;
    std::unique_ptr<models::Classifier> model;
    Tensor meta, targets;
  };
  std::vector<Case> cases;
  const test::TokenBatch batch = test::make_batch({8, 1, 3, 5, 2}, 8, 30, 4, /*pad_id=*/29);
  const MetaBatch mb = make_meta(5, 4, 4);
  const test::TempDir dir("hybrid_torch");
  nlohmann::json input;
  input["cases"] = nlohmann::json::array();
  std::vector<models::ModelConfig> configs;
  for (models::Arch text : test::all_archs())
    for (std::int64_t K : {1, 3})
      if (K == 1 || text == models::Arch::Lstm || text == models::Arch::Bilstm || text == models::Arch::Cnn)
        configs.push_back(hybrid_config(text, K));
  configs.push_back(meta_mlp_config(1));
  configs.push_back(meta_mlp_config(3));
  // --meta-encoding ple (the bins fitted on 40 other rows: TorchMetaMlp / TorchHybrid's
  // MetaEncoding gets them through the state_dict).
  configs.push_back(with_ple(meta_mlp_config(1), 3));
  configs.push_back(with_ple(hybrid_config(models::Arch::Cnn, 3), 4));
  const MetaBatch fit = make_meta(40, 4, 6);
  std::uint64_t seed = 1;
  for (models::ModelConfig c : configs) {
    c.vocab_size = c.arch == models::Arch::MetaMlp ? 0 : 30;
    c.embed_dim = 6;
    c.hidden = 5;
    c.filters = 4;
    c.widths = {2, 4};
    c.meta_features = 4;
    c.meta_hidden = 6;
    Case k;
    k.config = c;
    k.model = models::make_model(c, 200 + seed, Device::cpu());
    k.model->set_meta_scaler(mb.mean, mb.std);
    if (c.meta_encoding == "ple") fit_ple(*k.model, c, fit);
    k.targets = test::random_targets(5, c.num_outputs, seed);
    nlohmann::json j;
    j["config"] = c.to_json();
    j["T"] = 8;
    j["B"] = 5;
    j["tokens"] = batch.tokens.to_vector_i32();
    j["lengths"] = batch.lengths.to_vector_i32();
    j["meta"] = mb.meta.to_vector();
    j["targets"] = k.targets.to_vector();
    if (seed == 1) {  // one travels as a checkpoint file, buffers included
      const std::string path = dir.file("hybrid.safetensors");
      io::write_safetensors(path, k.model->state_dict(), {{"arch", "hybrid"}});
      j["params_file"] = path;
    } else {
      for (const auto& [name, t] : k.model->state_dict()) j["params"][name] = t.to_vector();
    }
    input["cases"].push_back(j);
    cases.push_back(std::move(k));
    ++seed;
  }
  const test::PeerAnswer answer = test::run_peer("torch_models.py", input);
  if (!test::peer_available(answer, "torch")) return;
  const nlohmann::json& results = answer.out.at("results");
  REQUIRE(results.size() == cases.size());
  const test::Tolerance tol{1e-4, 1e-6};
  for (std::size_t i = 0; i < cases.size(); ++i) {
    Case& k = cases[i];
    const nlohmann::json& r = results[i];
    const std::string what = k.config.summary();
    INFO(what);
    for (const Tensor& p : k.model->parameters()) Tensor(p).zero_grad();
    Tape tape;
    Tensor logits, loss;
    {
      auto rec = tape.record();
      Generator gen(1);
      logits = k.model->forward({batch.tokens, batch.lengths, mb.meta}, layers::Phase::Eval, gen);
      loss = ops::bce_with_logits(logits, k.targets);
    }
    tape.backward(loss);
    test::check_close(logits.to_vector(), r.at("logits").get<std::vector<double>>(), tol, what + ": logits");
    test::check_close(loss.to_vector(), std::vector<double>{r.at("loss").get<double>()}, tol, what + ": loss");
    std::size_t compared = 0;
    for (const auto& item : k.model->named_parameters()) {
      // Named, not a structured binding: clang 14 cannot capture one in doctest's lambdas.
      const auto& name = item.first;
      const auto& p = item.second;
      REQUIRE_MESSAGE(r.at("grads").contains(name), name);
      REQUIRE_MESSAGE(p.grad().defined(), name, " got no gradient");
      const Tensor g = p.ndim() == 3 ? layers::conv_weight_to_torch(p.grad()) : p.grad();
      test::check_close(g.to_vector(), r.at("grads").at(name).get<std::vector<double>>(), tol, what + ": d " + name);
      ++compared;
    }
    CHECK(compared == r.at("grads").size());  // the torch module has no parameter loom lacks
  }
}
