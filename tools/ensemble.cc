// tools/ensemble.cc: `loom ensemble --member A --member B [...] --out DIR`: makes an ensemble folder
// (DIR/ensemble.json, members stored relative to DIR) from runs that already exist, after checking
// they predict the same task and labels. `loom eval --model DIR` then averages their probabilities.
// The logic is in train/ensemble.h; this file only parses flags.
#include <CLI/CLI.hpp>

#include <memory>

#include "train/ensemble.h"
#include "tools/commands.h"

namespace loom::tools {

CommandRunner add_ensemble_command(CLI::App& app, std::ostream& out, std::ostream& err) {
  (void)err;
  struct Options {
    std::vector<std::string> members;
    std::string out_dir;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "ensemble", "Make an ensemble folder from trained runs (eval averages their probabilities)");
  cmd->add_option("--member", o->members, "A run folder (or ensemble folder); repeat for each member")
      ->required()->take_all();
  cmd->add_option("--out", o->out_dir, "The ensemble folder to write (ensemble.json)")->required();
  cmd->footer(
      "Example:\n"
      "  loom ensemble --member runs/cnn --member runs/lstm-cnn --member runs/bilstm --out runs/mix\n"
      "  loom eval --model runs/mix --input test.csv\n"
      "(loom train --seeds 42,43,44 writes a seed ensemble folder directly.)");
  return [o, &out] {
    const nlohmann::json j = train::write_ensemble(o->out_dir, o->members);
    out << "ensemble: " << o->out_dir << "/" << train::kEnsembleFile << " lists " << j["members"].size()
        << " members (" << j["task"].get<std::string>() << ", mean of probabilities):";
    for (const auto& m : j["members"]) out << " " << m.get<std::string>();
    out << "\n";
    return 0;
  };
}

}  // namespace loom::tools
