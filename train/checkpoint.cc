// train/checkpoint.cc: the run folder's files (see checkpoint.h).
#include "train/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "train/json_integer.h"
#include "models/factory.h"

namespace loom::train {
namespace {

constexpr int kFormatVersion = 1;

template <typename T>
T field(const nlohmann::json& j, const char* name, const std::string& where) {
  const auto it = j.find(name);
  if (it == j.end()) LOOM_THROW(CheckpointError, where, ": missing field \"", name, "\"");
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception& e) {
    LOOM_THROW(CheckpointError, where, ": field \"", name, "\" has the wrong type (", e.what(), ")");
  }
}

std::string stamp(int epoch) { return std::to_string(epoch); }

int parse_stamp(const std::map<std::string, std::string>& meta, const std::string& path) {
  const auto it = meta.find("epoch");
  if (it == meta.end()) LOOM_THROW(CheckpointError, path, ": no \"epoch\" in the metadata (not a loom checkpoint?)");
  try {
    return std::stoi(it->second);
  } catch (const std::exception&) {
    LOOM_THROW(CheckpointError, path, ": metadata epoch '", it->second, "' is not a number");
  }
}

}  // namespace

nlohmann::json to_json(const RunConfig& c) {
  nlohmann::json j = {{"format", "loom-run"},
          {"format_version", kFormatVersion},
          {"git_sha", c.git_sha},
          {"task", data::to_string(c.task)},
          {"label_names", c.label_names},
          {"max_len", c.max_len},
          {"threshold", c.threshold},
          {"weights", c.weights},
          {"model", c.model.to_json()},
          {"tokenizer", data::to_json(c.tokenizer)},
          {"training", to_json(c.training)},
          // Last: the longest entry, so the rest of the file stays readable at a glance.
          {"vocab", c.vocab.to_json()}};
  if (c.metadata.size() > 0) j["metadata"] = c.metadata.to_json();
  if (!c.group_col.empty()) j["group_col"] = c.group_col;
  return j;
}

RunConfig run_config_from_json(const nlohmann::json& j) {
  const std::string where = "config.json";
  if (!j.is_object()) LOOM_THROW(CheckpointError, where, ": not a JSON object");
  if (field<std::string>(j, "format", where) != "loom-run")
    LOOM_THROW(CheckpointError, where, ": \"format\" is not \"loom-run\"");
  const int version = field<int>(j, "format_version", where);
  if (version > kFormatVersion)
    LOOM_THROW(CheckpointError, where, ": format_version ", version, " is newer than this loom reads (",
               kFormatVersion, "); update loom");
  RunConfig c;
  c.git_sha = field<std::string>(j, "git_sha", where);
  try {
    c.task = data::parse_task_kind(field<std::string>(j, "task", where));
  } catch (const DataError& e) {
    LOOM_THROW(CheckpointError, where, ": ", e.what());
  }
  c.label_names = field<std::vector<std::string>>(j, "label_names", where);
  c.max_len = field<std::int64_t>(j, "max_len", where);
  c.threshold = field<double>(j, "threshold", where);
  c.weights = field<std::string>(j, "weights", where);
  if (!j.contains("model") || !j.contains("tokenizer") || !j.contains("vocab") || !j.contains("training"))
    LOOM_THROW(CheckpointError, where, ": needs \"model\", \"tokenizer\", \"vocab\" and \"training\"");
  c.model = models::ModelConfig::from_json(j.at("model"));
  try {
    c.tokenizer = data::tokenizer_config_from_json(j.at("tokenizer"));
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {
    LOOM_THROW(CheckpointError, where, ": tokenizer: ", e.what());
  }
  c.vocab = data::Vocab::from_json(j.at("vocab"));
  c.training = train_options_from_json(j.at("training"));
  if (j.contains("metadata")) c.metadata = data::MetaSchema::from_json(j.at("metadata"));
  if (j.contains("group_col")) c.group_col = field<std::string>(j, "group_col", where);
  if (c.model.meta_features > 0 && c.metadata.size() != c.model.meta_features)
    LOOM_THROW(CheckpointError, where, ": the model reads ", c.model.meta_features, " metadata features but \"metadata\" "
               "lists ", c.metadata.size());
  // Cross-checks: a hand-edited or mixed-up config must not reach the model as an out-of-range id.
  if (c.vocab.size() != c.model.vocab_size)
    LOOM_THROW(CheckpointError, where, ": the vocabulary has ", c.vocab.size(), " tokens but the model expects ",
               c.model.vocab_size);
  const std::int64_t k = static_cast<std::int64_t>(c.label_names.size());
  const std::int64_t outputs = c.task == data::TaskKind::Binary ? 1 : k;
  if (k < (c.task == data::TaskKind::MultiLabel ? 1 : 2) || c.model.num_outputs != outputs)
    LOOM_THROW(CheckpointError, where, ": ", k, " labels for a ", data::to_string(c.task), " task but the model has ",
               c.model.num_outputs, " outputs");
  return c;
}

void write_json_file(const std::string& path, const nlohmann::json& j) {
  io::write_file_atomic(path, j.dump(2) + "\n");
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) LOOM_THROW(CheckpointError, path, ": cannot open (", std::filesystem::exists(path) ? "unreadable" : "missing",
                     ")");
  std::stringstream ss;
  ss << f.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    LOOM_THROW(CheckpointError, path, ": not valid JSON (", e.what(), ")");
  }
}

