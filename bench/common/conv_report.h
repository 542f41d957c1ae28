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

// Reads torch_reference_conv.py's JSON lines: point key -> its runs, fastest first (status ok
// only; a later line with the same point and variant replaces an earlier one). Lines of other
// families (an LSTM file passed by mistake) are skipped rather than misread.
inline std::map<std::string, std::vector<TorchTime>> load_conv_torch_times(const std::string& path) {
  std::ifstream in(path);
  LOOM_CHECK(in.good(), "bench: cannot read --torch-json file ", path);
  std::map<std::string, std::map<std::string, TorchTime>> by_variant;
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
    by_variant[conv_point_key(j)][t.variant] = t;
  }
  std::map<std::string, std::vector<TorchTime>> out;
  for (auto& [key, variants] : by_variant) {
    for (auto& [name, t] : variants) out[key].push_back(t);
    std::sort(out[key].begin(), out[key].end(),
              [](const TorchTime& a, const TorchTime& b) { return a.time.median < b.time.median; });
  }
  return out;
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
