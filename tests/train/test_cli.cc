// tests/train/test_cli.cc: `loom train -> eval -> predict` end to end through tools::run_cli (the
// function the binary's main() calls), the run folder's files, and the errors a user meets.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "data/csv.h"
#include "io/safetensors.h"
#include "tests/train/train_util.h"
#include "tools/commands.h"
#include "train/checkpoint.h"
#include "train/source_version.h"

using namespace loom;
using loom::test::Cli;
using loom::test::read_bytes;
using loom::test::TempDir;

namespace {


std::vector<std::string> tiny_train_args(const TempDir& dir, const std::string& run) {
  return {"train", "--input", dir.file("train.csv"), "--arch", "cnn", "--embed-dim", "16", "--filters", "8",
          "--epochs", "2", "--batch-size", "32", "--device", "cpu", "--id-col", "id", "--ckpt-dir", dir.file(run)};
}

}  // namespace

TEST_CASE("train: cli trains, evaluates and predicts on a tiny synthetic corpus") {
  TempDir dir;
  {
    Cli synth({"synth", "--out", dir.path(), "--rows", "400", "--seed", "3"});
    REQUIRE(synth.status == 0);
    CHECK(synth.out.str().find("train.csv") != std::string::npos);
  }
  Cli tr(tiny_train_args(dir, "run"));
  REQUIRE(tr.status == 0);
  const std::string log = tr.out.str();
  MESSAGE(log);
  CHECK(log.find("Epoch 1/2 - ") != std::string::npos);  // one plain line per epoch off a terminal
  CHECK(log.find("Epoch 2/2 - ") != std::string::npos);
  CHECK(log.find("train 256 (negative ") != std::string::npos);  // per-split class counts (80% of 320)
  CHECK(log.find("confusion matrix") != std::string::npos);
  CHECK(tr.err.str().find('\r') == std::string::npos);  // no progress bar into a non-terminal

  // The run folder is complete, and no temporary file of the atomic writes is left behind.
  for (const char* f : {"config.json", "best.safetensors", "last.safetensors", "optimizer.safetensors",
                        "trainer_state.json", "metrics.csv", "metrics.jsonl", "report_test.txt", "report_test.json"})
    CHECK_MESSAGE(std::filesystem::exists(dir.file(std::string("run/") + f)), f);
  for (const auto& e : std::filesystem::directory_iterator(dir.file("run")))
    CHECK_MESSAGE(e.path().filename().string().find(".tmp.") == std::string::npos, e.path().string());
  CHECK((std::filesystem::exists(dir.file("run/curves.png")) || std::filesystem::exists(dir.file("run/curves.txt"))));

  // config.json round trip: vocabulary, labels and options survive.
  const train::RunConfig rc = train::read_run_config(dir.file("run"));
  CHECK(rc.label_names == std::vector<std::string>{"negative", "positive"});
  CHECK(rc.task == data::TaskKind::Binary);
  CHECK(rc.vocab.token(0) == "<pad>");
  CHECK(rc.vocab.size() == rc.model.vocab_size);
  CHECK(rc.training.id_cols == std::vector<std::string>{"id"});
  CHECK(rc.training.epochs == 2);
  CHECK(rc.model.arch == models::Arch::Cnn);
  CHECK(train::run_config_from_json(train::to_json(rc)).vocab.tokens() == rc.vocab.tokens());
  // The recorded source version is the one `loom --version` prints: the commit that was built.
  Cli version({"--version"});
  CHECK(version.status == 0);
  CHECK(version.out.str() == "loom " + (rc.git_sha.empty() ? "(not built from a git checkout)" : rc.git_sha) + "\n");
  // Tensor names are the PyTorch state_dict's.
  const io::SafetensorsFile best = io::read_safetensors(dir.file("run/best.safetensors"));
  std::vector<std::string> names;
  for (const auto& [name, t] : best.tensors) names.push_back(name);
  CHECK(std::find(names.begin(), names.end(), "embedding.weight") != names.end());
  CHECK(std::find(names.begin(), names.end(), "convs.0.weight") != names.end());
  CHECK(std::find(names.begin(), names.end(), "head.bias") != names.end());

  // eval: the report and the confusion matrix, and the same as JSON.
  Cli ev({"eval", "--model", dir.file("run"), "--input", dir.file("test.csv"), "--output", dir.file("eval.json")});
  REQUIRE(ev.status == 0);
  CHECK(ev.out.str().find("precision    recall  f1-score   support") != std::string::npos);
  CHECK(ev.out.str().find("confusion matrix") != std::string::npos);
  std::ifstream jf(dir.file("eval.json"));
  const nlohmann::json j = nlohmann::json::parse(jf);
  CHECK(j["rows"].get<int>() == 80);
  CHECK(j["accuracy"].get<double>() >= 0.0);
  CHECK(j["confusion_matrix"].size() == 2);

  // predict: one row per input, the id column, one probability per label and the decision.
  Cli pr({"predict", "--model", dir.file("run"), "--input", dir.file("unlabeled.csv"), "--output", dir.file("p.csv")});
  REQUIRE(pr.status == 0);
  const data::CsvTable in = data::read_csv(dir.file("unlabeled.csv"));
  const data::CsvTable preds = data::read_csv(dir.file("p.csv"));
  CHECK(preds.header == std::vector<std::string>{"id", "prob_negative", "prob_positive", "label"});
  REQUIRE(preds.records.size() == in.records.size());
  for (std::size_t i = 0; i < preds.records.size(); ++i) {
    const auto& f = preds.records[i].fields;
    CHECK(f[0] == in.records[i].fields[0]);  // ids in input order
    const double p0 = std::stod(f[1]), p1 = std::stod(f[2]);
    CHECK(p0 + p1 == doctest::Approx(1.0).epsilon(1e-5));
    CHECK(f[3] == (p1 >= 0.5 ? "positive" : "negative"));
  }
  // Without --output the CSV goes to stdout.
  Cli pr2({"predict", "--model", dir.file("run"), "--input", dir.file("unlabeled.csv")});
  REQUIRE(pr2.status == 0);
  CHECK(pr2.out.str().rfind("id,prob_negative,prob_positive,label\n", 0) == 0);

  // --resume with nothing else: the saved flags apply; --epochs extends the run.
  Cli more({"train", "--resume", dir.file("run"), "--epochs", "3"});
  REQUIRE(more.status == 0);
  CHECK(more.out.str().find("resuming after epoch 2") != std::string::npos);
  CHECK(more.out.str().find("Epoch 3/3") != std::string::npos);
  CHECK(train::read_trainer_state(dir.file("run")).epoch == 3);

  // A truncated weights file is a CheckpointError on eval, never a crash.
  const std::string bytes = read_bytes(dir.file("run/best.safetensors"));
  std::ofstream(dir.file("run/best.safetensors"), std::ios::binary | std::ios::trunc)
      << bytes.substr(0, bytes.size() / 2);
  CHECK_THROWS_AS(Cli({"eval", "--model", dir.file("run"), "--input", dir.file("test.csv")}), CheckpointError);
}

