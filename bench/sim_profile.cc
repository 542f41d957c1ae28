// bench/sim_profile.cc (SIM shape only): what the hand-written CUDA kernels ask of memory, at one
// small teaching shape, counted by the simulator's profile (sim/profile.h, sim/README.md "Profile").
//
//   build-sim/sim_profile            every run below, one after another
//   build-sim/sim_profile lstm       only the LSTM runs (also: conv, textcnn)
//
// Runs, each forward then backward, F32, on the simulated GPU:
//   LSTM      T=8 B=4 C=16 H=32          rows cuda-v1 (unfused) and cuda-v2 (fused pointwise)
//   conv1d    T=16 B=4 C=32 F=64 K=3     rows cuda-v1 (direct) and cuda-v2 (implicit GEMM), 'same'
//   text-CNN  T=16 B=4 C=32, widths 3,4,5 with 64 filters each    row cuda-v3 (fused block)
// For each pass it prints the op's cost() (the bytes and flops the cost model says the op needs at
// minimum), the simulator's per-kernel table for just that pass, and the global bytes the kernels
// moved against the model's minimum. The GEMMs the LSTM hands to cuBLAS run as host code in the
// simulator and are not instrumented, so they are not in the tables (the line says so).
//
// These are counts of what the code asks of memory, not GPU timings: a sector read twice counts
// twice here, where a GPU's L1/L2 caches may serve it once.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/cuda_context.h"
#include "core/device.h"
#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_variants.h"
#include "kernels/lstm/lstm.h"
#include "kernels/lstm/lstm_variants.h"
#include "ops/tensor.h"
#include "sim/profile.h"

