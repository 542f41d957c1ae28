// tests/ops/test_autocast.cc: autocast regions (ops/autocast.h) and the policy table
// (ops/autocast_policy.cc): precision names, nesting, the weight-cast cache, that every op runs in
// a BF16 region with the dtype its row promises, that an F32 region changes nothing (bitwise),
// and that F32 master gradients through a BF16 region stay close to the F32 run.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ops/autocast.h"
#include "ops/autograd.h"
#include "ops/cast.h"
#include "ops/conv1d.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/loss.h"
#include "ops/lstm.h"
#include "ops/matmul.h"
#include "ops/pool.h"
#include "ops/reduce.h"
#include "ops/shape_ops.h"
#include "tests/support/compare.h"
#include "tests/support/errors.h"

using namespace loom;
using namespace loom::ops;

namespace {

Tensor param(const Shape& shape, std::uint64_t seed) {
  Tensor t = Tensor::uniform(shape, -0.5f, 0.5f, seed);
  t.set_requires_grad(true);
  return t;
}


// A float tensor of `shape` in `dtype` with values in [-0.5, 0.5] (rounded once to dtype).
Tensor value(const Shape& shape, DType dtype, std::uint64_t seed) {
  return Tensor::uniform(shape, -0.5f, 0.5f, seed).to(dtype);
}

// One runner per op front-end: runs the op on float inputs where the first (the activation) is
// stored as `a` and the others (weights, a second operand, targets) as `b`; returns the output.
using Runner = std::function<Tensor(DType a, DType b)>;

const std::map<std::string, Runner>& runners() {
  static const std::map<std::string, Runner> r = [] {
    std::map<std::string, Runner> m;
    const Tensor lengths = Tensor::from_vector(std::vector<std::int32_t>{5, 3}, {2});
    m["linear"] = [](DType a, DType b) { return ops::linear(value({2, 4}, a, 1), value({3, 4}, b, 2), value({3}, b, 3)); };
    m["matmul"] = [](DType a, DType b) { return ops::matmul(value({2, 4}, a, 1), value({4, 3}, b, 2)); };
    m["conv1d"] = [](DType a, DType b) { return ops::conv1d(value({5, 2, 4}, a, 1), value({3, 2, 4}, b, 2), value({3}, b, 3)); };
    m["textcnn"] = [lengths](DType a, DType b) {
      return ops::textcnn(value({5, 2, 4}, a, 1), lengths, {{value({3, 2, 4}, b, 2), value({3}, b, 3), {}}}).pooled;
    };
    m["lstm_seq"] = [lengths](DType a, DType b) {
      ops::LstmDirectionParams d;
      d.w_ih = value({12, 4}, b, 2);
      d.w_hh = value({12, 3}, b, 3);
      d.b_ih = value({12}, b, 4);
      d.b_hh = value({12}, b, 5);
      return ops::lstm_seq(value({5, 2, 4}, a, 1), lengths, {d}).y;
    };
    m["lstm_cell"] = [](DType a, DType b) {
      const ops::LstmState s{value({2, 3}, a, 6), value({2, 3}, DType::F32, 7)};
      return ops::lstm_cell(value({2, 4}, a, 1), s, value({12, 4}, b, 2), value({12, 3}, b, 3), value({12}, b, 4),
                            value({12}, b, 5)).h;
    };
    m["embedding"] = [](DType a, DType) {
      return ops::embedding(value({7, 4}, a, 1), Tensor::from_vector(std::vector<std::int32_t>{1, 6, 0}, {3}));
    };
    m["softmax_cross_entropy"] = [](DType a, DType b) {
      return ops::softmax_cross_entropy(value({2, 3}, a, 1), Tensor::from_vector(std::vector<std::int32_t>{0, 2}, {2}),
                                        value({3}, b, 2));
    };
    m["bce_with_logits"] = [](DType a, DType b) { return ops::bce_with_logits(value({2, 3}, a, 1), value({2, 3}, b, 2)); };
    m["sum"] = [](DType a, DType) { return ops::sum(value({2, 3}, a, 1), ops::ReduceDim::Last); };
    m["mean"] = [](DType a, DType) { return ops::mean(value({2, 3}, a, 1), ops::ReduceDim::First); };
    m["add"] = [](DType a, DType b) { return ops::add(value({2, 3}, a, 1), value({2, 3}, b, 2)); };
    m["sub"] = [](DType a, DType b) { return ops::sub(value({2, 3}, a, 1), value({3}, b, 2)); };
    m["mul"] = [](DType a, DType b) { return ops::mul(value({2, 3}, a, 1), value({2, 3}, b, 2)); };
    m["concat0"] = [](DType a, DType b) { return ops::concat0({value({2, 3}, a, 1), value({1, 3}, b, 2)}); };
    m["concat_last"] = [](DType a, DType b) { return ops::concat_last({value({2, 3}, a, 1), value({2, 1}, b, 2)}); };
    m["cast"] = [](DType a, DType) { return ops::cast(value({2, 3}, DType::F32, 1), a); };
    m["scale"] = [](DType a, DType) { return ops::scale(value({2, 3}, a, 1), 3.0f); };
    m["sigmoid"] = [](DType a, DType) { return ops::sigmoid(value({2, 3}, a, 1)); };
    m["tanh"] = [](DType a, DType) { return ops::tanh(value({2, 3}, a, 1)); };
    m["relu"] = [](DType a, DType) { return ops::relu(value({2, 3}, a, 1)); };
    m["dropout"] = [](DType a, DType) {
      Generator gen(5);
      return ops::dropout(value({2, 3}, a, 1), 0.5f, gen);
    };
    m["max_pool1d"] = [lengths](DType a, DType) { return ops::max_pool1d(value({5, 2, 4}, a, 1), lengths, 2, 2).y; };
    m["global_max_pool"] = [lengths](DType a, DType) { return ops::global_max_pool(value({5, 2, 4}, a, 1), lengths); };
    m["global_mean_pool"] = [lengths](DType a, DType) { return ops::global_mean_pool(value({5, 2, 4}, a, 1), lengths); };
    m["reshape"] = [](DType a, DType) { return ops::reshape(value({2, 3}, a, 1), {3, 2}); };
    m["slice0"] = [](DType a, DType) { return ops::slice0(value({2, 3}, a, 1), 1, 2); };
    m["split_last"] = [](DType a, DType) { return ops::split_last(value({2, 3}, a, 1), {1, 2})[1]; };
    m["conv1d_output_lengths"] = [lengths](DType a, DType) {
      return ops::conv1d_output_lengths(lengths, ops::conv1d_geometry(value({5, 2, 4}, a, 1), value({3, 2, 4}, a, 2), {}));
    };
    return m;
  }();
  return r;
}

// Parameters of the gradient checks, F32 masters with values in [-0.5, 0.5].
struct Masters {
  Tensor emb, conv_w, conv_b, w_ih, w_hh, b_ih, b_hh, head_w, head_b;
  std::vector<std::pair<const char*, Tensor>> named() const {
    return {{"embedding", emb}, {"conv.weight", conv_w}, {"conv.bias", conv_b}, {"lstm.w_ih", w_ih},
            {"lstm.w_hh", w_hh}, {"lstm.b_ih", b_ih}, {"lstm.b_hh", b_hh}, {"head.weight", head_w},
            {"head.bias", head_b}};
  }
};

Masters make_masters() {
  Masters m;
  m.emb = param({9, 4}, 11);
  m.conv_w = param({5, 2, 4}, 12);  // F = 5, K = 2, C = 4
  m.conv_b = param({5}, 13);
  m.w_ih = param({12, 5}, 14);  // H = 3
  m.w_hh = param({12, 3}, 15);
  m.b_ih = param({12}, 16);
  m.b_hh = param({12}, 17);
  m.head_w = param({2, 3}, 18);
  m.head_b = param({2}, 19);
  return m;
}

struct StepOut {
  std::vector<float> loss, y;
  std::vector<std::vector<float>> grads;
  std::vector<DType> grad_dtypes;
  DType y_dtype = DType::F32;
};

// embedding -> conv1d -> lstm_seq -> linear -> softmax_cross_entropy, in a region of
// `precision` (or none), backward after the region. Every master gets a gradient.
StepOut step(const Masters& m, const Precision* precision) {
  for (const auto& [name, t] : m.named()) Tensor(t).zero_grad();
  const Tensor ids = Tensor::from_vector(std::vector<std::int32_t>{1, 4, 8, 0, 2, 7, 3, 5, 6, 1, 2, 3}, {6, 2});
  const Tensor lengths = Tensor::from_vector(std::vector<std::int32_t>{5, 3}, {2});
  const Tensor targets = Tensor::from_vector(std::vector<std::int32_t>{1, 0}, {2});
  Tape tape;
  Tensor loss, y;
  {
    auto rec = tape.record();
    std::unique_ptr<AutocastScope> amp;
    if (precision != nullptr) amp = std::make_unique<AutocastScope>(*precision);
    const Tensor x = ops::embedding(m.emb, ids);                   // [6, 2, 4]
    const Tensor c = ops::relu(ops::conv1d(x, m.conv_w, m.conv_b));  // [5, 2, 5]
    ops::LstmDirectionParams d;
    d.w_ih = m.w_ih;
    d.w_hh = m.w_hh;
    d.b_ih = m.b_ih;
    d.b_hh = m.b_hh;
    const ops::LstmSeqResult seq = ops::lstm_seq(c, lengths, {d});
    y = ops::linear(seq.h_n[0], m.head_w, m.head_b);  // [2, 2]
    loss = ops::softmax_cross_entropy(y, targets);
  }
  tape.backward(loss);
  StepOut out;
  out.loss = loss.to_vector();
  out.y = y.to_vector();
  out.y_dtype = y.dtype();
  for (const auto& item : m.named()) {
    // Named, not a structured binding: clang 14 cannot capture one in doctest's lambdas.
    const auto& name = item.first;
    const auto& t = item.second;
    REQUIRE_MESSAGE(t.grad().defined(), name, " got no gradient");
    out.grads.push_back(t.grad().to_vector());
    out.grad_dtypes.push_back(t.grad().dtype());
  }
  return out;
}

}  // namespace

