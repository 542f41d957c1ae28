// bench/engine/table.cc: what a run writes. One set of cells per row, laid out twice: as an
// aligned terminal table and as a markdown table (--markdown, with the run's header above it,
// ready for bench/results/); and the --json document (machine, versions, command line, rows).
#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/engine/engine.h"
#include "core/error.h"
#include "core/parallel.h"
#include "kernels/gemm/gemm.h"
#include "ops/build_info.h"
#include "train/source_version.h"

namespace loom::bench {
namespace {

const std::vector<std::string> kColumns = {"point", "impl", "ms median", "p10", "p90", "GFLOP/s",
                                           "GB/s",  "% roof", "check (rel err)", "vs libtorch"};

std::string point_label(const Point& p) {
  const std::string dt = p.dtype + (p.tf32 ? "+tf32" : "");
  if (p.family == "step")
    return p.arch + " " + p.dtype + " B" + std::to_string(p.B) + " T" + std::to_string(p.T) + " E" +
           std::to_string(p.E) + " H" + std::to_string(p.H) + " V" + std::to_string(p.V);
  std::string s = dt + " " + p.phase + " T" + std::to_string(p.T) + " B" + std::to_string(p.B) + " C" +
                  std::to_string(p.C);
  if (is_lstm(p.family))
    return s + " H" + std::to_string(p.H) + " " + std::to_string(p.L) + "x" + std::to_string(p.D) + " " +
           (p.lengths == "variable" ? "mixed" : "full");
  return s + " F" + std::to_string(p.F) + " K" + widths_str(p.widths);
}

std::string check_cell(const Row& r) {
  if (!is_ok(r.status)) return r.status;
  if (r.status == "ok (oracle)") return "oracle";
  return "ok" + (std::isfinite(r.rel_err) ? fmt(" %.1e", r.rel_err) : std::string());
}

std::vector<std::string> cells(const Row& r) {
  const bool timed = std::isfinite(r.time.median);
  const double s = r.time.median * 1e-3;
  std::string impl = r.impl;
  if (!r.variant.empty() && r.variant != r.impl) impl += "/" + r.variant;
  return {point_label(r.point),
          impl,
          fmt("%.3f", r.time.median),
          fmt("%.3f", r.time.p10),
          fmt("%.3f", r.time.p90),
          timed ? fmt("%.1f", r.gflop / s) : "",
          timed && r.bytes > 0 ? fmt("%.1f", r.bytes / s / 1e9) : "",
          fmt("%.1f", r.pct_roofline),
          check_cell(r),
          r.impl == "libtorch" ? "" : std::isfinite(r.speedup_vs_libtorch) ? fmt("%.2fx", r.speedup_vs_libtorch) : "-"};
}

// The Python peer's timings (--torch-json) of a point, as extra rows after loom's.
std::vector<std::vector<std::string>> python_rows(const Row& r) {
  std::vector<std::vector<std::string>> out;
  for (const TorchTime& t : r.torch)
    out.push_back({point_label(r.point), "torch.py/" + t.variant, fmt("%.3f", t.time.median), fmt("%.3f", t.time.p10),
                   fmt("%.3f", t.time.p90), fmt("%.1f", r.gflop / (t.time.median * 1e-3)), "",
                   fmt("%.1f", t.pct_roofline), "(Python peer, not validated)", ""});
  return out;
}

std::vector<std::vector<std::string>> all_cells(const std::vector<Row>& rows) {
  std::vector<std::vector<std::string>> out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out.push_back(cells(rows[i]));
    const bool last_of_point = i + 1 == rows.size() || point_key(rows[i + 1]) != point_key(rows[i]);
    if (last_of_point)
      for (auto& p : python_rows(rows[i])) out.push_back(p);
  }
  return out;
}

}  // namespace

// The table as aligned markdown: readable in a terminal, pasteable into bench/results/, and the
// rows start with '|' (tools/gpu_check/5_summary.sh and bench/run_cpu_compare.sh grep for them).
void print_table(std::ostream& os, const std::vector<Row>& rows) {
  const auto body = all_cells(rows);
  std::vector<std::size_t> w(kColumns.size());
  for (std::size_t c = 0; c < w.size(); ++c) {
    w[c] = kColumns[c].size();
    for (const auto& r : body) w[c] = std::max(w[c], r[c].size());
  }
  auto is_text = [](std::size_t c) { return c <= 1 || c == 8; };  // text columns left, numbers right
  auto line = [&](const std::vector<std::string>& r) {
    os << "|";
    for (std::size_t c = 0; c < r.size(); ++c) {
      std::string cell = r[c];
      std::replace(cell.begin(), cell.end(), '|', '/');
      const std::string pad(w[c] - cell.size(), ' ');
      os << " " << (is_text(c) ? cell + pad : pad + cell) << " |";
    }
    os << "\n";
  };
  line(kColumns);
  os << "|";
  for (std::size_t c = 0; c < w.size(); ++c) os << (is_text(c) ? std::string(w[c] + 2, '-') : std::string(w[c] + 1, '-') + ":") << "|";
  os << "\n";
  for (const auto& r : body) line(r);
}

void write_markdown(const Context& ctx, const std::string& header, const std::string& path) {
  std::ofstream md(path);
  LOOM_CHECK(md.good(), "--markdown: cannot write ", path);
  md << "# loom bench " << ctx.req.family << "\n\n```\n" << header << "```\n\n";
  print_table(md, ctx.rows);
  md << "\nColumns: docs/bench.md. vs libtorch: libtorch's median over loom's (> 1: loom is faster).\n";
}

void write_json(const Context& ctx, const std::string& path) {
  const BuildInfo b = build_info();
  json doc;
  doc["command"] = ctx.req.command_line;
  doc["family"] = ctx.req.family;
  json machine{{"cores", std::thread::hardware_concurrency()}, {"threads", num_threads()}};
  {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("model name", 0) == 0) {
        machine["cpu"] = line.substr(line.find(':') + 2);
        break;
      }
  }
  machine["gpu"] = ctx.device.is_cuda() ? json(ctx.device_name) : json(nullptr);
  machine["device"] = ctx.device.str();
  doc["machine"] = machine;
  doc["versions"] = {{"loom", source_version()},
                     {"blas", kernels::cpu_gemm_provider()},
                     {"cuda_runtime", b.cuda_runtime_version},
                     {"cudnn", b.cudnn_version},
                     {"libtorch", torch_peer::version()},
                     {"libtorch_available", torch_peer::available()}};
  doc["roofline"] = ctx.device.is_cpu() ? ctx.cpu_peak.source : std::string("GPU datasheet (see rows)");
  doc["settings"] = {{"warmup", ctx.warmup}, {"repeats", ctx.reps}, {"budget_s", ctx.budget_s}};
  doc["notes"] = ctx.notes;
  json rows = json::array();
  for (const Row& r : ctx.rows) rows.push_back(to_json(r));
  doc["rows"] = rows;
  std::ofstream f(path);
  LOOM_CHECK(f.good(), "--json: cannot write ", path);
  f << doc.dump(2) << "\n";
}

}  // namespace loom::bench