namespace loom::bench {
namespace {

const Device kGpu = Device::cuda(0);

Tensor uniform(const Shape& s, std::uint64_t seed) { return Tensor::uniform(s, -0.5f, 0.5f, seed, 0, DType::F32, kGpu); }
Tensor zeros(const Shape& s, DType t = DType::F32) { return Tensor::zeros(s, t, kGpu); }

// Runs `pass` with a fresh profile and prints the cost model's numbers, the table and the totals.
void profile_pass(const std::string& title, const kernels::Cost& cost, const std::function<void()>& pass,
                  bool uses_cublas) {
  (void)cudaDeviceSynchronize();
  sim::profile_reset();
  pass();
  (void)cudaDeviceSynchronize();
  const std::vector<sim::KernelProfile> kernels = sim::profile_snapshot();
  std::uint64_t moved = 0, launches = 0;
  for (const sim::KernelProfile& k : kernels) moved += k.bytes_read + k.bytes_written, launches += k.launches;
  std::printf("== %s\n", title.c_str());
  std::printf("cost model: %.0f flops, %.0f bytes at minimum\n", cost.flops, cost.bytes);
  std::fputs(sim::profile_table(kernels).c_str(), stdout);
  std::printf("total: %llu launches, %llu global bytes moved by the kernels = %.2f x the cost model's minimum%s\n\n",
              static_cast<unsigned long long>(launches), static_cast<unsigned long long>(moved),
              cost.bytes > 0 ? static_cast<double>(moved) / cost.bytes : 0.0,
              uses_cublas ? " (cuBLAS GEMMs not included: host code in the simulator)" : "");
}

void lstm(const std::string& row_name) {
  const std::int64_t T = 8, B = 4, C = 16, H = 32, G = 4 * H;
  const kernels::LstmVariantRow& row = kernels::lstm_variant(row_name);
  const CudaContext* ctx = &cuda_context(0);
  const Tensor x = uniform({T, B, C}, 1), w_ih = uniform({G, C}, 2), w_hh = uniform({G, H}, 3), bias = uniform({G}, 4);
  const Tensor y = zeros({T, B, H}), h_n = zeros({B, H}), c_n = zeros({B, H});
  const Tensor c_saved = zeros({T, B, H}), gates = zeros({T, B, G});
  kernels::LstmSeqFwdArgs a;
  a.T = T, a.B = B, a.C = C, a.H = H, a.D = 1, a.dtype = DType::F32;
  a.x = x.data_ptr();
  a.y = y.data_ptr();
  kernels::LstmDirection& d = a.dirs[0];
  d.w_ih = w_ih.data_ptr(), d.w_hh = w_hh.data_ptr(), d.bias = bias.data_ptr();
  d.h_n = h_n.data_ptr(), d.c_n = c_n.data_ptr();
  d.c_saved = c_saved.data_ptr(), d.gates_saved = gates.data_ptr();  // a training forward

  const Tensor dy = uniform({T, B, H}, 5), dx = zeros({T, B, C});
  const Tensor dw_ih = zeros({G, C}), dw_hh = zeros({G, H}), dbias = zeros({G}), dh0 = zeros({B, H}), dc0 = zeros({B, H});
  kernels::LstmSeqBwdArgs g;
  g.fwd = a;
  g.dy = dy.data_ptr();
  g.dx = dx.data_ptr();
  g.grads[0].dw_ih = dw_ih.data_ptr(), g.grads[0].dw_hh = dw_hh.data_ptr(), g.grads[0].dbias = dbias.data_ptr();
  g.grads[0].dh0 = dh0.data_ptr(), g.grads[0].dc0 = dc0.data_ptr();
  g.param_mode = g.input_mode = GradMode::Overwrite;

  const std::string shape = " T=8 B=4 C=16 H=32 f32";
  std::unique_ptr<kernels::BackendSaved> saved;
  profile_pass("lstm " + row_name + " forward" + shape, kernels::lstm_seq_fwd_cost(a),
               [&] { saved = row.forward(a, ctx); }, true);
  profile_pass("lstm " + row_name + " backward" + shape, kernels::lstm_seq_bwd_cost(g),
               [&] { row.backward(g, ctx, saved.get()); }, true);
}

void conv(const std::string& row_name) {
  kernels::Conv1dGeometry geo;
  geo.T = 16, geo.B = 4, geo.C = 32, geo.F = 64, geo.K = 3;
  kernels::conv1d_same_padding(geo.K, geo.dilation, &geo.pad_left, &geo.pad_right);
  const kernels::Conv1dVariantRow& row = kernels::conv1d_variant(row_name);
  const CudaContext* ctx = &cuda_context(0);
  const Tensor x = uniform({geo.T, geo.B, geo.C}, 11), w = uniform({geo.F, geo.K, geo.C}, 12), b = uniform({geo.F}, 13);
  const Tensor y = zeros({geo.out_T(), geo.B, geo.F});
  kernels::Conv1dFwdArgs a;
  a.g = geo, a.dtype = DType::F32, a.x = x.data_ptr(), a.weight = w.data_ptr(), a.bias = b.data_ptr(), a.y = y.data_ptr();
  std::string why;
  if (!kernels::variant_supports(row, a, &why)) {
    std::printf("== conv1d %s: not supported at this shape: %s\n\n", row_name.c_str(), why.c_str());
    return;
  }
  const Tensor dy = uniform({geo.out_T(), geo.B, geo.F}, 14), dx = zeros({geo.T, geo.B, geo.C});
  const Tensor dw = zeros({geo.F, geo.K, geo.C}), db = zeros({geo.F});
  kernels::Conv1dBwdArgs g;
  g.g = geo, g.dtype = DType::F32, g.x = x.data_ptr(), g.weight = w.data_ptr(), g.dy = dy.data_ptr();
  g.dx = dx.data_ptr(), g.dweight = dw.data_ptr(), g.dbias = db.data_ptr();

  const std::string shape = " T=16 B=4 C=32 F=64 K=3 'same' f32";
  profile_pass("conv1d " + row_name + " forward" + shape, kernels::conv1d_fwd_cost(a), [&] { row.forward(a, ctx); },
               false);
  profile_pass("conv1d " + row_name + " backward" + shape, kernels::conv1d_bwd_cost(g),
               [&] { row.backward(g, ctx, nullptr); }, false);
}

void textcnn() {
  const std::int64_t T = 16, B = 4, C = 32, F = 64;
  const std::int64_t widths[] = {3, 4, 5};
  const kernels::TextCnnVariantRow& row = kernels::textcnn_variant("cuda-v3");
  const CudaContext* ctx = &cuda_context(0);
  const Tensor x = uniform({T, B, C}, 21), pooled = zeros({B, 3 * F}), dpooled = uniform({B, 3 * F}, 22);
  const Tensor argmax = zeros({B, 3 * F}, DType::I32), dx = zeros({T, B, C});
  std::vector<Tensor> keep;
  kernels::TextCnnBwdArgs g;
  kernels::TextCnnFwdArgs& a = g.fwd;
  a.T = T, a.B = B, a.C = C, a.dtype = DType::F32, a.num_widths = 3;
  a.x = x.data_ptr(), a.pooled = pooled.data_ptr(), a.argmax = argmax.data<std::int32_t>();
  for (int i = 0; i < 3; ++i) {
    kernels::TextCnnWidth& w = a.widths[i];
    w.F = F, w.K = widths[i];
    keep.push_back(uniform({F, w.K, C}, 30 + i));
    keep.push_back(uniform({F}, 40 + i));
    keep.push_back(zeros({F, w.K, C}));
    keep.push_back(zeros({F}));
    w.weight = keep[keep.size() - 4].data_ptr(), w.bias = keep[keep.size() - 3].data_ptr();
    w.dweight = keep[keep.size() - 2].data_ptr(), w.dbias = keep[keep.size() - 1].data_ptr();
  }
  std::string why;
  if (!kernels::variant_supports(row, a, &why)) {
    std::printf("== textcnn cuda-v3: not supported at this shape: %s\n\n", why.c_str());
    return;
  }
  g.dpooled = dpooled.data_ptr();
  g.dx = dx.data_ptr();
  const std::string shape = " T=16 B=4 C=32 widths 3,4,5 F=64 each, valid padding, f32";
  profile_pass("textcnn cuda-v3 forward" + shape, kernels::textcnn_fwd_cost(a), [&] { row.forward(a, ctx); }, false);
  profile_pass("textcnn cuda-v3 backward" + shape, kernels::textcnn_bwd_cost(g), [&] { row.backward(g, ctx, nullptr); },
               false);
}

}  // namespace
}  // namespace loom::bench

int main(int argc, char** argv) {
  using namespace loom::bench;
  const std::string only = argc > 1 ? argv[1] : "";
  loom::sim::set_profile(true);
  std::printf("loom-sim profile: counts from the simulator (what the code asks of memory), not GPU timings\n\n");
  if (only.empty() || only == "lstm") {
    lstm("cuda-v1");
    lstm("cuda-v2");
  }
  if (only.empty() || only == "conv") {
    conv("cuda-v1");
    conv("cuda-v2");
  }
  if (only.empty() || only == "textcnn") textcnn();
  return 0;
}
