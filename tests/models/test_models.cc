// tests/models/test_models.cc: the classifiers' contract, per architecture: output shapes for any
// T >= 1 (rows shorter than the widest kernel included), padding invariance, state_dict names and
// PyTorch layouts, load_state_dict validation, --freeze-embeddings, ModelConfig JSON and presets.
// Gradients: test_models_grad.cc; PyTorch parity: test_models_torch.cc; learning:
// test_models_learning.cc.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <sstream>

#include "ops/autograd.h"
#include "ops/loss.h"
#include "layers/conv1d.h"
#include "models/factory.h"
#include "models/model_config.h"
#include "models/text_classifier.h"
#include "tests/models/model_util.h"
#include "tests/support/compare.h"

using namespace loom;
using loom::test::all_archs;
using loom::test::arch_str;
using loom::test::make_batch;
using loom::test::tiny_config;

namespace {

// Runs fn and returns the CheckpointError's message ("" if nothing or something else was thrown).
template <typename Fn>
std::string checkpoint_error(Fn&& fn) {
  try {
    fn();
  } catch (const CheckpointError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("WRONG EXCEPTION: ") + e.what();
  }
  return "";
}

std::vector<float> eval_logits(const models::TextClassifier& m, const test::TokenBatch& b) {
  NoGradGuard no_grad;
  return m.forward(b.tokens, b.lengths, layers::Phase::Eval, default_generator()).to_vector();
}

std::string names_and_shapes(const std::vector<layers::NamedTensor>& params) {
  std::ostringstream os;
  for (const auto& [name, t] : params) os << name << shape_str(t.shape()) << " ";
  return os.str();
}

}  // namespace

TEST_CASE("models: logits are B x K for every arch and task with T = 1 and short rows and mixed lengths") {
  for (models::Arch arch : all_archs()) {
    for (std::int64_t K : {1, 3}) {
      const auto m = models::make_text_model(tiny_config(arch, K), 7, Device::cpu());
      // T = 1; rows shorter than every kernel (widths 2, 3); a mixed batch with padding.
      const std::vector<std::pair<std::int64_t, std::vector<std::int32_t>>> cases{
          {1, {1, 1, 1}}, {2, {2, 1}}, {9, {9, 1, 4, 2, 3}}};
      for (const auto& item : cases) {
        // Named, not a structured binding: clang 14 cannot capture one in doctest's lambdas.
        const auto& T = item.first;
        const auto& lengths = item.second;
        INFO(arch_str(arch), ", K = ", K, ", T = ", T);
        const test::TokenBatch b = make_batch(lengths, T, 11, 3);
        Generator gen(1);
        for (layers::Phase phase : {layers::Phase::Eval, layers::Phase::Train}) {
          const Tensor y = m->forward(b.tokens, b.lengths, phase, gen);
          CHECK(y.shape() == Shape({static_cast<std::int64_t>(lengths.size()), K}));
          CHECK(y.dtype() == DType::F32);
          for (float v : y.to_vector()) CHECK(std::isfinite(v));
        }
      }
    }
  }
}

