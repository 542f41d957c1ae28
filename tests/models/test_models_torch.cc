// tests/models/test_models_torch.cc: live parity with the equivalent PyTorch modules
// (tests/peers/torch_models.py, Debian's python3-torch): loom's state_dict is loaded into
// TorchTextClassifier with strict=True (so every name and shape must match), both run the same
// token ids (with garbage past the lengths) and lengths (1, shorter than the widest window,
// full), and the logits, the BCE loss and the gradient of every parameter are compared.
//
// The bilstm and lstm-cnn cases travel as a checkpoint: loom's state_dict written with
// io::write_safetensors, read by the peer's plain safetensors reader and loaded with strict=True
// (the "a loom checkpoint loads into the equivalent PyTorch model"); loom reads the same
// file back into a fresh model, which must give bit-identical logits.
//
// Tolerance 1e-4 relative (the bar for checkpoint parity) with a 1e-6 absolute floor:
// both sides compute in F32 but sum in different orders (OpenBLAS vs MKL-DNN GEMM blocking,
// packed vs padded LSTM batches), which moves results by a few ulps per accumulated term;
// gradients that cancel to ~0 keep only that absolute noise (~1e-7 here).
#include <doctest/doctest.h>

#include "ops/autograd.h"
#include "ops/loss.h"
#include "io/safetensors.h"
#include "layers/conv1d.h"
#include "tests/models/model_util.h"
#include "tests/support/compare.h"
#include "tests/support/peer.h"
#include "tests/support/temp_dir.h"

using namespace loom;

namespace {

struct Case {
  models::ModelConfig config;
  std::unique_ptr<models::TextClassifier> model;
  test::TokenBatch batch;
  Tensor targets;
};

models::ModelConfig peer_config(models::Arch arch, std::int64_t K) {
  models::ModelConfig c = test::tiny_config(arch, K);
  c.vocab_size = 30;
  c.embed_dim = 6;
  c.hidden = 5;
  c.filters = 4;
  c.widths = {2, 4};
  return c;
}

}  // namespace

TEST_CASE("models: logits and every parameter gradient match the equivalent PyTorch module") {
  std::vector<Case> cases;
  nlohmann::json input;
  input["cases"] = nlohmann::json::array();
  const test::TempDir dir("models");
  std::vector<std::string> files;
  std::uint64_t seed = 1;
  for (models::Arch arch : test::all_archs()) {
    for (std::int64_t K : {1, 3}) {
      Case c;
      c.config = peer_config(arch, K);
      c.model = models::make_text_model(c.config, 100 + seed, Device::cpu());
      // Lengths: full (8), 1, 3 (shorter than width 4), 5, 2; garbage id 29 past each length.
      c.batch = test::make_batch({8, 1, 3, 5, 2}, 8, 30, seed, /*pad_id=*/29);
      c.targets = test::random_targets(5, K, seed);
      nlohmann::json j;
      j["config"] = c.config.to_json();
      j["T"] = 8;
      j["B"] = 5;
      j["tokens"] = c.batch.tokens.to_vector_i32();
      j["lengths"] = c.batch.lengths.to_vector_i32();
      j["targets"] = c.targets.to_vector();
      if (K == 1 && (arch == models::Arch::Bilstm || arch == models::Arch::LstmCnn)) {
        const std::string path = dir.file(std::string(models::arch_name(arch)) + ".safetensors");
        io::write_safetensors(path, c.model->state_dict(), {{"arch", models::arch_name(arch)}});
        files.push_back(path);
        j["params_file"] = path;
        // loom reads its own checkpoint back: the same logits, bit for bit.
        const auto again = models::make_text_model(c.config, 999, Device::cpu());
        again->load_state_dict(io::read_safetensors(path).tensors);
        NoGradGuard no_grad;
        Generator g1(1), g2(1);
        CHECK(again->forward(c.batch.tokens, c.batch.lengths, layers::Phase::Eval, g1).to_vector() ==
              c.model->forward(c.batch.tokens, c.batch.lengths, layers::Phase::Eval, g2).to_vector());
      } else {
        for (const auto& [name, t] : c.model->state_dict()) j["params"][name] = t.to_vector();
      }
      input["cases"].push_back(j);
      cases.push_back(std::move(c));
      ++seed;
    }
  }
  const test::PeerAnswer answer = test::run_peer("torch_models.py", input);
  CHECK(files.size() == 2);
  if (!test::peer_available(answer, "torch")) return;
  const nlohmann::json& results = answer.out.at("results");
  REQUIRE(results.size() == cases.size());

  const test::Tolerance tol{1e-4, 1e-6};
  for (std::size_t i = 0; i < cases.size(); ++i) {
    Case& c = cases[i];
    const nlohmann::json& r = results[i];
    const std::string what = c.config.summary();
    INFO(what);
    for (const Tensor& p : c.model->parameters()) Tensor(p).zero_grad();
    Tape tape;
    Tensor logits, loss;
    {
      auto rec = tape.record();
      Generator gen(1);
      logits = c.model->forward(c.batch.tokens, c.batch.lengths, layers::Phase::Eval, gen);
      loss = ops::bce_with_logits(logits, c.targets);
    }
    tape.backward(loss);
    test::check_close(logits.to_vector(), r.at("logits").get<std::vector<double>>(), tol, what + ": logits");
    test::check_close(loss.to_vector(), std::vector<double>{r.at("loss").get<double>()}, tol, what + ": loss");
    std::size_t compared = 0;
    for (const auto& item : c.model->named_parameters()) {
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
