// tests/support/gradcheck.h: compare an op's analytic gradient with central finite differences.
//
// Layer 1 of the test pyramid (1 finite differences, 2 backends against the CPU reference,
// 3 invariances, 4 live PyTorch peers, 5 learning): every CPU op's backward is checked in F64
// against
//     df/dx_j ~= (f(x + h e_j) - f(x - h e_j)) / 2h,   h = 1e-6,
// whose error (~h^2 |f'''| + eps |f| / h ~ 1e-10) is far below the tolerance rtol 1e-6 (plus a
// small absolute floor for derivatives that are exactly zero).
//
// Every gradient check also runs a second forward + backward and requires the leaf gradients to
// have exactly doubled (parameter gradients accumulate: GradMode::Accumulate in every backward).
//
// The function under test maps a list of F64 leaf tensors to ONE tensor y. When y has more than
// one element it is made scalar with a fixed random weighting, loss = sum_i w_i y_i: analytically
// by seeding the backward pass with dy = w (Tape::backward(y, w)), numerically by forming the same
// dot product on the host. Random weights catch a backward that mixes up elements, which a plain
// sum (all weights 1) would miss.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "ops/autograd.h"
#include "ops/tensor.h"
#include "tests/support/compare.h"
#include "tests/support/values.h"

namespace loom::test {

using GradFn = std::function<Tensor(const std::vector<Tensor>&)>;

// f(inputs) with `tape` recording, so tape.backward() can differentiate what it returns.
template <class F>
Tensor record_forward(Tape& tape, const F& f, const std::vector<Tensor>& inputs) {
  auto rec = tape.record();
  return f(inputs);
}

// (g(x + h) - g(x - h)) / 2h, the central difference of g in the variable x (a value g reads),
// which is left as it was.
inline double central_difference(double& x, double h, const std::function<double()>& g) {
  const double x0 = x;
  x = x0 + h;
  const double plus = g();
  x = x0 - h;
  const double minus = g();
  x = x0;
  return (plus - minus) / (2 * h);
}

struct GradcheckOptions {
  double h = 1e-6;
  double rtol = tolerance(DType::F64).rtol;
  double atol = 1e-8;  // floor for exactly-zero derivatives: ~100x the rounding error of the quotient
  std::uint64_t weight_seed = 0x5eed;
  // Inputs listed here are passed to f but not differentiated (e.g. constants that need no grad).
  std::vector<int> constant_inputs;
};

// d loss / d v[k] for every k by central differences with GradcheckOptions' h, for tests that
// call kernels on raw buffers (loss reads v, which is perturbed in place and left as it was).
inline std::vector<double> numeric_grad(std::vector<double>& v, const std::function<double()>& loss) {
  const double h = GradcheckOptions{}.h;
  std::vector<double> g(v.size());
  for (std::size_t k = 0; k < v.size(); ++k) g[k] = central_difference(v[k], h, loss);
  return g;
}

namespace detail {

inline bool is_constant(const GradcheckOptions& o, int i) {
  for (int c : o.constant_inputs)
    if (c == i) return true;
  return false;
}

// sum_i w_i y_i of a forward evaluation, with nothing recorded.
inline double weighted_value(const GradFn& f, const std::vector<Tensor>& inputs,
                             const std::vector<double>& w) {
  NoGradGuard no_grad;
  const Tensor y = f(inputs);
  const std::vector<double> v = y.to_vector_f64();
  REQUIRE(v.size() == w.size());
  double s = 0;
  for (std::size_t i = 0; i < v.size(); ++i) s += w[i] * v[i];
  return s;
}

}  // namespace detail

// Checks d(sum w*f(inputs))/d(input) for every differentiable input and every element.
// `inputs` must be F64 CPU tensors; they are copied, so the caller's tensors are not touched.
inline void gradcheck(const GradFn& f, const std::vector<Tensor>& inputs, const std::string& what,
                      const GradcheckOptions& opt = {}) {
  INFO("gradcheck of ", what);
  const int n_inputs = static_cast<int>(inputs.size());

  // 1. Analytic gradients through the tape.
  std::vector<Tensor> leaves;
  for (int i = 0; i < n_inputs; ++i) {
    REQUIRE_MESSAGE(inputs[i].dtype() == DType::F64, "gradcheck input ", i, " must be F64");
    Tensor leaf = inputs[i].clone();
    if (!detail::is_constant(opt, i)) leaf.set_requires_grad(true);
    leaves.push_back(leaf);
  }
  Tape tape;
  const Tensor y = record_forward(tape, f, leaves);
  REQUIRE(y.defined());
  REQUIRE(y.dtype() == DType::F64);
  REQUIRE_MESSAGE(tape.size() > 0, "the function recorded no node, so nothing is differentiated");
  // Weights for the scalarization: 1 for an already scalar output (plain Tape::backward(loss)).
  std::vector<double> w(static_cast<std::size_t>(y.numel()), 1.0);
  if (y.numel() == 1) {
    tape.backward(y);
  } else {
    w = random_values(y.numel(), opt.weight_seed, -1.0, 1.0);
    tape.backward(y, Tensor::from_vector(w, y.shape(), DType::F64));
  }

  std::vector<std::vector<double>> analytic_all;
  for (int i = 0; i < n_inputs; ++i) {
    const Tensor g = leaves[i].grad();
    std::vector<double> analytic(static_cast<std::size_t>(inputs[i].numel()), 0.0);  // not reached: zero
    if (g.defined()) {
      CHECK_MESSAGE(g.shape() == inputs[i].shape(), "input ", i, ": gradient shape ", shape_str(g.shape()),
                    " differs from the input's ", shape_str(inputs[i].shape()));
      analytic = g.to_vector_f64();
    }
    analytic_all.push_back(analytic);
  }

  // 2. Leaf gradients accumulate: a second forward + backward on a fresh tape must exactly double
  //    them. This checks that every backward kernel honours GradMode::Accumulate.
  {
    Tape tape2;
    Tensor y2;
    {
      auto rec = tape2.record();
      y2 = f(leaves);
    }
    if (y2.numel() == 1) tape2.backward(y2);
    else tape2.backward(y2, Tensor::from_vector(w, y2.shape(), DType::F64));
    for (int i = 0; i < n_inputs; ++i) {
      if (detail::is_constant(opt, i) || !leaves[i].grad().defined()) continue;
      std::vector<double> doubled = analytic_all[static_cast<std::size_t>(i)];
      for (double& v : doubled) v *= 2;
      check_close(leaves[i].grad().to_vector_f64(), doubled, Tolerance{1e-12, 1e-15},
                  what + ": input " + std::to_string(i) + " gradient after a second backward pass (accumulates)");
    }
  }

  // 3. Numeric gradients, one element at a time.
  for (int i = 0; i < n_inputs; ++i) {
    if (detail::is_constant(opt, i)) continue;
    const std::vector<double>& analytic = analytic_all[static_cast<std::size_t>(i)];
    const std::vector<double> x0 = inputs[i].to_vector_f64();
    REQUIRE(analytic.size() == x0.size());
    std::vector<Tensor> probe = inputs;
    for (std::size_t j = 0; j < x0.size(); ++j) {
      std::vector<double> x = x0;
      const double numeric = central_difference(x[j], opt.h, [&] {
        probe[i] = Tensor::from_vector(x, inputs[i].shape(), DType::F64);
        return detail::weighted_value(f, probe, w);
      });
      const double diff = std::fabs(analytic[j] - numeric);
      if (!(diff <= opt.atol + opt.rtol * std::fabs(numeric))) {
        std::ostringstream os;
        os.precision(12);
        os << what << ": input " << i << " " << shape_str(inputs[i].shape()) << ", element " << j
           << ": analytic " << analytic[j] << " vs numeric " << numeric << " (|diff| " << diff << ")";
        FAIL_CHECK(os.str());
        break;  // one report per input is enough to find the bug
      }
    }
    probe[i] = inputs[i];
  }
}

}  // namespace loom::test
