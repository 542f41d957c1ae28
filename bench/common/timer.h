// bench/common/timer.h: warm-up, then many timed repetitions, summarized as median and p10/p90.
//
// Why a distribution and not a mean: on a shared 2-core machine (and under GPU clock changes) a
// few repetitions are slowed by things that are not the code under test; the median ignores
// them, and p10/p90 show how noisy the run was. Ratios between implementations are only quoted
// from the same run on the same machine: the machine's load moves absolute times between runs.
//
// CPU: std::chrono::steady_clock around each repetition.
// GPU: the stream is synchronized before each repetition (so earlier work cannot bleed into it)
// and after it; inside, CUDA events recorded on loom's stream give the device-side time, and
// steady_clock around the same span gives the wall time, which also contains host overhead
// (launches, descriptor set-up, the lengths copy-back). Both are kept: a per-call host cost is
// real at small B and T, and events alone would hide it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "bench/common/gpu_events.h"

namespace loom::bench {

struct Stats {
  double median = NAN, p10 = NAN, p90 = NAN;  // milliseconds
  int reps = 0;
};

// Percentile by linear interpolation between the two nearest order statistics.
inline double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return NAN;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

inline Stats summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  Stats s;
  s.median = percentile(ms, 0.5);
  s.p10 = percentile(ms, 0.1);
  s.p90 = percentile(ms, 0.9);
  s.reps = static_cast<int>(ms.size());
  return s;
}

inline double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// With budget_s > 0 the repetitions stop once their sum passes the budget (at least one, at most
// reps): --budget bounds a run's time whatever the point's size.
inline bool budget_spent(const std::vector<double>& ms, double budget_s) {
  if (budget_s <= 0 || ms.empty()) return false;
  double sum = 0;
  for (double m : ms) sum += m;
  return sum >= budget_s * 1e3;
}

template <typename Fn>
Stats time_cpu(Fn&& fn, int warmup, int reps, double budget_s = 0) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  ms.reserve(reps);
  for (int i = 0; i < reps && !budget_spent(ms, budget_s); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(elapsed_ms(t0));
  }
  return summarize(std::move(ms));
}

struct GpuStats {
  Stats events;  // device time between two events on loom's stream
  Stats wall;    // host time from before the first launch to the end of the synchronize
};

template <typename Fn>
GpuStats time_gpu(int device, Fn&& fn, int warmup, int reps, double budget_s = 0) {
  GpuEvents events(device);
  for (int i = 0; i < warmup; ++i) fn();
  events.synchronize();
  std::vector<double> device_ms, wall_ms;
  device_ms.reserve(reps);
  wall_ms.reserve(reps);
  for (int i = 0; i < reps && !budget_spent(wall_ms, budget_s); ++i) {
    events.synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    events.start();
    fn();
    device_ms.push_back(events.stop_ms());  // records the end event and waits for it
    events.synchronize();
    wall_ms.push_back(elapsed_ms(t0));
  }
  return {summarize(std::move(device_ms)), summarize(std::move(wall_ms))};
}

}  // namespace loom::bench
