// train/recipe.cc: see recipe.h. The members of tweets-ensemble are the ones measured in
// bench/results/2026-12-07-other-domains-2.md, each trained at four seeds as measured in
// bench/results/2026-12-07-other-domains-3.md; train/README.md lists them as command lines, and
// tests/train/test_recipe.cc checks that these options equal those command lines parsed.
#include "train/recipe.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "data/csv.h"

namespace loom::train {

namespace {

// Defaults, then exactly the fields of recipe_user_flags() from the user's options.
TrainOptions user_part(const TrainOptions& u) {
  TrainOptions o;
  o.input = u.input;
  o.more_inputs = u.more_inputs;
  o.format = u.format;
  o.encoding = u.encoding;
  o.text_col = u.text_col;
  o.label_col = u.label_col;
  o.id_cols = u.id_cols;
  o.on_bad_row = u.on_bad_row;
  o.val_path = u.val_path;
  o.test_path = u.test_path;
  o.val_split = u.val_split;
  o.test_split = u.test_split;
  o.embeddings = u.embeddings;
  o.seed = u.seed;
  o.device = u.device;
  o.impl = u.impl;
  o.threads = u.threads;
  o.deterministic = u.deterministic;
  return o;
}

// The flags every neural member shares (issue 17's common flags): 4 epochs at most, the epoch
// with the best accuracy on the validation split restored.
void common(TrainOptions& o) {
  o.epochs = 4;
  o.max_len = 50;
  o.max_vocab = 20000;
  o.monitor = "val_accuracy";
}

// --arch ARCH --embeddings FILE + common: lstm-cnn, cnn and bilstm with loom's word vectors.
RecipeMember with_vectors(const TrainOptions& base, const std::string& arch) {
  RecipeMember m{arch, base};
  m.options.arch = arch;
  common(m.options);
  return m;
}

// --arch fasttext --word-ngrams 2 --char-ngrams 3,5 --buckets 200000 --embed-dim 64 --dropout 0
// --lr 0.005 --epochs 2 --max-len 50 --max-vocab 20000 --monitor val_accuracy (no vectors: its
// 64-wide table learns from the n-grams).
RecipeMember fasttext(const TrainOptions& base) {
  RecipeMember m{"fasttext", base};
  TrainOptions& o = m.options;
  o.embeddings.clear();
  o.arch = "fasttext";
  o.word_ngrams = 2;
  o.char_ngrams = {3, 5};
  o.ngram_buckets = 200000;
  o.embed_dim = 64;
  o.dropout = 0.0;
  o.lr = 0.005;
  common(o);
  o.epochs = 2;
  return m;
}

}  // namespace

std::vector<std::string> recipe_names() { return {"tweets-ensemble"}; }

bool is_recipe(const std::string& name) {
  const std::vector<std::string> names = recipe_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

const std::vector<std::string>& recipe_user_flags() {
  static const std::vector<std::string> flags = {
      "--preset",   "--input",      "--format", "--encoding", "--text-col", "--label-col",
      "--id-col",   "--on-bad-row", "--val",    "--val-split", "--test",    "--test-split",
      "--embeddings", "--seed",     "--device", "--impl",     "--threads",  "--deterministic",
      "--ckpt-dir"};
  return flags;
}

std::vector<RecipeMember> expand_recipe(const std::string& name, const TrainOptions& user,
                                        const std::vector<std::string>& given, const std::string& dir) {
  LOOM_CHECK(is_recipe(name), "unknown recipe preset '", name, "' (choose one of ", data::join_names(recipe_names()), ")");
  const std::vector<std::string>& allowed = recipe_user_flags();
  for (const std::string& flag : given)
    LOOM_CHECK(std::find(allowed.begin(), allowed.end(), flag) != allowed.end(), "--preset ", name, " fixes ",
               flag, " (the recipe is measured as a whole: train/README.md, \"Other domains\"); give only ",
               data::join_names(allowed));
  LOOM_CHECK(!user.embeddings.empty(), "--preset ", name,
             " needs --embeddings FILE: 128-wide word vectors from `loom embed --dim 128` (docs/embed.md)");
  // The four members of issue 17's second round (R1, bench/results/2026-12-07-other-domains-2.md),
  // each at four seeds: the fifth round's winner (R5, highest s140 dev accuracy, -3.md). The seeds
  // are --seed, + 2, + 4 and + 6, as measured ({42, 44, 46, 48} and {43, 45, 47, 49}); all
  // members of one seed come before the next seed's, in the measured order, since the mean's float
  // sum depends on the order.
  std::vector<RecipeMember> members;
  for (const std::uint64_t offset : kRecipeSeedOffsets) {
    const std::uint64_t seed = user.seed + offset;
    TrainOptions base = user_part(user);
    base.seed = seed;
    for (RecipeMember m : {with_vectors(base, "lstm-cnn"), with_vectors(base, "cnn"), fasttext(base),
                           with_vectors(base, "bilstm")}) {
      m.name += "-seed-" + std::to_string(seed);
      m.options.ckpt_dir = (std::filesystem::path(dir) / m.name).string();
      members.push_back(m);
    }
  }
  return members;
}

}  // namespace loom::train
