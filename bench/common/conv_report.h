// bench/common/conv_report.h: the conv1d / text-CNN counterpart of report.h.
//
// Same JSON-lines schema as the LSTM bench (report.h) for everything that is not a shape: family,
// impl, variant, device, device_name, dtype, tf32, phase, lengths, threads, status, reps,
// ms_median / ms_p10 / ms_p90, ms_wall_median, gflop, tflops, pct_roofline, rel_err,
// torch_ms_median, torch_variant, ratio_vs_torch; NaN numbers are written as null. The shape keys
// are the convolution's own: T, B, C, F (filters per width), widths ("3" for a plain conv, "3,4,5"
// for a block), padding, and validated_B (the batch the point was validated at; see
// bench_conv1d.cc). bench/torch_reference_conv.py writes the same keys with impl "torch".
//
// Families: "conv1d" (the convolution alone, [T, B, C] -> [T', B, F]) and "textcnn" (Kim's block:
// per width conv -> bias -> ReLU -> max over time, concatenated to [B, widths * F]).
//
// ratio_vs_torch is torch's median over ours (a speedup, > 1 when loom is faster), taken against
// torch's FASTEST setting at the point, as in report.h; the table shows every setting.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/common/report.h"
#include "bench/common/timer.h"
#include "core/error.h"

