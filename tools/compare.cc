// tools/compare.cc: `loom compare` (issue 15). Placeholder registered by the lead; its owner replaces it.
#include <CLI/CLI.hpp>

#include "core/error.h"
#include "tools/commands.h"

namespace loom::tools {

CommandRunner add_compare_command(CLI::App& app, std::ostream& out, std::ostream& err) {
  (void)out;
  (void)err;
  app.add_subcommand("compare", "(in progress, issue 15)");
  return [] () -> int { LOOM_THROW(Error, "loom compare: not built yet (issue 15)"); };
}

}  // namespace loom::tools
