// tests/models/test_user_models.cc: the user-level models of the bot detector: the tweet-vector CNN
// (models/user_cnn.h) and cosine kNN (models/knn.h).
//
// User CNN: live PyTorch parity (tests/peers/torch_user_cnn.py: a per-user loop of nn.Conv1d, max
// over the valid positions, nn.Linear; strict load of loom's state_dict), logits, loss, every
// parameter gradient and the gradient of the tweet vectors, at tests/models/test_models_torch.cc's
// tolerance (1e-4 relative, 1e-6 absolute: both sides sum F32 products in different orders); an
// F64 finite-difference check of every parameter and input element with dropout on; invariance
// to what lies past a user's count; checked loading.
// kNN: against a brute-force double-precision reference written here (normalize, every dot
// product, sort by (similarity desc, index asc)), on random data and on ties built on purpose.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "layers/conv1d.h"
#include "models/knn.h"
#include "models/user_cnn.h"
#include "ops/autograd.h"
#include "ops/loss.h"
#include "tests/support/compare.h"
#include "tests/support/gradcheck.h"
#include "tests/support/peer.h"
#include "tests/support/values.h"

using namespace loom;

namespace {

models::UserCnnConfig small_cnn(std::int64_t D, DType dtype = DType::F32) {
  models::UserCnnConfig c;
  c.input_size = D;
  c.widths = {2, 3, 4};
  c.filters = 4;
  c.dropout = 0.5f;
  c.dtype = dtype;
  return c;
}

// x [n, B, D] with random values everywhere, past the counts too (garbage the model must ignore).
Tensor random_x(std::int64_t n, std::int64_t B, std::int64_t D, std::uint64_t seed, DType dtype = DType::F32) {
  return Tensor::from_vector(test::random_values(n * B * D, seed, -1.0, 1.0), {n, B, D}, DType::F64).to(dtype);
}

}  // namespace

TEST_CASE("user cnn: logits, loss and every gradient match a per-user PyTorch loop") {
  // Counts: 1, 3 (both shorter than the widest window 4: zero padding), 6 (= n), 2, 5.
  const std::int64_t n = 6, B = 5, D = 5;
  const std::vector<std::int32_t> counts{1, 3, 6, 2, 5};
  struct Case {
    std::unique_ptr<models::UserCnn> cnn;
    Tensor x, targets;
  };
  std::vector<Case> cases;
  nlohmann::json input;
  input["cases"] = nlohmann::json::array();
  for (std::int64_t K : {1, 2}) {
    Case c;
    models::UserCnnConfig cfg = small_cnn(D);
    cfg.num_outputs = K;
    c.cnn = std::make_unique<models::UserCnn>(cfg, 10 + K);
    c.x = random_x(n, B, D, 20 + K);
    std::vector<double> t;
    for (std::int32_t v : test::random_ints(B * K, 30 + K, 2)) t.push_back(v);
    c.targets = Tensor::from_vector(t, {B, K}, DType::F64).to(DType::F32);
    nlohmann::json j{{"n", n}, {"B", B}, {"D", D}, {"K", K}, {"widths", cfg.widths}, {"F", cfg.filters}};
    j["x"] = c.x.to_vector();
    j["counts"] = counts;
    j["targets"] = c.targets.to_vector();
    for (const auto& [name, p] : c.cnn->state_dict()) j["params"][name] = p.to_vector();
    input["cases"].push_back(j);
    cases.push_back(std::move(c));
  }
  const test::PeerAnswer answer = test::run_peer("torch_user_cnn.py", input);
  if (!test::peer_available(answer, "torch")) return;
  const nlohmann::json& results = answer.out.at("results");
  REQUIRE(results.size() == cases.size());
  const test::Tolerance tol{1e-4, 1e-6};
  for (std::size_t i = 0; i < cases.size(); ++i) {
    Case& c = cases[i];
    const nlohmann::json& r = results[i];
    const std::string what = "user cnn, " + std::to_string(c.cnn->config().num_outputs) + " outputs";
    Tensor x = c.x.clone();
    x.set_requires_grad(true);
    Tape tape;
    Tensor logits, loss;
    {
      auto rec = tape.record();
      Generator gen(1);
      logits = c.cnn->forward(x, Tensor::from_vector(counts, {B}), layers::Phase::Eval, gen);
      loss = ops::bce_with_logits(logits, c.targets);
    }
    tape.backward(loss);
    test::check_close(logits.to_vector(), r.at("logits").get<std::vector<double>>(), tol, what + ": logits");
    test::check_close(loss.to_vector(), std::vector<double>{r.at("loss").get<double>()}, tol, what + ": loss");
    test::check_close(x.grad().to_vector(), r.at("dx").get<std::vector<double>>(), tol, what + ": d x");
    std::size_t compared = 0;
    for (const auto& item : c.cnn->named_parameters()) {
      // Named, not a structured binding: clang 14 cannot capture one in doctest's lambdas.
      const auto& name = item.first;
      const auto& p = item.second;
      REQUIRE_MESSAGE(r.at("grads").contains(name), name);
      REQUIRE_MESSAGE(p.grad().defined(), name, " got no gradient");
      const Tensor g = p.ndim() == 3 ? layers::conv_weight_to_torch(p.grad()) : p.grad();
      test::check_close(g.to_vector(), r.at("grads").at(name).get<std::vector<double>>(), tol, what + ": d " + name);
      ++compared;
    }
    CHECK(compared == r.at("grads").size());
    CHECK(compared == 8);  // 3 convs x (weight, bias) + head (weight, bias)
  }
}

