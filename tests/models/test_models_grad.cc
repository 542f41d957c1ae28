// tests/models/test_models_grad.cc: every architecture's gradient, end to end, against central
// finite differences in F64 (the models are built with F64 parameters; every op they use runs F64
// on the CPU).
//
// tests/support/gradcheck.h differentiates by its own leaf tensors; a model owns its parameters,
// so this file applies the same method to them in place: the analytic gradient of
// L = sum_i w_i logits_i (fixed random w) from one recorded backward, then for each parameter
// element p_j, (L(p_j + h) - L(p_j - h)) / 2h with h = 1e-6, restored afterwards. Tolerance: the
// table's F64 entry (rtol 1e-6) with gradcheck.h's floor 1e-8, for the reasons given there.
// Dropout is ON (Phase::Train): each evaluation starts a fresh Generator with the same seed, so
// every one draws the same masks, and the check covers dropout's backward too. The batch mixes
// lengths (1, shorter than the conv widths, full), so masking, padded lengths and the pooled
// lengths of cnn-lstm are all differentiated through.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "ops/autograd.h"
#include "tests/models/model_util.h"
#include "tests/support/compare.h"
#include "tests/support/gradcheck.h"
#include "tests/support/values.h"

using namespace loom;

namespace {

constexpr std::uint64_t kDropoutSeed = 99;

void model_gradcheck(const models::TextClassifier& m, const test::TokenBatch& batch, const std::string& what) {
  INFO("model gradcheck of ", what);
  auto weights = [&](const Tensor& logits) {
    return Tensor::from_vector(test::random_values(logits.numel(), 0x5eed, -1.0, 1.0), logits.shape(), DType::F64);
  };
  auto value = [&]() {
    NoGradGuard no_grad;
    Generator gen(kDropoutSeed);
    const Tensor y = m.forward(batch.tokens, batch.lengths, layers::Phase::Train, gen);
    const std::vector<double> v = y.to_vector_f64(), w = weights(y).to_vector_f64();
    double s = 0;
    for (std::size_t i = 0; i < v.size(); ++i) s += w[i] * v[i];
    return s;
  };

  const std::vector<layers::NamedTensor> params = m.named_parameters();
  for (const auto& [name, p] : params) {
    REQUIRE(p.dtype() == DType::F64);
    Tensor(p).zero_grad();
  }
  {
    Tape tape;
    Tensor y;
    Generator gen(kDropoutSeed);
    {
      auto rec = tape.record();
      y = m.forward(batch.tokens, batch.lengths, layers::Phase::Train, gen);
    }
    tape.backward(y, weights(y));
  }

  const double h = 1e-6, rtol = test::tolerance(DType::F64).rtol, atol = 1e-8;
  int checked = 0;
  for (const auto& [name, p] : params) {
    const Tensor g = p.grad();
    const std::vector<double> analytic =
        g.defined() ? g.to_vector_f64() : std::vector<double>(static_cast<std::size_t>(p.numel()), 0.0);
    double* data = p.data<double>();
    for (std::int64_t j = 0; j < p.numel(); ++j) {
      const double numeric = test::central_difference(data[j], h, value);
      const double diff = std::fabs(analytic[j] - numeric);
      if (!(diff <= atol + rtol * std::fabs(numeric))) {
        std::ostringstream os;
        os.precision(12);
        os << what << ": " << name << " " << shape_str(p.shape()) << " element " << j << ": analytic " << analytic[j]
           << " vs numeric " << numeric;
        FAIL_CHECK(os.str());
        break;  // one report per tensor
      }
      ++checked;
    }
  }
  // Every element of every parameter was compared, and the gradient is not trivially zero.
  std::int64_t total = 0, nonzero = 0;
  for (const auto& [name, p] : params) {
    total += p.numel();
    if (p.grad().defined())
      for (double v : p.grad().to_vector_f64()) nonzero += v != 0.0;
  }
  CHECK(checked == total);
  CHECK(nonzero > total / 4);
}

}  // namespace

TEST_CASE("models: every architecture's gradient passes an F64 finite-difference check") {
  for (models::Arch arch : test::all_archs()) {
    for (std::int64_t K : {1, 3}) {
      const auto m = models::make_text_model(test::tiny_config(arch, K), 17, Device::cpu(), DType::F64);
      // Lengths 6 (full), 1 and 2 (shorter than width 3), 4; garbage ids past each length.
      const test::TokenBatch batch = test::make_batch({6, 1, 2, 4}, 6, 11, 5, /*pad_id=*/9);
      model_gradcheck(*m, batch, test::arch_str(arch) + " with " + std::to_string(K) + " outputs");
    }
  }
}
