// train/runtime.h: the run-time flags shared by train, eval and predict (--device, --precision,
// --impl, --threads), resolved in one place so the three commands agree.
#pragma once

#include <ostream>
#include <string>

#include "core/device.h"
#include "ops/autocast.h"
#include "ops/impl.h"

namespace loom::train {

// "auto": the first CUDA device when one is usable, else the CPU; the choice and the reason are
// printed to `out` ("device: cpu (auto: no CUDA device: ...)"). "cpu", "cuda", "cuda:N": as given,
// checked usable (NotCompiled / NoDevice with the reason otherwise).
Device resolve_device(const std::string& flag, std::ostream& out);

// --precision: fp32 | bf16 | fp16 (and ops::parse_precision's aliases); loom::Error naming the
// valid values otherwise.
ops::Precision check_precision(const std::string& flag);

// The one-time notes on how a precision runs on `device`, printed at the start of train and eval:
// fp16 on the CPU has no fp16 arithmetic to use and runs emulated through F32 (slower than fp32).
// (bf16's own note, for CPUs without AVX512_BF16, is printed by the GEMM that emulates it.)
void note_precision(ops::Precision p, Device device, std::ostream& out);

// --impl for the LSTM and convolution kernels. With --deterministic on a GPU, auto becomes our own
// CUDA kernels (no float atomics) and cudnn is refused (cuDNN's LSTM backward is not
// run-to-run deterministic with dropout: pytorch/pytorch#18110).
Impl resolve_impl(const std::string& flag, bool deterministic, Device device);

// --threads N (> 0) sets loom's CPU thread count; 0 keeps the default.
void apply_threads(int threads);

// runs/<arch>-<YYYYmmdd-HHMMSS>, with -2, -3 ... when that folder exists.
std::string default_run_dir(const std::string& arch);

}  // namespace loom::train