TEST_CASE("models: a row's logits ignore padding and garbage past its length and the other rows") {
  for (models::Arch arch : all_archs()) {
    INFO(arch_str(arch));
    const auto m = models::make_text_model(tiny_config(arch, 3), 11, Device::cpu());
    // Reference: the three rows alone, each in a batch exactly as long as itself.
    const std::vector<std::int32_t> lengths{5, 1, 2};
    const test::TokenBatch full = make_batch({5, 1, 2, 4}, 5, 11, 21);
    const test::TokenBatch padded = make_batch({5, 1, 2, 4}, 12, 11, 21, /*pad_id=*/7);  // garbage ids
    std::vector<float> alone;
    for (int b = 0; b < 3; ++b) {
      const std::int64_t len = lengths[b];
      std::vector<std::int32_t> ids;
      const std::vector<std::int32_t> all = full.tokens.to_vector_i32();
      for (std::int64_t t = 0; t < len; ++t) ids.push_back(all[t * 4 + b]);
      const test::TokenBatch one{Tensor::from_vector(ids, {len, 1}), Tensor::from_vector(std::vector<std::int32_t>{static_cast<std::int32_t>(len)}, {1})};
      for (float v : eval_logits(*m, one)) alone.push_back(v);
    }
    // make_batch draws ids per (t, b) of a [T, B] grid, so T = 12 changes the rows' ids: build
    // the padded batch from the T = 5 one instead, then change row 3 completely.
    std::vector<std::int32_t> ids = padded.tokens.to_vector_i32();
    const std::vector<std::int32_t> base = full.tokens.to_vector_i32();
    for (std::int64_t t = 0; t < 12; ++t)
      for (int b = 0; b < 4; ++b) {
        if (b < 3 && t < lengths[b]) ids[t * 4 + b] = base[t * 4 + b];
        if (b == 3) ids[t * 4 + b] = 2 + static_cast<std::int32_t>((t * 5 + 3) % 9);
      }
    const test::TokenBatch mixed{Tensor::from_vector(ids, {12, 4}),
                                 Tensor::from_vector(std::vector<std::int32_t>{5, 1, 2, 12}, {4})};
    const std::vector<float> in_full = eval_logits(*m, full), in_mixed = eval_logits(*m, mixed);
    // Float sums over different batch shapes may round differently (GEMM blocking): 1e-5 relative.
    const test::Tolerance tol{1e-5, 1e-6};
    test::check_close(std::vector<float>(in_full.begin(), in_full.begin() + 9), alone, tol, "batch T = 5 vs alone");
    test::check_close(std::vector<float>(in_mixed.begin(), in_mixed.begin() + 9), alone, tol,
                      "batch T = 12, garbage padding, row 3 changed vs alone");
    // The changed row itself must change (the check above is not vacuous).
    CHECK(std::vector<float>(in_full.begin() + 9, in_full.end()) != std::vector<float>(in_mixed.begin() + 9, in_mixed.end()));
  }
}

TEST_CASE("models: state_dict names and shapes are those of the equivalent PyTorch module") {
  auto names = [](models::Arch arch) {
    return names_and_shapes(models::make_text_model(tiny_config(arch, 3), 1, Device::cpu())->state_dict());
  };
  const std::string lstm_l1 =
      "lstm.weight_ih_l1[12, 3] lstm.weight_hh_l1[12, 3] lstm.bias_ih_l1[12] lstm.bias_hh_l1[12] ";
  CHECK(names(models::Arch::Bow) == "embedding.weight[11, 4] head.weight[3, 4] head.bias[3] ");
  CHECK(names(models::Arch::Cnn) ==
        "embedding.weight[11, 4] convs.0.weight[3, 4, 2] convs.0.bias[3] convs.1.weight[3, 4, 3] convs.1.bias[3] "
        "head.weight[3, 6] head.bias[3] ");
  CHECK(names(models::Arch::Lstm) ==
        "embedding.weight[11, 4] lstm.weight_ih_l0[12, 4] lstm.weight_hh_l0[12, 3] lstm.bias_ih_l0[12] "
        "lstm.bias_hh_l0[12] " + lstm_l1 + "head.weight[3, 3] head.bias[3] ");
  CHECK(names(models::Arch::Bilstm) ==
        "embedding.weight[11, 4] lstm.weight_ih_l0[12, 4] lstm.weight_hh_l0[12, 3] lstm.bias_ih_l0[12] "
        "lstm.bias_hh_l0[12] lstm.weight_ih_l0_reverse[12, 4] lstm.weight_hh_l0_reverse[12, 3] "
        "lstm.bias_ih_l0_reverse[12] lstm.bias_hh_l0_reverse[12] lstm.weight_ih_l1[12, 6] lstm.weight_hh_l1[12, 3] "
        "lstm.bias_ih_l1[12] lstm.bias_hh_l1[12] lstm.weight_ih_l1_reverse[12, 6] lstm.weight_hh_l1_reverse[12, 3] "
        "lstm.bias_ih_l1_reverse[12] lstm.bias_hh_l1_reverse[12] head.weight[3, 6] head.bias[3] ");
  CHECK(names(models::Arch::CnnLstm) ==
        "embedding.weight[11, 4] conv.weight[3, 4, 2] conv.bias[3] lstm.weight_ih_l0[12, 3] lstm.weight_hh_l0[12, 3] "
        "lstm.bias_ih_l0[12] lstm.bias_hh_l0[12] " + lstm_l1 + "head.weight[3, 3] head.bias[3] ");
  CHECK(names(models::Arch::LstmCnn) ==
        "embedding.weight[11, 4] lstm.weight_ih_l0[12, 4] lstm.weight_hh_l0[12, 3] lstm.bias_ih_l0[12] "
        "lstm.bias_hh_l0[12] " + lstm_l1 +
        "convs.0.weight[3, 3, 2] convs.0.bias[3] convs.1.weight[3, 3, 3] convs.1.bias[3] head.weight[3, 6] head.bias[3] ");
  // Conv weights are exported transposed from loom's [F, K, C].
  const auto m = models::make_text_model(tiny_config(models::Arch::Cnn), 1, Device::cpu());
  CHECK(m->named_parameters()[1].second.shape() == Shape({3, 2, 4}));
  CHECK(m->state_dict()[1].second.to_vector() == layers::conv_weight_to_torch(m->named_parameters()[1].second).to_vector());
}

