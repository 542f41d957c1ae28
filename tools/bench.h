// tools/bench.h: `loom bench lstm|conv1d|textcnn|step` on the command line. tools/bench.cc declares
// the flags, checks them into a bench::BenchRequest (bench/engine/request.h) and hands it to the
// engine's run_bench().
#pragma once

#include <functional>
#include <ostream>

namespace CLI {
class App;
}

namespace loom::tools {

// Declares `loom bench` and its four sub-subcommands on `app`; the returned function runs the one
// chosen (tools/cli.cc calls it when `bench` was given).
std::function<int()> add_bench_command(CLI::App& app, std::ostream& out, std::ostream& err);

}  // namespace loom::tools
