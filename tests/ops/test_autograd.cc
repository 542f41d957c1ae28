// tests/ops/test_autograd.cc: the tape's bookkeeping (an explicit eager tape: ops append nodes in
// execution order inside a recording scope, backward walks them in reverse): what records, where
// gradients live (parameters keep and accumulate theirs, activations' die with the tape), how they
// accumulate. The ops used are the simplest ones (mul, add, sum, tanh); their own derivatives are
// checked in test_ops_*.cc.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "ops/autograd.h"
#include "ops/elementwise.h"
#include "ops/matmul.h"
#include "ops/reduce.h"
#include "ops/tensor.h"
#include "tests/support/compare.h"
#include "tests/support/values.h"

using namespace loom;
using loom::test::check_close;
using loom::test::f64;

namespace {

// loss = sum_i w_i * x_i, whose gradient with respect to w is x.
Tensor dot(const Tensor& w, const Tensor& x) { return ops::sum(ops::mul(w, x), ops::ReduceDim::Last); }

}  // namespace

TEST_CASE("autograd: leaf gradients accumulate across two backward passes") {
  Tensor w = f64({0.5, -1.0, 2.0}, {3});
  w.set_requires_grad(true);
  const Tensor x = f64({1.0, 2.0, -3.0}, {3});
  CHECK(w.requires_grad());
  CHECK_FALSE(w.grad().defined());  // nothing reached it yet

  for (int pass = 1; pass <= 2; ++pass) {
    Tape tape;
    Tensor loss;
    {
      auto rec = tape.record();
      loss = dot(w, x);
    }
    CHECK(loss.shape() == Shape{});
    CHECK(loss.item() == doctest::Approx(0.5 - 2.0 - 6.0));
    tape.backward(loss);
    // After pass k the gradient is k * x: the second pass adds, it does not overwrite.
    check_close(w.grad().to_vector_f64(), std::vector<double>{pass * 1.0, pass * 2.0, pass * -3.0},
                DType::F64, "grad after pass " + std::to_string(pass));
  }

  // zero_grad drops the buffer; the next backward writes a fresh gradient.
  w.zero_grad();
  CHECK_FALSE(w.grad().defined());
  Tape tape;
  Tensor loss;
  {
    auto rec = tape.record();
    loss = dot(w, x);
  }
  tape.backward(loss);
  check_close(w.grad().to_vector_f64(), x.to_vector_f64(), DType::F64, "grad after zero_grad");
}

TEST_CASE("autograd: a parameter used twice in one graph gets the sum of both paths") {
  Tensor w = f64({0.5, -1.0}, {2});
  w.set_requires_grad(true);
  const Tensor a = f64({1.0, 2.0}, {2});
  const Tensor b = f64({10.0, 20.0}, {2});
  Tape tape;
  Tensor loss;
  {
    auto rec = tape.record();
    // loss = sum(w*a + w*b): w feeds two different nodes, dloss/dw = a + b.
    loss = ops::sum(ops::add(ops::mul(w, a), ops::mul(w, b)), ops::ReduceDim::Last);
  }
  tape.backward(loss);
  check_close(w.grad().to_vector_f64(), std::vector<double>{11.0, 22.0}, DType::F64, "w used twice");

  // And as both operands of one node: d(sum w*w)/dw = 2w.
  Tensor v = f64({3.0, -4.0}, {2});
  v.set_requires_grad(true);
  Tape tape2;
  Tensor sq;
  {
    auto rec = tape2.record();
    sq = ops::sum(ops::mul(v, v), ops::ReduceDim::Last);
  }
  tape2.backward(sq);
  check_close(v.grad().to_vector_f64(), std::vector<double>{6.0, -8.0}, DType::F64, "v * v");
}

