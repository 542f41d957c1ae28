// bench/common/report.h: one JSON line per measured point, and a markdown table for people.
//
// The JSON schema is shared with bench/torch_reference.py (impl "torch"), so a torch file can be
// joined with a loom run by point_key(): same family, device type, dtype, TF32 setting, phase,
// shape, lengths and (on the CPU) thread count. NaN numbers are written as null.
//
// ratio_vs_torch is torch's median time divided by ours: a speedup, > 1 when loom is faster
// (the targets are written that way: ">= 1.5x torch.nn.LSTM"). A torch file may hold
// several runs of the same point under different settings (its "variant" names them, e.g. the
// OpenBLAS and OpenMP environment on the CPU); the ratio is taken against the FASTEST, so a claim
// never rests on torch run in a bad configuration, and the table shows every one.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/common/timer.h"
#include "core/error.h"

namespace loom::bench {

using nlohmann::json;

// What is measured, independent of who runs it.
struct Point {
  std::string family;       // "lstm"
  std::string device;       // "cpu" | "cuda"
  std::string dtype;        // storage type: "f32" | "bf16" | "f16"
  bool tf32 = false;        // F32 GEMMs on TF32 tensor cores (GPU only)
  std::string phase;        // "fwd" | "fwd+bwd"
  std::int64_t T = 0, B = 0, C = 0, H = 0;
  int L = 1, D = 1;         // layers, directions
  std::string lengths;      // "fixed" | "variable"
  int threads = 1;          // CPU threads of the run (part of the key on the CPU only)
};

struct TorchTime {
  std::string variant;  // how torch ran ("aten", "aten [OPENBLAS_NUM_THREADS=1]", "cudnn")
  Stats time;
  double pct_roofline = NAN;
};

// One implementation at one point.
struct Row {
  Point point;
  std::string impl;         // "cpu" | "cuda" | "cudnn" | "torch"
  std::string variant;      // "v1-unfused", "standard", ... ("" when there is only one)
  std::string device_name;
  std::string status = "ok";  // "ok", "FAIL ...", "unsupported: ...", "error: ..."
  Stats time;                 // the reported time (CPU: steady_clock; GPU: CUDA events)
  Stats wall;                 // GPU only: wall time of the same repetitions
  double gflop = 0;           // useful work (valid time steps only), from the cost() formulas
  double tflops = NAN, pct_roofline = NAN;
  double rel_err = NAN;       // vs the CPU F32 reference; 0 for the reference itself
  std::int64_t validated_T = 0;
  std::vector<TorchTime> torch;  // torch at the same point, fastest first (from --torch-json)
  double ratio_vs_torch = NAN;    // torch[0].time.median / time.median
};

inline json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

inline json to_json(const Row& r) {
  const Point& p = r.point;
  return json{{"family", p.family}, {"impl", r.impl}, {"variant", r.variant}, {"device", p.device},
              {"device_name", r.device_name}, {"dtype", p.dtype}, {"tf32", p.tf32}, {"phase", p.phase},
              {"T", p.T}, {"B", p.B}, {"C", p.C}, {"H", p.H}, {"L", p.L}, {"D", p.D}, {"lengths", p.lengths},
              {"threads", p.threads}, {"status", r.status}, {"reps", r.time.reps},
              {"ms_median", num(r.time.median)}, {"ms_p10", num(r.time.p10)}, {"ms_p90", num(r.time.p90)},
              {"ms_wall_median", num(r.wall.median)},
              {"us_per_step", num(r.time.median * 1e3 / static_cast<double>(p.T))}, {"gflop", r.gflop},
              {"tflops", num(r.tflops)}, {"pct_roofline", num(r.pct_roofline)}, {"rel_err", num(r.rel_err)},
              {"validated_T", r.validated_T}, {"torch_ms_median", num(r.torch.empty() ? NAN : r.torch[0].time.median)},
              {"torch_variant", r.torch.empty() ? "" : r.torch[0].variant},
              {"ratio_vs_torch", num(r.ratio_vs_torch)}};
}

inline std::string point_key(const json& j) {
  const std::string device = j.at("device").get<std::string>();
  std::string key = j.at("family").get<std::string>() + "|" + device + "|" + j.at("dtype").get<std::string>() +
                    (j.at("tf32").get<bool>() ? "+tf32" : "") + "|" + j.at("phase").get<std::string>() + "|" +
                    j.at("lengths").get<std::string>();
  for (const char* dim : {"T", "B", "C", "H", "L", "D"}) key += "|" + std::to_string(j.at(dim).get<long long>());
  if (device == "cpu") key += "|threads=" + std::to_string(j.at("threads").get<int>());
  return key;
}

inline std::string point_key(const Row& r) { return point_key(to_json(r)); }

// Reads a JSON-lines file written by torch_reference.py: point key -> its runs, fastest first
// (status ok only; a later line with the same point and variant replaces an earlier one).
inline std::map<std::string, std::vector<TorchTime>> load_torch_times(const std::string& path) {
  std::ifstream in(path);
  LOOM_CHECK(in.good(), "bench: cannot read --torch-json file ", path);
  std::map<std::string, std::map<std::string, TorchTime>> by_variant;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    const json j = json::parse(line);
    if (j.value("status", "ok") != "ok" || j.at("ms_median").is_null()) continue;
    TorchTime t;
    t.variant = j.value("variant", "");
    t.time.median = j.at("ms_median").get<double>();
    t.time.p10 = j.at("ms_p10").get<double>();
    t.time.p90 = j.at("ms_p90").get<double>();
    t.time.reps = j.at("reps").get<int>();
    by_variant[point_key(j)][t.variant] = t;
  }
  std::map<std::string, std::vector<TorchTime>> out;
  for (auto& [key, variants] : by_variant) {
    for (auto& [name, t] : variants) out[key].push_back(t);
    std::sort(out[key].begin(), out[key].end(),
              [](const TorchTime& a, const TorchTime& b) { return a.time.median < b.time.median; });
  }
  return out;
}

