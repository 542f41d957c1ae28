// tests/train/test_grad_scaler.cc: fp16's dynamic loss scaler (train/grad_scaler.h).
//
// The unit cases drive GradScaler with injected found_inf sequences and check PyTorch GradScaler's
// rules: an overflow skips the step, halves the scale and restarts the growth count; the scale
// doubles after exactly growth_interval consecutive finite steps; the state round trips.
// The end-to-end case trains fp16 from a scale of 2^60, far above what fp16 can hold (65504 ~ 2^16):
// the scaled gradients overflow, so the first steps must be skipped and the scale halved until it
// fits; afterwards training proceeds and learns.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "tests/train/train_util.h"
#include "train/checkpoint.h"
#include "train/grad_scaler.h"
#include "train/metrics_log.h"
#include "train/trainer.h"

using namespace loom;
using loom::test::TempDir;

TEST_CASE("grad scaler: PyTorch's defaults") {
  const train::GradScaler s;
  CHECK(s.scale() == 65536.0f);
  CHECK(s.config().growth_factor == 2.0);
  CHECK(s.config().backoff_factor == 0.5);
  CHECK(s.config().growth_interval == 2000);
  CHECK(s.growth_tracker() == 0);
  CHECK(s.skipped_steps() == 0);
}

TEST_CASE("grad scaler: an overflow skips the step and backs off") {
  train::GradScaler s;
  CHECK(s.update(false));
  CHECK(s.update(false));
  CHECK(s.growth_tracker() == 2);
  CHECK_FALSE(s.update(true));  // skipped
  CHECK(s.scale() == 32768.0f);
  CHECK(s.growth_tracker() == 0);  // the run of finite steps starts over
  CHECK(s.skipped_steps() == 1);
  CHECK_FALSE(s.update(true));
  CHECK(s.scale() == 16384.0f);
  CHECK(s.skipped_steps() == 2);
  CHECK(s.update(false));
  CHECK(s.scale() == 16384.0f);  // a finite step alone does not grow it
  CHECK(s.skipped_steps() == 2);
}

TEST_CASE("grad scaler: growth after exactly the interval and an overflow resets the count") {
  train::GradScalerConfig c;
  c.init_scale = 1024.0;
  c.growth_interval = 5;
  train::GradScaler s(c);
  for (int i = 0; i < 4; ++i) CHECK(s.update(false));
  CHECK(s.scale() == 1024.0f);  // 4 < 5
  CHECK(s.update(false));
  CHECK(s.scale() == 2048.0f);  // the 5th finite step grows it
  CHECK(s.growth_tracker() == 0);
  // 4 finite, an overflow, then 4 more: 8 finite steps since the growth but never 5 in a row.
  for (int i = 0; i < 4; ++i) s.update(false);
  s.update(true);
  CHECK(s.scale() == 1024.0f);
  for (int i = 0; i < 4; ++i) s.update(false);
  CHECK(s.scale() == 1024.0f);
  CHECK(s.growth_tracker() == 4);
  s.update(false);
  CHECK(s.scale() == 2048.0f);
}

TEST_CASE("grad scaler: the scale never grows past F32's range") {
  train::GradScalerConfig c;
  c.init_scale = std::ldexp(1.0, 127);  // the largest power of two in F32
  c.growth_interval = 1;
  train::GradScaler s(c);
  CHECK(s.update(false));
  CHECK(s.scale() == std::ldexp(1.0f, 127));  // 2^128 is inf in F32: kept, as PyTorch does
  CHECK(std::isfinite(s.scale()));
}

TEST_CASE("grad scaler: state round trip and bad settings") {
  train::GradScalerConfig c;
  c.growth_interval = 3;
  train::GradScaler a(c);
  for (bool inf : {false, true, true, false, false}) a.update(inf);
  train::GradScaler b(c);
  b.load_state(a.state());
  CHECK(b.scale() == a.scale());
  CHECK(b.growth_tracker() == a.growth_tracker());
  CHECK(b.skipped_steps() == a.skipped_steps());
  CHECK(b.scale() == 16384.0f);
  CHECK(b.growth_tracker() == 2);
  // The restored scaler carries on exactly like the original.
  CHECK(a.update(false) == b.update(false));
  CHECK(a.scale() == b.scale());
  CHECK(a.scale() == 32768.0f);
  CHECK_THROWS_AS(b.load_state(nlohmann::json{{"scale", 1.0}}), CheckpointError);
  train::GradScalerConfig bad;
  bad.init_scale = 0;
  CHECK_THROWS_AS(train::GradScaler{bad}, Error);
  bad.init_scale = 1e39;  // not an F32 number
  CHECK_THROWS_AS(train::GradScaler{bad}, Error);
  bad = {};
  bad.growth_interval = 0;
  CHECK_THROWS_AS(train::GradScaler{bad}, Error);
}

TEST_CASE("grad scaler: fp16 training from a scale that overflows backs off and counts the skips and learns") {
  TempDir dir;
  test::write_corpus(dir, 2000);
  train::TrainOptions o = test::tiny_options(dir);
  o.lr_schedule = "constant";  // the steps after the skips get the full learning rate
  o.arch = "cnn";
  o.embed_dim = 32;
  o.filters = 16;
  o.dropout = 0.2;
  o.lr = 1e-2;
  o.epochs = 4;
  o.precision = "fp16";
  o.loss_scale_init = std::ldexp(1.0, 40);
  std::ostringstream log;
  const train::TrainResult r = train::train(o, log);
  INFO(log.str());
  const auto rows = train::read_metrics_csv(dir.file("run/metrics.csv"));
  std::int64_t steps = 0;
  for (const auto& row : rows)
    if (row.split == "train") steps = row.step;
  // Every skip halves the scale and the run is far shorter than the growth interval (2000), so the
  // final scale is exactly 2^40 / 2^skipped; and 2^40 overflows fp16 for certain (the gradient of
  // the logits alone is about 1/batch = 2^-5, times 2^40 is far above fp16's 65504), so skips happened.
  REQUIRE(steps < o.loss_scale_growth_interval);
  CHECK(r.skipped_steps >= 1);
  CHECK(r.skipped_steps < steps);
  CHECK(r.loss_scale == std::ldexp(1.0, 40 - static_cast<int>(r.skipped_steps)));
  // Counted in the log, metrics.csv and trainer_state.json alike.
  CHECK(log.str().find("skipped: ") != std::string::npos);
  CHECK(log.str().find("fp16 on the CPU runs emulated through F32") != std::string::npos);
  double logged = 0;
  for (const auto& row : rows)
    if (row.split == "train") logged += row.skipped_steps;
  CHECK(logged == static_cast<double>(r.skipped_steps));
  const train::TrainerState state = train::read_trainer_state(dir.file("run"));
  CHECK(state.grad_scaler.at("skipped_steps").get<std::int64_t>() == r.skipped_steps);
  CHECK(state.grad_scaler.at("scale").get<double>() == r.loss_scale);
  // It still learns: the training loss falls, and the last epoch's training accuracy is above 0.6.
  // The classes are balanced (about 640 each of 1,280 training rows), so chance is 0.5 with a
  // standard error of sqrt(0.25 / 1280) = 0.014: 0.6 is 7 standard errors above it. (This small
  // synthetic set is for the mechanics; test_mixed_precision.cc checks accuracy on real tweets.)
  CHECK(r.train_loss.back() < r.train_loss.front());
  CHECK(r.train_accuracy.back() > 0.6);
}
