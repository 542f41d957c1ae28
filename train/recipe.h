// train/recipe.h: recipe presets (issue 17): `loom train --preset tweets-ensemble` trains several
// member runs into DIR/<member>/ and writes DIR/ensemble.json, so `loom eval --model DIR` scores
// their mean probability.
//
// Why a recipe is one name and not a list of flags for the user to copy: the recipe was measured
// as a whole (train/README.md, "Other domains"), and five flags per member across three or four
// members is where copies go wrong. models::preset() names are one-model presets (arch and sizes);
// a recipe preset is a whole set of runs.
//
// How a recipe combines with the user's flags: the recipe fixes every model and training flag of
// its members. The user gives the data (--input, repeated; columns, format, --val/--test), the
// word vectors (--embeddings, required: they come from `loom embed`, docs/embed.md), the seed
// (--seed S: every member trains at S, S + 2, S + 4 and S + 6, so the ensemble holds each member
// four times), where it runs (--device --impl --threads --deterministic) and the folder (--ckpt-dir).
// Any other flag is refused, naming it: an --epochs or --lr given with the preset would silently
// make it a different, unmeasured recipe. --seeds and --resume are refused too (the recipe fixes
// its seeds; resume a member folder on its own).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/options.h"

namespace loom::train {

// Each member trains at --seed plus each of these (the measured ensembles: seeds {42, 44, 46, 48}
// and {43, 45, 47, 49}, round 5 of bench/results/2026-12-07-other-domains-3.md).
inline constexpr std::uint64_t kRecipeSeedOffsets[] = {0, 2, 4, 6};

struct RecipeMember {
  std::string name;      // its folder under the ensemble folder: <arch>-seed-<seed>
  TrainOptions options;  // the member's whole run (ckpt_dir included)
};

// The recipe presets: {"tweets-ensemble"}.
std::vector<std::string> recipe_names();
bool is_recipe(const std::string& name);

// The flags (CLI11 names, "--seed") that may be given with a recipe preset.
const std::vector<std::string>& recipe_user_flags();

// Recipe `name` for the user's parsed flags `user`; `given`: the flags on the command line. The
// members' options are the defaults, then the user's data, seed and run fields, then the recipe's
// own flags. Error (naming the flag): a flag outside recipe_user_flags(), or no --embeddings.
// `dir`: the ensemble folder (each member goes to dir/<name>).
std::vector<RecipeMember> expand_recipe(const std::string& name, const TrainOptions& user,
                                        const std::vector<std::string>& given, const std::string& dir);

}  // namespace loom::train
