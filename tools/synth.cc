// tools/synth.cc: `loom synth --out DIR --rows N --seed S`: the bundled synthetic tweet corpus
// (data/synthetic.h), the default data of the README's main job.
#include <CLI/CLI.hpp>

#include "data/synthetic.h"
#include "tools/commands.h"

namespace loom::tools {

void add_synth_options(CLI::App& app, SynthOptions& o) {
  app.option_defaults()->always_capture_default(true);
  app.add_option("--out", o.out_dir, "Folder for train.csv, test.csv and unlabeled.csv (created)")->required();
  app.add_option("--rows", o.rows, "Labeled rows in all (80% train, 20% test)");
  app.add_option("--seed", o.seed, "The same seed gives the same corpus on every machine");
}

int run_synth(const SynthOptions& o, std::ostream& out) {
  data::write_synthetic_corpus(o.out_dir, o.rows, o.seed);
  out << "synth: wrote " << o.out_dir << "/train.csv, test.csv and unlabeled.csv (" << o.rows
      << " labeled rows, seed " << o.seed << "; columns id,label,text; labels negative/positive; "
      << data::synthetic_unlabeled_examples().size() << " unlabeled example tweets)\n";
  return 0;
}

}  // namespace loom::tools