TEST_CASE("user cnn: F64 gradients of every parameter and tweet vector match central differences") {
  // Small enough to perturb every element: D 3, widths {2, 3} x 2 maps, n 4, B 3 (counts 1, 4, 2).
  // Dropout on (Phase::Train): each evaluation starts a Generator with the same seed, so every
  // evaluation draws the same mask. h = 1e-6, rtol 1e-6, atol 1e-8: gradcheck.h's F64 bounds.
  models::UserCnnConfig cfg = small_cnn(3, DType::F64);
  cfg.widths = {2, 3};
  cfg.filters = 2;
  cfg.dropout = 0.3f;
  const models::UserCnn cnn(cfg, 5);
  const Tensor counts = Tensor::from_vector(std::vector<std::int32_t>{1, 4, 2}, {3});
  Tensor x0 = random_x(4, 3, 3, 77, DType::F64);
  const std::vector<double> w = test::random_values(3, 0x5eed, -1.0, 1.0);  // the scalarization's weights
  auto value = [&](const Tensor& x) {
    NoGradGuard no_grad;
    Generator gen(99);
    const std::vector<double> y = cnn.forward(x, counts, layers::Phase::Train, gen).to_vector_f64();
    double s = 0;
    for (std::size_t i = 0; i < y.size(); ++i) s += w[i] * y[i];
    return s;
  };
  Tensor x = x0.clone();
  x.set_requires_grad(true);
  {
    Tape tape;
    Generator gen(99);
    Tensor y;
    {
      auto rec = tape.record();
      y = cnn.forward(x, counts, layers::Phase::Train, gen);
    }
    tape.backward(y, Tensor::from_vector(w, y.shape(), DType::F64));
  }
  const double h = 1e-6, rtol = 1e-6, atol = 1e-8;
  int checked = 0;
  for (const auto& item : cnn.named_parameters()) {
    // Named, not a structured binding: clang 14 cannot capture one in doctest's lambdas.
    const auto& name = item.first;
    const auto& p = item.second;
    REQUIRE(p.grad().defined());
    const std::vector<double> analytic = p.grad().to_vector_f64();
    double* data = p.data<double>();
    for (std::int64_t j = 0; j < p.numel(); ++j) {
      const double numeric = test::central_difference(data[j], h, [&] { return value(x0); });
      CHECK_MESSAGE(std::fabs(analytic[j] - numeric) <= atol + rtol * std::fabs(numeric), name, " element ", j,
                    ": analytic ", analytic[j], " vs numeric ", numeric);
      ++checked;
    }
  }
  const std::vector<double> dx = x.grad().to_vector_f64();
  double* xd = x0.data<double>();
  int zero_past_count = 0;
  for (std::int64_t j = 0; j < x0.numel(); ++j) {
    const double numeric = test::central_difference(xd[j], h, [&] { return value(x0); });
    CHECK_MESSAGE(std::fabs(dx[j] - numeric) <= atol + rtol * std::fabs(numeric), "x element ", j, ": analytic ",
                  dx[j], " vs numeric ", numeric);
    const std::int64_t t = j / 9, b = (j / 3) % 3;
    if (t >= counts.to_vector_i32()[b]) zero_past_count += dx[j] == 0.0 ? 1 : 0;
    ++checked;
  }
  CHECK(zero_past_count == 3 * 3 + 2 * 3);  // user 0: t 1..3, user 2: t 2..3; exactly zero gradient
  CHECK(checked == (2 * 2 * 3 + 2) + (2 * 3 * 3 + 2) + (4 + 1) + 36);
}

