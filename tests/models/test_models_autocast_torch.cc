// tests/models/test_models_autocast_torch.cc: live parity of one classifier's BF16 autocast
// forward and backward with torch.autocast("cpu", dtype=torch.bfloat16) (tests/peers/
// torch_autocast.py, Debian's python3-torch 1.13): same F32 weights, same batch, and the logits,
// the loss and every F32 master gradient compared.
//
// The model is Kim's CNN ("cnn": embedding -> text-CNN (conv1d, relu, max over time) -> linear
// head -> BCE with logits) because that is where the two policies say the same thing:
//   op         PyTorch 1.13 CPU autocast             loom (ops/autocast_policy.cc)
//   embedding  F32 (not in the lists)                gather in F32, output cast to bf16
//   conv1d     bf16 (input, weight, bias cast)       bf16 (input, weight, bias cast)
//   relu, max  whatever arrives (bf16)               AsIs (bf16)
//   linear     bf16                                  bf16
//   BCE        F32 (bf16 logits, F32 targets)        F32 (logits cast to F32)
// torch's F32 embedding output is rounded to bf16 by the conv's cast, which is exactly the cast
// loom applies at the embedding's output, so both sides feed the same bf16 values to every GEMM.
// (The LSTM models do not fit: torch 1.13 runs nn.LSTM in F32 under CPU autocast, loom in bf16.)
//
// Tolerance: both sides round the same F32 values to bf16 (round to nearest even) and accumulate
// every dot product in F32, so the rounded results differ only where the two F32 sums (summed in
// different orders) straddle a bf16 rounding boundary: then by one bf16 ulp (2^-8 relative), which
// later layers carry on, and a max over time may pick a different window when two bf16 values
// tie. That is the table's BF16 row (tests/support/compare.h: ~5 bf16 ulps at O(1) values). The
// test also requires the bf16 run to be measurably bf16: loom's own F32 run must differ from
// torch's bf16 logits by more than the bf16 run does (else the comparison could not tell).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "ops/autocast.h"
#include "ops/autograd.h"
#include "ops/loss.h"
#include "layers/conv1d.h"
#include "tests/models/model_util.h"
#include "tests/support/compare.h"
#include "tests/support/peer.h"

using namespace loom;

namespace {

struct Run {
  Tensor logits, loss;
  std::vector<std::pair<std::string, Tensor>> grads;  // torch layout
};

Run forward_backward(const models::TextClassifier& model, const test::TokenBatch& batch, const Tensor& targets,
                     ops::Precision precision) {
  for (const Tensor& p : model.parameters()) Tensor(p).zero_grad();
  Tape tape;
  Run r;
  {
    auto rec = tape.record();
    ops::AutocastScope amp(precision);
    Generator gen(1);
    r.logits = model.forward(batch.tokens, batch.lengths, layers::Phase::Eval, gen);
    r.loss = ops::bce_with_logits(r.logits, targets);
  }
  tape.backward(r.loss);
  for (const auto& item : model.named_parameters()) {
    // Named, not a structured binding: clang 14 cannot capture one in doctest's lambdas.
    const auto& name = item.first;
    const auto& p = item.second;
    REQUIRE_MESSAGE(p.grad().defined(), name, " got no gradient");
    r.grads.emplace_back(name, p.ndim() == 3 ? layers::conv_weight_to_torch(p.grad()) : p.grad());
  }
  return r;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

std::size_t same_values(const std::vector<float>& a, const std::vector<double>& b) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) n += static_cast<double>(a[i]) == b[i];
  return n;
}

}  // namespace

TEST_CASE("models: a BF16 autocast step matches torch.autocast(cpu, bfloat16): logits, loss, every gradient") {
  struct Case {
    models::ModelConfig config;
    std::unique_ptr<models::TextClassifier> model;
    test::TokenBatch batch;
    Tensor targets;
  };
  std::vector<Case> cases;
  nlohmann::json input;
  input["cases"] = nlohmann::json::array();
  std::uint64_t seed = 1;
  for (std::int64_t K : {1, 3}) {
    Case c;
    c.config = test::tiny_config(models::Arch::Cnn, K);
    c.config.vocab_size = 30;
    c.config.embed_dim = 16;  // dot products of 16 * width terms: long enough for bf16 to show
    c.config.filters = 8;
    c.config.widths = {2, 4};
    c.model = models::make_text_model(c.config, 300 + seed, Device::cpu());
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
    for (const auto& [name, t] : c.model->state_dict()) j["params"][name] = t.to_vector();
    input["cases"].push_back(j);
    cases.push_back(std::move(c));
    ++seed;
  }
  const test::PeerAnswer answer = test::run_peer("torch_autocast.py", input);
  if (!test::peer_available(answer, "torch")) return;
  const nlohmann::json& results = answer.out.at("results");
  REQUIRE(results.size() == cases.size());

  for (std::size_t i = 0; i < cases.size(); ++i) {
    Case& c = cases[i];
    const nlohmann::json& r = results[i];
    const std::string what = c.config.summary();
    INFO(what);
    // What each side ran in: bf16 logits, an F32 loss, F32 master gradients.
    CHECK(r.at("logits_dtype") == "bfloat16");
    CHECK(r.at("loss_dtype") == "float32");
    CHECK(r.at("grad_dtypes") == nlohmann::json::array({"float32"}));
    const Run bf16 = forward_backward(*c.model, c.batch, c.targets, ops::Precision::BF16);
    CHECK(bf16.logits.dtype() == DType::BF16);
    CHECK(bf16.loss.dtype() == DType::F32);

    const auto torch_logits = r.at("logits").get<std::vector<double>>();
    test::check_close(bf16.logits.to_vector(), torch_logits, DType::BF16, what + ": logits");
    test::check_close(bf16.loss.to_vector(), std::vector<double>{r.at("loss").get<double>()}, DType::BF16,
                      what + ": loss");
    std::size_t compared = 0;
    for (const auto& item : bf16.grads) {
      // Named, not a structured binding: clang 14 cannot capture one in doctest's lambdas.
      const auto& name = item.first;
      const auto& g = item.second;
      REQUIRE_MESSAGE(r.at("grads").contains(name), name);
      CHECK_MESSAGE(g.dtype() == DType::F32, name, ": the master's gradient must be F32");
      test::check_close(g.to_vector(), r.at("grads").at(name).get<std::vector<double>>(), DType::BF16,
                        what + ": d " + name);
      ++compared;
    }
    CHECK(compared == r.at("grads").size());

    // The comparison can tell bf16 from F32: most of loom's bf16 logits are torch's bits exactly
    // (both round the same F32 sums), which an F32 run's logits almost never are.
    const Run f32 = forward_backward(*c.model, c.batch, c.targets, ops::Precision::F32);
    const std::size_t same_bf16 = same_values(bf16.logits.to_vector(), torch_logits);
    const std::size_t same_f32 = same_values(f32.logits.to_vector(), torch_logits);
    MESSAGE(what << ": logits equal to torch's: loom bf16 " << same_bf16 << ", loom f32 " << same_f32 << " of "
                 << torch_logits.size() << "; max |diff| loom bf16 " << max_abs_diff(bf16.logits.to_vector(), torch_logits)
                 << ", loom f32 " << max_abs_diff(f32.logits.to_vector(), torch_logits));
    CHECK(same_bf16 > same_f32);
  }
}
