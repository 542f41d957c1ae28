// bench/common/report.h: one JSON line per measured row (the table for people is
// bench/engine/table.cc's), for every `loom bench` family: "lstm", "conv1d" (the convolution
// alone, [T, B, C] -> [T', B, F]), "textcnn" (Kim's block: per width conv -> bias -> ReLU -> max
// over time, concatenated to [B, widths * F]) and "step" (one training step of a model).
//
// The JSON schema is shared with bench/torch_reference.py and bench/torch_reference_conv.py (impl
// "torch"), so a torch file can be joined with a loom run by point_key(): same family, device type,
// dtype, TF32 setting, phase, shape, lengths and (on the CPU) thread count. Keys every family
// writes: family, impl, variant, device, device_name, dtype, tf32, phase, T, B, C, lengths,
// threads, status, reps, ms_median / ms_p10 / ms_p90, ms_wall_median, gflop, tflops, pct_roofline,
// rel_err, torch_ms_median, torch_variant, ratio_vs_torch. The shape keys are the family's own:
// the LSTM's H, L, D, us_per_step and validated_T (the length the point was validated at); the
// convolutions' F (filters per width), widths ("3" for a plain conv, "3,4,5" for a block), padding
// and validated_B (the batch the point was validated at). NaN numbers are written as null.
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
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/common/timer.h"
#include "core/error.h"

