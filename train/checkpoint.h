// train/checkpoint.h: the run folder, written by `loom train` and read by eval, predict and --resume.
//
//   config.json          everything needed to rebuild the model and its input pipeline without the
//                        training data: model config, tokenizer settings, vocabulary, label names,
//                        task, max_len, threshold, the full training options, loom's git sha
//   best.safetensors     weights of the best epoch (PyTorch state_dict names and layouts)
//   last.safetensors     weights after the last finished epoch (what --resume continues from)
//   optimizer.safetensors  AdamW moments "exp_avg.<param>" / "exp_avg_sq.<param>" (loom layouts)
//                        and per-parameter step counts in the metadata
//   trainer_state.json   epoch, step, schedule, dropout generator, early stopping, best metric,
//                        fp16's loss scaler (scale, growth tracker, skipped steps)
//   metrics.csv, metrics.jsonl, curves.png|curves.txt, report_test.txt, report_test.json
// Every file is replaced atomically (io::write_file_atomic: temp file, fsync, rename), so a run
// killed at any moment leaves each file whole. The three files --resume needs are made
// consistent by a commit in two phases (save_epoch_checkpoint / settle_interrupted_save):
//   1. epoch k's weights and optimizer go to last.safetensors.next and optimizer.safetensors.next
//      (each stamped with k in its metadata; best.safetensors, when k is a new best, before them);
//   2. trainer_state.json (epoch k) is written: this rename is the commit;
//   3. the two .next files are renamed over last.safetensors and optimizer.safetensors.
// A kill before 2 leaves epoch k-1 committed and its files untouched (the .next files are
// dropped on --resume, which recomputes epoch k with the same bits); a kill between 2 and 3
// leaves .next files of the committed epoch, which --resume renames into place. eval and predict
// never see a partial file, only possibly the previous epoch's last.safetensors until then.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ops/optim.h"
#include "core/random.h"
#include "data/dataset.h"
#include "data/metadata.h"
#include "data/tokenizer.h"
#include "data/vocab.h"
#include "models/text_classifier.h"
#include "train/options.h"

namespace loom::train {

// config.json: what a trained model needs at inference time (plus the options, for the record).
struct RunConfig {
  models::ModelConfig model;
  data::TokenizerConfig tokenizer;
  data::Vocab vocab;
  std::vector<std::string> label_names;
  data::TaskKind task = data::TaskKind::Binary;
  std::int64_t max_len = 64;
  double threshold = 0.5;
  TrainOptions training;
  std::string weights = "best.safetensors";  // which file eval/predict load (last.* with --no-restore-best)
  std::string git_sha;                       // the commit that was built ("-dirty" suffix), "" if unknown
  // Bot detection (issue 14); both absent from the config.json of a text-only run (older files load).
  data::MetaSchema metadata;                 // "metadata": how eval / predict rebuild the raw features; size() 0: none
  std::string group_col;                     // "group_col": the user column the splits kept whole; "" if none
};

nlohmann::json to_json(const RunConfig& c);
RunConfig run_config_from_json(const nlohmann::json& j);  // CheckpointError naming what is wrong

// JSON files: pretty-printed, atomically replaced; read with CheckpointError "PATH: ...".
void write_json_file(const std::string& path, const nlohmann::json& j);
nlohmann::json read_json_file(const std::string& path);

void write_run_config(const std::string& dir, const RunConfig& c);
RunConfig read_run_config(const std::string& dir);  // CheckpointError when missing or malformed

// Model weights: state_dict() with the metadata given (epoch, metric ...).
void save_weights(const std::string& path, const models::Classifier& model,
                  const std::map<std::string, std::string>& metadata = {});
// Loads PATH into the model (names and shapes checked). Returns the file's metadata.
std::map<std::string, std::string> load_weights(const std::string& path, models::Classifier& model);

// Optimizer moments and step counts for the parameters `names` (the optimizer's order).
void save_optimizer(const std::string& path, const ops::AdamW& opt, const std::vector<std::string>& names,
                    int epoch);
// Restores into `opt`; CheckpointError when a parameter is missing or mis-shaped. Returns the epoch stamp.
int load_optimizer(const std::string& path, ops::AdamW& opt, const std::vector<std::string>& names);

// trainer_state.json
struct TrainerState {
  int epoch = 0;                // epochs finished
  std::int64_t step = 0;        // optimizer steps taken
  nlohmann::json schedule;      // LrSchedule::state()
  nlohmann::json early_stopping;  // EarlyStopping::state()
  std::uint64_t gen_seed = 0, gen_offset = 0;  // the dropout generator
  std::uint64_t data_seed = 0;  // epoch_batches(seed, epoch): the order is a pure function of both
  bool finished = false;        // the run ended (epochs done or early stop): nothing to resume
  bool stopped_early = false;
  nlohmann::json grad_scaler;   // GradScaler::state() of an fp16 run; null otherwise
};
void write_trainer_state(const std::string& dir, const TrainerState& s);
TrainerState read_trainer_state(const std::string& dir);

// The suffix of phase 1's files ("last.safetensors.next").
constexpr const char* kPendingSuffix = ".next";
// Phases 2 and 3 of an epoch's checkpoint (see the top of this file): `state` is committed, then
// DIR/last.safetensors.next and DIR/optimizer.safetensors.next, which the caller has written with
// the same epoch stamp, are renamed into place.
void commit_epoch_checkpoint(const std::string& dir, const TrainerState& state);
// Before --resume loads DIR: finishes or drops a save that a kill interrupted (a .next file of
// the committed epoch is renamed into place, one of a later epoch is removed) and removes the
// temporary files (*.tmp.<pid>) that a killed write leaves. Returns one line per action taken
// (empty when the folder was clean), for the run log.
std::string settle_interrupted_save(const std::string& dir, int committed_epoch);

// A trained model ready for eval/predict.
struct LoadedRun {
  RunConfig config;
  std::unique_ptr<models::Classifier> model;
  std::string weights_path;
};
// Reads DIR/config.json and the weights it names (best.safetensors; last.safetensors when best is
// absent because the run was stopped before its first validation). CheckpointError otherwise.
// impl: the LSTM / conv kernels to run (a run-time choice, not saved).
LoadedRun load_run(const std::string& dir, Device device, Impl impl = Impl::Auto);

}  // namespace loom::train
