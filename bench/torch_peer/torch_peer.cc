// bench/torch_peer/torch_peer.cc: the libtorch peer itself (torch_peer.h), built into the plugin
// libloom_torch_peer.so (torch_peer_plugin.h says why a plugin) and nowhere else: this is the one
// loom file that includes torch, and cmake/torch_peer.cmake keeps torch's flags on it alone.
//
// Each run_* builds PyTorch's own module (torch::nn::LSTM, torch::nn::Conv1d, Kim's block from
// Conv1d + relu + amax), copies the caller's F32 parameters into it by state_dict name, converts
// module and input to the device and dtype, runs settings.warmup untimed repetitions and then the
// timed ones, and returns the last repetition's outputs and gradients in loom's layouts.
//
// What one timed repetition holds: forward only (under c10::InferenceMode, PyTorch's fastest
// no-grad mode), or zero_grad + forward + out.backward(ones). For the LSTM with lengths, packing
// and unpacking are inside it (they are how PyTorch runs variable lengths); the conv's layout
// change to [B, C, T] and every host copy are outside it. On CUDA each repetition is bracketed by
// torch::cuda::synchronize so the wall time covers the kernels.
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/utils/rnn.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/torch_peer/torch_peer_plugin.h"

namespace loom::bench::torch_peer {
namespace {

// A case the peer cannot run as given (sizes, names, settings): caught into Result.error like
// torch's own errors, so a bad shape is a message, never a crash.
struct BadCase : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string shape_text(c10::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda") {
    if (!torch::cuda::is_available()) throw BadCase("device cuda: libtorch sees no CUDA device");
    return torch::Device(torch::kCUDA, 0);
  }
  throw BadCase("device '" + name + "': expected cpu or cuda");
}

torch::Dtype parse_dtype(const std::string& name) {
  if (name == "f32") return torch::kFloat32;
  if (name == "bf16") return torch::kBFloat16;
  if (name == "f16") return torch::kFloat16;
  throw BadCase("dtype '" + name + "': expected f32, bf16 or f16");
}

// A host F32 tensor holding a copy of `values`, which must have exactly the shape's element count.
torch::Tensor from_host(const std::vector<float>& values, std::vector<int64_t> shape, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (static_cast<int64_t>(values.size()) != n)
    throw BadCase(what + " has " + std::to_string(values.size()) + " values, expected " + std::to_string(n) +
                  " (" + shape_text(shape) + ")");
  return torch::from_blob(const_cast<float*>(values.data()), shape, torch::kFloat32).clone();
}

std::vector<float> to_host(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// Copies the caller's parameters into the module by state_dict name: every parameter of the
// module must be given once, with its exact element count, and no other name is accepted (a typo
// would otherwise leave PyTorch's random initialization in place and "disagree" mysteriously).
void load_params(torch::nn::Module& module, const Named& given) {
  auto named = module.named_parameters();
  for (const auto& [name, values] : given) {
    if (!named.contains(name)) {
      std::string expected;
      for (const auto& item : named) expected += (expected.empty() ? "" : ", ") + item.key();
      throw BadCase("unknown parameter '" + name + "' (this module has: " + expected + ")");
    }
  }
  torch::NoGradGuard no_grad;
  for (const auto& item : named) {
    auto it = std::find_if(given.begin(), given.end(), [&](const auto& p) { return p.first == item.key(); });
    if (it == given.end()) throw BadCase("missing parameter '" + item.key() + "'");
    torch::Tensor p = item.value();
    item.value().copy_(from_host(it->second, p.sizes().vec(), "parameter '" + item.key() + "'"));
  }
}

// torch::set_num_threads changes OpenMP's thread count for the whole process (libgomp is shared
// with loom's kernels), so the caller's count is put back when the run ends.
class ThreadScope {
 public:
  explicit ThreadScope(int threads) : saved_(at::get_num_threads()) {
    if (threads > 0) at::set_num_threads(threads);
  }
  ~ThreadScope() { at::set_num_threads(saved_); }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int saved_;
};

// What a family hands the timing loop: the module, the prepared input (on the device, in the
// dtype, a leaf that requires grad for fwd+bwd) and the forward that maps it to the output.
struct Prepared {
  torch::nn::Module* module = nullptr;
  torch::Tensor x;
  std::function<torch::Tensor(const torch::Tensor&)> forward;
  // Back to loom's layouts (outside the timing): the output, and the input's gradient.
  std::function<torch::Tensor(const torch::Tensor&)> y_to_loom = [](const torch::Tensor& t) { return t; };
  std::function<torch::Tensor(const torch::Tensor&)> dx_to_loom = [](const torch::Tensor& t) { return t; };
};

Result time_and_collect(Prepared& p, const Settings& s, bool cuda) {
  if (s.reps < 1) throw BadCase("reps = " + std::to_string(s.reps) + ": at least one timed repetition");
  if (s.warmup < 0) throw BadCase("warmup = " + std::to_string(s.warmup) + " is negative");
  auto once = [&]() -> torch::Tensor {
    if (!s.backward) {
      c10::InferenceMode inference;
      return p.forward(p.x);
    }
    p.module->zero_grad();
    p.x.mutable_grad() = torch::Tensor();
    torch::Tensor y = p.forward(p.x);
    y.backward(torch::ones_like(y));
    return y;
  };
  auto sync = [&] {
    if (cuda) torch::cuda::synchronize();
  };
  torch::Tensor y;
  for (int i = 0; i < s.warmup; ++i) y = once();
  sync();

  Result r;
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < s.reps; ++i) {
    sync();
    const Clock::time_point t0 = Clock::now();
    y = once();
    sync();
    const Clock::time_point t1 = Clock::now();
    r.ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    if (s.budget_s > 0 && std::chrono::duration<double>(t1 - start).count() >= s.budget_s) break;
  }

  r.outputs.emplace_back("y", to_host(p.y_to_loom(y)));
  if (s.backward) {
    r.outputs.emplace_back("dx", to_host(p.dx_to_loom(p.x.grad())));
    for (const auto& item : p.module->named_parameters()) {
      const torch::Tensor& g = item.value().grad();
      r.outputs.emplace_back(item.key(), g.defined() ? to_host(g) : std::vector<float>(item.value().numel(), 0.0f));
    }
  }
  r.ok = true;
  return r;
}

// Runs body() and turns any error into ok = false with a one-line reason, prefixed by the family
// and settings so `loom bench` can print it as is.
Result guarded(const char* family, const Settings& s, const std::function<Result()>& body) {
  const std::string where = std::string("libtorch ") + family + " (" + s.device + ", " + s.dtype +
                            (s.backward ? ", fwd+bwd" : ", fwd") + "): ";
  Result r;
  try {
    return body();
  } catch (const c10::Error& e) {
    r.error = where + e.what_without_backtrace();  // what() appends a multi-line C++ backtrace
  } catch (const std::exception& e) {
    r.error = where + e.what();
  }
  // torch's messages can span lines; the caller prints one line.
  std::replace(r.error.begin(), r.error.end(), '\n', ' ');
  return r;
}

void check_positive(std::int64_t v, const char* name) {
  if (v < 1) throw BadCase(std::string(name) + " = " + std::to_string(v) + " must be at least 1");
}

// Kim's text-CNN block as a module, so its parameters are named "convs.<i>.weight" / ".bias".
struct TextCnnImpl : torch::nn::Module {
  TextCnnImpl(std::int64_t C, std::int64_t F, const std::vector<std::int64_t>& widths) {
    for (std::int64_t k : widths) convs->push_back(torch::nn::Conv1d(torch::nn::Conv1dOptions(C, F, k)));
    register_module("convs", convs);
  }
  // x [B, C, T] -> [B, widths * F]: per width conv -> relu -> max over time, side by side.
  torch::Tensor forward(const torch::Tensor& x) {
    std::vector<torch::Tensor> pooled;
    for (const auto& conv : *convs) pooled.push_back(torch::relu(conv->as<torch::nn::Conv1d>()->forward(x)).amax(2));
    return torch::cat(pooled, 1);
  }
  torch::nn::ModuleList convs;
};

Result lstm(const LstmCase& c, const Settings& s) {
  check_positive(c.T, "T");
  check_positive(c.B, "B");
  check_positive(c.C, "C");
  check_positive(c.H, "H");
  check_positive(c.layers, "layers");
  const torch::Device device = parse_device(s.device);
  const torch::Dtype dtype = parse_dtype(s.dtype);
  ThreadScope threads(s.threads);

  torch::nn::LSTM module(
      torch::nn::LSTMOptions(c.C, c.H).num_layers(c.layers).bidirectional(c.bidirectional).batch_first(false));
  load_params(*module, c.params);
  module->to(device, dtype);

  torch::Tensor lengths;  // int64 on the CPU, where pack_padded_sequence wants it
  if (!c.lengths.empty()) {
    if (static_cast<std::int64_t>(c.lengths.size()) != c.B)
      throw BadCase("lengths has " + std::to_string(c.lengths.size()) + " values, expected B = " + std::to_string(c.B));
    for (size_t b = 0; b < c.lengths.size(); ++b)
      if (c.lengths[b] < 1 || c.lengths[b] > c.T)
        throw BadCase("lengths[" + std::to_string(b) + "] = " + std::to_string(c.lengths[b]) + " is outside [1, T = " +
                      std::to_string(c.T) + "] (pack_padded_sequence needs a token in every row)");
    lengths = torch::tensor(std::vector<int64_t>(c.lengths.begin(), c.lengths.end()), torch::kInt64);
  }

  Prepared p;
  p.module = module.get();
  p.x = from_host(c.x, {c.T, c.B, c.C}, "x").to(device, dtype).requires_grad_(s.backward);
  const std::int64_t T = c.T;
  p.forward = [module, lengths, T](const torch::Tensor& x) mutable {
    if (!lengths.defined()) return std::get<0>(module->forward(x));
    namespace rnn = torch::nn::utils::rnn;
    rnn::PackedSequence packed = rnn::pack_padded_sequence(x, lengths, /*batch_first=*/false, /*enforce_sorted=*/false);
    auto out = module->forward_with_packed_input(packed);
    return std::get<0>(rnn::pad_packed_sequence(std::get<0>(out), /*batch_first=*/false, /*padding_value=*/0.0, T));
  };
  return time_and_collect(p, s, device.is_cuda());
}

Result conv1d(const Conv1dCase& c, const Settings& s) {
  for (auto [v, name] : {std::pair{c.T, "T"}, {c.B, "B"}, {c.C, "C"}, {c.F, "F"}, {c.K, "K"}}) check_positive(v, name);
  if (c.K > c.T) throw BadCase("K = " + std::to_string(c.K) + " is longer than T = " + std::to_string(c.T));
  const torch::Device device = parse_device(s.device);
  const torch::Dtype dtype = parse_dtype(s.dtype);
  ThreadScope threads(s.threads);

  torch::nn::Conv1d module(torch::nn::Conv1dOptions(c.C, c.F, c.K));
  load_params(*module, c.params);
  module->to(device, dtype);

  Prepared p;
  p.module = module.get();
  // loom's [T, B, C] -> torch's native [B, C, T], once and outside the timing.
  p.x = from_host(c.x, {c.T, c.B, c.C}, "x").permute({1, 2, 0}).contiguous().to(device, dtype).requires_grad_(s.backward);
  p.forward = [module](const torch::Tensor& x) mutable { return module->forward(x); };
  p.y_to_loom = [](const torch::Tensor& y) { return y.permute({2, 0, 1}); };    // [B, F, T'] -> [T', B, F]
  p.dx_to_loom = [](const torch::Tensor& dx) { return dx.permute({2, 0, 1}); };  // [B, C, T] -> [T, B, C]
  return time_and_collect(p, s, device.is_cuda());
}

Result textcnn(const TextCnnCase& c, const Settings& s) {
  for (auto [v, name] : {std::pair{c.T, "T"}, {c.B, "B"}, {c.C, "C"}, {c.F, "F"}}) check_positive(v, name);
  if (c.widths.empty()) throw BadCase("widths is empty: the block needs at least one filter width");
  for (std::int64_t k : c.widths)
    if (k < 1 || k > c.T)
      throw BadCase("width " + std::to_string(k) + " is outside [1, T = " + std::to_string(c.T) + "]");
  const torch::Device device = parse_device(s.device);
  const torch::Dtype dtype = parse_dtype(s.dtype);
  ThreadScope threads(s.threads);

  auto module = std::make_shared<TextCnnImpl>(c.C, c.F, c.widths);
  load_params(*module, c.params);
  module->to(device, dtype);

  Prepared p;
  p.module = module.get();
  p.x = from_host(c.x, {c.T, c.B, c.C}, "x").permute({1, 2, 0}).contiguous().to(device, dtype).requires_grad_(s.backward);
  p.forward = [module](const torch::Tensor& x) { return module->forward(x); };
  p.dx_to_loom = [](const torch::Tensor& dx) { return dx.permute({2, 0, 1}); };
  return time_and_collect(p, s, device.is_cuda());
}

// ---- the plugin's table ----------------------------------------------------------------------------

// e.g. "libtorch 1.13.0 (CPU, 2 intra-op threads, MKLDNN/oneDNN on)": torch's thread count as it
// stands (its own default before the first run; the loader runs torch on loom's count unless
// Settings.threads says otherwise).
std::string peer_version() {
  try {
    std::string v = std::string("libtorch ") + TORCH_VERSION + " (";
    if (torch::cuda::is_available())
      v += "CUDA, " + std::to_string(torch::cuda::device_count()) + " device(s), cuDNN " +
           (torch::cuda::cudnn_is_available() ? "on" : "off") + "; ";
    const int threads = at::get_num_threads();
    v += "CPU, " + std::to_string(threads) + (threads == 1 ? " intra-op thread" : " intra-op threads") +
         ", MKLDNN/oneDNN " + (at::hasMKLDNN() ? "on" : "off") + ")";
    return v;
  } catch (const std::exception& e) {
    return std::string("libtorch ") + TORCH_VERSION + " (could not query: " + e.what() + ")";
  }
}

bool peer_cuda_available() {
  try {
    return torch::cuda::is_available();
  } catch (...) {
    return false;
  }
}

Result peer_lstm(const LstmCase& c, const Settings& s) {
  return guarded("lstm", s, [&] { return lstm(c, s); });
}
Result peer_conv1d(const Conv1dCase& c, const Settings& s) {
  return guarded("conv1d", s, [&] { return conv1d(c, s); });
}
Result peer_textcnn(const TextCnnCase& c, const Settings& s) {
  return guarded("textcnn", s, [&] { return textcnn(c, s); });
}

const PluginApi kApi = {kPluginApiVersion, _GLIBCXX_USE_CXX11_ABI, sizeof(Result), peer_version,
                        peer_cuda_available, peer_lstm, peer_conv1d, peer_textcnn};

}  // namespace
}  // namespace loom::bench::torch_peer

// The plugin's only exported symbol (the target builds with hidden visibility).
extern "C" __attribute__((visibility("default"))) const loom::bench::torch_peer::PluginApi* loom_torch_peer_plugin_api() {
  return &loom::bench::torch_peer::kApi;
}
