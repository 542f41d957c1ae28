// tools/commands.h: the subcommands of `loom` as functions (tools/train.cc, eval.cc, predict.cc,
// synth.cc, trace.cc, compare.cc, cli.cc), so the tests run exactly what the binary runs.
//
// run_cli() parses a command line and runs it; tools/loom.cc's main() only adds the one catch of
// loom::Error (one line on stderr, exit 1). CLI11 stays out of this header (forward declaration),
// so tests include it without CLI11 on their include path.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "train/options.h"

namespace CLI {
class App;
}

namespace loom::tools {

// Parses `args` (without the program name) and runs the subcommand. Returns the exit status;
// usage errors and --help are answered by CLI11 on out/err. loom::Error propagates.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// ---- the --model flag of eval and predict ----
// Declares `--model DIR` on `app`: the first one goes to `model_dir`, any repeat to `more_models`
// (the runs are then averaged as an ensemble, as is one ensemble folder: train/ensemble.h).
void add_model_option(CLI::App& app, std::string& model_dir, std::vector<std::string>& more_models);
// The member runs when the flags name an ensemble (several --model, or one ensemble folder), else
// empty: the caller then loads one run.
std::vector<std::string> ensemble_members(const std::string& model_dir, const std::vector<std::string>& more_models);

// ---- train ----
// Declares every `loom train` flag on `app`, bound to `o` (flags not given leave `o` as it is,
// which is how --resume lets the saved options stand unless a flag overrides them).
void add_train_options(CLI::App& app, train::TrainOptions& o);
// The options of `loom train ARGS` (ARGS without "train"), parsed exactly as the command line is.
train::TrainOptions parse_train_flags(const std::vector<std::string>& args);
// The flags given in ARGS, as CLI11 names them ("--epochs"), whatever their spelling (--x=v).
std::vector<std::string> given_train_flags(const std::vector<std::string>& args);
// `args`: the train subcommand's own arguments, re-parsed over the saved options with --resume.
// --preset RECIPE (train/recipe.h) trains the recipe's members and writes their ensemble folder.
int run_train(const train::TrainOptions& parsed, const std::vector<std::string>& args, std::ostream& out,
              std::ostream* bar);

// ---- eval ----
struct EvalOptions {
  std::string model_dir, input, output;  // --model DIR --input FILE [--output FILE.json]
  std::vector<std::string> more_models;  // --model given again: an ensemble of all the runs (train/ensemble.h)
  // Empty: as the model was trained (its config.json).
  std::string format, encoding, text_col, label_col, label_cols, on_bad_row;
  std::string accounts, join, missing_account;  // metadata runs: the accounts file, key, policy
  double threshold = -1;                  // < 0: the model's
  std::int64_t batch_size = 256;
  std::string device = "auto", impl = "auto";
  std::string precision;                  // fp32 | bf16 | fp16; empty: the training precision
  int threads = 0;
};
void add_eval_options(CLI::App& app, EvalOptions& o);
int run_eval(const EvalOptions& o, std::ostream& out);

// ---- predict ----
struct PredictOptions {
  std::string model_dir, input, output;  // --model DIR --input FILE [--output FILE.csv]; stdout without
  std::vector<std::string> more_models;  // --model given again: an ensemble (train/ensemble.h)
  std::string format, encoding, text_col, on_bad_row;
  std::string accounts, join, missing_account;  // metadata runs: the accounts file, key, policy
  std::vector<std::string> id_cols;      // default: the training run's, else "id" when the input has it
  bool with_text = false;
  bool per_tweet = false;                // a run with a user model: one row per tweet, not per user
  double threshold = -1;
  std::int64_t batch_size = 256;
  std::int64_t chunk_rows = 8192;         // rows read, scored and written at a time (bounded memory)
  std::string device = "auto", impl = "auto";
  std::string precision;                  // fp32 | bf16 | fp16; empty: the training precision
  int threads = 0;
};
void add_predict_options(CLI::App& app, PredictOptions& o);
// `log`: progress notes (stderr when predictions go to stdout).
int run_predict(const PredictOptions& o, std::ostream& out, std::ostream& log);

// ---- synth ----
struct SynthOptions {
  std::string out_dir;
  std::int64_t rows = 20000;
  std::uint64_t seed = 42;
};
void add_synth_options(CLI::App& app, SynthOptions& o);
int run_synth(const SynthOptions& o, std::ostream& out);

// ---- trace (tools/trace.cc) and compare (tools/compare.cc) ----
// Each declares its subcommand with its flags on `app` and returns what run_cli calls when that
// subcommand was chosen (the options live inside the returned function, in the command's own file).
using CommandRunner = std::function<int()>;
CommandRunner add_trace_command(CLI::App& app, std::ostream& out, std::ostream& err);
CommandRunner add_compare_command(CLI::App& app, std::ostream& out, std::ostream& err);
// `loom embed` (tools/embed.cc): word2vec vectors from unlabeled tweets (train/word2vec.h).
CommandRunner add_embed_command(CLI::App& app, std::ostream& out, std::ostream& err);
// tools/ensemble.cc: `loom ensemble --member A --member B --out DIR` writes an ensemble folder.
CommandRunner add_ensemble_command(CLI::App& app, std::ostream& out, std::ostream& err);

// RFC 4180 quoting for one CSV field (only when needed).
std::string csv_field(const std::string& s);

}  // namespace loom::tools
