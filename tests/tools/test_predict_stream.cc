// tests/tools/test_predict_stream.cc: `loom predict` reads, scores and writes its input a chunk of
// rows at a time (--chunk-rows, 8192 by default). The output must not depend on the chunking: the
// same bytes as one chunk holding the whole file (which is what predict did before streaming), to
// a file or to stdout, with skipped rows, and the limits of docs/reliability-large-inputs.md.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <utility>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/csv.h"
#include "tests/train/train_util.h"
#include "tools/user_error.h"

using namespace loom;
using loom::test::Cli;
using loom::test::read_bytes;
using loom::test::TempDir;

namespace {

// A tiny CNN trained on the synthetic corpus in `dir` (run folder dir/run).
void train_tiny(const TempDir& dir) {
  Cli synth({"synth", "--out", dir.path(), "--rows", "400", "--seed", "3"});
  REQUIRE(synth.status == 0);
  Cli tr({"train", "--input", dir.file("train.csv"), "--arch", "cnn", "--embed-dim", "16", "--filters", "8",
          "--epochs", "1", "--batch-size", "32", "--device", "cpu", "--id-col", "id", "--ckpt-dir", dir.file("run")});
  REQUIRE(tr.status == 0);
}

// The synthetic unlabeled rows repeated (with fresh ids) until the file has at least `rows` rows,
// plus `extra` appended as is.
std::string unlabeled_rows(const TempDir& dir, std::size_t rows, const std::string& extra = "") {
  const data::CsvTable t = data::read_csv(dir.file("unlabeled.csv"));
  REQUIRE(t.header[0] == "id");
  std::string s = data::format_csv_record(t.header) + "\n";
  for (std::size_t i = 0; i < rows; ++i) {
    std::vector<std::string> f = t.records[i % t.records.size()].fields;
    f[0] = "r" + std::to_string(i);
    s += data::format_csv_record(f) + "\n";
  }
  return s + extra;
}

std::vector<std::string> predict_args(const TempDir& dir, const std::string& input, std::vector<std::string> more) {
  std::vector<std::string> a = {"predict", "--model", dir.file("run"), "--input", input};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

// The line `loom` prints for the error a command throws, and its exit status ("" and 0: no error).
std::pair<std::string, int> user_error(const std::vector<std::string>& args) {
  try {
    Cli run(args);
  } catch (const Error& e) {
    return {tools::user_message(e.what(), false), tools::exit_status_for(e)};
  }
  return {"", 0};
}

}  // namespace

TEST_CASE("predict: chunked output is byte-identical to one chunk, to a file and to stdout") {
  TempDir dir;
  train_tiny(dir);
  const std::string input = dir.write("in.csv", unlabeled_rows(dir, 300));
  // One chunk for the whole file (the path before streaming) against chunks of 7 rows, which do
  // not divide the batch size either (so batches differ at every chunk boundary).
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{}, std::vector<std::string>{"--with-text", "--batch-size", "5"}}) {
    std::vector<std::string> whole = extra, chunked = extra;
    whole.insert(whole.end(), {"--chunk-rows", "1000000", "--output", dir.file("whole.csv")});
    chunked.insert(chunked.end(), {"--chunk-rows", "7", "--output", dir.file("chunked.csv")});
    Cli a(predict_args(dir, input, whole)), b(predict_args(dir, input, chunked));
    REQUIRE(a.status == 0);
    REQUIRE(b.status == 0);
    const std::string bytes = read_bytes(dir.file("whole.csv"));
    CHECK(bytes == read_bytes(dir.file("chunked.csv")));
    CHECK(data::read_csv(dir.file("chunked.csv")).records.size() == 300);
    CHECK(b.err.str().find("predict: 300 tweets of") != std::string::npos);
    // stdout, chunked: the same bytes.
    std::vector<std::string> to_stdout = extra;
    to_stdout.insert(to_stdout.end(), {"--chunk-rows", "7"});
    Cli c(predict_args(dir, input, to_stdout));
    REQUIRE(c.status == 0);
    CHECK(c.out.str() == bytes);
  }
  // No temporary file is left next to the output.
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    CHECK_MESSAGE(e.path().filename().string().find(".tmp.") == std::string::npos, e.path().string());
}

TEST_CASE("predict: a file longer than the default chunk, with bad rows skipped, streams alike") {
  TempDir dir;
  train_tiny(dir);
  // 8192 rows make one default chunk; 9000 need two. Two bad rows: one malformed, one empty text.
  const std::string input = dir.write("big.csv", unlabeled_rows(dir, 9000, "x1,\"broken\" text\nx2,\"   \"\n"));
  Cli a(predict_args(dir, input, {"--on-bad-row", "skip", "--chunk-rows", "100000", "--output", dir.file("a.csv")}));
  Cli b(predict_args(dir, input, {"--on-bad-row", "skip", "--output", dir.file("b.csv")}));
  REQUIRE(a.status == 0);
  REQUIRE(b.status == 0);
  CHECK(read_bytes(dir.file("a.csv")) == read_bytes(dir.file("b.csv")));
  CHECK(data::read_csv(dir.file("b.csv")).records.size() == 9000);
  CHECK(b.err.str().find("skipped 2 bad rows of " + input) != std::string::npos);
  CHECK(b.err.str().find("predict: 9000 tweets of") != std::string::npos);
  // Without skipping, the bad row fails the run, and --output is not written (not even in part).
  const auto [line, status] = user_error(predict_args(dir, input, {"--output", dir.file("c.csv")}));
  CHECK(status == tools::kExitData);
  CHECK(line.find("big.csv:9002: field 'text': text after the closing quote") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.file("c.csv")));
  CHECK_FALSE(std::filesystem::exists(dir.file("c.csv.tmp." + std::to_string(::getpid()))));
}

TEST_CASE("predict: a 10 MB field is a one-line error naming file, line, field and the limit") {
  TempDir dir;
  train_tiny(dir);
  const std::string input = dir.write("huge.csv", "id,text\n1,fine\n2,\"" + std::string(10000000, 'w') + "\"\n");
  for (const char* policy : {"fail", "skip"}) {
    CAPTURE(policy);
    const auto [line, status] = user_error(predict_args(dir, input, {"--on-bad-row", policy, "--output", dir.file("p.csv")}));
    CHECK(status == tools::kExitData);
    CHECK(line.find("huge.csv:3: field 'text': longer than 1048576 bytes, the limit for one CSV field") != std::string::npos);
    CHECK(line.size() < 300);
    CHECK(line.find('\n') == std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("p.csv")));
  }
  CHECK(user_error(predict_args(dir, input, {"--chunk-rows", "0"})).first.find("--chunk-rows must be >= 1") !=
        std::string::npos);
}