TEST_CASE("models: init follows the seed and PyTorch's defaults") {
  const auto a = models::make_text_model(tiny_config(models::Arch::LstmCnn), 5, Device::cpu());
  const auto b = models::make_text_model(tiny_config(models::Arch::LstmCnn), 5, Device::cpu());
  const auto c = models::make_text_model(tiny_config(models::Arch::LstmCnn), 6, Device::cpu());
  const auto pa = a->named_parameters(), pb = b->named_parameters(), pc = c->named_parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    INFO(pa[i].first);
    CHECK(pa[i].second.to_vector() == pb[i].second.to_vector());
    CHECK(pa[i].second.to_vector() != pc[i].second.to_vector());
  }
  // Embedding N(0, 1): a large table has mean ~0 and variance ~1. Head U(+-1/sqrt(D)).
  models::ModelConfig big = tiny_config(models::Arch::Bow);
  big.vocab_size = 1000;
  big.embed_dim = 40;
  const auto m = models::make_text_model(big, 3, Device::cpu());
  double s = 0, s2 = 0;
  const std::vector<float> w = m->embedding_weight().to_vector();
  for (float v : w) s += v, s2 += double(v) * v;
  CHECK(std::abs(s / w.size()) < 0.02);
  CHECK(std::abs(s2 / w.size() - 1.0) < 0.03);
  for (float v : m->state_dict()[1].second.to_vector()) CHECK(std::abs(v) <= 1.0f / std::sqrt(40.0f));
  // The Keras preset: Embedding U(+-0.05), zero head bias.
  models::ModelConfig k = models::preset("bilstm-imdb");
  k.vocab_size = 50;
  const auto km = models::make_text_model(k, 3, Device::cpu());
  for (float v : km->embedding_weight().to_vector()) CHECK(std::abs(v) <= 0.05f);
  for (float v : km->state_dict().back().second.to_vector()) CHECK(v == 0.0f);
}