TEST_CASE("user cnn: a user's logits depend only on its own valid tweets") {
  const models::UserCnn cnn(small_cnn(4), 3);
  const std::int64_t n = 7, B = 4;
  const std::vector<std::int32_t> counts{2, 7, 4, 1};
  const Tensor x = random_x(n, B, 4, 11);
  std::vector<float> other = random_x(n, B, 4, 12).to_vector(), xv = x.to_vector();
  for (std::int64_t t = 0; t < n; ++t)  // keep the valid tweets, change everything past the counts
    for (std::int64_t b = 0; b < B; ++b)
      if (t < counts[b])
        for (int d = 0; d < 4; ++d) other[(t * B + b) * 4 + d] = xv[(t * B + b) * 4 + d];
  NoGradGuard no_grad;
  Generator gen;
  const Tensor c = Tensor::from_vector(counts, {B});
  const std::vector<float> a = cnn.forward(x, c, layers::Phase::Eval, gen).to_vector();
  CHECK(cnn.forward(Tensor::from_vector(other, {n, B, 4}), c, layers::Phase::Eval, gen).to_vector() == a);
  // Each user alone, in a batch of one with n = its count: the same logit up to F32 summation
  // order (the GEMMs block differently for B = 1): 1e-5 relative, the F32 table entry.
  for (std::int64_t b = 0; b < B; ++b) {
    std::vector<float> one;
    for (std::int64_t t = 0; t < counts[b]; ++t)
      for (int d = 0; d < 4; ++d) one.push_back(xv[(t * B + b) * 4 + d]);
    const Tensor xb = Tensor::from_vector(one, {counts[b], 1, 4});
    const auto y = cnn.forward(xb, Tensor::from_vector(std::vector<std::int32_t>{counts[b]}, {1}), layers::Phase::Eval,
                               gen).to_vector();
    test::check_close(y, std::vector<float>{a[b]}, DType::F32, "user " + std::to_string(b) + " alone");
  }
}

