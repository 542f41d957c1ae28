// tests/train/test_recipe.cc: recipe presets (train/recipe.h, issue 17): --preset tweets-ensemble
// expands into exactly the documented member command lines (train/README.md), each at --seed,
// --seed + 2, + 4 and + 6, with the user's data and run flags; a tiny end-to-end run writes an
// ensemble folder that loom eval scores; flags that would change the recipe, and a missing
// --embeddings, are refused before anything trains.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/csv.h"
#include "tests/support/temp_dir.h"
#include "tests/train/train_util.h"
#include "train/checkpoint.h"
#include "train/recipe.h"

using namespace loom;
using loom::test::Cli;
using loom::test::TempDir;
namespace fs = std::filesystem;

namespace {

// The members as train/README.md documents them ("Other domains", the preset), without the
// user's part (--input, --embeddings FILE, --seed, run flags, --ckpt-dir).
const std::vector<std::pair<std::string, std::vector<std::string>>>& documented() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> members = {
      {"lstm-cnn", {"--arch", "lstm-cnn", "--epochs", "4", "--max-len", "50", "--max-vocab", "20000", "--monitor",
                    "val_accuracy"}},
      {"cnn", {"--arch", "cnn", "--epochs", "4", "--max-len", "50", "--max-vocab", "20000", "--monitor",
               "val_accuracy"}},
      {"fasttext", {"--arch", "fasttext", "--word-ngrams", "2", "--char-ngrams", "3,5", "--buckets", "200000",
                    "--embed-dim", "64", "--dropout", "0", "--lr", "0.005", "--epochs", "2", "--max-len", "50",
                    "--max-vocab", "20000", "--monitor", "val_accuracy"}},
      {"bilstm", {"--arch", "bilstm", "--epochs", "4", "--max-len", "50", "--max-vocab", "20000", "--monitor",
                  "val_accuracy"}},
  };
  return members;
}

// The seeds each member trains at, after --seed, as measured (round 5 of
// bench/results/2026-12-07-other-domains-3.md).
const std::vector<int> kOffsets = {0, 2, 4, 6};

// Every member but fasttext trains with the user's vectors.
bool uses_vectors(const std::string& member) { return member != "fasttext"; }

std::vector<train::RecipeMember> expand(const std::vector<std::string>& args, const std::string& dir = "ens") {
  return train::expand_recipe("tweets-ensemble", tools::parse_train_flags(args), tools::given_train_flags(args), dir);
}

}  // namespace

TEST_CASE("recipe: tweets-ensemble expands into the documented member command lines") {
  const std::vector<std::string> user = {"--preset", "tweets-ensemble", "--input",      "a.csv", "--input",
                                         "b.csv",    "--embeddings",     "v.vec",        "--seed", "43",
                                         "--threads", "2",              "--text-col=tweet"};
  const std::vector<train::RecipeMember> members = expand(user);
  // Every documented member at seed 43, then every one at 43 + 2, then + 4, then + 6.
  REQUIRE(std::vector<int>(std::begin(train::kRecipeSeedOffsets), std::end(train::kRecipeSeedOffsets)) == kOffsets);
  const std::size_t n = documented().size();
  REQUIRE(members.size() == kOffsets.size() * n);
  for (std::size_t i = 0; i < members.size(); ++i) {
    const auto& arch = documented()[i % n].first;
    const auto& flags = documented()[i % n].second;
    const std::string seed = std::to_string(43 + kOffsets[i / n]);
    const std::string name = arch + "-seed-" + seed;
    CAPTURE(name);
    CHECK(members[i].name == name);
    std::vector<std::string> args = {"--input", "a.csv", "--input", "b.csv", "--seed", seed, "--threads", "2",
                                     "--text-col", "tweet", "--ckpt-dir", (fs::path("ens") / name).string()};
    if (uses_vectors(arch)) args.insert(args.end(), {"--embeddings", "v.vec"});
    args.insert(args.end(), flags.begin(), flags.end());
    // The whole options struct, as saved in config.json: nothing else of the user's leaks in.
    CHECK(train::to_json(members[i].options) == train::to_json(tools::parse_train_flags(args)));
    CHECK(members[i].options.preset.empty());  // a member is an ordinary run: --resume works on it alone
  }
  CHECK(train::is_recipe("tweets-ensemble"));
  CHECK_FALSE(train::is_recipe("cnn-kim"));
}

