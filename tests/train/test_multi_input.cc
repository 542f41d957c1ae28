// tests/train/test_multi_input.cc: several --input files for loom train (issue 17): the merge, the
// deduplication by normalized text and its per-file counts, conflicts (a text with two labels),
// the errors, and a training run on two files whose config.json keeps both for --resume.
#include <doctest/doctest.h>

#include <sstream>

#include "core/error.h"
#include "tests/support/temp_dir.h"
#include "tests/train/train_util.h"
#include "train/checkpoint.h"
#include "train/text_data.h"

using namespace loom;
using loom::test::Cli;
using loom::test::TempDir;
using loom::test::write_bytes;

TEST_CASE("multi-input: dedup_key lowercases ASCII and collapses whitespace") {
  CHECK(train::dedup_key("  Good \t Day!\n") == "good day!");
  CHECK(train::dedup_key("good day!") == "good day!");
  CHECK(train::dedup_key("GOOD\r\nDAY") == "good day");
  CHECK(train::dedup_key("gooddays") != train::dedup_key("good days"));  // spaces still separate words
  CHECK(train::dedup_key("") == "");
}

TEST_CASE("multi-input: merged files keep each text once and drop texts seen with two labels") {
  TempDir dir("multi_input");
  // a.csv: "good   DAY" repeats "Good day" (duplicate); "mixed" comes back with label 1 in b.csv.
  write_bytes(dir.file("a.csv"), "label,text\n1,Good day\n0,bad day\n1,good   DAY\n0,mixed\n");
  // b.csv: "Mixed" conflicts with a.csv, "Bad day" repeats a.csv, "new one" repeats itself.
  write_bytes(dir.file("b.csv"), "label,text\n1,Mixed\n1,new one\n0,Bad day\n1,new one\n");
  train::TrainOptions o;
  o.input = dir.file("a.csv");
  o.more_inputs = {dir.file("b.csv")};
  std::ostringstream log;
  const data::Dataset d = train::load_training_inputs(o, train::dataset_spec(o, o.input), log);
  MESSAGE(log.str());
  REQUIRE(d.examples.size() == 3);
  CHECK(d.examples[0].text == "Good day");  // the first row of a text is the one kept
  CHECK(d.examples[0].label == 1);
  CHECK(d.examples[1].text == "bad day");
  CHECK(d.examples[2].text == "new one");
  CHECK(log.str().find("input 1 " + dir.file("a.csv") + ": 4 rows, kept 2, duplicates 1 (text already seen), "
                       "conflicts 1") != std::string::npos);
  CHECK(log.str().find("input 2 " + dir.file("b.csv") + ": 4 rows, kept 1, duplicates 2 (text already seen), "
                       "conflicts 1") != std::string::npos);
  CHECK(log.str().find("inputs merged: 3 rows") != std::string::npos);

  // The same through merge_inputs' counts.
  std::vector<train::InputCount> counts;
  std::vector<data::Dataset> files{data::load_dataset(train::dataset_spec(o, dir.file("a.csv"))),
                                   data::load_dataset(train::dataset_spec(o, dir.file("b.csv")))};
  const data::Dataset m = train::merge_inputs(std::move(files), {"a", "b"}, counts);
  REQUIRE(counts.size() == 2);
  CHECK(counts[0].rows == 4);
  CHECK(counts[0].kept == 2);
  CHECK(counts[0].duplicates == 1);
  CHECK(counts[0].conflicts == 1);
  CHECK(counts[1].rows == 4);
  CHECK(counts[1].kept == 1);
  CHECK(counts[1].duplicates == 2);
  CHECK(counts[1].conflicts == 1);
  CHECK(m.examples.size() == 3);

  // One file: loaded as before, its own duplicates kept (existing behaviour).
  o.more_inputs.clear();
  std::ostringstream one;
  CHECK(train::load_training_inputs(o, train::dataset_spec(o, o.input), one).examples.size() == 4);
  CHECK(one.str().find("input 1") == std::string::npos);
}

TEST_CASE("multi-input: an unknown label or a metadata run is a one-line error") {
  TempDir dir("multi_input");
  write_bytes(dir.file("a.csv"), "label,text\n1,Good day\n0,bad day\n");
  write_bytes(dir.file("c.csv"), "label,text\n1,fine\n2,three labels?\n");
  train::TrainOptions o;
  o.input = dir.file("a.csv");
  o.more_inputs = {dir.file("c.csv")};
  std::ostringstream log;
  try {
    train::load_training_inputs(o, train::dataset_spec(o, o.input), log);
    FAIL("an unknown label in the second file must be an error");
  } catch (const Error& e) {
    MESSAGE(e.what());
    CHECK(std::string(e.what()).find("c.csv:3") != std::string::npos);  // file and line of the bad label
  }
  o.more_inputs = {dir.file("a.csv")};
  o.group_col = "user";
  CHECK_THROWS_WITH_AS(train::load_training_inputs(o, train::dataset_spec(o, o.input), log),
                       doctest::Contains("several --input files cannot be combined"), Error);
}

TEST_CASE("multi-input: loom train merges two --input files, prints the counts and saves both") {
  TempDir dir("multi_input");
  test::write_corpus(dir, 400, 3);
  // test.csv is a second file of the same corpus; train.csv given twice has every row duplicated.
  Cli tr({"train", "--input", dir.file("train.csv"), "--input", dir.file("test.csv"), "--input", dir.file("train.csv"),
          "--arch", "cnn", "--embed-dim", "16", "--filters", "8", "--epochs", "1", "--batch-size", "32", "--device",
          "cpu", "--ckpt-dir", dir.file("run")});
  MESSAGE(tr.out.str());
  REQUIRE(tr.status == 0);
  const std::string log = tr.out.str();
  CHECK(log.find("input 1 " + dir.file("train.csv") + ": 320 rows") != std::string::npos);
  CHECK(log.find("input 2 " + dir.file("test.csv") + ": 80 rows") != std::string::npos);
  // The third file repeats the first: nothing of it is kept.
  CHECK(log.find("input 3 " + dir.file("train.csv") + ": 320 rows, kept 0") != std::string::npos);
  CHECK(log.find("+ 2 more input files") != std::string::npos);  // the split names every file
  const train::RunConfig rc = train::read_run_config(dir.file("run"));
  CHECK(rc.training.input == dir.file("train.csv"));
  CHECK(rc.training.more_inputs == std::vector<std::string>{dir.file("test.csv"), dir.file("train.csv")});
}