inline std::string fmt(const char* f, double v) {
  if (!std::isfinite(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// One table; rows of the same point stay together, with torch's row (when known) after ours.
inline void print_markdown(std::ostream& os, const std::vector<Row>& rows) {
  os << "| dtype | phase | T | B | C | H | LxD | lengths | impl | ms median | p10 / p90 | us/step | TFLOP/s "
        "| % roof | ours/torch | torch/ours | check |\n"
     << "|---|---|--:|--:|--:|--:|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|\n";
  auto lead = [&](const Point& p) {
    os << "| " << p.dtype << (p.tf32 ? "+tf32" : "") << " | " << p.phase << " | " << p.T << " | " << p.B << " | "
       << p.C << " | " << p.H << " | " << p.L << "x" << p.D << " | " << p.lengths << " | ";
  };
  auto timing = [&](const std::string& who, const Stats& t, double gflop, double pct, const Point& p) {
    lead(p);
    os << who << " | " << fmt("%.3f", t.median) << " | " << fmt("%.3f", t.p10) << (std::isfinite(t.p10) ? " / " : "")
       << fmt("%.3f", t.p90) << " | " << fmt("%.1f", t.median * 1e3 / static_cast<double>(p.T)) << " | "
       << fmt("%.3g", gflop / (t.median * 1e-3) / 1e3) << " | " << fmt("%.1f", pct) << " | ";
  };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    timing(r.impl + (r.variant.empty() ? "" : "/" + r.variant), r.time, r.gflop, r.pct_roofline, r.point);
    os << fmt("%.2f", 1.0 / r.ratio_vs_torch) << " | " << fmt("%.2fx", r.ratio_vs_torch) << " | " << r.status
       << (std::isfinite(r.rel_err) && r.rel_err > 0 ? fmt(" (rel err %.1e)", r.rel_err) : "") << " |\n";
    const bool last_of_point = i + 1 == rows.size() || point_key(rows[i + 1]) != point_key(r);
    for (std::size_t k = 0; last_of_point && k < r.torch.size(); ++k) {
      timing("torch/" + r.torch[k].variant, r.torch[k].time, r.gflop, r.torch[k].pct_roofline, r.point);
      os << " |  | " << (k == 0 ? "torch, fastest setting" : "torch") << " |\n";
    }
  }
}

}  // namespace loom::bench
