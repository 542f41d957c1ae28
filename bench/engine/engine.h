// bench/engine/engine.h: what the families of `loom bench` share inside the engine (one code path
// for every benchmark: the `loom` binary, the tests and the bench_lstm / bench_conv1d wrappers all
// come through run_bench() in engine.cc).
//
// A run: engine.cc resolves the request (device, dtypes, passes, repetitions, the CPU roofline),
// prints the header, hands the Context to one family (lstm.cc, conv1d.cc, step.cc), which
// validates and times its rows into ctx.rows, then joins each row with the libtorch row of the
// same point and writes the table (table.cc), the --json document and the --markdown file.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "bench/common/run.h"
#include "bench/torch_peer/torch_peer.h"
#include "bench/engine/request.h"

namespace loom::bench {

// The tests' handle on validation (tools/bench.h): corrupts a candidate's outputs when a test asks.
inline void apply_test_hook(const std::string& impl, Named& outputs) {
  if (bench_test_hooks().perturb) bench_test_hooks().perturb(impl, outputs);
}

struct Context : RunSettings {
  Context(const BenchRequest& r, std::ostream& o, std::ostream& e) : req(r), out(o), err(e) {}
  const BenchRequest& req;
  std::ostream& out;
  std::ostream& err;
  std::vector<Row> rows;
  std::vector<std::string> notes;  // the family's own header lines (work formulas, what validates what)
  std::string shapes_summary;      // "2 shapes x 1 dtype x 2 passes"

  // --impl: is this implementation asked for? `row`: a variant table's row name; `kind`: "cpu",
  // "cuda" (hand-written CUDA rows) or "cudnn".
  bool wants(const std::string& row, const std::string& kind) const;
  bool wants_libtorch() const;
  // The libtorch peer's settings for one dtype case and pass (device, dtype, threads, warmup, reps).
  torch_peer::Settings peer_settings(const DtypeCase& c, bool backward, bool timed) const;
};

// Compares a candidate's named outputs with the reference's of the same names (names the
// reference lacks are an error); the worst tensor's name in *where.
double named_rel_err(const Named& got, const Named& want, std::string* where);

// The libtorch row of a point when the peer is absent or refused: the status says why.
Row libtorch_unavailable_row(const Context& ctx, const std::string& why);

void run_lstm_family(Context& ctx);
void run_conv_family(Context& ctx, bool block);
int conv_report(Context& ctx);  // --report: the table of earlier --jsonl runs
void run_step_family(Context& ctx);

// table.cc: the terminal table, the markdown file and the JSON document.
void print_table(std::ostream& os, const std::vector<Row>& rows);
void write_markdown(const Context& ctx, const std::string& header, const std::string& path);
void write_json(const Context& ctx, const std::string& path);
std::string header_text(const Context& ctx);  // the lines above the table ("# ..."), shared by all three

}  // namespace loom::bench
