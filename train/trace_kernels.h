// train/trace_kernels.h: `loom trace --kernels` (issue 15): every kernel of ONE training step, in
// order, with its device, shapes, time, FLOPs, bytes and % of roofline, for one or several
// implementations side by side. tools/trace.cc reads the flags and prints what this returns.
//
// The step is the trainer's (train/trainer.cc train_step): forward and loss in the autocast region
// of the precision, zero_grad, backward, the global gradient norm and its clip coefficient, AdamW.
// Its input is a synthetic batch (B rows of T random token ids, every row full length, random
// labels), so no data file is needed; the weights are a run's (--model) or a fresh initialisation
// (--arch and the model flags). Per implementation the model is rebuilt from the same seed (or the
// same weights file), one warm-up step runs untimed (first-touch allocations, thread pools, cuBLAS
// handles), then one step (or --repeats N steps, each call's time the median over them) runs
// inside an ops::profile::Session (ops/profile.h), labelled in phases
// "forward" (model and loss), "backward" (zero_grad and the tape), "optimizer" (norm, AdamW) and
// "readback" (the loss copied to the host, the trainer's one read-back per step).
//
// Implementations (--impl): "auto" (what training would pick), "cpu" and "reference" (CPU rows),
// "cuda-v1", "cuda-v2", "cudnn", "cudnn-persist" (CUDA rows). The name selects the LSTM variant
// row (ModelConfig::lstm_impl.row) and maps onto the convolutions' Impl (cpu and reference -> Cpu,
// cuda-v* -> Cuda, cudnn* -> Cudnn; a model config has no conv row of its own, so "reference" and
// "cuda-v1" leave the convolutions on their default row). Every record names the row that actually
// ran, so the table never claims more than happened. An implementation that does not fit the
// device or the build is listed as skipped, with the reason.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "models/model_config.h"
#include "ops/autocast.h"
#include "ops/profile.h"

namespace loom::train {

struct KernelTraceConfig {
  models::ModelConfig model;          // arch and sizes; lstm_impl / conv_impl are set per impl
  std::string weights_path;           // a run's weights file, or "" for a fresh init from `seed`
  data::TaskKind task = data::TaskKind::Binary;
  std::int64_t num_labels = 2;        // label names of the task (binary: 2, one logit)
  std::int64_t batch = 64, seq_len = 40;  // the synthetic batch: [T, B] ids, all rows T long
  Device device = Device::cpu();
  ops::Precision precision = ops::Precision::F32;
  std::vector<std::string> impls{"auto"};
  std::uint64_t seed = 42;
  int repeats = 1;                    // profiled steps after the warm-up; times are their medians
  double lr = 1e-3, weight_decay = 0.0, clip_grad_norm = 1.0;
};

// One implementation's profiled step.
struct KernelTrace {
  std::string impl;                               // as asked ("cpu", "cuda-v2", ...)
  std::string skipped;                            // why it did not run ("" when it ran)
  std::vector<ops::profile::KernelRecord> calls;  // in call order
  double step_us = 0;    // wall time of the profiled step (median; profiler bookkeeping included)
  double kernel_us = 0;  // sum of the top-level calls' times
  double loss = 0;       // the step's loss (a sanity number: equal across impls up to rounding)
};

// The implementation names --impl accepts, in the order the help lists them.
const std::vector<std::string>& kernel_impl_names();

// "cpu,reference" -> {"cpu", "reference"}; a loom::Error naming --impl and the valid names for an
// unknown or empty entry or a repeated one.
std::vector<std::string> parse_impl_list(const std::string& value);

// Runs the warm-up and the profiled step once per config.impls entry.
std::vector<KernelTrace> trace_training_step(const KernelTraceConfig& config);

// The peak each record is compared with: CPU, the measured F32 GEMM peak (ops/profile.h); CUDA,
// the datasheet table by the device's name.
struct RooflineModel {
  Device device = Device::cpu();
  ops::profile::Peak cpu;   // CPU runs
  std::string gpu_name;     // CUDA runs
  ops::profile::Peak peak_for(DType dtype) const;
};
RooflineModel roofline_for(Device device);

// The terminal view: a header, one row per kernel call (one time column per implementation when
// their call sequences match, else one table per implementation), then the per-op summary
// (count, total time, share of the kernel time).
void print_kernel_trace(const std::vector<KernelTrace>& traces, const RooflineModel& roof, std::ostream& out);

// One JSON object per line: a "kernel" object per call (impl_requested, index, depth, op, phase,
// impl, device, shapes, dtype, time_us, flops, bytes, gflops, gbps, pct_roofline; null where
// unknown) and a "step" object per implementation. Written atomically.
void write_kernel_trace_jsonl(const std::string& path, const std::vector<KernelTrace>& traces,
                              const RooflineModel& roof);

}  // namespace loom::train