void write_run_config(const std::string& dir, const RunConfig& c) { write_json_file(dir + "/config.json", to_json(c)); }

RunConfig read_run_config(const std::string& dir) {
  const std::string path = dir + "/config.json";
  if (!std::filesystem::is_directory(dir)) LOOM_THROW(CheckpointError, dir, ": not a folder (expected a run folder from loom train)");
  const nlohmann::json j = read_json_file(path);
  try {
    return run_config_from_json(j);
  } catch (const CheckpointError& e) {
    LOOM_THROW(CheckpointError, path, ": ", e.what());
  }
}

void save_weights(const std::string& path, const models::Classifier& model,
                  const std::map<std::string, std::string>& metadata) {
  io::NamedTensors tensors;
  for (auto& [name, t] : model.state_dict()) tensors.emplace_back(name, t);
  std::map<std::string, std::string> meta = metadata;
  meta["format"] = "pt";  // what the safetensors Python loader expects for torch state dicts
  io::write_safetensors(path, tensors, meta);
}

std::map<std::string, std::string> load_weights(const std::string& path, models::Classifier& model) {
  io::SafetensorsFile file = io::read_safetensors(path);
  std::vector<layers::NamedTensor> tensors(file.tensors.begin(), file.tensors.end());
  try {
    model.load_state_dict(tensors);
  } catch (const CheckpointError& e) {
    LOOM_THROW(CheckpointError, path, ": ", e.what());
  }
  return file.metadata;
}

void save_optimizer(const std::string& path, const ops::AdamW& opt, const std::vector<std::string>& names,
                    int epoch) {
  LOOM_CHECK(names.size() == opt.params().size(), "save_optimizer: ", names.size(), " names for ",
             opt.params().size(), " parameters");
  io::NamedTensors tensors;
  for (std::size_t i = 0; i < names.size(); ++i) {
    tensors.emplace_back("exp_avg." + names[i], opt.first_moments()[i]);
    tensors.emplace_back("exp_avg_sq." + names[i], opt.second_moments()[i]);
  }
  const nlohmann::json steps = opt.steps_taken();
  io::write_safetensors(path, tensors, {{"epoch", stamp(epoch)}, {"steps", steps.dump()}, {"optimizer", "adamw"}});
}

int load_optimizer(const std::string& path, ops::AdamW& opt, const std::vector<std::string>& names) {
  io::SafetensorsFile file = io::read_safetensors(path);
  std::map<std::string, Tensor> by_name(file.tensors.begin(), file.tensors.end());
  std::vector<Tensor> m, v;
  for (const std::string& n : names) {
    const auto a = by_name.find("exp_avg." + n), b = by_name.find("exp_avg_sq." + n);
    if (a == by_name.end() || b == by_name.end())
      LOOM_THROW(CheckpointError, path, ": no optimizer state for parameter ", n,
                 " (was the run trained with other --freeze-embeddings or model flags?)");
    m.push_back(a->second);
    v.push_back(b->second);
  }
  std::vector<std::int64_t> steps;
  try {
    steps = nlohmann::json::parse(file.metadata.at("steps")).get<std::vector<std::int64_t>>();
  } catch (const std::exception& e) {
    LOOM_THROW(CheckpointError, path, ": metadata \"steps\" missing or malformed (", e.what(), ")");
  }
  if (steps.size() != names.size() || file.tensors.size() != 2 * names.size())
    LOOM_THROW(CheckpointError, path, ": holds state for ", file.tensors.size() / 2, " parameters, the model has ",
               names.size());
  try {
    opt.load_state(m, v, steps);
  } catch (const ShapeError& e) {
    LOOM_THROW(CheckpointError, path, ": ", e.what());
  }
  return parse_stamp(file.metadata, path);
}

void write_trainer_state(const std::string& dir, const TrainerState& s) {
  // u64 seeds as strings: JSON readers in other languages lose bits above 2^53.
  write_json_file(dir + "/trainer_state.json",
                  {{"epoch", s.epoch},
                   {"step", s.step},
                   {"schedule", s.schedule},
                   {"early_stopping", s.early_stopping},
                   {"generator", {{"seed", std::to_string(s.gen_seed)}, {"offset", std::to_string(s.gen_offset)}}},
                   {"data_order", {{"seed", std::to_string(s.data_seed)}, {"next_epoch", s.epoch + 1}}},
                   {"finished", s.finished},
                   {"stopped_early", s.stopped_early},
                   {"grad_scaler", s.grad_scaler}});
}

