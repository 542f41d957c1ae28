// tests/train/test_checkpoint_commit.cc: the two-phase checkpoint commit of train/checkpoint.h.
// A kill can stop a run between any two file operations of an epoch's save. The two folders a
// kill can leave are built here by hand from real runs, and --resume must finish each with the
// bits of a run that was never interrupted:
//   - killed before the commit: epoch k's .next files exist, trainer_state.json still says k-1;
//   - killed after the commit, before the renames: trainer_state.json says k, last.safetensors
//     still holds epoch k-1 and epoch k's weights are last.safetensors.next.
// tools/fault_test.sh kills real processes at random moments; these cases pin the two states
// down exactly.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.h"
#include "io/safetensors.h"
#include "tests/support/temp_dir.h"
#include "tests/train/train_util.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace loom {
namespace {

namespace fs = std::filesystem;
using test::read_bytes;
using test::TempDir;

// The same file with another epoch stamp: what phase 1 of a later epoch would have written.
void restamp(const std::string& from, const std::string& to, int epoch) {
  io::SafetensorsFile f = io::read_safetensors(from);
  f.metadata["epoch"] = std::to_string(epoch);
  io::write_safetensors(to, f.tensors, f.metadata);
}

void check_same_files(const TempDir& dir, const std::string& a, const std::string& b) {
  for (const char* f : {"last.safetensors", "best.safetensors", "optimizer.safetensors", "trainer_state.json"}) {
    INFO("file ", f);
    CHECK(read_bytes(dir.file(a + "/" + f)) == read_bytes(dir.file(b + "/" + f)));
  }
}

TEST_CASE("checkpoint commit: a save killed before its commit is dropped and the epoch recomputed") {
  TempDir dir;
  test::write_corpus(dir);
  std::ostringstream log;
  train::TrainOptions straight = test::tiny_options(dir, "straight");
  straight.epochs = 3;
  train::train(straight, log);

  train::TrainOptions first = test::tiny_options(dir, "killed");
  first.epochs = 3;
  first.stop_after_epochs = 2;
  train::train(first, log);
  // Epoch 3's phase 1 had written both files when the kill came (their contents do not matter:
  // they are never committed), and a write of some other file was cut short.
  restamp(dir.file("killed/last.safetensors"), dir.file("killed/last.safetensors.next"), 3);
  restamp(dir.file("killed/optimizer.safetensors"), dir.file("killed/optimizer.safetensors.next"), 3);
  std::ofstream(dir.file("killed/metrics.jsonl.tmp.4242")) << "half a line";
  // eval still reads the committed epoch's weights.
  CHECK(train::read_trainer_state(dir.file("killed")).epoch == 2);
  CHECK_NOTHROW(train::load_run(dir.file("killed"), Device::cpu(), Impl::Auto));

  train::TrainOptions resume = test::tiny_options(dir, "ignored");
  resume.epochs = 3;
  resume.resume = dir.file("killed");
  std::ostringstream resumed_log;
  const train::TrainResult r = train::train(resume, resumed_log);
  CHECK(r.epochs_done == 3);
  CHECK(resumed_log.str().find("dropped last.safetensors.next (epoch 3, never committed") != std::string::npos);
  CHECK(resumed_log.str().find("removed metrics.jsonl.tmp.4242") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.file("killed/last.safetensors.next")));
  CHECK_FALSE(fs::exists(dir.file("killed/metrics.jsonl.tmp.4242")));
  check_same_files(dir, "straight", "killed");
}

TEST_CASE("checkpoint commit: a save killed after its commit is finished by --resume") {
  TempDir dir;
  test::write_corpus(dir);
  std::ostringstream log;
  train::TrainOptions straight = test::tiny_options(dir, "straight");
  straight.epochs = 3;
  train::train(straight, log);

  // Two runs of the same recipe: one stopped after epoch 1 (whose last/optimizer files are what
  // the folder held before epoch 2's save), one after epoch 2 (the committed state).
  train::TrainOptions one = test::tiny_options(dir, "one");
  one.epochs = 3;
  one.stop_after_epochs = 1;
  train::train(one, log);
  train::TrainOptions two = test::tiny_options(dir, "killed");
  two.epochs = 3;
  two.stop_after_epochs = 2;
  train::train(two, log);
  // Killed after trainer_state.json (epoch 2) was committed, before either rename.
  for (const char* f : {"last.safetensors", "optimizer.safetensors"}) {
    fs::rename(dir.file(std::string("killed/") + f), dir.file(std::string("killed/") + f + ".next"));
    fs::copy_file(dir.file(std::string("one/") + f), dir.file(std::string("killed/") + f));
  }
  CHECK(train::read_trainer_state(dir.file("killed")).epoch == 2);

  train::TrainOptions resume = test::tiny_options(dir, "ignored");
  resume.epochs = 3;
  resume.resume = dir.file("killed");
  std::ostringstream resumed_log;
  const train::TrainResult r = train::train(resume, resumed_log);
  CHECK(r.epochs_done == 3);
  CHECK(resumed_log.str().find("finished the interrupted save of epoch 2: last.safetensors put in place") !=
        std::string::npos);
  CHECK(resumed_log.str().find("finished the interrupted save of epoch 2: optimizer.safetensors put in place") !=
        std::string::npos);
  check_same_files(dir, "straight", "killed");
}

TEST_CASE("checkpoint commit: a normal save leaves no .next file behind") {
  TempDir dir;
  test::write_corpus(dir);
  std::ostringstream log;
  train::TrainOptions o = test::tiny_options(dir, "run");
  o.epochs = 1;
  train::train(o, log);
  for (const auto& entry : fs::directory_iterator(dir.file("run"))) {
    const std::string name = entry.path().filename().string();
    INFO(name);
    CHECK(name.find(train::kPendingSuffix) == std::string::npos);
    CHECK(name.find(".tmp.") == std::string::npos);
  }
  CHECK(train::read_trainer_state(dir.file("run")).epoch == 1);
}

}  // namespace
}  // namespace loom
