// tests/train/test_resume.cc: checkpoints and --resume.
//
// The promise: resuming gives the same result as never stopping, bitwise on the CPU. A run
// of 4 epochs straight and a run stopped after 2 epochs (as if killed) then resumed for the other 2
// must leave byte-identical weights, optimizer moments and trainer state. That only holds if the
// checkpoint captures everything: weights, AdamW moments and step counts, the schedule, the dropout
// generator, the data order and the early-stopping state.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "ops/autograd.h"
#include "ops/elementwise.h"
#include "ops/optim.h"
#include "ops/reduce.h"
#include "io/safetensors.h"
#include "tests/train/train_util.h"
#include "train/checkpoint.h"
#include "train/metrics_log.h"
#include "train/trainer.h"

using namespace loom;
using loom::test::read_bytes;
using loom::test::TempDir;

TEST_CASE("train: resume after an interruption equals never stopping bitwise") {
  TempDir dir;
  test::write_corpus(dir);
  std::ostringstream log_a, log_b, log_c;

  train::TrainOptions straight = test::tiny_options(dir, "straight");
  const train::TrainResult a = train::train(straight, log_a);
  REQUIRE(a.epochs_done == 4);
  CHECK_FALSE(a.interrupted);

  train::TrainOptions first = test::tiny_options(dir, "resumed");
  first.stop_after_epochs = 2;
  const train::TrainResult b = train::train(first, log_b);
  CHECK(b.interrupted);
  CHECK(b.epochs_done == 2);
  CHECK(log_b.str().find("--resume") != std::string::npos);
  // Stopped halfway: the weights must differ from the finished run's, or the test proves nothing.
  CHECK(read_bytes(dir.file("resumed/last.safetensors")) != read_bytes(dir.file("straight/last.safetensors")));

  train::TrainOptions second = test::tiny_options(dir, "ignored");
  second.resume = dir.file("resumed");
  const train::TrainResult c = train::train(second, log_c);
  CHECK(c.epochs_done == 4);
  CHECK(log_c.str().find("resuming after epoch 2") != std::string::npos);

  for (const char* f : {"last.safetensors", "best.safetensors", "optimizer.safetensors", "trainer_state.json"}) {
    INFO("file ", f);
    CHECK(read_bytes(dir.file(std::string("straight/") + f)) == read_bytes(dir.file(std::string("resumed/") + f)));
  }
  // The epoch losses match to the bit too, and every epoch is logged once.
  const auto rows_a = train::read_metrics_csv(dir.file("straight/metrics.csv"));
  const auto rows_c = train::read_metrics_csv(dir.file("resumed/metrics.csv"));
  REQUIRE(rows_a.size() == rows_c.size());
  for (std::size_t i = 0; i < rows_a.size(); ++i) {
    CHECK(rows_a[i].epoch == rows_c[i].epoch);
    CHECK(rows_a[i].split == rows_c[i].split);
    CHECK(rows_a[i].loss == rows_c[i].loss);
    CHECK(rows_a[i].step == rows_c[i].step);
  }
  REQUIRE(a.test.has_value());
  REQUIRE(c.test.has_value());
  CHECK(a.test->metrics.accuracy == c.test->metrics.accuracy);

  // A finished run has nothing to resume.
  train::TrainOptions again = second;
  CHECK_THROWS_WITH_AS(train::train(again, log_c), doctest::Contains("already finished"), Error);
}

