// tools/cli.cc: the `loom` command line: subcommands, global flags, dispatch (see commands.h).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>

#include "core/parallel.h"
#include "tools/bench.h"
#include "tools/commands.h"
#include "tools/doctor.h"
#include "tools/selftest.h"
#include "tools/user_error.h"
#include "train/ensemble.h"
#include "train/progress.h"
#include "train/source_version.h"

namespace loom::tools {

void add_model_option(CLI::App& app, std::string& model_dir, std::vector<std::string>& more_models) {
  app.add_option_function<std::vector<std::string>>(
         "--model",
         [&model_dir, &more_models](const std::vector<std::string>& dirs) {
           model_dir = dirs.front();
           more_models.assign(dirs.begin() + 1, dirs.end());
         },
         "Run folder written by loom train, or an ensemble folder; repeat to average several runs' probabilities")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->required();
}

std::vector<std::string> ensemble_members(const std::string& model_dir, const std::vector<std::string>& more_models) {
  if (more_models.empty() && !train::is_ensemble_dir(model_dir)) return {};
  std::vector<std::string> dirs{model_dir};
  dirs.insert(dirs.end(), more_models.begin(), more_models.end());
  return dirs;
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app{"loom: recurrent and convolutional text models on CPU and CUDA.\n"
               "Train, evaluate and apply tweet classifiers: CSV in, model, metrics and predictions out.",
               "loom"};
  app.require_subcommand(1);
  const std::string version = source_version();
  app.set_version_flag("--version", "loom " + (version.empty() ? std::string("(not built from a git checkout)") : version));
  int threads = 0;
  app.add_option("--threads", threads, "CPU threads (default: all cores, or LOOM_NUM_THREADS)");

  train::TrainOptions train_options;
  CLI::App* train_cmd = app.add_subcommand("train", "Train a classifier on a CSV of tweets (loom train --help)");
  add_train_options(*train_cmd, train_options);
  EvalOptions eval_options;
  CLI::App* eval_cmd =
      app.add_subcommand("eval", "Report precision/recall/F1, ROC-AUC and the confusion matrix on labeled data");
  add_eval_options(*eval_cmd, eval_options);
  PredictOptions predict_options;
  CLI::App* predict_cmd = app.add_subcommand("predict", "Write class probabilities and decisions for unlabeled tweets");
  add_predict_options(*predict_cmd, predict_options);
  SynthOptions synth_options;
  CLI::App* synth_cmd = app.add_subcommand("synth", "Write the bundled synthetic tweet corpus (train/test/unlabeled CSV)");
  add_synth_options(*synth_cmd, synth_options);
  const CommandRunner trace = add_trace_command(app, out, err);
  const CommandRunner compare = add_compare_command(app, out, err);
  const CommandRunner ensemble = add_ensemble_command(app, out, err);
  const CommandRunner bench = add_bench_command(app, out, err);
  const CommandRunner embed = add_embed_command(app, out, err);
  app.add_subcommand("doctor", "Print the build matrix: CUDA, devices, cuDNN, cuBLAS, BLAS, threads");
  app.add_subcommand("selftest",
                     "Train a small MLP through the autograd tape on every available device and check the loss falls");
  app.footer("Start here: bash tools/demo.sh (synthetic data: train, eval, predict), or loom train --help.");

  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 parses a vector back to front
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the message (or the help); every parse failure is one documented status.
    const int status = app.exit(e, out, err);
    return status == 0 ? kExitOk : kExitUsage;
  }
  if (threads > 0) set_num_threads(threads);
  if (app.got_subcommand("doctor")) return doctor_main(out);
  if (app.got_subcommand("selftest")) return selftest_main(out);
  if (app.got_subcommand("trace")) return trace();
  if (app.got_subcommand("compare")) return compare();
  if (app.got_subcommand("ensemble")) return ensemble();
  if (app.got_subcommand("bench")) return bench();
  if (app.got_subcommand("embed")) return embed();
  if (app.got_subcommand("synth")) return run_synth(synth_options, out);
  if (app.got_subcommand("eval")) return run_eval(eval_options, out);
  if (app.got_subcommand("predict")) return run_predict(predict_options, out, err);
  if (app.got_subcommand("train")) {
    // The train subcommand's own arguments, for re-parsing over saved options on --resume.
    const auto at = std::find(args.begin(), args.end(), "train");
    const std::vector<std::string> train_args(at == args.end() ? args.end() : at + 1, args.end());
    std::ostream* bar = train::stderr_is_interactive() && &err == &std::cerr ? &err : nullptr;
    return run_train(train_options, train_args, out, bar);
  }
  return 0;
}

}  // namespace loom::tools
