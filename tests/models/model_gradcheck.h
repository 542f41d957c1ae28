// tests/models/model_gradcheck.h: a model's every parameter gradient against central finite
// differences in F64, for any models::Classifier (the text architectures in test_models_grad.cc,
// hybrid and meta-mlp in test_hybrid.cc).
//
// tests/support/gradcheck.h differentiates by its own leaf tensors; a model owns its parameters, so
// this applies the same method to them in place, restoring each element afterwards.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "models/classifier.h"
#include "ops/autograd.h"
#include "tests/support/compare.h"
#include "tests/support/gradcheck.h"
#include "tests/support/values.h"

namespace loom::test {

// L = sum_i w_i logits_i with fixed random w: its analytic gradient by one recorded backward
// against central differences (h 1e-6) of every parameter element, in F64 (rtol 1e-6 from tests/support/compare.h's F64 entry, floor 1e-8 from
// gradcheck.h). Dropout is on (Phase::Train) with the same masks in every evaluation (a fresh
// Generator of one seed each time), so dropout's backward is checked too.
inline void classifier_gradcheck(const models::Classifier& m, const models::ModelInputs& in, const std::string& what) {
  INFO("gradcheck of ", what);
  constexpr std::uint64_t kDropoutSeed = 99;
  auto weights = [&](const Tensor& y) {
    return Tensor::from_vector(test::random_values(y.numel(), 0x5eed, -1.0, 1.0), y.shape(), DType::F64);
  };
  auto value = [&]() {
    NoGradGuard no_grad;
    Generator gen(kDropoutSeed);
    const Tensor y = m.forward(in, layers::Phase::Train, gen);
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
      y = m.forward(in, layers::Phase::Train, gen);
    }
    tape.backward(y, weights(y));
  }
  const double h = 1e-6, rtol = test::tolerance(DType::F64).rtol, atol = 1e-8;
  std::int64_t checked = 0, total = 0, nonzero = 0;
  for (const auto& [name, p] : params) {
    total += p.numel();
    const Tensor g = p.grad();
    const std::vector<double> analytic =
        g.defined() ? g.to_vector_f64() : std::vector<double>(static_cast<std::size_t>(p.numel()), 0.0);
    for (double v : analytic) nonzero += v != 0.0;
    double* data = p.data<double>();
    for (std::int64_t j = 0; j < p.numel(); ++j) {
      const double numeric = test::central_difference(data[j], h, value);
      if (!(std::fabs(analytic[j] - numeric) <= atol + rtol * std::fabs(numeric))) {
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
  CHECK(checked == total);         // every element of every parameter was compared
  CHECK(nonzero > total / 4);      // and the gradient is not trivially zero
}

}  // namespace loom::test