TEST_CASE("train: AdamW state round trips through optimizer.safetensors") {
  TempDir dir;
  Tensor w = Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  Tensor b = Tensor::from_vector(std::vector<float>{0.5f, -0.5f}, {2});
  w.set_requires_grad(true);
  b.set_requires_grad(true);
  ops::AdamW opt({w, b}, {});
  // Two real steps (b gets no gradient in the second), so the step counts differ per parameter.
  for (int step = 0; step < 2; ++step) {
    Tape tape;
    Tensor loss;
    {
      auto rec = tape.record();
      Tensor y = step == 0 ? ops::add(ops::mul(w, w), b) : ops::mul(w, w);
      loss = ops::sum(ops::sum(y, ops::ReduceDim::Last), ops::ReduceDim::First);
    }
    opt.zero_grad();
    tape.backward(loss);
    opt.step();
  }
  REQUIRE(opt.steps_taken() == std::vector<std::int64_t>{2, 1});
  train::save_optimizer(dir.file("opt.safetensors"), opt, {"w", "b"}, 7);

  Tensor w2 = w.clone(), b2 = b.clone();
  w2.set_requires_grad(true);
  b2.set_requires_grad(true);
  ops::AdamW restored({w2, b2}, {});
  CHECK(train::load_optimizer(dir.file("opt.safetensors"), restored, {"w", "b"}) == 7);
  for (int i = 0; i < 2; ++i) {
    CHECK(restored.first_moments()[i].to_vector() == opt.first_moments()[i].to_vector());
    CHECK(restored.second_moments()[i].to_vector() == opt.second_moments()[i].to_vector());
  }
  CHECK(restored.first_moments()[0].to_vector() != std::vector<float>(4, 0.0f));
  CHECK(restored.steps_taken() == opt.steps_taken());
  // A parameter the file does not know, or a wrong shape, is a CheckpointError naming it.
  CHECK_THROWS_WITH_AS(train::load_optimizer(dir.file("opt.safetensors"), restored, {"w", "other"}),
                       doctest::Contains("other"), CheckpointError);
  Tensor w3 = Tensor::zeros({3, 2});
  w3.set_requires_grad(true);
  ops::AdamW wrong({w3, b2}, {});
  CHECK_THROWS_AS(train::load_optimizer(dir.file("opt.safetensors"), wrong, {"w", "b"}), CheckpointError);
  // load_state checks before copying: the failed restore left `wrong` untouched.
  CHECK(wrong.first_moments()[0].to_vector() == std::vector<float>(6, 0.0f));
}

TEST_CASE("train: clipping fused into the AdamW step equals clip_grad_norm then step bitwise") {
  auto make = [] {
    Tensor w = Tensor::uniform({64, 33}, -1.0f, 1.0f, 11);
    w.set_requires_grad(true);
    return w;
  };
  Tensor a = make(), b = make();
  ops::AdamW opt_a({a}, {}), opt_b({b}, {});
  for (int step = 0; step < 3; ++step) {
    for (Tensor* p : {&a, &b}) {
      Tape tape;
      Tensor loss;
      {
        auto rec = tape.record();
        Tensor y = ops::scale(ops::mul(*p, *p), 40.0f);  // large gradients: clipping is active
        loss = ops::sum(ops::sum(y, ops::ReduceDim::Last), ops::ReduceDim::First);
      }
      p->zero_grad();
      tape.backward(loss);
    }
    const double norm = ops::clip_grad_norm({a}, 1.0);
    opt_a.step();
    const float coeff = ops::clip_coefficient(ops::grad_norm({b}), 1.0);
    CHECK(coeff < 1.0f);
    CHECK(ops::grad_norm({b}) == norm);
    opt_b.step(Tensor::full({1}, coeff));
  }
  CHECK(a.to_vector() == b.to_vector());
  CHECK(opt_a.second_moments()[0].to_vector() == opt_b.second_moments()[0].to_vector());
  CHECK(ops::clip_coefficient(0.5, 1.0) == 1.0f);
}