TEST_CASE("models: load_state_dict round trip and errors naming the tensor") {
  for (models::Arch arch : all_archs()) {
    INFO(arch_str(arch));
    const auto src = models::make_text_model(tiny_config(arch, 3), 1, Device::cpu());
    const auto dst = models::make_text_model(tiny_config(arch, 3), 2, Device::cpu());
    const test::TokenBatch b = make_batch({4, 1, 3}, 4, 11, 5);
    const std::vector<float> before = eval_logits(*dst, b);
    REQUIRE(before != eval_logits(*src, b));

    std::vector<layers::NamedTensor> sd = src->state_dict();
    auto missing = sd;
    missing.erase(missing.begin() + 1);
    std::string msg = checkpoint_error([&] { dst->load_state_dict(missing); });
    CHECK(msg.find("missing tensors: " + sd[1].first) != std::string::npos);

    auto extra = sd;
    extra.emplace_back("head.running_mean", Tensor::zeros({3}));
    msg = checkpoint_error([&] { dst->load_state_dict(extra); });
    CHECK(msg.find("unexpected tensors: head.running_mean") != std::string::npos);

    auto wrong = sd;
    wrong.back().second = Tensor::zeros({4});  // head.bias is [3]
    msg = checkpoint_error([&] { dst->load_state_dict(wrong); });
    CHECK(msg.find("'head.bias': expected shape [3], found [4]") != std::string::npos);

    auto twice = sd;
    twice.push_back(sd.front());
    msg = checkpoint_error([&] { dst->load_state_dict(twice); });
    CHECK(msg.find("'embedding.weight' appears twice") != std::string::npos);

    auto ints = sd;
    ints.front().second = Tensor::zeros(sd.front().second.shape(), DType::I32);
    msg = checkpoint_error([&] { dst->load_state_dict(ints); });
    CHECK(msg.find("expected a float tensor") != std::string::npos);

    // Every failure above left the model untouched; a good state dict (even in F64) loads fully.
    CHECK(eval_logits(*dst, b) == before);
    std::vector<layers::NamedTensor> f64;
    for (const auto& [name, t] : sd) f64.emplace_back(name, t.to(DType::F64));
    dst->load_state_dict(f64);
    CHECK(eval_logits(*dst, b) == eval_logits(*src, b));
  }
  // A conv weight handed over in loom's [F, K, C] layout instead of PyTorch's [F, C, K].
  const auto cnn = models::make_text_model(tiny_config(models::Arch::Cnn), 1, Device::cpu());
  auto sd = cnn->state_dict();
  sd[1].second = cnn->named_parameters()[1].second;
  const std::string msg = checkpoint_error([&] { cnn->load_state_dict(sd); });
  CHECK(msg.find("'convs.0.weight': expected shape [3, 4, 2], found [3, 2, 4]") != std::string::npos);
}

TEST_CASE("models: freezing the embeddings removes them from training") {
  const auto m = models::make_text_model(tiny_config(models::Arch::Lstm), 1, Device::cpu());
  const std::size_t all = m->named_parameters().size();
  CHECK(m->trainable_parameters().size() == all);
  m->set_freeze_embeddings(true);
  CHECK(m->embeddings_frozen());
  CHECK(m->trainable_parameters().size() == all - 1);
  for (const Tensor& t : m->trainable_parameters()) CHECK(!t.same_data(m->embedding_weight()));
  const test::TokenBatch b = make_batch({3, 2}, 3, 11, 1);
  Generator gen(1);
  test::bce_step(*m, b, test::random_targets(2, 1, 1), layers::Phase::Train, gen);
  CHECK_FALSE(m->embedding_weight().grad().defined());
  for (const Tensor& t : m->trainable_parameters()) CHECK(t.grad().defined());
  m->set_freeze_embeddings(false);
  CHECK(m->trainable_parameters().size() == all);
  test::bce_step(*m, b, test::random_targets(2, 1, 1), layers::Phase::Train, gen);
  CHECK(m->embedding_weight().grad().defined());
}