TEST_CASE("recipe: flags that would change the recipe are refused, and --embeddings is required") {
  const std::vector<std::string> base = {"--preset", "tweets-ensemble", "--input", "a.csv", "--embeddings", "v.vec"};
  CHECK_NOTHROW(expand(base));
  for (const std::vector<std::string>& extra : std::vector<std::vector<std::string>>{
           {"--epochs", "3"}, {"--arch", "cnn"}, {"--lr", "0.01"}, {"--seeds", "42,43"}, {"--resume", "r"},
           {"--freeze-embeddings"}, {"--max-len=40"}, {"--precision", "bf16"}}) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string flag = extra.front().substr(0, extra.front().find('='));
    CAPTURE(flag);
    CHECK_THROWS_WITH_AS(expand(args), doctest::Contains(("fixes " + flag).c_str()), Error);
  }
  CHECK_THROWS_WITH_AS(expand({"--preset", "tweets-ensemble", "--input", "a.csv"}),
                       doctest::Contains("needs --embeddings"), Error);
}

TEST_CASE("recipe: loom train --preset tweets-ensemble writes an ensemble folder that loom eval scores") {
  TempDir dir("recipe");
  test::write_corpus(dir, 300, 4);
  // 128-wide vectors for the first training tweet's words (any values: this checks the plumbing).
  {
    const data::CsvTable t = data::read_csv(dir.file("train.csv"));
    const auto text = std::find(t.header.begin(), t.header.end(), "text") - t.header.begin();
    std::istringstream words(t.records.front().fields.at(text));
    std::ostringstream body;
    int n = 0;
    for (std::string w; words >> w; ++n) {
      body << w;
      for (int k = 0; k < 128; ++k) body << ' ' << 0.01 * ((k + n) % 7 - 3);
      body << '\n';
    }
    std::ofstream(dir.file("v.vec")) << n << " 128\n" << body.str();
  }
  // A refused flag stops it before any member trains.
  CHECK_THROWS_WITH_AS(Cli({"train", "--preset", "tweets-ensemble", "--input", dir.file("train.csv"), "--embeddings",
                            dir.file("v.vec"), "--epochs", "1", "--ckpt-dir", dir.file("refused")}),
                       doctest::Contains("fixes --epochs"), Error);
  CHECK_FALSE(fs::exists(dir.file("refused")));
  CHECK_THROWS_WITH_AS(Cli({"train", "--preset", "tweets-ensembel", "--input", dir.file("train.csv")}),
                       doctest::Contains("tweets-ensemble"), Error);

  Cli tr({"train", "--preset", "tweets-ensemble", "--input", dir.file("train.csv"), "--embeddings", dir.file("v.vec"),
          "--device", "cpu", "--seed", "7", "--ckpt-dir", dir.file("ens")});
  MESSAGE(tr.out.str());
  REQUIRE(tr.status == 0);
  std::ifstream in(dir.file("ens/ensemble.json"));
  const nlohmann::json e = nlohmann::json::parse(in);
  nlohmann::json names = nlohmann::json::array();
  for (const int offset : kOffsets)
    for (const auto& m : documented()) names.push_back(m.first + "-seed-" + std::to_string(7 + offset));
  CHECK(e["members"] == names);
  for (const int offset : kOffsets) {
    const int seed = 7 + offset;
    for (const auto& m : documented()) {
      const train::RunConfig rc = train::read_run_config(dir.file("ens/" + m.first + "-seed-" + std::to_string(seed)));
      CHECK(rc.training.seed == static_cast<std::uint64_t>(seed));
      CHECK(rc.training.arch == m.first);
      CHECK(rc.training.embeddings == (uses_vectors(m.first) ? dir.file("v.vec") : ""));
    }
  }
  Cli ev({"eval", "--model", dir.file("ens"), "--input", dir.file("test.csv")});
  REQUIRE(ev.status == 0);
  const std::string count = "ensemble: " + std::to_string(names.size()) + " members";
  CHECK(ev.out.str().find(count) != std::string::npos);
}