namespace loom::bench {

struct ConvPoint {
  std::string family;   // "conv1d" | "textcnn"
  std::string device;   // "cpu" | "cuda"
  std::string dtype;    // storage type: "f32" | "bf16" | "f16"
  bool tf32 = false;    // F32 convolutions on TF32 tensor cores (GPU only)
  std::string phase;    // "fwd" | "fwd+bwd"
  std::int64_t T = 0, B = 0, C = 0, F = 0;
  std::vector<std::int64_t> widths;  // K of each width; one entry for a plain conv
  std::string padding = "valid";     // Kim's block and the grid use valid padding
  std::string lengths = "fixed";     // every row runs all T steps
  int threads = 1;                   // CPU threads of the run (part of the key on the CPU only)
};

struct ConvRow {
  ConvPoint point;
  std::string impl;         // "cpu" | "cuda" | "cudnn" | "torch"
  std::string variant;      // "gemm", "direct", "implicit-gemm", "fused", "composed", ...
  std::string device_name;
  std::string status = "ok";
  Stats time;               // CPU: steady_clock; GPU: CUDA events
  Stats wall;               // GPU only: wall time of the same repetitions
  double gflop = 0;         // from the kernels' cost() formulas (conv1d.h)
  double tflops = NAN, pct_roofline = NAN;
  double rel_err = NAN;     // worst normwise error vs the CPU F32 reference; 0 for the reference
  std::int64_t validated_B = 0;
  std::vector<TorchTime> torch;  // torch at the same point, fastest first
  double ratio_vs_torch = NAN;
};

inline std::string widths_str(const std::vector<std::int64_t>& widths) {
  std::string s;
  for (std::size_t i = 0; i < widths.size(); ++i) s += (i ? "," : "") + std::to_string(widths[i]);
  return s;
}

inline json to_json(const ConvRow& r) {
  const ConvPoint& p = r.point;
  return json{{"family", p.family}, {"impl", r.impl}, {"variant", r.variant}, {"device", p.device},
              {"device_name", r.device_name}, {"dtype", p.dtype}, {"tf32", p.tf32}, {"phase", p.phase},
              {"T", p.T}, {"B", p.B}, {"C", p.C}, {"F", p.F}, {"widths", widths_str(p.widths)},
              {"padding", p.padding}, {"lengths", p.lengths}, {"threads", p.threads}, {"status", r.status},
              {"reps", r.time.reps}, {"ms_median", num(r.time.median)}, {"ms_p10", num(r.time.p10)},
              {"ms_p90", num(r.time.p90)}, {"ms_wall_median", num(r.wall.median)}, {"gflop", r.gflop},
              {"tflops", num(r.tflops)}, {"pct_roofline", num(r.pct_roofline)}, {"rel_err", num(r.rel_err)},
              {"validated_B", r.validated_B},
              {"torch_ms_median", num(r.torch.empty() ? NAN : r.torch[0].time.median)},
              {"torch_variant", r.torch.empty() ? "" : r.torch[0].variant},
              {"ratio_vs_torch", num(r.ratio_vs_torch)}};
}

// Joins a loom row with torch's rows of the same point. The thread count is part of the key on
// the CPU only (a GPU run does not depend on it).
inline std::string conv_point_key(const json& j) {
  const std::string device = j.at("device").get<std::string>();
  std::string key = j.at("family").get<std::string>() + "|" + device + "|" + j.at("dtype").get<std::string>() +
                    (j.at("tf32").get<bool>() ? "+tf32" : "") + "|" + j.at("phase").get<std::string>() + "|" +
                    j.at("padding").get<std::string>() + "|" + j.at("lengths").get<std::string>();
  for (const char* dim : {"T", "B", "C", "F"}) key += "|" + std::to_string(j.at(dim).get<long long>());
  key += "|K=" + j.at("widths").get<std::string>();
  if (device == "cpu") key += "|threads=" + std::to_string(j.at("threads").get<int>());
  return key;
}

inline std::string conv_point_key(const ConvRow& r) { return conv_point_key(to_json(r)); }

// Reads torch_reference_conv.py's JSON lines: point key -> its settings, fastest first (status ok
// only). Lines of other families (an LSTM file passed by mistake) are skipped rather than misread.
// The same point and setting may appear several times, from separate processes: on the shared
// 2-core machine torch's CPU conv runs in one of two speeds per PROCESS (e.g. 3 ms or 9 ms for the
// target's fwd+bwd, steady within a process), so bench/run_cpu_compare_conv.sh runs it in several
// and the fastest process counts, its variant marked "best of N".
inline std::map<std::string, std::vector<TorchTime>> load_conv_torch_times(const std::string& path) {
  std::ifstream in(path);
  LOOM_CHECK(in.good(), "bench: cannot read --torch-json file ", path);
  std::map<std::string, std::map<std::string, std::pair<TorchTime, int>>> by_variant;  // fastest, runs
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    const json j = json::parse(line);
    const std::string family = j.value("family", "");
    if (family != "conv1d" && family != "textcnn") continue;
    if (j.value("status", "ok") != "ok" || j.at("ms_median").is_null()) continue;
    TorchTime t;
    t.variant = j.value("variant", "");
    t.time.median = j.at("ms_median").get<double>();
    t.time.p10 = j.at("ms_p10").get<double>();
    t.time.p90 = j.at("ms_p90").get<double>();
    t.time.reps = j.at("reps").get<int>();
    auto [it, fresh] = by_variant[conv_point_key(j)].try_emplace(t.variant, t, 0);
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

inline double num_or_nan(const json& j, const char* key) {
  return j.contains(key) && j.at(key).is_number() ? j.at(key).get<double>() : NAN;
}

// A row back from its JSON line (the inverse of to_json, torch fields left empty).
inline ConvRow conv_row_from_json(const json& j) {
  ConvRow r;
  ConvPoint& p = r.point;
  p.family = j.at("family").get<std::string>();
  p.device = j.at("device").get<std::string>();
  p.dtype = j.at("dtype").get<std::string>();
  p.tf32 = j.at("tf32").get<bool>();
  p.phase = j.at("phase").get<std::string>();
  p.T = j.at("T").get<std::int64_t>(), p.B = j.at("B").get<std::int64_t>();
  p.C = j.at("C").get<std::int64_t>(), p.F = j.at("F").get<std::int64_t>();
  std::stringstream ws(j.at("widths").get<std::string>());
  for (std::string k; std::getline(ws, k, ',');) p.widths.push_back(std::stoll(k));
  p.padding = j.at("padding").get<std::string>();
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
  r.validated_B = j.value("validated_B", std::int64_t{0});
  return r;
}

// bench_conv1d's own JSON lines from several runs (processes) of the same points: one row per
// point and implementation, the fastest run's, in the order first seen; a run that failed
// validation or errored wins over any timing, so a failure is never hidden by a good run. With more
// than one run the status says so and lists every run's median.
inline std::vector<ConvRow> best_of_runs(const std::string& path) {
  std::ifstream in(path);
  LOOM_CHECK(in.good(), "bench: cannot read --report file ", path);
  std::vector<ConvRow> rows;
  std::map<std::string, std::size_t> index;
  std::map<std::string, std::vector<double>> medians;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    const json j = json::parse(line);
    if (j.value("impl", "") == "torch") continue;
    ConvRow r = conv_row_from_json(j);
    const std::string id = conv_point_key(r) + "|" + r.impl + "/" + r.variant;
    medians[id].push_back(r.time.median);
    auto it = index.find(id);
    if (it == index.end()) {
      index[id] = rows.size();
      rows.push_back(r);
      continue;
    }
    ConvRow& kept = rows[it->second];
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

// One table; rows of the same point stay together, torch's rows (when known) after ours.
inline void print_conv_markdown(std::ostream& os, const std::vector<ConvRow>& rows) {
  os << "| op | dtype | phase | T | B | C | F | K | impl | ms median | p10 / p90 | TFLOP/s | % roof "
        "| ours/torch | torch/ours | check |\n"
     << "|---|---|---|--:|--:|--:|--:|---|---|--:|--:|--:|--:|--:|--:|---|\n";
  auto lead = [&](const ConvPoint& p) {
    os << "| " << (p.family == "textcnn" ? "block" : "conv") << " | " << p.dtype << (p.tf32 ? "+tf32" : "") << " | "
       << p.phase << " | " << p.T << " | " << p.B << " | " << p.C << " | " << p.F << " | " << widths_str(p.widths)
       << " | ";
  };
  auto timing = [&](const std::string& who, const Stats& t, double gflop, double pct, const ConvPoint& p) {
    lead(p);
    os << who << " | " << fmt("%.3f", t.median) << " | " << fmt("%.3f", t.p10) << (std::isfinite(t.p10) ? " / " : "")
       << fmt("%.3f", t.p90) << " | " << fmt("%.3g", gflop / (t.median * 1e-3) / 1e3) << " | " << fmt("%.1f", pct)
       << " | ";
  };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const ConvRow& r = rows[i];
    timing(r.impl + (r.variant.empty() ? "" : "/" + r.variant), r.time, r.gflop, r.pct_roofline, r.point);
    os << fmt("%.2f", 1.0 / r.ratio_vs_torch) << " | " << fmt("%.2fx", r.ratio_vs_torch) << " | " << r.status
       << (std::isfinite(r.rel_err) && r.rel_err > 0 ? fmt(" (rel err %.1e)", r.rel_err) : "") << " |\n";
    const bool last_of_point = i + 1 == rows.size() || conv_point_key(rows[i + 1]) != conv_point_key(r);
    for (std::size_t k = 0; last_of_point && k < r.torch.size(); ++k) {
      timing("torch/" + r.torch[k].variant, r.torch[k].time, r.gflop, r.torch[k].pct_roofline, r.point);
      os << " |  | " << (k == 0 ? "torch, fastest setting" : "torch") << " |\n";
    }
  }
}

}  // namespace loom::bench
