// tests/models/test_models_learning.cc: each classifier can learn. A fixed batch of 64 random
// "tweets" (random ids, lengths 1..16) with random labels has nothing to generalize from, so
// reaching training accuracy 1.0 shows that the gradient reaches every stage and that the model
// has the capacity to tell 64 sequences apart: the classic "overfit one batch" check.
// Also here, skipped unless asked for (--no-skip): the per-batch timing reported for issue 5.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "ops/autograd.h"
#include "ops/optim.h"
#include "tests/models/model_util.h"

using namespace loom;

namespace {

// tiny_config's architecture, one output and widths {2, 3}, with room to learn.
models::ModelConfig learning_config(models::Arch arch) {
  models::ModelConfig c = test::tiny_config(arch);
  c.vocab_size = 200;
  c.embed_dim = 32;
  c.hidden = 32;
  c.layers = 1;
  c.dropout = 0.2f;
  c.filters = 32;
  return c;
}

// Training accuracy of binary logits against 0/1 targets, in evaluation mode.
double accuracy(const models::TextClassifier& m, const test::TokenBatch& b, const std::vector<float>& targets) {
  NoGradGuard no_grad;
  const std::vector<float> y = m.forward(b.tokens, b.lengths, layers::Phase::Eval, default_generator()).to_vector();
  int right = 0;
  for (std::size_t i = 0; i < y.size(); ++i) right += (y[i] > 0) == (targets[i] > 0.5f);
  return static_cast<double>(right) / static_cast<double>(y.size());
}

}  // namespace

TEST_CASE("models: each architecture overfits 64 random examples to training accuracy 1") {
  constexpr std::int64_t B = 64, T = 16;
  const std::vector<std::int32_t> lens = test::random_ints(B, 3, static_cast<std::int32_t>(T));
  std::vector<std::int32_t> lengths;
  for (std::int32_t l : lens) lengths.push_back(l + 1);  // 1..16
  const test::TokenBatch batch = test::make_batch(lengths, T, 200, 4);
  const Tensor targets = test::random_targets(B, 1, 5);
  const std::vector<float> t = targets.to_vector();
  for (models::Arch arch : test::all_archs()) {
    INFO(test::arch_str(arch));
    const auto m = models::make_text_model(learning_config(arch), 1, Device::cpu());
    ops::AdamWConfig opt_config;
    opt_config.lr = 1e-2f;
    ops::AdamW opt(m->trainable_parameters(), opt_config);
    Generator gen(7);
    const double start = accuracy(*m, batch, t);
    const auto t0 = std::chrono::steady_clock::now();
    int steps = 0;
    double acc = start, loss = 0;
    while (steps < 300 && acc < 1.0) {
      opt.zero_grad();
      loss = test::bce_step(*m, batch, targets, layers::Phase::Train, gen);
      opt.step();
      if (++steps % 10 == 0) acc = accuracy(*m, batch, t);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE(test::arch_str(arch), ": accuracy ", start, " -> ", acc, " in ", steps, " AdamW steps, ", seconds,
            " s, last loss ", loss);
    CHECK(start < 0.75);  // random labels: an untrained model is near chance
    CHECK(acc == 1.0);
  }
}

// Forward + BCE + backward per batch at the training shape (B 64, T 30, E 128, H 128,
// widths 3,4,5 x 100 filters, 1 LSTM layer, vocabulary 20k: the default ModelConfig), median of 20 steps after
// 3 warm-up steps. Run: loom_tests -tc='models: time*' --no-skip (with OMP_WAIT_POLICY=passive).
TEST_CASE("models: time forward and backward per batch at B 64 T 30 E 128 H 128" * doctest::skip()) {
  constexpr std::int64_t B = 64, T = 30;
  std::vector<std::int32_t> lengths;
  for (std::int32_t l : test::random_ints(B, 9, 21)) lengths.push_back(10 + l);  // 10..30, like tweets
  lengths[0] = T;
  const test::TokenBatch batch = test::make_batch(lengths, T, 20000, 2);
  const Tensor targets = test::random_targets(B, 1, 3);
  for (models::Arch arch : test::all_archs()) {
    models::ModelConfig c;
    c.arch = arch;
    c.vocab_size = 20000;
    const auto m = models::make_text_model(c, 1, Device::cpu());
    Generator gen(1);
    ops::AdamW opt(m->trainable_parameters(), ops::AdamWConfig{});
    std::vector<double> ms, opt_ms;
    for (int i = 0; i < 23; ++i) {
      opt.zero_grad();
      const auto t0 = std::chrono::steady_clock::now();
      const double loss = test::bce_step(*m, batch, targets, layers::Phase::Train, gen);
      const auto t1 = std::chrono::steady_clock::now();
      for (const Tensor& p : m->trainable_parameters()) CHECK(p.grad().defined());
      const auto t2 = std::chrono::steady_clock::now();
      opt.step();
      const auto t3 = std::chrono::steady_clock::now();
      CHECK(std::isfinite(loss));
      if (i >= 3) {
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        opt_ms.push_back(std::chrono::duration<double, std::milli>(t3 - t2).count());
      }
    }
    std::sort(ms.begin(), ms.end());
    std::sort(opt_ms.begin(), opt_ms.end());
    char line[200];
    std::snprintf(line, sizeof line,
                  "%-9s forward+backward %7.2f ms/batch (median; min %.2f), AdamW step %.2f ms, %.2f M params",
                  models::arch_name(arch), ms[ms.size() / 2], ms.front(), opt_ms[opt_ms.size() / 2],
                  m->num_parameters() / 1e6);
    std::cout << line << std::endl;
  }
}