TEST_CASE("models: ModelConfig JSON round trip and validation") {
  models::ModelConfig c = tiny_config(models::Arch::CnnLstm, 4);
  c.preset = "mine";
  c.init = models::Init::Keras;
  c.lstm_impl.impl = Impl::Cpu;  // run-time only: not saved
  const nlohmann::json j = c.to_json();
  CHECK_FALSE(j.contains("lstm_impl"));
  const models::ModelConfig r = models::ModelConfig::from_json(nlohmann::json::parse(j.dump()));
  CHECK(r.to_json() == j);
  CHECK(r.arch == models::Arch::CnnLstm);
  CHECK(r.widths == std::vector<std::int64_t>{2, 3});
  CHECK(r.dropout == c.dropout);
  CHECK(r.init == models::Init::Keras);
  CHECK(r.lstm_impl.impl == Impl::Auto);

  auto broken = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json k = j;
    edit(k);
    return checkpoint_error([&] { models::ModelConfig::from_json(k); });
  };
  CHECK(broken([](nlohmann::json& k) { k.erase("hidden"); }).find("missing field 'hidden'") != std::string::npos);
  CHECK(broken([](nlohmann::json& k) { k["layers"] = "two"; }).find("'layers' must be an integer") != std::string::npos);
  CHECK(broken([](nlohmann::json& k) { k["arch"] = "transformer"; }).find("unknown architecture 'transformer'") != std::string::npos);
  CHECK(broken([](nlohmann::json& k) { k["dropout"] = 1.5; }).find("dropout must be in [0, 1)") != std::string::npos);
  CHECK(broken([](nlohmann::json& k) { k["widths"] = nlohmann::json::array(); }).find("conv widths") != std::string::npos);
  CHECK(broken([](nlohmann::json& k) { k["widths"] = {3, "x"}; }).find("'widths' holds") != std::string::npos);
  CHECK(broken([](nlohmann::json& k) { k["vocab_size"] = 1; }).find("vocab_size must be >= 2") != std::string::npos);
  CHECK(broken([](nlohmann::json& k) { k["colour"] = "red"; }).find("unknown field 'colour'") != std::string::npos);
  CHECK(checkpoint_error([] { models::ModelConfig::from_json(nlohmann::json::array()); }).find("JSON object") !=
        std::string::npos);
}

TEST_CASE("models: arch names and presets and config errors") {
  for (models::Arch a : all_archs()) CHECK(models::parse_arch(models::arch_name(a)) == a);
  CHECK_THROWS_WITH_AS(models::parse_arch("gru"), doctest::Contains("bow, cnn, lstm, bilstm, cnn-lstm, lstm-cnn"), Error);

  const models::ModelConfig imdb = models::preset("bilstm-imdb");
  CHECK(imdb.arch == models::Arch::Bilstm);
  CHECK(imdb.embed_dim == 128);
  CHECK(imdb.hidden == 64);
  CHECK(imdb.layers == 2);
  CHECK(imdb.init == models::Init::Keras);
  CHECK(imdb.preset == "bilstm-imdb");
  const models::ModelConfig kim = models::preset("cnn-kim");
  CHECK(kim.arch == models::Arch::Cnn);
  CHECK(kim.widths == std::vector<std::int64_t>{3, 4, 5});
  CHECK(kim.filters == 100);
  CHECK(kim.dropout == 0.5f);
  CHECK(models::is_preset("cnn-kim"));
  CHECK_FALSE(models::is_preset("cnn"));
  CHECK_THROWS_WITH_AS(models::preset("bert"), doctest::Contains("bilstm-imdb, cnn-kim"), Error);
  // A preset without a vocabulary cannot be built: the data fills vocab_size.
  CHECK_THROWS_WITH_AS(models::make_text_model(imdb, 1, Device::cpu()), doctest::Contains("vocab_size"), Error);
  models::ModelConfig bad = tiny_config(models::Arch::Lstm);
  bad.hidden = 0;
  CHECK_THROWS_WITH_AS(models::make_text_model(bad, 1, Device::cpu()), doctest::Contains("hidden must be >= 1"), Error);
  CHECK(kim.summary().find("cnn (preset cnn-kim): embed 300, convs 3,4,5 x 100") == 0);

  // Bad batches name what is wrong.
  const auto m = models::make_text_model(tiny_config(models::Arch::Bilstm), 1, Device::cpu());
  const test::TokenBatch b = make_batch({2, 3}, 3, 11, 1);
  Generator gen;
  CHECK_THROWS_WITH_AS(m->forward(b.tokens, Tensor::from_vector(std::vector<std::int32_t>{0, 3}, {2}),
                                  layers::Phase::Eval, gen),
                       doctest::Contains("lengths[0] = 0 is outside [1, T] = [1, 3]"), ShapeError);
  CHECK_THROWS_WITH_AS(m->forward(b.tokens, Tensor::from_vector(std::vector<std::int32_t>{2, 4}, {2}),
                                  layers::Phase::Eval, gen),
                       doctest::Contains("lengths[1] = 4"), ShapeError);
  CHECK_THROWS_AS(m->forward(Tensor::full({3, 2}, 11, DType::I32), b.lengths, layers::Phase::Eval, gen), ShapeError);
}
