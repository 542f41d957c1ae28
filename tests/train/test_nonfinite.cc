// tests/train/test_nonfinite.cc: a non-finite loss or gradient during training (issue 16).
// The default (--nonfinite error) stops naming the epoch, the step and the first parameter whose
// gradient is not finite, and leaves the finished epochs' checkpoints as they were, so --resume
// finishes with the bits of a run that never failed; --nonfinite skip leaves the weights alone for
// that step and counts it. The NaN is injected into one gradient after a chosen step's backward
// (TrainOptions::inject_nan_grad_at_step, a test-only field).
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/safetensors.h"
#include "tests/support/temp_dir.h"
#include "tests/train/train_util.h"
#include "tools/user_error.h"
#include "train/checkpoint.h"
#include "train/metrics_log.h"
#include "train/trainer.h"

namespace loom {
namespace {

using test::read_bytes;
using test::TempDir;

TEST_CASE("train: a NaN gradient stops the run naming epoch, step and parameter, resume then finishes bitwise") {
  TempDir dir;
  test::write_corpus(dir);
  std::ostringstream log;

  // The reference: two epochs that never fail.
  train::TrainOptions straight = test::tiny_options(dir, "straight");
  straight.epochs = 2;
  const train::TrainResult a = train::train(straight, log);
  REQUIRE(a.epochs_done == 2);
  const std::int64_t steps_per_epoch = static_cast<std::int64_t>(a.step_loss.size()) / 2;
  REQUIRE(steps_per_epoch >= 3);

  // The same run, with a NaN in one gradient at the second step of epoch 2.
  train::TrainOptions failing = test::tiny_options(dir, "failing");
  failing.epochs = 2;
  failing.inject_nan_grad_at_step = steps_per_epoch + 2;
  std::string message;
  try {
    train::train(failing, log);
    FAIL("a NaN gradient did not stop the run");
  } catch (const Error& e) {
    message = tools::user_message(e.what(), false);
    CHECK(tools::exit_status_for(e) == tools::kExitError);
  }
  INFO(message);
  CHECK(message.find("epoch 2, step 2: non-finite gradients (norm nan)") == 0);
  const std::string lead = "the first parameter with a non-finite gradient is '";
  const std::size_t at = message.find(lead);
  REQUIRE(at != std::string::npos);
  const std::string param = message.substr(at + lead.size(), message.find('\'', at + lead.size()) - at - lead.size());
  CHECK_FALSE(param.empty());
  CHECK(read_bytes(dir.file("failing/last.safetensors")).find("\"" + param + "\"") != std::string::npos);
  CHECK(message.find("--nonfinite skip") != std::string::npos);

  // Epoch 1's checkpoint is complete; the failed epoch wrote nothing over it.
  CHECK(train::read_trainer_state(dir.file("failing")).epoch == 1);

  // Resumed without the fault, the run ends with the bits of the run that never failed.
  train::TrainOptions resume = test::tiny_options(dir, "ignored");
  resume.epochs = 2;
  resume.resume = dir.file("failing");
  const train::TrainResult c = train::train(resume, log);
  CHECK(c.epochs_done == 2);
  for (const char* f : {"last.safetensors", "best.safetensors", "optimizer.safetensors"}) {
    INFO("file ", f);
    CHECK(read_bytes(dir.file(std::string("straight/") + f)) == read_bytes(dir.file(std::string("failing/") + f)));
  }
}

TEST_CASE("train: --nonfinite skip leaves the weights alone for that step and counts it") {
  TempDir dir;
  test::write_corpus(dir);
  std::ostringstream log;
  train::TrainOptions o = test::tiny_options(dir, "skip");
  o.epochs = 1;
  o.nonfinite = "skip";
  o.inject_nan_grad_at_step = 2;
  const train::TrainResult r = train::train(o, log);
  CHECK(r.epochs_done == 1);
  CHECK(r.nonfinite_skipped == 1);
  REQUIRE(r.train_loss.size() == 1);
  CHECK(std::isfinite(r.train_loss[0]));
  CHECK(log.str().find("non-finite steps skipped: 1") != std::string::npos);
  bool found = false;
  for (const train::EpochRow& row : train::read_metrics_csv(dir.file("skip/metrics.csv")))
    if (row.split == "train") {
      found = true;
      CHECK(row.skipped_steps == 1);
    }
  CHECK(found);
  // No update was made at the skipped step: every parameter's AdamW step count (saved in
  // optimizer.safetensors) is one less than a clean run's, and the weights differ from it.
  train::TrainOptions clean = test::tiny_options(dir, "clean");
  clean.epochs = 1;
  const train::TrainResult full = train::train(clean, log);
  const auto steps_of = [&](const std::string& run) {
    const io::SafetensorsFile f = io::read_safetensors(dir.file(run + "/optimizer.safetensors"));
    return nlohmann::json::parse(f.metadata.at("steps")).get<std::vector<std::int64_t>>();
  };
  const std::vector<std::int64_t> skipped_steps = steps_of("skip"), clean_steps = steps_of("clean");
  REQUIRE(skipped_steps.size() == clean_steps.size());
  REQUIRE_FALSE(clean_steps.empty());
  for (std::size_t i = 0; i < clean_steps.size(); ++i) {
    CHECK(clean_steps[i] == static_cast<std::int64_t>(full.step_loss.size()));
    CHECK(skipped_steps[i] == clean_steps[i] - 1);
  }
  CHECK(read_bytes(dir.file("clean/last.safetensors")) != read_bytes(dir.file("skip/last.safetensors")));
  // The policy is saved with the run, so --resume keeps it.
  CHECK(train::read_run_config(dir.file("skip")).training.nonfinite == "skip");
}

TEST_CASE("train: --nonfinite accepts error and skip only") {
  TempDir dir;
  test::write_corpus(dir);
  test::Cli bad({"train", "--input", dir.file("train.csv"), "--nonfinite", "ignore", "--ckpt-dir", dir.file("r")});
  CHECK(bad.status == tools::kExitUsage);
  CHECK(bad.err.str().find("nonfinite") != std::string::npos);
}

}  // namespace
}  // namespace loom