namespace loom::bench {

using nlohmann::json;

// What is measured, independent of who runs it. The LSTM uses H, L, D; the convolutions F,
// widths and padding.
struct Point {
  std::string family;       // "lstm" | "conv1d" | "textcnn"
  std::string device;       // "cpu" | "cuda"
  std::string dtype;        // storage type: "f32" | "bf16" | "f16"
  bool tf32 = false;        // F32 GEMMs / convolutions on TF32 tensor cores (GPU only)
  std::string phase;        // "fwd" | "fwd+bwd"
  std::int64_t T = 0, B = 0, C = 0;
  std::int64_t H = 0;       // lstm: hidden size
  int L = 1, D = 1;         // lstm: layers, directions
  std::int64_t F = 0;       // conv: filters per width
  std::vector<std::int64_t> widths;  // conv: K of each width; one entry for a plain conv
  std::string padding = "valid";     // conv: Kim's block and the grid use valid padding
  std::string lengths = "fixed";     // "fixed" (every row runs all T steps) | "variable"
  int threads = 1;          // CPU threads of the run (part of the key on the CPU only)
  std::string arch;         // step: the architecture ("lstm", "cnn", ...); also precision in dtype
  std::int64_t E = 0, V = 0;  // step: embedding size, vocabulary size
};

inline bool is_lstm(const std::string& family) { return family == "lstm"; }

struct TorchTime {
  std::string variant;  // how torch ran ("aten", "aten [OPENBLAS_NUM_THREADS=1]", "cudnn")
  Stats time;
  double pct_roofline = NAN;
};

// One implementation at one point.
struct Row {
  Point point;
  std::string impl;         // "cpu" | "cuda" | "cudnn" | "torch"
  std::string variant;      // "v1-unfused", "gemm", "implicit-gemm", ... ("" when there is only one)
  std::string device_name;
  std::string status = "ok";  // "ok", "FAIL ...", "unsupported: ...", "error: ..."
  Stats time;                 // the reported time (CPU: steady_clock; GPU: CUDA events)
  Stats wall;                 // GPU only: wall time of the same repetitions
  double gflop = 0;           // useful work, from the kernels' cost() formulas
  double bytes = 0;           // minimum traffic, from the same formulas (GB/s = bytes / time)
  double tflops = NAN, pct_roofline = NAN;
  double rel_err = NAN;       // worst normwise error vs the CPU F32 reference; 0 for the reference
  std::int64_t validated_T = 0;  // lstm
  std::int64_t validated_B = 0;  // conv
  std::vector<TorchTime> torch;  // torch at the same point, fastest first (from --torch-json)
  double ratio_vs_torch = NAN;    // torch[0].time.median / time.median
  double libtorch_ms = NAN;       // the in-process libtorch peer's median at the same point
  double speedup_vs_libtorch = NAN;  // libtorch_ms / time.median: > 1 when loom is faster
};

inline json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

inline double num_or_nan(const json& j, const char* key) {
  return j.contains(key) && j.at(key).is_number() ? j.at(key).get<double>() : NAN;
}

inline std::string widths_str(const std::vector<std::int64_t>& widths) {
  std::string s;
  for (std::size_t i = 0; i < widths.size(); ++i) s += (i ? "," : "") + std::to_string(widths[i]);
  return s;
}

inline json to_json(const Row& r) {
  const Point& p = r.point;
  json j{{"family", p.family}, {"impl", r.impl}, {"variant", r.variant}, {"device", p.device},
         {"device_name", r.device_name}, {"dtype", p.dtype}, {"tf32", p.tf32}, {"phase", p.phase},
         {"T", p.T}, {"B", p.B}, {"C", p.C}, {"lengths", p.lengths}, {"threads", p.threads},
         {"status", r.status}, {"reps", r.time.reps}, {"ms_median", num(r.time.median)},
         {"ms_p10", num(r.time.p10)}, {"ms_p90", num(r.time.p90)}, {"ms_wall_median", num(r.wall.median)},
         {"gflop", r.gflop}, {"tflops", num(r.tflops)}, {"pct_roofline", num(r.pct_roofline)},
         {"rel_err", num(r.rel_err)}, {"torch_ms_median", num(r.torch.empty() ? NAN : r.torch[0].time.median)},
         {"torch_variant", r.torch.empty() ? "" : r.torch[0].variant}, {"ratio_vs_torch", num(r.ratio_vs_torch)},
         {"gbytes_per_s", num(r.bytes / (r.time.median * 1e-3) / 1e9)}, {"libtorch_ms_median", num(r.libtorch_ms)},
         {"speedup_vs_libtorch", num(r.speedup_vs_libtorch)}};
  if (is_lstm(p.family)) {
    j["H"] = p.H, j["L"] = p.L, j["D"] = p.D;
    j["us_per_step"] = num(r.time.median * 1e3 / static_cast<double>(p.T));
    j["validated_T"] = r.validated_T;
  } else {
    j["F"] = p.F, j["widths"] = widths_str(p.widths), j["padding"] = p.padding;
    j["validated_B"] = r.validated_B;
  }
  if (p.family == "step") j["arch"] = p.arch, j["E"] = p.E, j["V"] = p.V, j["H"] = p.H, j["L"] = p.L;
  return j;
}

// A row back from its JSON line (the inverse of to_json, torch fields left empty).
inline Row row_from_json(const json& j) {
  Row r;
  Point& p = r.point;
  p.family = j.at("family").get<std::string>();
  p.device = j.at("device").get<std::string>();
  p.dtype = j.at("dtype").get<std::string>();
  p.tf32 = j.at("tf32").get<bool>();
  p.phase = j.at("phase").get<std::string>();
  p.T = j.at("T").get<std::int64_t>(), p.B = j.at("B").get<std::int64_t>(), p.C = j.at("C").get<std::int64_t>();
  if (is_lstm(p.family)) {
    p.H = j.at("H").get<std::int64_t>(), p.L = j.at("L").get<int>(), p.D = j.at("D").get<int>();
    r.validated_T = j.value("validated_T", std::int64_t{0});
  } else {
    p.F = j.at("F").get<std::int64_t>();
    std::stringstream ws(j.at("widths").get<std::string>());
    for (std::string k; std::getline(ws, k, ',');) p.widths.push_back(std::stoll(k));
    p.padding = j.at("padding").get<std::string>();
    r.validated_B = j.value("validated_B", std::int64_t{0});
  }
  p.lengths = j.at("lengths").get<std::string>();
  p.threads = j.at("threads").get<int>();
  r.impl = j.at("impl").get<std::string>();
  r.variant = j.value("variant", "");
  r.device_name = j.value("device_name", "");
  r.status = j.at("status").get<std::string>();
  r.time.median = num_or_nan(j, "ms_median");
  r.time.p10 = num_or_nan(j, "ms_p10");
  r.time.p90 = num_or_nan(j, "ms_p90");
  r.time.reps = j.value("reps", 0);
  r.wall.median = num_or_nan(j, "ms_wall_median");
  r.gflop = j.value("gflop", 0.0);
  r.tflops = num_or_nan(j, "tflops");
  r.pct_roofline = num_or_nan(j, "pct_roofline");
  r.rel_err = num_or_nan(j, "rel_err");
  r.bytes = num_or_nan(j, "gbytes_per_s") * 1e9 * r.time.median * 1e-3;
  if (!std::isfinite(r.bytes)) r.bytes = 0;
  return r;
}

// Joins a loom row with torch's rows of the same point. The thread count is part of the key on
// the CPU only (a GPU run does not depend on it).
inline std::string point_key(const json& j) {
  const std::string family = j.at("family").get<std::string>(), device = j.at("device").get<std::string>();
  const bool lstm = is_lstm(family);
  std::string key = family + "|" + device + "|" + j.at("dtype").get<std::string>() +
                    (j.at("tf32").get<bool>() ? "+tf32" : "") + "|" + j.at("phase").get<std::string>() + "|";
  if (!lstm) key += j.at("padding").get<std::string>() + "|";
  key += j.at("lengths").get<std::string>();
  for (const char* dim : {"T", "B", "C"}) key += "|" + std::to_string(j.at(dim).get<long long>());
  if (lstm) {
    for (const char* dim : {"H", "L", "D"}) key += "|" + std::to_string(j.at(dim).get<long long>());
  } else {
    key += "|" + std::to_string(j.at("F").get<long long>()) + "|K=" + j.at("widths").get<std::string>();
  }
  if (device == "cpu") key += "|threads=" + std::to_string(j.at("threads").get<int>());
  return key;
}

inline std::string point_key(const Row& r) { return point_key(to_json(r)); }

// Reads the JSON lines of torch_reference.py / torch_reference_conv.py: point key -> torch's
// settings, fastest first (status ok only). `families`: the families to keep (empty: all), so an
// LSTM file passed to the conv bench by mistake is skipped rather than misread. The same point and
// setting may appear several times, from separate processes: on the shared 2-core machine torch's
// CPU conv runs in one of two speeds per PROCESS (e.g. 3 ms or 9 ms for the target's fwd+bwd,
// steady within a process), so bench/run_cpu_compare.sh can run it in several rounds and the
// fastest process counts, its variant marked "best of N".
inline std::map<std::string, std::vector<TorchTime>> load_torch_times(const std::string& path,
                                                                      const std::vector<std::string>& families = {}) {
  std::ifstream in(path);
  LOOM_CHECK(in.good(), "bench: cannot read --torch-json file ", path);
  std::map<std::string, std::map<std::string, std::pair<TorchTime, int>>> by_variant;  // fastest, runs
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    const json j = json::parse(line);
    const std::string family = j.value("family", "");
    if (!families.empty() && std::find(families.begin(), families.end(), family) == families.end()) continue;
    if (j.value("status", "ok") != "ok" || j.at("ms_median").is_null()) continue;
    TorchTime t;
    t.variant = j.value("variant", "");
    t.time.median = j.at("ms_median").get<double>();
    t.time.p10 = j.at("ms_p10").get<double>();
    t.time.p90 = j.at("ms_p90").get<double>();
    t.time.reps = j.at("reps").get<int>();
    auto [it, fresh] = by_variant[point_key(j)].try_emplace(t.variant, t, 0);
    if (!fresh && t.time.median < it->second.first.time.median) it->second.first = t;
    ++it->second.second;
  }
  std::map<std::string, std::vector<TorchTime>> out;
  for (auto& [key, variants] : by_variant) {
    for (auto& [name, best] : variants) {
      TorchTime t = best.first;
      if (best.second > 1) t.variant += " best of " + std::to_string(best.second);
      out[key].push_back(t);
    }
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

// A bench's own JSON lines from several runs (processes) of the same points: one row per point and
// implementation, the fastest run's, in the order first seen; a run that failed validation or
// errored wins over any timing, so a failure is never hidden by a good run. With more than one run
// the status says so and lists every run's median.
inline std::vector<Row> best_of_runs(const std::string& path) {
  std::ifstream in(path);
  LOOM_CHECK(in.good(), "bench: cannot read --report file ", path);
  std::vector<Row> rows;
  std::map<std::string, std::size_t> index;
  std::map<std::string, std::vector<double>> medians;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    const json j = json::parse(line);
    if (j.value("impl", "") == "torch") continue;
    Row r = row_from_json(j);
    const std::string id = point_key(r) + "|" + r.impl + "/" + r.variant;
    medians[id].push_back(r.time.median);
    auto it = index.find(id);
    if (it == index.end()) {
      index[id] = rows.size();
      rows.push_back(r);
      continue;
    }
    Row& kept = rows[it->second];
    const bool kept_ok = kept.status.rfind("ok", 0) == 0, r_ok = r.status.rfind("ok", 0) == 0;
    if ((kept_ok && !r_ok) || (kept_ok && r_ok && r.time.median < kept.time.median)) kept = r;
  }
  for (auto& [id, ms] : medians) {
    if (ms.size() < 2) continue;
    std::string list;
    for (double m : ms) list += (list.empty() ? "" : ", ") + fmt("%.3f", m);
    rows[index[id]].status += " [best of " + std::to_string(ms.size()) + " runs: " + list + "]";
  }
  return rows;
}

}  // namespace loom::bench
