// tests/kernels/test_conv1d_cpu_simd.cc: the text-CNN block's sparse backward on the CPU runs the
// AVX-512 rows of kernels/conv1d/textcnn_bwd_avx512.cc where the CPU has AVX-512F/BW/VL (each output
// row summed in registers; BF16 x and dx read and written in place); they must give the plain
// rows' bits exactly (BF16 through the widen-once path), for F32 and BF16 storage, with Overwrite
// and Accumulate, lengths that leave rows without a window, padding and dilation, and C values that
// leave every vector tail and take one, two and three passes of 128 columns.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_cpu_common.h"

using namespace loom;
using std::int64_t;

namespace {

template <typename S>
S store_as(float v) {
  if constexpr (std::is_same_v<S, float>) return v;
  else return BFloat16{float_to_bf16_bits(v)};
}

// One random block of storage type S (float or BFloat16): forward on the CPU path, then backward
// through `bwd` from the same random dpooled. Returns every gradient's raw bytes, concatenated.
template <typename S>
std::vector<unsigned char> run_block(int64_t C, GradMode mode, void (*bwd)(const kernels::TextCnnBwdArgs&)) {
  const int64_t T = 13, B = 9;
  const int64_t Fs[3] = {7, 5, 6}, Ks[3] = {2, 3, 4}, dil[3] = {1, 2, 1}, padl[3] = {0, 1, 2}, padr[3] = {0, 0, 1};
  std::mt19937 rng(static_cast<std::uint32_t>(C * 31 + (mode == GradMode::Accumulate)));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto fill = [&](int64_t n) {
    std::vector<S> v(static_cast<std::size_t>(n));
    for (S& e : v) e = store_as<S>(u(rng));
    return v;
  };
  const std::vector<S> x = fill(T * B * C);
  std::vector<std::vector<S>> w(3), bias(3), dw(3), db(3);
  kernels::TextCnnBwdArgs a;
  kernels::TextCnnFwdArgs& f = a.fwd;
  f.T = T, f.B = B, f.C = C, f.num_widths = 3;
  f.dtype = std::is_same_v<S, float> ? DType::F32 : DType::BF16;
  int64_t SF = 0;
  for (int k = 0; k < 3; ++k) {
    w[k] = fill(Fs[k] * Ks[k] * C), bias[k] = fill(Fs[k]);
    dw[k] = fill(Fs[k] * Ks[k] * C), db[k] = fill(Fs[k]);  // the Accumulate starting values
    kernels::TextCnnWidth& wd = f.widths[k];
    wd.F = Fs[k], wd.K = Ks[k], wd.dilation = dil[k], wd.pad_left = padl[k], wd.pad_right = padr[k];
    wd.weight = w[k].data(), wd.bias = bias[k].data(), wd.dweight = dw[k].data(), wd.dbias = db[k].data();
    SF += Fs[k];
  }
  const std::vector<std::int32_t> lengths = {13, 1, 0, 7, 13, 4, 9, 2, 11};  // 0 and 1: no window for some widths
  std::vector<S> pooled(static_cast<std::size_t>(B * SF));
  std::vector<std::int32_t> argmax(static_cast<std::size_t>(B * SF));
  f.x = x.data(), f.lengths = lengths.data(), f.pooled = pooled.data(), f.argmax = argmax.data();
  kernels::textcnn_fwd_cpu(f);
  const std::vector<S> dpooled = fill(B * SF);
  std::vector<S> dx = fill(T * B * C);
  a.dpooled = dpooled.data(), a.dx = dx.data(), a.input_mode = a.param_mode = mode;
  bwd(a);
  std::vector<unsigned char> out;
  auto append = [&](const std::vector<S>& v) {
    const auto* p = reinterpret_cast<const unsigned char*>(v.data());
    out.insert(out.end(), p, p + v.size() * sizeof(S));
  };
  append(dx);
  for (int k = 0; k < 3; ++k) append(dw[k]), append(db[k]);
  return out;
}

}  // namespace

TEST_CASE("conv1d cpu: the text-CNN backward's AVX-512 rows give the baseline rows' bits (F32, BF16)") {
  INFO("textcnn_bwd_cpu runs the " << kernels::conv1d_cpu::textcnn_bwd_isa() << " build");
  for (int64_t C : {1, 15, 16, 17, 40, 127, 128, 129, 200, 256, 300}) {
    for (GradMode mode : {GradMode::Overwrite, GradMode::Accumulate}) {
      INFO("C = " << C << ", accumulate = " << (mode == GradMode::Accumulate));
      const auto f32_fast = run_block<float>(C, mode, kernels::textcnn_bwd_cpu);
      const auto f32_base = run_block<float>(C, mode, kernels::conv1d_cpu::textcnn_bwd_cpu_baseline);
      REQUIRE(f32_fast.size() == f32_base.size());
      CHECK(std::memcmp(f32_fast.data(), f32_base.data(), f32_fast.size()) == 0);
      const auto bf_fast = run_block<BFloat16>(C, mode, kernels::textcnn_bwd_cpu);
      const auto bf_base = run_block<BFloat16>(C, mode, kernels::conv1d_cpu::textcnn_bwd_cpu_baseline);
      REQUIRE(bf_fast.size() == bf_base.size());
      CHECK(std::memcmp(bf_fast.data(), bf_base.data(), bf_fast.size()) == 0);
    }
  }
}
