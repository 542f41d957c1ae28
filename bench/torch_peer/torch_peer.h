// bench/torch_peer/torch_peer.h: the in-process libtorch peer of `loom bench`. PyTorch's own C++
// library times the same module at the same point, in the same process and on the same machine,
// so microsecond kernels are not distorted by Python's per-call overhead (the Python peers in
// bench/*.py and tests/peers/ stay for the parity tests).
//
// Contract: plain host vectors in and out, so that no loom header includes torch and no torch
// header leaks into loom. Inputs and parameters are F32 master values in loom's layouts (which are
// PyTorch's state_dict layouts); the peer converts them to its device and dtype, runs
// settings.warmup untimed and then the timed repetitions, and hands back one time per repetition
// and the outputs (and gradients) of the last repetition, in F32 and in loom's layouts, for the
// caller's validation.
//
// Built from torch_peer.cc when LOOM_TORCH=ON and libtorch is found, else from torch_peer_none.cc,
// whose available() is false and whose runs return ok = false with the reason.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace loom::bench::torch_peer {

// name -> host F32 values, in a fixed order per family.
using Named = std::vector<std::pair<std::string, std::vector<float>>>;

bool available();        // this build links libtorch
std::string version();   // e.g. "libtorch 1.13.1 (CPU, 2 threads)", or why there is no peer
bool cuda_available();   // libtorch sees a CUDA device

struct Settings {
  std::string device = "cpu";  // "cpu" | "cuda"
  std::string dtype = "f32";   // "f32" | "bf16" | "f16": the module and inputs are converted to it
  bool backward = false;       // fwd+bwd: out.backward(ones), with the input's gradient too
  int threads = 0;             // torch::set_num_threads when > 0
  int warmup = 3;
  int reps = 20;
  double budget_s = 0;         // > 0: stop timing after this many seconds (at least one repetition)
};

struct Result {
  bool ok = false;
  std::string error;       // when !ok: why there is no time (no libtorch, dtype unsupported, exception)
  std::vector<double> ms;  // one wall time per timed repetition (CUDA: synchronized around each)
  Named outputs;           // "y" (forward output); with backward also "dx" and then every
                           // parameter's gradient under its state_dict name ("weight_ih_l0", ...)
};

// torch::nn::LSTM (batch_first = false) over x [T, B, C]. lengths empty: every row runs T steps;
// else per-row lengths through pack_padded_sequence (enforce_sorted = false), the output padded
// back to T with zeros. y is [T, B, D*H]. params: every state_dict entry of the module, by name.
struct LstmCase {
  std::int64_t T = 0, B = 0, C = 0, H = 0;
  int layers = 1;
  bool bidirectional = false;
  std::vector<std::int32_t> lengths;
  std::vector<float> x;
  Named params;
};
Result run_lstm(const LstmCase& c, const Settings& s);

// torch::nn::Conv1d (no padding, stride 1) over x [T, B, C], permuted once to torch's [B, C, T]
// outside the timed region (torch's native layout is timed, not a transpose). The returned "y" is
// permuted back to loom's [T - K + 1, B, F] and "dx" to [T, B, C], outside the timing too.
// params: "weight" [F, C, K], "bias" [F].
struct Conv1dCase {
  std::int64_t T = 0, B = 0, C = 0, F = 0, K = 0;
  std::vector<float> x;
  Named params;
};
Result run_conv1d(const Conv1dCase& c, const Settings& s);

// Kim's text-CNN block: for each width k, Conv1d(C, F, k) -> ReLU -> max over time; the pooled
// features concatenated in the order of `widths`: y [B, widths.size() * F]. params:
// "convs.<i>.weight" [F, C, k_i] and "convs.<i>.bias" [F].
struct TextCnnCase {
  std::int64_t T = 0, B = 0, C = 0, F = 0;
  std::vector<std::int64_t> widths;
  std::vector<float> x;
  Named params;
};
Result run_textcnn(const TextCnnCase& c, const Settings& s);

}  // namespace loom::bench::torch_peer