TEST_CASE("user cnn: bad inputs, checked loading and the config's JSON") {
  models::UserCnn cnn(small_cnn(4), 3);
  Generator gen;
  const Tensor x = random_x(3, 2, 4, 1);
  CHECK_THROWS_AS(cnn.forward(x, Tensor::from_vector(std::vector<std::int32_t>{0, 3}, {2}), layers::Phase::Eval, gen),
                  ShapeError);
  CHECK_THROWS_AS(cnn.forward(x, Tensor::from_vector(std::vector<std::int32_t>{4, 3}, {2}), layers::Phase::Eval, gen),
                  ShapeError);
  CHECK_THROWS_AS(cnn.forward(random_x(3, 2, 5, 1), Tensor::from_vector(std::vector<std::int32_t>{1, 3}, {2}),
                              layers::Phase::Eval, gen),
                  ShapeError);

  // Round trip through the PyTorch layouts into a differently seeded model: identical logits.
  models::UserCnn other(small_cnn(4), 99);
  const Tensor c = Tensor::from_vector(std::vector<std::int32_t>{1, 3}, {2});
  NoGradGuard no_grad;
  CHECK(other.forward(x, c, layers::Phase::Eval, gen).to_vector() != cnn.forward(x, c, layers::Phase::Eval, gen).to_vector());
  other.load_state_dict(cnn.state_dict());
  CHECK(other.forward(x, c, layers::Phase::Eval, gen).to_vector() == cnn.forward(x, c, layers::Phase::Eval, gen).to_vector());
  CHECK(cnn.state_dict()[0].second.shape() == Shape({4, 4, 2}));  // convs.0.weight [F, D, K]

  // A wrong shape or a missing name: CheckpointError naming it, the model unchanged.
  const std::vector<float> before = other.forward(x, c, layers::Phase::Eval, gen).to_vector();
  models::UserCnn fresh(small_cnn(4), 5);
  auto bad = fresh.state_dict();
  bad[2].second = Tensor::zeros({4, 4, 2});  // convs.1.weight must be [4, 4, 3]
  try {
    other.load_state_dict(bad);
    FAIL("no error");
  } catch (const CheckpointError& e) {
    CHECK(std::string(e.what()).find("convs.1.weight") != std::string::npos);
  }
  auto missing = fresh.state_dict();
  missing.pop_back();
  try {
    other.load_state_dict(missing);
    FAIL("no error");
  } catch (const CheckpointError& e) {
    CHECK(std::string(e.what()).find("missing tensors: head.bias") != std::string::npos);
  }
  CHECK(other.forward(x, c, layers::Phase::Eval, gen).to_vector() == before);

  const models::UserCnnConfig back = models::UserCnnConfig::from_json(cnn.config().to_json());
  CHECK(back.widths == cnn.config().widths);
  CHECK(back.filters == 4);
  CHECK(back.input_size == 4);
  nlohmann::json j = cnn.config().to_json();
  j["filters"] = 0;
  CHECK_THROWS_AS(models::UserCnnConfig::from_json(j), CheckpointError);
  j = cnn.config().to_json();
  j["extra"] = 1;
  CHECK_THROWS_AS(models::UserCnnConfig::from_json(j), CheckpointError);
}

// ---- kNN ----

namespace {

// The reference: double precision, plain loops, a full sort by (similarity desc, index asc).
std::vector<std::vector<std::int64_t>> brute_force(const std::vector<double>& train, const std::vector<double>& q,
                                                   std::int64_t D, int k) {
  auto normalize = [D](std::vector<double> v) {
    for (std::size_t i = 0; i < v.size(); i += D) {
      double ss = 0;
      for (std::int64_t j = 0; j < D; ++j) ss += v[i + j] * v[i + j];
      if (ss > 0)
        for (std::int64_t j = 0; j < D; ++j) v[i + j] /= std::sqrt(ss);
    }
    return v;
  };
  const std::vector<double> a = normalize(train), b = normalize(q);
  const std::int64_t N = static_cast<std::int64_t>(a.size()) / D, M = static_cast<std::int64_t>(b.size()) / D;
  std::vector<std::vector<std::int64_t>> out;
  for (std::int64_t i = 0; i < M; ++i) {
    std::vector<std::pair<double, std::int64_t>> s;
    for (std::int64_t j = 0; j < N; ++j) {
      double dot = 0;
      for (std::int64_t d = 0; d < D; ++d) dot += b[i * D + d] * a[j * D + d];
      s.emplace_back(-dot, j);
    }
    std::sort(s.begin(), s.end());
    std::vector<std::int64_t> nn;
    for (std::int64_t t = 0; t < std::min<std::int64_t>(k, N); ++t) nn.push_back(s[t].second);
    out.push_back(nn);
  }
  return out;
}

}  // namespace