namespace {

// 4 epochs straight against 2 + resume 2, in `precision`: the same files byte for byte. Returns the
// interrupted run's result (what the resume had to carry over).
train::TrainResult check_resume_bitwise(const std::string& precision, void (*adjust)(train::TrainOptions&)) {
  TempDir dir;
  test::write_corpus(dir);
  std::ostringstream log;
  train::TrainOptions straight = test::tiny_options(dir, "straight");
  straight.precision = precision;
  adjust(straight);
  const train::TrainResult a = train::train(straight, log);
  REQUIRE(a.epochs_done == 4);

  train::TrainOptions first = test::tiny_options(dir, "resumed");
  first.precision = precision;
  adjust(first);
  first.stop_after_epochs = 2;
  const train::TrainResult b = train::train(first, log);
  REQUIRE(b.interrupted);
  CHECK(read_bytes(dir.file("resumed/last.safetensors")) != read_bytes(dir.file("straight/last.safetensors")));

  // The options come from the resumed run's config.json, as `loom train --resume DIR` reads them.
  train::TrainOptions second = train::read_run_config(dir.file("resumed")).training;
  second.resume = dir.file("resumed");
  CHECK(second.precision == precision);
  const train::TrainResult c = train::train(second, log);
  CHECK(c.epochs_done == 4);
  for (const char* f : {"last.safetensors", "best.safetensors", "optimizer.safetensors", "trainer_state.json"}) {
    INFO("file ", f);
    CHECK(read_bytes(dir.file(std::string("straight/") + f)) == read_bytes(dir.file(std::string("resumed/") + f)));
  }
  CHECK(a.skipped_steps == c.skipped_steps);
  CHECK((std::isnan(a.loss_scale) ? std::isnan(c.loss_scale) : a.loss_scale == c.loss_scale));
  REQUIRE(a.test.has_value());
  REQUIRE(c.test.has_value());
  CHECK(a.test->metrics.accuracy == c.test->metrics.accuracy);
  return b;
}

}  // namespace

TEST_CASE("train: resume is bitwise in bf16") {
  check_resume_bitwise("bf16", [](train::TrainOptions&) {});
}

TEST_CASE("train: resume is bitwise in fp16 with the loss scaler's state") {
  // A first scale that overflows (so steps are skipped in the first half) and a short growth
  // interval (so the scale also grows): the scale, the growth count and the skipped total must all
  // cross the resume for the files to match.
  const train::TrainResult half = check_resume_bitwise("fp16", [](train::TrainOptions& o) {
    o.loss_scale_init = std::ldexp(1.0, 28);
    o.loss_scale_growth_interval = 7;
  });
  // What the resume carried was not trivial: steps were skipped and the scale grew since.
  CHECK(half.skipped_steps >= 1);
  CHECK(half.loss_scale > std::ldexp(1.0, 28 - static_cast<int>(half.skipped_steps)));  // grown at least once
}

TEST_CASE("train: metrics.csv from before the skipped_steps column is read and continued") {
  // A run folder written before mixed precision has 13 columns; --resume keeps its rows and writes
  // them back with the new last column (empty: nothing was skipped in a run without a scaler).
  TempDir dir;
  std::ofstream(dir.file("metrics.csv"), std::ios::binary)
      << "epoch,step,split,loss,accuracy,precision,recall,f1,auc,lr,grad_norm,time_s,tweets_per_s\n"
      << "1,10,train,0.5,0.75,,,,,0.001,0.9,1.5,100\n"
      << "2,20,train,0.4,0.8,,,,,0.001,0.8,1.5,100\n";
  const auto old_rows = train::read_metrics_csv(dir.file("metrics.csv"));
  REQUIRE(old_rows.size() == 2);
  CHECK(old_rows[1].loss == 0.4);
  CHECK(std::isnan(old_rows[1].skipped_steps));
  train::MetricsLog log(dir.path(), 1);
  train::EpochRow row;
  row.epoch = 2;
  row.step = 20;
  row.split = "train";
  row.loss = 0.3;
  row.skipped_steps = 3;
  log.write(row);
  const auto rows = train::read_metrics_csv(dir.file("metrics.csv"));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].loss == 0.5);
  CHECK(rows[1].loss == 0.3);
  CHECK(rows[1].skipped_steps == 3);
  CHECK(read_bytes(dir.file("metrics.csv")).rfind("epoch,step,split,loss,accuracy,precision,recall,f1,auc,lr,"
                                                  "grad_norm,time_s,tweets_per_s,skipped_steps\n", 0) == 0);
}