TEST_CASE("autograd: what records and what does not") {
  Tensor w = f64({1.0, 2.0}, {2});
  w.set_requires_grad(true);
  const Tensor c = f64({3.0, 4.0}, {2});
  CHECK(Tape::current() == nullptr);

  Tape tape;
  {
    auto rec = tape.record();
    CHECK(Tape::current() == &tape);

    // Inputs that need no gradient: nothing to record.
    const Tensor k = ops::mul(c, c);
    CHECK(tape.size() == 0);
    CHECK_FALSE(k.requires_grad());

    // NoGradGuard: nothing records even though w requires a gradient.
    {
      NoGradGuard no_grad;
      const Tensor y = ops::tanh(ops::mul(w, c));
      CHECK(tape.size() == 0);
      CHECK_FALSE(y.requires_grad());
      CHECK(y.to_vector_f64()[0] == doctest::Approx(std::tanh(3.0)));  // it still computes
    }

    // After the guard, recording resumes: two ops, two nodes.
    const Tensor y = ops::tanh(ops::mul(w, c));
    CHECK(tape.size() == 2);
    CHECK(y.requires_grad());

    // A nested tape takes over and hands back.
    Tape inner;
    {
      auto rec2 = inner.record();
      CHECK(Tape::current() == &inner);
      (void)ops::mul(w, c);
    }
    CHECK(Tape::current() == &tape);
    CHECK(inner.size() == 1);
    CHECK(tape.size() == 2);
  }
  CHECK(Tape::current() == nullptr);

  // Outside any recording scope, ops run and record nowhere.
  const Tensor z = ops::mul(w, c);
  CHECK(tape.size() == 2);
  CHECK(z.to_vector_f64() == std::vector<double>{3.0, 8.0});

  tape.clear();
  CHECK(tape.size() == 0);
}

TEST_CASE("autograd: intermediate gradients are not kept and unreached leaves get none") {
  Tensor w = f64({0.1, 0.2, 0.3}, {3});
  w.set_requires_grad(true);
  Tensor unused = f64({1.0}, {1});
  unused.set_requires_grad(true);
  Tape tape;
  Tensor h, loss;
  {
    auto rec = tape.record();
    h = ops::tanh(w);
    loss = ops::sum(h, ops::ReduceDim::Last);
  }
  tape.backward(loss);
  CHECK(w.grad().defined());
  CHECK_FALSE(h.grad().defined());  // the activation gradient died with the walk
  CHECK_FALSE(unused.grad().defined());
  // d sum(tanh w) / dw = 1 - tanh^2 w
  std::vector<double> expected;
  for (double v : {0.1, 0.2, 0.3}) expected.push_back(1 - std::tanh(v) * std::tanh(v));
  check_close(w.grad().to_vector_f64(), expected, DType::F64, "tanh gradient");
}

TEST_CASE("autograd: backward argument checks") {
  Tensor w = f64({1.0, 2.0}, {2});
  w.set_requires_grad(true);
  Tape tape;
  Tensor y;
  {
    auto rec = tape.record();
    y = ops::scale(w, 3.0f);
  }
  // backward(loss) needs a one-element loss; backward(y, dy) needs dy shaped like y.
  CHECK_THROWS_AS(tape.backward(y), Error);
  CHECK_THROWS_AS(tape.backward(y, f64({1.0, 2.0, 3.0}, {3})), ShapeError);
  tape.backward(y, f64({1.0, -1.0}, {2}));
  check_close(w.grad().to_vector_f64(), std::vector<double>{3.0, -3.0}, DType::F64, "seeded backward");
}

TEST_CASE("autograd: tape.dump prints one line per node with its name") {
  Tensor x = f64({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3});
  x.set_requires_grad(true);
  const Tensor wt = f64(test::random_values(12, 2, -1, 1), {4, 3});
  Tape tape;
  {
    auto rec = tape.record();
    (void)ops::sum(ops::tanh(ops::linear(x, wt)), ops::ReduceDim::First);
  }
  REQUIRE(tape.size() == 3);
  std::ostringstream os;
  tape.dump(os);
  std::string text = os.str();
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char ch) { return std::tolower(ch); });
  INFO("dump:\n", text);
  CHECK(std::count(text.begin(), text.end(), '\n') == 3);
  // In execution order: linear, then tanh, then sum.
  const auto p_linear = text.find("linear"), p_tanh = text.find("tanh"), p_sum = text.find("sum");
  CHECK(p_linear != std::string::npos);
  CHECK(p_tanh != std::string::npos);
  CHECK(p_sum != std::string::npos);
  CHECK(p_linear < p_tanh);
  CHECK(p_tanh < p_sum);
  CHECK(text.find("[2, 3]") != std::string::npos);  // the input shape of linear
}
