// train/ensemble.cc: see ensemble.h.
#include "train/ensemble.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "data/batching.h"
#include "train/run_setup.h"
#include "train/runtime.h"
#include "train/text_data.h"

namespace loom::train {
namespace fs = std::filesystem;

namespace {

std::string ensemble_file(const std::string& dir) { return (fs::path(dir) / kEnsembleFile).string(); }

// "[0, 1]"
std::string names(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s + "]";
}

void expand_into(const std::string& dir, std::vector<std::string>& out, int depth) {
  // A folder listing itself (or a cycle of folders) would recurse forever; 16 levels is plenty.
  LOOM_CHECK(depth < 16, dir, ": ensemble folders nested more than 16 deep (does one list itself?)");
  if (!is_ensemble_dir(dir)) {
    if (!fs::exists(fs::path(dir) / "config.json"))
      LOOM_THROW(CheckpointError, dir, ": neither a run folder (config.json) nor an ensemble folder (", kEnsembleFile, ")");
    out.push_back(dir);
    return;
  }
  const nlohmann::json j = read_json_file(ensemble_file(dir));
  const auto it = j.find("members");
  if (it == j.end() || !it->is_array() || it->empty())
    LOOM_THROW(CheckpointError, ensemble_file(dir), ": \"members\" must be a non-empty list of folders");
  for (const auto& m : *it) {
    if (!m.is_string()) LOOM_THROW(CheckpointError, ensemble_file(dir), ": \"members\" must list folder names (strings)");
    const fs::path p(m.get<std::string>());
    expand_into((p.is_absolute() ? p : fs::path(dir) / p).lexically_normal().string(), out, depth + 1);
  }
}

bool has_user_model(const std::string& dir) { return fs::exists(fs::path(dir) / "user_model.json"); }

}  // namespace

bool is_ensemble_dir(const std::string& dir) { return fs::exists(ensemble_file(dir)); }

std::vector<std::string> expand_members(const std::vector<std::string>& dirs) {
  std::vector<std::string> out;
  for (const std::string& d : dirs) expand_into(d, out, 0);
  LOOM_CHECK(!out.empty(), "an ensemble needs at least one member");
  return out;
}

void check_compatible(const RunConfig& a, const std::string& a_dir, const RunConfig& b, const std::string& b_dir) {
  for (const auto* c : {&a, &b}) {
    const std::string& dir = c == &a ? a_dir : b_dir;
    if (c->metadata.size() > 0)
      LOOM_THROW(Error, "ensemble: ", dir, " uses account metadata (--meta-cols); only text runs can be averaged");
    if (has_user_model(dir))
      LOOM_THROW(Error, "ensemble: ", dir, " has a user model; only tweet-level runs can be averaged");
  }
  if (a.task != b.task || a.label_names != b.label_names)
    LOOM_THROW(Error, "ensemble: ", a_dir, " (", data::to_string(a.task), ", labels ", names(a.label_names), ") and ",
               b_dir, " (", data::to_string(b.task), ", labels ", names(b.label_names),
               ") predict different things; members need the same task and label names");
}

nlohmann::json write_ensemble(const std::string& dir, const std::vector<std::string>& members,
                              const std::vector<std::uint64_t>& seeds) {
  LOOM_CHECK(!members.empty(), "an ensemble needs at least one --member");
  // Check every run behind the members (configs only: no weights needed to decide compatibility).
  const std::vector<std::string> runs = expand_members(members);
  const RunConfig first = read_run_config(runs.front());
  for (std::size_t i = 1; i < runs.size(); ++i) check_compatible(first, runs.front(), read_run_config(runs[i]), runs[i]);
  fs::create_directories(dir);
  const fs::path base = fs::absolute(dir).lexically_normal();
  nlohmann::json list = nlohmann::json::array();
  for (const std::string& m : members) {
    // Relative paths: the folder can be moved or copied together with its members.
    const fs::path rel = fs::absolute(m).lexically_normal().lexically_relative(base);
    LOOM_CHECK(!rel.empty() && rel != ".", "ensemble: member ", m, " is the ensemble folder ", dir, " itself");
    list.push_back(rel.generic_string());
  }
  nlohmann::json j = {{"format", "loom-ensemble"},
                      {"version", 1},
                      {"combine", "mean-probability"},
                      {"members", list},
                      {"task", data::to_string(first.task)},
                      {"label_names", first.label_names},
                      {"threshold", first.threshold}};
  if (!seeds.empty()) j["seeds"] = seeds;
  write_json_file(ensemble_file(dir), j);
  return j;
}

Scores average_scores(const std::vector<Scores>& members) {
  LOOM_CHECK(!members.empty(), "average_scores: no members");
  Scores mean;
  mean.n = members.front().n;
  mean.k = members.front().k;
  mean.probs.assign(members.front().probs.size(), 0.0);
  for (const Scores& s : members) {
    LOOM_CHECK(s.n == mean.n && s.k == mean.k && s.probs.size() == mean.probs.size(), "average_scores: members scored ",
               s.n, "x", s.k, " and ", mean.n, "x", mean.k, " values");
    for (std::size_t i = 0; i < s.probs.size(); ++i) mean.probs[i] += s.probs[i];
  }
  for (double& p : mean.probs) p /= static_cast<double>(members.size());
  return mean;
}

double log_loss(const Scores& s, const std::vector<data::Example>& examples, data::TaskKind task) {
  LOOM_CHECK(static_cast<std::int64_t>(examples.size()) == s.n, "log_loss: ", s.n, " scores for ", examples.size(),
             " rows");
  if (s.n == 0) return std::nan("");
  const double eps = 1e-7;
  auto clamp = [eps](double p) { return std::min(std::max(p, eps), 1.0 - eps); };
  double sum = 0.0;
  for (std::int64_t i = 0; i < s.n; ++i) {
    const data::Example& e = examples[static_cast<std::size_t>(i)];
    const double* p = s.probs.data() + i * s.k;
    if (task == data::TaskKind::MultiClass) {
      sum -= std::log(clamp(p[e.label]));
    } else if (task == data::TaskKind::Binary) {
      sum -= e.label == 1 ? std::log(clamp(p[0])) : std::log(1.0 - clamp(p[0]));
    } else {  // multi-label: the mean over labels, as the training objective
      double row = 0.0;
      for (std::int64_t j = 0; j < s.k; ++j)
        row -= e.targets[static_cast<std::size_t>(j)] > 0.5 ? std::log(clamp(p[j])) : std::log(1.0 - clamp(p[j]));
      sum += row / static_cast<double>(s.k);
    }
  }
  return sum / static_cast<double>(s.n);
}

Ensemble::Ensemble(const std::vector<std::string>& dirs, Device device, Impl impl) {
  dirs_ = expand_members(dirs);
  for (const std::string& d : dirs_) {
    members_.push_back(load_run(d, device, impl));
    if (members_.size() > 1) check_compatible(members_.front().config, dirs_.front(), members_.back().config, d);
  }
  // A single member folder that is not an ensemble folder still passes through check_compatible's
  // refusals (metadata, user model): a one-member ensemble is a valid, if pointless, ensemble.
  if (members_.size() == 1) check_compatible(members_.front().config, dirs_.front(), members_.front().config, dirs_.front());
  threshold_ = members_.front().config.threshold;
  if (dirs.size() == 1 && is_ensemble_dir(dirs.front())) {
    const nlohmann::json j = read_json_file(ensemble_file(dirs.front()));
    if (j.contains("threshold") && j["threshold"].is_number()) threshold_ = j["threshold"].get<double>();
  }
}

std::vector<Scores> Ensemble::member_scores(const data::Dataset& d, std::int64_t batch_size,
                                            const std::string& precision) const {
  std::vector<Scores> out;
  const auto k = static_cast<std::int64_t>(primary().label_names.size());
  for (const LoadedRun& m : members_) {
    const RunConfig& rc = m.config;
    // The member's own pipeline: its tokenizer, vocabulary and (fasttext) hashed n-grams, its
    // max_len in predict_scores.
    const std::vector<data::EncodedExample> rows =
        data::encode_examples(d, tokenize_all(d, rc.tokenizer), rc.vocab, ngram_options(rc.training));
    const ops::Precision p = check_precision(precision.empty() ? rc.training.precision : precision);
    out.push_back(predict_scores(*m.model, rows, rc.task, k, rc.max_len, nullptr, batch_size, p));
  }
  return out;
}

Scores Ensemble::probabilities(const data::Dataset& d, std::int64_t batch_size, const std::string& precision) const {
  return average_scores(member_scores(d, batch_size, precision));
}

}  // namespace loom::train
