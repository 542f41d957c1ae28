// tools/compare.cc: `loom compare` (issue 15): the command line of train/compare.h.
//
// compare's own flags are declared here (--input, --archs, --draws, --train, --test, --epochs,
// --seed, --out, --json, --markdown, --resamples, --no-png). Every other flag is a `loom train`
// flag, passed through: the subcommand allows extras, and those are parsed by a second CLI11 app
// that add_train_options() declares, exactly as `loom train` parses them. So the training flags
// (and their checks, defaults and spellings) exist once, in tools/train.cc, and a new one works
// here without a change. Flags compare sets per run (--arch, --ckpt-dir, --val, --cv, --resume)
// are refused with a one-line error; compare's --test is a row count, not train's --test FILE.
// --threads is loom's global flag: `loom --threads 2 compare ...`.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "tools/commands.h"
#include "train/compare.h"

namespace loom::tools {

CommandRunner add_compare_command(CLI::App& app, std::ostream& out, std::ostream& err) {
  (void)err;
  auto o = std::make_shared<train::CompareOptions>();
  o->base.epochs = 4;  // the setting: 4 epochs per run unless --epochs says otherwise
  o->archs = {"lstm", "cnn", "lstm-cnn", "cnn-lstm", "bow"};
  auto no_png = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "compare", "Train several architectures on the same balanced random draws and compare them "
                 "(mean +- sd, paired bootstrap CIs, sign tests)");
  cmd->allow_extras();
  cmd->option_defaults()->always_capture_default(true);
  cmd->add_option("--input", o->base.input, "Labeled data (as loom train --input)")->required();
  cmd->add_option("--archs", o->archs, "Architectures to compare, comma-separated")->delimiter(',');
  cmd->add_option("--draws", o->draws, "Balanced random draws (>= 2); every architecture trains on each");
  cmd->add_option("--train", o->train_rows, "Training rows per draw (balanced by label)");
  cmd->add_option("--test", o->test_rows, "Test rows per draw, disjoint from its training rows");
  cmd->add_option("--epochs", o->base.epochs, "Epochs per run");
  cmd->add_option("--seed", o->base.seed, "Seed of the draws, the runs (seed + draw) and the bootstrap");
  cmd->add_option("--out", o->out_dir, "Output folder: one run folder per (arch, draw), compare.json/md "
                                      "(default runs/compare-<time>)");
  cmd->add_option("--json", o->json_path, "Also write the JSON summary here");
  cmd->add_option("--markdown", o->markdown_path, "Also write the Markdown table here");
  cmd->add_option("--resamples", o->resamples, "Bootstrap resamples of the draws");
  cmd->add_flag("--no-png", *no_png, "Skip the gnuplot dot plot even when gnuplot is on PATH");
  cmd->footer(
      "Any other `loom train` flag is passed to every run (e.g. --embed-dim 64 --hidden 64 --filters 100\n"
      "--batch-size 64 --lr 1e-3 --max-vocab 20000 --format/--text-col/--label-col). Example:\n"
      "  loom compare --input train.csv --archs lstm,cnn,lstm-cnn,cnn-lstm,bow --draws 5 --train 10000 "
      "--test 2500 --epochs 4 --out runs/cmp\n"
      "An interrupted compare resumes when run again with the same command: finished runs are kept.");

  return [cmd, o, no_png, &out]() -> int {
    const std::vector<std::string> extras = cmd->remaining();
    for (const std::string flag : {"--arch", "--ckpt-dir", "--val", "--cv", "--resume", "--preset"})
      for (const std::string& e : extras)
        if (e == flag || e.rfind(flag + "=", 0) == 0)
          LOOM_THROW(Error, "loom compare: ", flag, " is set by compare for each run (use --archs, --out)");
    train::CompareOptions opts = *o;
    if (!extras.empty()) {
      // The training flags on the run's base options, with compare's values already in place.
      CLI::App train_flags{"loom compare: training flags"};
      add_train_options(train_flags, opts.base);
      std::vector<std::string> reversed(extras.rbegin(), extras.rend());  // CLI11 parses back to front
      try {
        train_flags.parse(reversed);
      } catch (const CLI::ParseError& e) {
        LOOM_THROW(Error, "loom compare: ", e.what(), " (flags: loom compare --help, loom train --help)");
      }
    }
    opts.plot_png = !*no_png;
    train::run_compare(opts, out);
    return 0;
  };
}

}  // namespace loom::tools