namespace {

// The epoch stamp in a weights or optimizer file's metadata; -1 when absent or unreadable.
int epoch_stamp(const std::string& path) {
  try {
    const io::SafetensorsFile f = io::read_safetensors(path);
    const auto it = f.metadata.find("epoch");
    return it == f.metadata.end() ? -1 : std::stoi(it->second);
  } catch (const std::exception&) {
    return -1;
  }
}

void rename_or_throw(const std::string& from, const std::string& to) {
  std::error_code ec;
  std::filesystem::rename(from, to, ec);
  if (ec) LOOM_THROW(CheckpointError, "cannot rename ", from, " to ", to, ": ", ec.message());
}

const char* const kCommittedFiles[] = {"last.safetensors", "optimizer.safetensors"};

}  // namespace

void commit_epoch_checkpoint(const std::string& dir, const TrainerState& state) {
  write_trainer_state(dir, state);  // the commit point
  for (const char* name : kCommittedFiles) {
    const std::string path = dir + "/" + name;
    rename_or_throw(path + kPendingSuffix, path);
  }
}

std::string settle_interrupted_save(const std::string& dir, int committed_epoch) {
  std::ostringstream log;
  for (const char* name : kCommittedFiles) {
    const std::string path = dir + "/" + name, pending = path + kPendingSuffix;
    if (!std::filesystem::exists(pending)) continue;
    const int stamp = epoch_stamp(pending);
    if (stamp == committed_epoch) {
      rename_or_throw(pending, path);
      log << "finished the interrupted save of epoch " << stamp << ": " << name << " put in place\n";
    } else {
      std::filesystem::remove(pending);
      log << "dropped " << name << kPendingSuffix << " (epoch " << stamp << ", never committed; it is recomputed)\n";
    }
  }
  // io::write_file_atomic's temporaries ("<file>.tmp.<pid>") from a killed write.
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    if (entry.is_regular_file() && file.find(".tmp.") != std::string::npos) {
      std::filesystem::remove(entry.path());
      log << "removed " << file << ", left by a killed write\n";
    }
  }
  return log.str();
}


TrainerState read_trainer_state(const std::string& dir) {
  const std::string path = dir + "/trainer_state.json";
  const nlohmann::json j = read_json_file(path);
  TrainerState s;
  try {
    s.epoch = json_integer<int>(j.at("epoch"), "epoch");
    s.step = json_integer<std::int64_t>(j.at("step"), "step");
    s.schedule = j.at("schedule");
    s.early_stopping = j.at("early_stopping");
    s.gen_seed = std::stoull(j.at("generator").at("seed").get<std::string>());
    s.gen_offset = std::stoull(j.at("generator").at("offset").get<std::string>());
    s.data_seed = std::stoull(j.at("data_order").at("seed").get<std::string>());
    s.finished = j.at("finished").get<bool>();
    s.stopped_early = j.at("stopped_early").get<bool>();
    // Absent in runs from before mixed precision, null in fp32 / bf16 runs.
    if (const auto it = j.find("grad_scaler"); it != j.end()) s.grad_scaler = *it;
  } catch (const std::exception& e) {
    LOOM_THROW(CheckpointError, path, ": malformed (", e.what(), ")");
  }
  return s;
}

LoadedRun load_run(const std::string& dir, Device device, Impl impl) {
  LoadedRun run;
  run.config = read_run_config(dir);
  run.weights_path = dir + "/" + run.config.weights;
  if (!std::filesystem::exists(run.weights_path) && run.config.weights == "best.safetensors" &&
      std::filesystem::exists(dir + "/last.safetensors"))
    run.weights_path = dir + "/last.safetensors";
  // Killed between committing the first epoch and renaming its weights into place (checkpoint.h):
  // the committed weights are the .next file until --resume renames it.
  const std::string pending = run.weights_path + kPendingSuffix;
  if (!std::filesystem::exists(run.weights_path) && std::filesystem::exists(pending)) run.weights_path = pending;
  if (!std::filesystem::exists(run.weights_path))
    LOOM_THROW(CheckpointError, run.weights_path, ": missing (the run has not finished an epoch yet?)");
  // Seed 0: the initial weights are overwritten by the checkpoint anyway.
  run.config.model.lstm_impl.impl = impl;
  run.config.model.conv_impl = impl;
  run.model = models::make_model(run.config.model, 0, device);
  load_weights(run.weights_path, *run.model);
  return run;
}

}  // namespace loom::train
