// tests/train/test_compare.cc: `loom compare` (train/compare.h, tools/compare.cc): the draws
// (disjoint, balanced, reproducible, shared by every architecture), a tiny end-to-end run on the
// synthetic corpus, resuming, and the one-line errors for bad flags.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/dataset.h"
#include "tests/train/train_util.h"
#include "train/compare.h"

using loom::test::Cli;
using loom::test::TempDir;

namespace {

loom::data::Dataset load(const std::string& path) {
  loom::data::DatasetSpec spec;
  spec.path = path;
  return loom::data::load_dataset(spec);
}

std::vector<std::int64_t> per_class(const loom::data::Dataset& d, const std::vector<std::int64_t>& rows) {
  std::vector<std::int64_t> n(d.label_names.size(), 0);
  for (std::int64_t r : rows) ++n[static_cast<std::size_t>(d.examples[static_cast<std::size_t>(r)].label)];
  return n;
}

// The message of the loom::Error a command line throws ("" when it throws none).
std::string error_of(const std::vector<std::string>& args) {
  try {
    Cli c(args);
  } catch (const loom::Error& e) {
    return e.what();
  }
  return "";
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// The tiny model every run of these tests trains (a second or so each on the CPU).
std::vector<std::string> tiny_flags() {
  return {"--embed-dim", "8", "--hidden", "8", "--filters", "4", "--batch-size", "32", "--device", "cpu",
          "--no-png"};
}

}  // namespace

TEST_SUITE("compare") {
  TEST_CASE("draws are disjoint and balanced and reproducible from the seed and differ between draws") {
    TempDir dir("cmp");
    loom::test::write_corpus(dir, 600);
    const loom::data::Dataset d = load(dir.file("train.csv"));  // 480 rows, two labels
    const auto draws = loom::train::balanced_draws(d, 3, 200, 100, 11);
    REQUIRE(draws.size() == 3);
    for (const auto& dr : draws) {
      CHECK(dr.train.size() == 200);
      CHECK(dr.test.size() == 100);
      std::set<std::int64_t> tr(dr.train.begin(), dr.train.end());
      CHECK(tr.size() == 200);  // no row twice
      for (std::int64_t r : dr.test) CHECK(tr.count(r) == 0);  // disjoint
      CHECK(per_class(d, dr.train) == std::vector<std::int64_t>{100, 100});
      CHECK(per_class(d, dr.test) == std::vector<std::int64_t>{50, 50});
    }
    CHECK(draws[0].train != draws[1].train);  // independent draws
    const auto again = loom::train::balanced_draws(d, 3, 200, 100, 11);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(again[i].train == draws[i].train);
      CHECK(again[i].test == draws[i].test);
    }
    CHECK(loom::train::balanced_draws(d, 1, 200, 100, 12)[0].train != draws[0].train);
  }

  TEST_CASE("a short class gives what it has and the test part stays balanced first") {
    TempDir dir("cmp");
    // 30 negatives and 200 positives.
    std::ofstream f(dir.file("skew.csv"));
    f << "text,label\n";
    for (int i = 0; i < 30; ++i) f << "bad thing " << i << ",0\n";
    for (int i = 0; i < 200; ++i) f << "good thing " << i << ",1\n";
    f.close();
    const loom::data::Dataset d = load(dir.file("skew.csv"));
    const auto dr = loom::train::balanced_draws(d, 1, 100, 40, 3)[0];
    CHECK(per_class(d, dr.test) == std::vector<std::int64_t>{20, 20});
    CHECK(per_class(d, dr.train) == std::vector<std::int64_t>{10, 90});  // the 10 negatives left, 90 positives
    CHECK(dr.test_per_class == std::vector<std::int64_t>{20, 20});
    CHECK(dr.train_per_class == std::vector<std::int64_t>{10, 90});
  }