TEST_CASE("train: the recorded source version is the commit that was built") {
  // cmake/source_version.cmake regenerates it on every build, so it cannot lag behind HEAD the way
  // a configure-time value did. (Tests run right after a build, on the tree they were built from.)
  std::string head;
  if (FILE* git = popen("git -C '" LOOM_SOURCE_DIR "' rev-parse --short=12 HEAD 2>/dev/null", "r")) {
    char buf[64] = {};
    if (fgets(buf, sizeof buf, git)) head = buf;
    pclose(git);
  }
  while (!head.empty() && (head.back() == '\n' || head.back() == '\r')) head.pop_back();
  const std::string built = source_version();
  if (head.empty()) {
    CHECK(built.empty());  // no git checkout (or no git): nothing is claimed
  } else {
    CHECK(built.substr(0, 12) == head);
    CHECK((built.size() == 12 || built.substr(12) == "-dirty"));
  }
}

TEST_CASE("train: cli reports bad input and bad flags clearly") {
  TempDir dir;
  test::write_corpus(dir, 200);
  // A missing column names the columns that exist.
  std::vector<std::string> args = tiny_train_args(dir, "r1");
  args.insert(args.end(), {"--text-col", "tweet"});
  CHECK_THROWS_WITH_AS(Cli{args}, doctest::Contains("tweet"), DataError);
  try {
    Cli{args};
  } catch (const DataError& e) {
    const std::string m = e.what();
    CHECK(m.find("label") != std::string::npos);
    CHECK(m.find("text") != std::string::npos);
  }
  CHECK_FALSE(std::filesystem::exists(dir.file("r1")));  // a failed run leaves no folder behind
  // A missing file names it.
  CHECK_THROWS_WITH_AS(Cli({"train", "--input", dir.file("nope.csv"), "--ckpt-dir", dir.file("r2")}),
                       doctest::Contains("nope.csv"), DataError);
  // An unknown precision is a usage error naming the valid ones (bf16 and fp16 train: see below).
  args = tiny_train_args(dir, "r3");
  args.insert(args.end(), {"--precision", "fp8"});
  Cli fp8(args);
  CHECK(fp8.status != 0);
  CHECK(fp8.err.str().find("bf16") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.file("r3")));
  // An unknown --monitor lists the known ones.
  args = tiny_train_args(dir, "r4");
  args.insert(args.end(), {"--monitor", "val_bogus"});
  CHECK_THROWS_WITH_AS(Cli{args}, doctest::Contains("val_f1"), Error);
  // Usage errors are CLI11's: non-zero status and a message, no exception.
  Cli unknown({"train", "--input", dir.file("train.csv"), "--no-such-flag"});
  CHECK(unknown.status != 0);
  CHECK(unknown.err.str().find("no-such-flag") != std::string::npos);
  Cli arch({"train", "--input", dir.file("train.csv"), "--arch", "transformer"});
  CHECK(arch.status != 0);
  // An existing run is never overwritten by a new one.
  Cli ok(tiny_train_args(dir, "r5"));
  REQUIRE(ok.status == 0);
  CHECK_THROWS_WITH_AS(Cli(tiny_train_args(dir, "r5")), doctest::Contains("--resume"), Error);
  // eval on a folder that is not a run.
  CHECK_THROWS_AS(Cli({"eval", "--model", dir.path(), "--input", dir.file("test.csv")}), CheckpointError);
  // help is for newcomers: grouped flags with their defaults.
  Cli help({"train", "--help"});
  CHECK(help.status == 0);
  CHECK(help.out.str().find("--batch-size INT=64") != std::string::npos);
  CHECK(help.out.str().find("Training:") != std::string::npos);
}