TEST_SUITE("autocast") {

TEST_CASE("autocast: precision names parse and print and map to dtypes") {
  CHECK(parse_precision("fp32") == Precision::F32);
  CHECK(parse_precision("float32") == Precision::F32);
  CHECK(parse_precision("F32") == Precision::F32);
  CHECK(parse_precision("bf16") == Precision::BF16);
  CHECK(parse_precision("bfloat16") == Precision::BF16);
  CHECK(parse_precision("fp16") == Precision::F16);
  CHECK(parse_precision("half") == Precision::F16);
  CHECK(parse_precision("float16") == Precision::F16);
  for (Precision p : {Precision::F32, Precision::BF16, Precision::F16}) CHECK(parse_precision(precision_name(p)) == p);
  CHECK(compute_dtype(Precision::F32) == DType::F32);
  CHECK(compute_dtype(Precision::BF16) == DType::BF16);
  CHECK(compute_dtype(Precision::F16) == DType::F16);
  std::string message;
  try {
    parse_precision("int8");
  } catch (const Error& e) {
    message = e.what();
  }
  CHECK(message.find("int8") != std::string::npos);
  CHECK(message.find("fp32, bf16 or fp16") != std::string::npos);
}

TEST_CASE("autocast: regions nest and the innermost wins") {
  CHECK(autocast_precision() == Precision::F32);
  {
    AutocastScope outer(Precision::BF16);
    CHECK(autocast_precision() == Precision::BF16);
    {
      AutocastScope inner(Precision::F16);
      CHECK(autocast_precision() == Precision::F16);
      {
        AutocastScope off(Precision::F32);
        CHECK(autocast_precision() == Precision::F32);
      }
      CHECK(autocast_precision() == Precision::F16);
    }
    CHECK(autocast_precision() == Precision::BF16);
  }
  CHECK(autocast_precision() == Precision::F32);
}

TEST_CASE("autocast: an op without a policy row is an error naming the op") {
  std::string message;
  try {
    autocast_policy_of("no_such_op");
  } catch (const Error& e) {
    message = e.what();
  }
  CHECK(message.find("no_such_op") != std::string::npos);
  CHECK(autocast_policy_of("linear") == OpPrecision::Low);
  CHECK(autocast_policy_of("matmul") == OpPrecision::Low);
  CHECK(autocast_policy_of("softmax_cross_entropy") == OpPrecision::F32);
}

TEST_CASE("autocast: the entry hooks follow the row and leave integers and undefined tensors alone") {
  const Tensor x = Tensor::uniform({2, 3}, -1, 1, 1);
  const Tensor ids = Tensor::from_vector(std::vector<std::int32_t>{1, 2}, {2});
  CHECK(autocast_input("linear", x).same_data(x));  // outside a region: the tensor itself
  AutocastScope amp(Precision::BF16);
  CHECK(autocast_input("linear", x).dtype() == DType::BF16);
  CHECK(autocast_input("relu", x).same_data(x));
  CHECK(autocast_input("linear", ids).same_data(ids));
  CHECK(!autocast_input("linear", Tensor()).defined());
  const Tensor xb = x.to(DType::BF16);
  CHECK(autocast_input("softmax_cross_entropy", xb).dtype() == DType::F32);
  const std::vector<Tensor> mixed = autocast_inputs("add", {xb, x});
  CHECK(mixed[0].dtype() == DType::F32);
  CHECK(mixed[1].same_data(x));
  const std::vector<Tensor> halves = autocast_inputs("mul", {xb, x.to(DType::F16)});
  CHECK(halves[0].dtype() == DType::F32);  // neither bf16 nor f16 holds the other
  CHECK(halves[1].dtype() == DType::F32);
  const std::vector<Tensor> low = autocast_inputs("add", {xb, xb});
  CHECK(low[0].same_data(xb));
}

TEST_CASE("autocast: a weight is cast once per region and re-cast in the next") {
  Tensor w = param({4, 3}, 2);
  const Tensor x = Tensor::uniform({2, 3}, -1, 1, 3);
  const std::int64_t before = autocast_weight_casts();
  Tensor first;
  {
    AutocastScope amp(Precision::BF16);
    first = autocast_input("linear", w);
    const Tensor again = autocast_input("matmul", w);
    CHECK(again.same_data(first));
    CHECK(autocast_weight_casts() - before == 1);
    // Activations (not leaves that require grad) are cast every time.
    CHECK(!autocast_input("linear", x).same_data(autocast_input("linear", x)));
    CHECK(autocast_weight_casts() - before == 1);
  }
  // The master changes (an optimizer step); the next region sees the new values.
  std::vector<float> v = w.to_vector();
  for (float& e : v) e += 0.25f;
  w.copy_from(Tensor::from_vector(v, w.shape()));
  {
    AutocastScope amp(Precision::BF16);
    const Tensor second = autocast_input("linear", w);
    CHECK(autocast_weight_casts() - before == 2);
    CHECK(!second.same_data(first));
    test::check_close(second.to_vector(), w.to(DType::BF16).to_vector(), DType::F32, "re-cast weight");
  }
}


TEST_CASE("autocast: every row's op runs in a BF16 region with the dtype its row promises") {
  const auto& run = runners();
  std::set<std::string> rows;
  for (const OpPolicy& row : autocast_policy()) {
    INFO(row.op);
    CHECK_MESSAGE(rows.insert(row.op).second, "two rows for ", row.op);
    CHECK(std::string(row.why).size() > 10);  // every row says why
    REQUIRE_MESSAGE(run.count(row.op) == 1, "no runner for the policy row ", row.op, ": a row without an op?");
  }
  // And the other way: every front-end the runners call has a row (a missing one throws here).
  for (const auto& item : run) {
    const auto& op = item.first;  // (not a structured binding: clang 14 cannot capture one in CHECK_MESSAGE)
    CHECK_MESSAGE(rows.count(op) == 1, "front-end ", op, " has no policy row");
  }

  const DType BF = DType::BF16, F = DType::F32;
  AutocastScope amp(Precision::BF16);
  for (const OpPolicy& row : autocast_policy()) {
    INFO(row.op);
    const Runner& r = run.at(row.op);
    if (std::string(row.op) == "conv1d_output_lengths") {  // integers in, integers out
      CHECK(r(F, F).dtype() == DType::I32);
      continue;
    }
    switch (row.precision) {
      case OpPrecision::Low:  // F32 masters and activations, or a bf16 activation with F32 weights
        CHECK(r(F, F).dtype() == BF);
        CHECK(r(BF, F).dtype() == BF);
        break;
      case OpPrecision::F32:  // bf16 in, F32 out; mixed inputs (bf16 logits, F32 weights) are fine
        CHECK(r(BF, BF).dtype() == F);
        CHECK(r(BF, F).dtype() == F);
        break;
      case OpPrecision::Widest:
        CHECK(r(BF, F).dtype() == F);
        CHECK(r(BF, BF).dtype() == BF);
        CHECK(r(F, F).dtype() == F);
        break;
      case OpPrecision::AsIs:
        CHECK(r(BF, BF).dtype() == BF);
        CHECK(r(F, F).dtype() == F);
        break;
    }
  }
}

TEST_CASE("autocast: mixed dtypes stay errors outside a region") {
  const Tensor a = value({2, 3}, DType::BF16, 1), b = value({2, 3}, DType::F32, 2);
  CHECK_SHAPE_ERROR([&] { ops::add(a, b); }, "add");
  CHECK_SHAPE_ERROR([&] { ops::linear(value({2, 4}, DType::BF16, 1), value({3, 4}, DType::F32, 2)); }, "linear");
  {
    AutocastScope off(Precision::F32);  // an F32 region is no region
    CHECK_SHAPE_ERROR([&] { ops::add(a, b); }, "add");
  }
  AutocastScope amp(Precision::BF16);
  CHECK(ops::add(a, b).dtype() == DType::F32);
}

TEST_CASE("autocast: an F32 region is bitwise no region (nested or not)") {
  const Masters m = make_masters();
  const StepOut none = step(m, nullptr);
  const Precision f32 = Precision::F32;
  const StepOut in_f32 = step(m, &f32);
  StepOut nested;
  {
    AutocastScope outer(Precision::BF16);
    nested = step(m, &f32);  // the innermost region (F32) wins
  }
  for (const StepOut* s : std::vector<const StepOut*>{&in_f32, &nested}) {
    CHECK(s->y_dtype == DType::F32);
    CHECK(s->loss == none.loss);
    CHECK(s->y == none.y);
    REQUIRE(s->grads.size() == none.grads.size());
    for (std::size_t i = 0; i < none.grads.size(); ++i) CHECK(s->grads[i] == none.grads[i]);
  }
}

// Tolerance: every value here is O(1) by construction (weights and embeddings in [-0.5, 0.5],
// dot products of at most 8 terms, T = 6 steps through sigmoid/tanh whose slopes are <= 1, and a
// forget gate < 1 that shrinks older errors). A low-precision run rounds each input, weight and op
// output once (half an ulp: 2^-9 relative in bf16, 2^-12 in fp16), and each gradient once more;
// a sum of such terms carries at most a few half-ulps of the sum of their magnitudes, which
// stays below ~2. That is the table's row for the dtype (tests/support/compare.h: atol = ~5 ulps
// at 1, rtol = ~10 half-ulps), with the F32 run as the reference.
void check_masters_follow_f32(Precision precision) {
  const Masters m = make_masters();
  const StepOut ref = step(m, nullptr);
  const StepOut low = step(m, &precision);
  const DType dt = compute_dtype(precision);
  CHECK(low.y_dtype == dt);  // the GEMMs really ran in the low precision
  test::check_close(low.loss, ref.loss, dt, "loss");
  test::check_close(low.y, ref.y, dt, "logits");
  bool any_differs = false;
  double worst = 0;
  for (std::size_t i = 0; i < ref.grads.size(); ++i) {
    const char* name = m.named()[i].first;
    CHECK_MESSAGE(low.grad_dtypes[i] == DType::F32, name, ": an F32 master gets an F32 gradient");
    test::check_close(low.grads[i], ref.grads[i], dt, std::string(precision_name(precision)) + " d " + name);
    any_differs = any_differs || low.grads[i] != ref.grads[i];
    for (std::size_t k = 0; k < ref.grads[i].size(); ++k)
      worst = std::max(worst, static_cast<double>(std::fabs(low.grads[i][k] - ref.grads[i][k])));
  }
  MESSAGE(std::string(precision_name(precision)) << ": max |master gradient - F32 run| " << worst);
  CHECK(any_differs);  // else the region changed nothing and the comparison proves nothing
}

TEST_CASE("autocast: F32 master gradients through a BF16 region follow the F32 run (linear conv1d lstm_seq embedding)") {
  check_masters_follow_f32(Precision::BF16);
}

TEST_CASE("autocast: an FP16 region works the same way") { check_masters_follow_f32(Precision::F16); }

TEST_CASE("autocast: one weight cast per region in a whole step and none outside") {
  const Masters m = make_masters();
  const std::int64_t before = autocast_weight_casts();
  step(m, nullptr);
  CHECK(autocast_weight_casts() == before);
  const Precision bf16 = Precision::BF16;
  step(m, &bf16);
  // conv (weight, bias), lstm (w_ih, w_hh, b_ih, b_hh), head (weight, bias): 8 casts; the
  // embedding table is never cast (its output is).
  CHECK(autocast_weight_casts() - before == 8);
}

// The README's "Mixed precision" lists name exactly the policy's ops, each under its row's
// precision, so the docs cannot drift from ops/autocast_policy.cc.
TEST_CASE("autocast: ops/README.md lists exactly the policy table") {
  std::ifstream in(LOOM_SOURCE_DIR "/ops/README.md");
  REQUIRE(in.good());
  std::map<std::string, std::string> listed;  // op -> the section it is listed under
  std::string line, section;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) inside = line == "## Mixed precision";
    if (!inside) continue;
    if (line.rfind("### ", 0) == 0) section = line.substr(4, line.find(':', 4) - 4);  // "### Low: ..." -> "Low"
    if (line.rfind("- `", 0) == 0) {
      const std::string op = line.substr(3, line.find('`', 3) - 3);
      CHECK_MESSAGE(listed.emplace(op, section).second, op, " is listed twice");
    }
  }
  const std::map<OpPrecision, std::string> heading{
      {OpPrecision::Low, "Low"}, {OpPrecision::F32, "F32"}, {OpPrecision::Widest, "Widest"}, {OpPrecision::AsIs, "AsIs"}};
  std::size_t found = 0;
  for (const OpPolicy& row : autocast_policy()) {
    INFO(row.op);
    const auto it = listed.find(row.op);
    CHECK_MESSAGE(it != listed.end(), row.op, " is missing from the README's Mixed precision lists");
    if (it == listed.end()) continue;
    CHECK(it->second == heading.at(row.precision));
    ++found;
  }
  CHECK(found == listed.size());  // nothing listed that the table lacks
}

}  // TEST_SUITE("autocast")
