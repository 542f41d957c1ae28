// train/ensemble.h: several trained runs used as one model (issue 17): the mean of their class
// probabilities.
//
// Why averaging probabilities: models trained with different seeds or architectures make partly
// independent mistakes, so their mean is better calibrated and usually more accurate than any one
// of them, at the cost of one forward pass per member. Each member keeps its own input pipeline
// (tokenizer, vocabulary, max_len from its config.json), so members may differ in arch, vocab and
// max-len; they must agree on the task and the label names (in order), since the probabilities
// being averaged must mean the same thing.
//
// An ensemble folder holds ensemble.json and, for a seed ensemble (`loom train --seeds`), the member
// run folders seed-42/, seed-43/, ...:
//   {"format": "loom-ensemble", "version": 1, "combine": "mean-probability",
//    "members": ["seed-42", "seed-43"],            // run folders, relative to this folder
//    "task": "binary", "label_names": ["0", "1"], "threshold": 0.5, "seeds": [42, 43]}
// `--model DIR` of eval accepts it wherever a run folder is accepted; a member that is itself an
// ensemble folder is expanded to its members. Members with account metadata or a user model are
// refused (their inputs are per-file joins and user sets, not raw rows).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"

namespace loom::train {

constexpr const char* kEnsembleFile = "ensemble.json";

// DIR/ensemble.json exists.
bool is_ensemble_dir(const std::string& dir);

// The run folders behind `dirs`: a run folder stays as it is, an ensemble folder becomes its
// members (paths resolved against the folder, nested ensembles expanded). Error: a folder with
// neither config.json nor ensemble.json, or an ensemble listing no member.
std::vector<std::string> expand_members(const std::vector<std::string>& dirs);

// A one-line Error naming both folders when `b` cannot be averaged with `a` (task, label names),
// or when either has account metadata or a user model.
void check_compatible(const RunConfig& a, const std::string& a_dir, const RunConfig& b, const std::string& b_dir);

// Writes DIR/ensemble.json listing `members` (run or ensemble folders; stored relative to DIR),
// after reading each member's config.json and checking they are compatible. `seeds`: recorded
// when not empty (loom train --seeds). Returns the JSON written.
nlohmann::json write_ensemble(const std::string& dir, const std::vector<std::string>& members,
                              const std::vector<std::uint64_t>& seeds = {});

// Element-wise mean of the members' probabilities (same n and k), loss unset.
Scores average_scores(const std::vector<Scores>& members);

// The mean log loss of probabilities `s` against labeled rows (binary / multi-label: BCE per
// output, averaged; multi-class: -log p[label]), probabilities clamped to [1e-7, 1 - 1e-7]. The
// loss of an ensemble is the loss of its averaged probabilities, not the mean of member losses.
double log_loss(const Scores& s, const std::vector<data::Example>& examples, data::TaskKind task);

class Ensemble {
 public:
  // Loads every run behind `dirs` (expand_members) and checks them against the first.
  Ensemble(const std::vector<std::string>& dirs, Device device, Impl impl = Impl::Auto);

  std::size_t size() const { return members_.size(); }
  const std::string& member_dir(std::size_t i) const { return dirs_[i]; }
  const RunConfig& config(std::size_t i) const { return members_[i].config; }
  const LoadedRun& run(std::size_t i) const { return members_[i]; }
  // The first member: its columns and format read the input; its task and labels are everyone's.
  const RunConfig& primary() const { return members_.front().config; }
  // The threshold of the ensemble folder's ensemble.json when one folder was given, else the
  // first member's.
  double threshold() const { return threshold_; }

  // Every member's probabilities for the rows of `d` (raw text: each member tokenizes and encodes
  // it with its own tokenizer, vocabulary and max_len). precision: "" = each member's training
  // precision, else this one for all.
  std::vector<Scores> member_scores(const data::Dataset& d, std::int64_t batch_size = 256,
                                    const std::string& precision = "") const;
  // "Probabilities for these raw rows": the mean of member_scores (what eval and predict use).
  Scores probabilities(const data::Dataset& d, std::int64_t batch_size = 256, const std::string& precision = "") const;

 private:
  std::vector<std::string> dirs_;
  std::vector<LoadedRun> members_;
  double threshold_ = 0.5;
};

}  // namespace loom::train