TEST_CASE("train: cli --precision bf16 trains and eval / predict default to it with an override") {
  TempDir dir;
  test::write_corpus(dir, 200);
  std::vector<std::string> args = tiny_train_args(dir, "run");
  args.insert(args.end(), {"--precision", "bf16"});
  Cli tr(args);
  REQUIRE(tr.status == 0);
  CHECK(tr.out.str().find("precision: bf16 (autocast") != std::string::npos);
  CHECK(train::read_run_config(dir.file("run")).training.precision == "bf16");

  Cli ev({"eval", "--model", dir.file("run"), "--input", dir.file("test.csv"), "--output", dir.file("bf16.json")});
  REQUIRE(ev.status == 0);
  CHECK(ev.out.str().find("precision: bf16 (as trained)") != std::string::npos);
  Cli ev32({"eval", "--model", dir.file("run"), "--input", dir.file("test.csv"), "--precision", "fp32", "--output",
            dir.file("fp32.json")});
  REQUIRE(ev32.status == 0);
  CHECK(ev32.out.str().find("precision: fp32\n") != std::string::npos);
  // The two forwards really differ in precision: bf16 rounds the weights and activations (8
  // significant bits), so the mean loss over the test split cannot come out bit-identical.
  std::ifstream j16(dir.file("bf16.json")), j32(dir.file("fp32.json"));
  const nlohmann::json a = nlohmann::json::parse(j16), b = nlohmann::json::parse(j32);
  CHECK(a["loss"].get<double>() != b["loss"].get<double>());
  // ... yet close: each bf16 rounding is at most 2^-9 = 0.2% relative, and the tiny cnn's forward
  // rounds a value about ten times on its way to the loss (embedding, conv, pool, head): about 2%
  // in the worst case, so 5% leaves room for the loss being a difference of logs, not a bare sum.
  CHECK(a["loss"].get<double>() == doctest::Approx(b["loss"].get<double>()).epsilon(0.05));

  Cli pr({"predict", "--model", dir.file("run"), "--input", dir.file("unlabeled.csv"), "--precision", "fp16"});
  REQUIRE(pr.status == 0);
  CHECK(pr.err.str().find("fp16 on the CPU runs emulated through F32") != std::string::npos);
  CHECK(pr.out.str().rfind("id,prob_negative,prob_positive,label\n", 0) == 0);
  Cli bad({"eval", "--model", dir.file("run"), "--input", dir.file("test.csv"), "--precision", "half-ish"});
  CHECK(bad.status != 0);
}

// predict's writer is the CSV reader's inverse (data::quote_csv_field): a field starting with a
// UTF-8 byte-order mark is quoted, or a reader would drop the mark from the first header field.
TEST_CASE("predict: its CSV fields are quoted exactly when the reader needs it") {
  CHECK(tools::csv_field("plain") == "plain");
  CHECK(tools::csv_field("a,b") == "\"a,b\"");
  CHECK(tools::csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(tools::csv_field("two\nlines") == "\"two\nlines\"");
  CHECK(tools::csv_field("\xEF\xBB\xBFid") == "\"\xEF\xBB\xBFid\"");
  const data::CsvTable back = data::parse_csv("id,text\n" + tools::csv_field("\xEF\xBB\xBFx") + ",y\n", "mem.csv");
  REQUIRE(back.records.size() == 1);
  CHECK(back.records[0].fields[0] == "\xEF\xBB\xBFx");
}