  TEST_CASE("a tiny compare run writes the table and JSON and run folders and a rerun resumes") {
    TempDir dir("cmp");
    loom::test::write_corpus(dir, 600);
    std::vector<std::string> args{"compare", "--input", dir.file("train.csv"), "--archs", "bow,cnn",
                                  "--draws", "2", "--train", "200", "--test", "100", "--epochs", "1",
                                  "--out", dir.file("cmp"), "--json", dir.file("c.json"),
                                  "--markdown", dir.file("c.md"), "--resamples", "500"};
    for (const std::string& f : tiny_flags()) args.push_back(f);
    Cli c(args);
    REQUIRE(c.status == 0);
    const std::string table = c.out.str();
    CHECK(table.find("bow - cnn") != std::string::npos);
    CHECK(table.find("accuracy per draw") != std::string::npos);
    const nlohmann::json j = read_json(dir.file("c.json"));
    CHECK(j["archs"] == nlohmann::json({"bow", "cnn"}));
    CHECK(j["runs"].size() == 4);
    CHECK(j["pairs"].size() == 3);  // one pair, three metrics
    for (const auto& p : j["pairs"]) {
      CHECK(p["differences"].size() == 2);
      CHECK(p["ci_low"].get<double>() <= p["mean_diff"].get<double>() + 1e-12);
      CHECK(p["mean_diff"].get<double>() <= p["ci_high"].get<double>() + 1e-12);
      CHECK(p["wins"].get<int>() + p["losses"].get<int>() + p["ties"].get<int>() == 2);
    }
    for (const std::string a : {"bow", "cnn"})
      for (const std::string m : {"accuracy", "f1_macro", "roc_auc"}) {
        CHECK(j["summary"][a][m]["values"].size() == 2);
        const double mean = j["summary"][a][m]["mean"].get<double>();
        CHECK(mean > 0.0);
        CHECK(mean <= 1.0);
      }
    std::ifstream md_in(dir.file("c.md"));
    const std::string md((std::istreambuf_iterator<char>(md_in)), std::istreambuf_iterator<char>());
    CHECK(md.find("| bow − cnn | accuracy |") != std::string::npos);
    CHECK(std::filesystem::exists(dir.file("cmp/dots.txt")));
    // The same draws for every architecture: each run trained on draws/draw-d/train.csv.
    for (int d = 1; d <= 2; ++d)
      for (const std::string a : {"bow", "cnn"}) {
        const std::string run = dir.file("cmp/" + a + "/draw-" + std::to_string(d));
        CHECK(std::filesystem::exists(run + "/compare_result.json"));
        const nlohmann::json cfg = read_json(run + "/config.json");
        CHECK(cfg["training"]["input"] == dir.file("cmp/draws/draw-" + std::to_string(d) + "/train.csv"));
        CHECK(cfg["training"]["embed_dim"] == 8);  // a `loom train` flag passed through to every run
        CHECK(cfg["training"]["epochs"] == 1);
        CHECK(cfg["training"]["seed"] == 42 + d);  // seed + draw
        CHECK(cfg["training"]["test"] == dir.file("cmp/draws/draw-" + std::to_string(d) + "/test.csv"));
      }
    // A rerun trains nothing and gives the same numbers.
    Cli again(args);
    REQUIRE(again.status == 0);
    CHECK(again.out.str().find("finished earlier") != std::string::npos);
    CHECK(again.out.str().find("====") == std::string::npos);
    CHECK(read_json(dir.file("c.json"))["summary"] == j["summary"]);
    // An interrupted run (a folder without compare_result.json) is trained again, and only it.
    std::filesystem::remove(dir.file("cmp/cnn/draw-2/compare_result.json"));
    Cli resumed(args);
    REQUIRE(resumed.status == 0);
    const std::string log = resumed.out.str();
    CHECK(log.find("unfinished folder, training again") != std::string::npos);
    CHECK(log.find("==== cnn, draw 2 of 2") != std::string::npos);
    CHECK(log.find("==== bow") == std::string::npos);
    CHECK(std::filesystem::exists(dir.file("cmp/cnn/draw-2/compare_result.json")));
  }

  TEST_CASE("bad flags are one-line errors naming the flag") {
    TempDir dir("cmp");
    loom::test::write_corpus(dir, 200);  // 160 training rows
    const std::string in = dir.file("train.csv");
    auto run = [&](std::vector<std::string> extra) {
      std::vector<std::string> a{"compare", "--input", in, "--out", dir.file("o"), "--epochs", "1"};
      a.insert(a.end(), extra.begin(), extra.end());
      return error_of(a);
    };
    const std::string unknown = run({"--archs", "lstm,transformer", "--train", "50", "--test", "20"});
    CHECK(unknown.find("--archs") != std::string::npos);
    CHECK(unknown.find("transformer") != std::string::npos);
    const std::string big = run({"--archs", "bow,cnn", "--train", "500", "--test", "20"});
    CHECK(big.find("--train") != std::string::npos);
    CHECK(big.find("160") != std::string::npos);
    CHECK(run({"--archs", "bow,cnn", "--draws", "1", "--train", "50", "--test", "20"}).find("--draws") !=
          std::string::npos);
    CHECK(run({"--archs", "bow", "--train", "50", "--test", "20"}).find("--archs") != std::string::npos);
    CHECK(run({"--archs", "bow,cnn", "--arch", "lstm"}).find("--arch ") != std::string::npos);
    CHECK(run({"--archs", "bow,cnn", "--hidden", "lots"}).find("--hidden") != std::string::npos);
    CHECK(run({"--archs", "bow,cnn", "--hiddn", "3"}).find("--hiddn") != std::string::npos);
    CHECK(error_of({"compare", "--input", dir.file("missing.csv"), "--archs", "bow,cnn"}).find("missing.csv") !=
          std::string::npos);
    for (const std::string& msg : {unknown, big}) CHECK(msg.find('\n') == std::string::npos);
  }
}