TEST_CASE("knn: neighbours and scores equal a brute-force reference on random data") {
  const std::int64_t N = 60, M = 25, D = 7;
  const std::vector<double> train = test::random_values(N * D, 1, -1.0, 1.0), q = test::random_values(M * D, 2, -1.0, 1.0);
  std::vector<int> labels;
  for (std::int32_t v : test::random_ints(N, 3, 2)) labels.push_back(v);
  for (int k : {1, 3, 5}) {
    INFO("k = ", k);
    // block_entries 7 * N: 7 queries per GEMM block, so 25 queries cross three block boundaries.
    models::CosineKnn knn(k, 7 * N);
    knn.fit(Tensor::from_vector(train, {N, D}, DType::F64).to(DType::F32), labels);
    const Tensor queries = Tensor::from_vector(q, {M, D}, DType::F64).to(DType::F32);
    // The reference sees the same F32-rounded inputs.
    const auto want = brute_force(Tensor::from_vector(train, {N, D}, DType::F64).to(DType::F32).to_vector_f64(),
                                  queries.to_vector_f64(), D, k);
    const auto got = knn.neighbours(queries);
    REQUIRE(got.size() == want.size());
    for (std::int64_t i = 0; i < M; ++i) CHECK_MESSAGE(got[i] == want[i], "query ", i);
    const std::vector<double> s = knn.score(queries);
    for (std::int64_t i = 0; i < M; ++i) {
      double pos = 0;
      for (auto j : want[i]) pos += labels[j];
      CHECK(s[i] == pos / k);
    }
  }
}

TEST_CASE("knn: ties go to the lower training index, zero vectors have similarity 0, k above N") {
  const std::int64_t D = 3;
  // 0: e1 (label 0), 1: 2*e1 (same direction, label 1), 2: e2 (label 1), 3: zero (label 1),
  // 4: e1 again (label 1), 5: -e1 (label 0).
  const std::vector<double> train{1, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, -1, 0, 0};
  const std::vector<int> labels{0, 1, 1, 1, 1, 0};
  // Queries: e1 (0, 1, 4 tie at similarity 1), zero (every similarity 0: all tie), e3 (orthogonal
  // to every training vector: all tie at 0), 2 e1 + e2 (0, 1, 4 tie at 0.894, then 2 at 0.447).
  const std::vector<double> q{1, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1, 0};
  const Tensor tq = Tensor::from_vector(q, {4, D}, DType::F64);
  for (int k : {1, 2, 3, 5, 9}) {
    INFO("k = ", k);
    models::CosineKnn knn(k);
    knn.fit(Tensor::from_vector(train, {6, D}, DType::F64), labels);
    const auto want = brute_force(train, q, D, k);
    CHECK(knn.neighbours(tq) == want);
  }
  models::CosineKnn k1(1), k3(3), k9(9);
  for (auto* m : {&k1, &k3, &k9}) m->fit(Tensor::from_vector(train, {6, D}, DType::F64), labels);
  CHECK(k1.neighbours(tq)[0] == std::vector<std::int64_t>{0});  // 0, 1 and 4 tie: the lowest index
  CHECK(k1.score(tq)[0] == 0.0);
  CHECK(k3.neighbours(tq)[0] == std::vector<std::int64_t>{0, 1, 4});
  CHECK(k3.neighbours(tq)[1] == std::vector<std::int64_t>{0, 1, 2});  // zero query: all tie at 0
  CHECK(k3.neighbours(tq)[3] == std::vector<std::int64_t>{0, 1, 4});
  CHECK(k9.neighbours(tq)[0].size() == 6);  // k above N: every training vector
  CHECK(k9.score(tq)[0] == 4.0 / 6.0);
  // The zero training vector (3) sits at similarity 0: after e2 (0.447) for the 2 e1 + e2 query,
  // before -e1 (-0.894).
  CHECK(k9.neighbours(tq)[3] == std::vector<std::int64_t>{0, 1, 4, 2, 3, 5});

  // restore() from the stored parts gives the same scores; bad parts are errors.
  models::CosineKnn again(3);
  again.restore(k3.normalized(), k3.labels());
  CHECK(again.score(tq) == k3.score(tq));
  CHECK_THROWS_AS(again.restore(k3.normalized(), {0, 1}), Error);
  CHECK_THROWS_AS(again.restore(k3.normalized(), {0, 1, 2, 0, 0, 0}), Error);
  CHECK_THROWS_AS(models::CosineKnn(0), Error);
  CHECK_THROWS_AS(k3.score(Tensor::zeros({2, 4})), ShapeError);
}
