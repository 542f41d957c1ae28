// tests/kernels/test_conv1d_cuda.cc: every CUDA row of the conv1d family's variant tables
// (kernels/conv1d/conv1d_variants.h: cuda-v1 direct, cuda-v2 implicit GEMM, cudnn; the text-CNN
// table's cuda-v3 fused block), run through the tables against the CPU row "cpu" (itself held to
// the naive reference by tests/kernels/test_conv1d_cpu.cc). A new CUDA row is tested here with no
// change. The pooling kernels: tests/kernels/test_pool_cuda.cc.
//
// Layer 2 of the pyramid. For each row x dtype (F32, F16, BF16) x shape, inputs are drawn once
// and rounded to the dtype; the CPU runs in F32 on those values, the GPU in the dtype. Outputs and
// gradients start as NaN (a position a kernel forgets fails), and a second forward + backward with
// GradMode::Accumulate into the same gradient buffers must give twice the gradients.
//
// Shapes: B = 1, F not a multiple of 32 (100, 33, 7), C = 300, dilation 2, padding 'same' with odd K
// (symmetric) and even K (asymmetric: cuDNN gets it padded explicitly), explicit padding, K = 1 and
// K = 7, a row count long enough that v2 splits the weight gradient, lengths with a zero and rows
// shorter than a window (fused block), and T < K with valid padding, which every launcher refuses
// with a ShapeError.
//
// Tolerances: compare.h's table. The GPU and CPU sum the same products in different orders, so an
// F32 sum of n terms of size ~0.1-1 can differ by ~sqrt(n) ulps of the result; the absolute floor is
// scaled by sqrt(n / 64) for n > 64 (n = K*C for y, K*F for dx, T'*B for the parameter gradients),
// which keeps the table's meaning ("~K ulps for K <= 64") for long reductions. F16/BF16 results
// differ from the CPU's F32 mainly by the one rounding of the stored output: the table covers it.
// The text-CNN block's argmax allows near-ties: the GPU may pick another position whose
// pre-activation is within the tolerance of the CPU's winner (check_argmax), and the CPU's
// gradients are then computed with the GPU's choice (run_textcnn's `decided`).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "core/cuda_context.h"
#include "core/device.h"
#include "ops/tensor.h"
#include "kernels/conv1d/conv1d.h"
#include "kernels/conv1d/conv1d_variants.h"
#include "tests/support/compare.h"
#include "tests/support/devices.h"
#include "tests/support/values.h"

using namespace loom;
using namespace loom::test;

namespace {

// Sets a context's math mode for a scope (restored even when a check throws).
class MathModeScope {
 public:
  MathModeScope(CudaContext& ctx, MathMode mode) : ctx_(ctx), saved_(ctx.math_mode) { ctx_.math_mode = mode; }
  ~MathModeScope() { ctx_.math_mode = saved_; }
  MathModeScope(const MathModeScope&) = delete;
  MathModeScope& operator=(const MathModeScope&) = delete;

 private:
  CudaContext& ctx_;
  MathMode saved_;
};

// The rows of a table that run on CUDA, by name.
template <class Row>
std::vector<std::string> cuda_rows(const std::vector<Row>& rows) {
  std::vector<std::string> names;
  for (const Row& r : rows)
    if (r.device == DeviceType::Cuda) names.push_back(r.name);
  return names;
}

template <class Row>
const CudaContext* context_for(const Row& row) {
  return row.device == DeviceType::Cuda ? &cuda_context(0) : nullptr;
}

constexpr DType kDtypes[] = {DType::F32, DType::F16, DType::BF16};

Tolerance conv_tolerance(DType t, std::int64_t terms) {
  Tolerance tol = tolerance(t);
  if (terms > 64) tol.atol *= std::sqrt(static_cast<double>(terms) / 64.0);
  return tol;
}

std::vector<float> rounded(std::int64_t n, std::uint64_t seed, float lo, float hi, DType t) {
  return round_to(random_floats(n, seed, lo, hi), t);
}

std::vector<float> twice(const std::vector<float>& v) {
  std::vector<float> r(v);
  for (float& e : r) e *= 2.0f;
  return r;
}

Tensor nan_tensor(const Shape& s, DType t, Device dev) {
  return Tensor::full(s, std::numeric_limits<double>::quiet_NaN(), t, dev);
}

// ---- plain convolution -------------------------------------------------------------------------

struct ConvCase {
  std::string name;
  std::int64_t T, B, C, F, K, dil;
  bool same;                 // padding 'same'; else (pad_left, pad_right) below
  std::int64_t pad_left = 0, pad_right = 0;
};

std::vector<ConvCase> conv_cases() {
  return {
      {"T=9 B=3 C=7 F=20 K=3 valid", 9, 3, 7, 20, 3, 1, false},
      {"B=1 C=300 F=100 K=5 same", 12, 1, 300, 100, 5, 1, true},
      {"dilation 2 K=3 same F=33", 12, 2, 16, 33, 3, 2, true},
      {"K=4 same is asymmetric F=100", 10, 2, 5, 100, 4, 1, true},
      {"K=7 explicit padding 2 and 1", 7, 4, 9, 5, 7, 1, false, 2, 1},
      {"K=1 T=1", 1, 3, 2, 3, 1, 1, false},
      {"T=200 B=8 long reduction for the weight gradient", 200, 8, 10, 5, 3, 1, true},
  };
}

kernels::Conv1dGeometry geometry(const ConvCase& c) {
  kernels::Conv1dGeometry g;
  g.T = c.T;
  g.B = c.B;
  g.C = c.C;
  g.F = c.F;
  g.K = c.K;
  g.dilation = c.dil;
  g.pad_left = c.pad_left;
  g.pad_right = c.pad_right;
  if (c.same) kernels::conv1d_same_padding(c.K, c.dil, &g.pad_left, &g.pad_right);
  return g;
}

struct ConvValues {
  std::vector<float> x, weight, bias, dy;
};
struct ConvOutputs {
  std::vector<float> y, dx, dweight, dbias;
};

// Forward + backward (Overwrite) -> *first, then again with Accumulate -> *second. False (reason
// in *why) when the backend refuses the case.
bool run_conv(const ConvCase& c, const ConvValues& v, DType t, const std::string& name, ConvOutputs* first,
              ConvOutputs* second, std::string* why) {
  const kernels::Conv1dVariantRow& row = kernels::conv1d_variant(name);
  const Device dev = row.device == DeviceType::Cpu ? Device::cpu() : Device::cuda(0);
  const kernels::Conv1dGeometry g = geometry(c);
  const Tensor x = Tensor::from_vector(v.x, {g.T, g.B, g.C}, t, dev);
  const Tensor w = Tensor::from_vector(v.weight, {g.F, g.K, g.C}, t, dev);
  const Tensor bias = Tensor::from_vector(v.bias, {g.F}, t, dev);
  const Tensor dy = Tensor::from_vector(v.dy, {g.out_T(), g.B, g.F}, t, dev);
  const Tensor y = nan_tensor({g.out_T(), g.B, g.F}, t, dev), dx = nan_tensor({g.T, g.B, g.C}, t, dev);
  const Tensor dw = nan_tensor({g.F, g.K, g.C}, t, dev), db = nan_tensor({g.F}, t, dev);
  kernels::Conv1dFwdArgs a;
  a.g = g;
  a.dtype = t;
  a.x = x.data_ptr();
  a.weight = w.data_ptr();
  a.bias = bias.data_ptr();
  a.y = y.data_ptr();
  // cuDNN may refuse a case (it is the fallback); our kernels must take every case here.
  if (name == "cudnn") {
    if (!kernels::variant_supports(row, a, why)) return false;
  } else {
    REQUIRE_MESSAGE(kernels::variant_supports(row, a, why), *why);
  }
  kernels::Conv1dBwdArgs b;
  b.g = g;
  b.dtype = t;
  b.x = a.x;
  b.weight = a.weight;
  b.dy = dy.data_ptr();
  b.dx = dx.data_ptr();
  b.dweight = dw.data_ptr();
  b.dbias = db.data_ptr();
  auto collect = [&](ConvOutputs* o) {
    o->y = y.to_vector();
    o->dx = dx.to_vector();
    o->dweight = dw.to_vector();
    o->dbias = db.to_vector();
  };
  auto step = [&] {
    const auto saved = row.forward(a, context_for(row));
    row.backward(b, context_for(row), saved.get());
  };
  step();
  collect(first);
  b.input_mode = b.param_mode = GradMode::Accumulate;
  step();
  collect(second);
  return true;
}

// One row in one dtype (kDtypes[dtype_index]) over every case; false when a comparison failed.
// cuDNN's run-time refusal of a case supports() accepted (its legacy API may offer no bf16 engine
// for some convolution on some GPU) goes to *refusals; any other error propagates.
bool check_conv_row(const std::string& be, std::size_t dtype_index, CudnnRefusals* refusals) {
  const DType t = kDtypes[dtype_index];
  const std::vector<ConvCase> all = conv_cases();
  bool ok = true;
  for (std::size_t j = 0; j < all.size(); ++j) {
    const ConvCase& c = all[j];
    const std::string asked = be + " " + dtype_name(t) + " " + c.name;
    INFO(asked);
    const kernels::Conv1dGeometry g = geometry(c);
    // The seeds each combination had when one loop ran every dtype and case: the same inputs.
    std::uint64_t seed = 0xc0 + 4 * (dtype_index * all.size() + j);
    ConvValues v;
    v.x = rounded(g.T * g.B * g.C, ++seed, -1, 1, t);
    v.weight = rounded(g.F * g.K * g.C, ++seed, -0.5f, 0.5f, t);
    v.bias = rounded(g.F, ++seed, -0.5f, 0.5f, t);
    v.dy = rounded(g.out_T() * g.B * g.F, ++seed, -1, 1, t);
    ConvOutputs got, got_acc, ref, ref_acc;
    std::string why;
    bool ran = false;
    try {
      ran = run_conv(c, v, t, be, &got, &got_acc, &why);
    } catch (const std::exception& e) {
      if (be != "cudnn" || !refusals->record(e, asked)) throw;
      continue;
    }
    if (!ran) {
      CHECK_MESSAGE(!why.empty(), "supports() refused without a reason");
      MESSAGE("not run ", asked, ": ", why);
      continue;
    }
    REQUIRE(run_conv(c, v, DType::F32, "cpu", &ref, &ref_acc, &why));
    for (const bool acc : {false, true}) {
      const ConvOutputs& o = acc ? got_acc : got;
      auto grad = [&](const std::vector<float>& r) { return acc ? twice(r) : r; };
      const std::string tag = acc ? " (Accumulate)" : "";
      ok &= check_close(o.y, ref.y, conv_tolerance(t, g.K * g.C), "y" + tag);
      ok &= check_close(o.dx, grad(ref.dx), conv_tolerance(t, g.K * g.F), "dx" + tag);
      ok &= check_close(o.dweight, grad(ref.dweight), conv_tolerance(t, g.out_T() * g.B), "dweight" + tag);
      ok &= check_close(o.dbias, grad(ref.dbias), conv_tolerance(t, g.out_T() * g.B), "dbias" + tag);
    }
  }
  return ok;
}

// The cuDNN row in one dtype; cuDNN's refusals make the test case a skip (if nothing failed).
void check_cudnn_row(std::size_t dtype_index) {
  CudnnRefusals refusals;
  const bool ok = check_conv_row("cudnn", dtype_index, &refusals);
  LOOM_SKIP_CUDNN_REFUSAL(refusals, ok);
}

// ---- the fused text-CNN block -------------------------------------------------------------------

struct TextCnnCase {
  std::string name;
  std::int64_t T, B, C;
  std::vector<kernels::TextCnnWidth> widths;  // F, K, dilation, pads (pointers filled per run)
  std::vector<std::int32_t> lengths;          // empty: all T
};

kernels::TextCnnWidth width(std::int64_t F, std::int64_t K, std::int64_t dil, std::int64_t pl, std::int64_t pr) {
  kernels::TextCnnWidth w;
  w.F = F;
  w.K = K;
  w.dilation = dil;
  w.pad_left = pl;
  w.pad_right = pr;
  return w;
}

std::vector<TextCnnCase> textcnn_cases() {
  return {
      // Kim's widths 3, 4, 5; row 2 is empty and row 3 is shorter than every window.
      {"widths 3 4 5 F=100 20 7 lengths with a zero", 12, 4, 16,
       {width(100, 3, 1, 0, 0), width(20, 4, 1, 0, 0), width(7, 5, 1, 0, 0)}, {12, 5, 0, 2}},
      {"B=1 C=300 one width F=100 K=5", 20, 1, 300, {width(100, 5, 1, 0, 0)}, {}},
      // 'same' with even K (asymmetric pads 1, 2), dilation 2 with same padding, K = 1 and K = 7.
      {"same padding dilation 2 K=1 K=7", 40, 3, 33,
       {width(33, 4, 1, 1, 2), width(65, 3, 2, 2, 2), width(5, 1, 1, 0, 0), width(9, 7, 1, 3, 3)}, {40, 17, 1}},
  };
}

struct TextCnnOutputs {
  std::vector<float> pooled, dx;
  std::vector<std::int32_t> argmax;
  std::vector<std::vector<float>> dweight, dbias;
};

// Forward + backward (Overwrite) -> *first, then again with Accumulate -> *second. For the CPU
// reference, `decided` (the GPU's outputs of the same two passes) replaces the reference's own
// argmax and pooled values between its forward and its backward: where two pre-activations are a
// near-tie that the GPU's rounding resolved the other way (check_argmax below), the reference's
// gradients then go where the GPU sent its own, so the backward is compared rather than the
// tie-break. The backward reads pooled only for the ReLU gate [pooled > 0], near zero the same kind
// of tie. Where both sides agree, the replacement changes nothing.
bool run_textcnn(const TextCnnCase& c, const std::vector<std::vector<float>>& values, DType t, const std::string& name,
                 TextCnnOutputs* first, TextCnnOutputs* second, const TextCnnOutputs* decided = nullptr) {
  const kernels::TextCnnVariantRow& row = kernels::textcnn_variant(name);
  const bool on_gpu = row.device == DeviceType::Cuda;
  const Device dev = on_gpu ? Device::cuda(0) : Device::cpu();
  const int nw = static_cast<int>(c.widths.size());
  std::int64_t sumF = 0;
  for (const auto& w : c.widths) sumF += w.F;
  // values: x, dpooled, then (weight, bias) per width
  const Tensor x = Tensor::from_vector(values[0], {c.T, c.B, c.C}, t, dev);
  const Tensor dpooled = Tensor::from_vector(values[1], {c.B, sumF}, t, dev);
  const Tensor lengths = c.lengths.empty() ? Tensor() : Tensor::from_vector(c.lengths, {c.B}, dev);
  const Tensor pooled = nan_tensor({c.B, sumF}, t, dev), dx = nan_tensor({c.T, c.B, c.C}, t, dev);
  const Tensor argmax = Tensor::full({c.B, sumF}, -7, DType::I32, dev);
  std::vector<Tensor> keep;
  kernels::TextCnnBwdArgs b;
  kernels::TextCnnFwdArgs& a = b.fwd;
  a.T = c.T;
  a.B = c.B;
  a.C = c.C;
  a.dtype = t;
  a.num_widths = nw;
  a.x = x.data_ptr();
  a.lengths = lengths.defined() ? lengths.data<std::int32_t>() : nullptr;
  a.pooled = pooled.data_ptr();
  a.argmax = argmax.data<std::int32_t>();
  for (int i = 0; i < nw; ++i) {
    kernels::TextCnnWidth& w = a.widths[i];
    w = c.widths[static_cast<std::size_t>(i)];
    keep.push_back(Tensor::from_vector(values[2 + 2 * i], {w.F, w.K, c.C}, t, dev));
    keep.push_back(Tensor::from_vector(values[3 + 2 * i], {w.F}, t, dev));
    keep.push_back(nan_tensor({w.F, w.K, c.C}, t, dev));
    keep.push_back(nan_tensor({w.F}, t, dev));
    const std::size_t k = keep.size();
    w.weight = keep[k - 4].data_ptr();
    w.bias = keep[k - 3].data_ptr();
    w.dweight = keep[k - 2].data_ptr();
    w.dbias = keep[k - 1].data_ptr();
  }
  std::string why;
  REQUIRE_MESSAGE(kernels::variant_supports(row, a, &why), why);
  b.dpooled = dpooled.data_ptr();
  b.dx = dx.data_ptr();
  REQUIRE((decided == nullptr || (!on_gpu && t == DType::F32)));
  auto collect = [&](TextCnnOutputs* o) {
    o->dx = dx.to_vector();
    o->dweight.clear();
    o->dbias.clear();
    for (int i = 0; i < nw; ++i) {
      o->dweight.push_back(keep[static_cast<std::size_t>(4 * i + 2)].to_vector());
      o->dbias.push_back(keep[static_cast<std::size_t>(4 * i + 3)].to_vector());
    }
  };
  auto step = [&](TextCnnOutputs* o, const TextCnnOutputs* decide) {
    const auto saved = row.forward(a, context_for(row));
    o->pooled = pooled.to_vector();
    o->argmax = argmax.to_vector_i32();
    if (decide != nullptr) {
      REQUIRE(decide->pooled.size() == o->pooled.size());
      REQUIRE(decide->argmax.size() == o->argmax.size());
      std::copy(decide->pooled.begin(), decide->pooled.end(), static_cast<float*>(a.pooled));
      std::copy(decide->argmax.begin(), decide->argmax.end(), a.argmax);
    }
    row.backward(b, context_for(row), saved.get());
    collect(o);
  };
  step(first, decided);
  b.input_mode = b.param_mode = GradMode::Accumulate;
  step(second, decided == nullptr ? nullptr : decided + 1);
  return true;
}

// argmax with near-ties allowed: where the GPU's winning position differs from the CPU's, both must
// lie in that row's range of windows and their pre-activations (in double, from the same rounded
// inputs) must be within `tol` of each other. The two sides sum in different orders and the GPU
// compares values rounded to the dtype, so two close values may become a tie (the first position
// wins) or swap; anything farther apart is a wrong argmax. False when a position fails.
bool check_argmax(const TextCnnCase& c, const std::vector<std::vector<float>>& values,
                  const std::vector<std::int32_t>& got, const std::vector<std::int32_t>& ref, Tolerance tol,
                  const std::string& what) {
  std::int64_t sumF = 0;
  for (const auto& w : c.widths) sumF += w.F;
  const std::vector<float>& x = values[0];
  std::string bad;
  std::size_t ties = 0;
  for (std::int64_t b = 0; b < c.B && bad.empty(); ++b) {
    const std::int64_t len = c.lengths.empty() ? c.T : c.lengths[static_cast<std::size_t>(b)];
    std::int64_t col = 0;
    for (std::size_t i = 0; i < c.widths.size() && bad.empty(); ++i) {
      const kernels::TextCnnWidth& w = c.widths[i];
      kernels::Conv1dGeometry g;
      g.T = c.T, g.B = c.B, g.C = c.C, g.F = w.F, g.K = w.K;
      g.dilation = w.dilation, g.pad_left = w.pad_left, g.pad_right = w.pad_right;
      const std::int64_t out_len = kernels::conv1d_output_length(g, len);
      const std::vector<float>& weight = values[2 + 2 * i];
      const std::vector<float>& bias = values[3 + 2 * i];
      // The pre-ReLU convolution of filter f at output position tp of row b.
      auto z = [&](std::int64_t f, std::int64_t tp) {
        double acc = bias[static_cast<std::size_t>(f)];
        for (std::int64_t k = 0; k < w.K; ++k) {
          const std::int64_t tt = tp + k * w.dilation - w.pad_left;
          if (tt < 0 || tt >= c.T) continue;
          for (std::int64_t ch = 0; ch < c.C; ++ch)
            acc += static_cast<double>(weight[static_cast<std::size_t>((f * w.K + k) * c.C + ch)]) *
                   x[static_cast<std::size_t>((tt * c.B + b) * c.C + ch)];
        }
        return acc;
      };
      for (std::int64_t f = 0; f < w.F; ++f, ++col) {
        const std::size_t at = static_cast<std::size_t>(b * sumF + col);
        const std::int32_t gp = got[at], rp = ref[at];
        if (gp == rp) continue;
        std::ostringstream os;
        os << "row " << b << " column " << col << ": actual " << gp << ", expected " << rp;
        if (gp < 0 || rp < 0 || gp >= out_len || rp >= out_len) {
          bad = os.str() + " (out of the row's " + std::to_string(out_len) + " windows)";
          break;
        }
        const double zg = z(f, gp), zr = z(f, rp);
        if (std::fabs(zg - zr) > tol.atol + tol.rtol * std::fabs(zr)) {
          os << " (pre-activations " << zg << " and " << zr << ": not a near-tie)";
          bad = os.str();
          break;
        }
        ++ties;
      }
    }
  }
  if (ties > 0) MESSAGE(what, ": ", ties, " near-tie(s) resolved differently from the CPU, within tolerance");
  INFO(what, ": ", bad);
  CHECK(bad.empty());
  return bad.empty();
}

void check_textcnn(const std::string& row, DType t, const TextCnnCase& c, std::uint64_t seed) {
  INFO("textcnn ", row, " ", dtype_name(t), " ", c.name);
  std::int64_t sumF = 0, longest = 1;
  for (const auto& w : c.widths) {
    sumF += w.F;
    longest = std::max(longest, w.K * c.C);
  }
  std::vector<std::vector<float>> values;
  std::vector<float> x = rounded(c.T * c.B * c.C, seed, -1, 1, t);
  // Padding positions of x are zero, the convention every caller keeps (conv1d.h).
  for (std::size_t b = 0; b < c.lengths.size(); ++b)
    for (std::int64_t tt = c.lengths[b]; tt < c.T; ++tt)
      for (std::int64_t ch = 0; ch < c.C; ++ch) x[static_cast<std::size_t>((tt * c.B + static_cast<std::int64_t>(b)) * c.C + ch)] = 0.0f;
  values.push_back(x);
  values.push_back(rounded(c.B * sumF, seed + 1, -1, 1, t));
  for (std::size_t i = 0; i < c.widths.size(); ++i) {
    const auto& w = c.widths[i];
    values.push_back(rounded(w.F * w.K * c.C, seed + 2 + 2 * i, -0.5f, 0.5f, t));
    // Biases down to -2 switch some ReLUs off, so the [pooled > 0] gate is exercised.
    values.push_back(rounded(w.F, seed + 3 + 2 * i, -2.0f, 0.5f, t));
  }
  TextCnnOutputs got[2], ref[2];
  run_textcnn(c, values, t, row, &got[0], &got[1]);
  run_textcnn(c, values, DType::F32, "cpu", &ref[0], &ref[1], got);
  check_close(got[0].pooled, ref[0].pooled, conv_tolerance(t, longest), "pooled");
  check_argmax(c, values, got[0].argmax, ref[0].argmax, conv_tolerance(t, longest), "argmax");
  check_argmax(c, values, got[1].argmax, ref[1].argmax, conv_tolerance(t, longest), "argmax (second forward)");
  // ref[1] accumulated into ref[0]'s gradients with the same decisions: twice them where nothing tied.
  for (const int pass : {0, 1}) {
    const TextCnnOutputs &o = got[pass], &r = ref[pass];
    const std::string tag = pass == 1 ? " (Accumulate)" : "";
    check_close(o.dx, r.dx, conv_tolerance(t, sumF), "dx" + tag);
    for (std::size_t i = 0; i < c.widths.size(); ++i) {
      const std::string w = " width " + std::to_string(i) + tag;
      check_close(o.dweight[i], r.dweight[i], conv_tolerance(t, c.B), "dweight" + w);
      check_close(o.dbias[i], r.dbias[i], conv_tolerance(t, c.B), "dbias" + w);
    }
  }
}

}  // namespace

TEST_SUITE("cuda") {
  // (No comma in a test case's name: tests/CMakeLists.txt says why.)
  TEST_CASE("conv1d: every CUDA row of ours (cuda-v1 and cuda-v2) matches the CPU path") {
    LOOM_REQUIRE_CUDA_DEVICE();
    const std::vector<std::string> rows = cuda_rows(kernels::conv1d_variants());
    CHECK(std::find(rows.begin(), rows.end(), "cuda-v1") != rows.end());
    CHECK(std::find(rows.begin(), rows.end(), "cuda-v2") != rows.end());
    CHECK(cudnn_compiled() == (std::find(rows.begin(), rows.end(), "cudnn") != rows.end()));
    for (const std::string& row : rows)
      if (row != "cudnn")
        for (std::size_t i = 0; i < std::size(kDtypes); ++i) check_conv_row(row, i, nullptr);
  }

  TEST_CASE("conv1d: the cudnn row matches the CPU path in f32") {
    LOOM_REQUIRE_CUDA_DEVICE();
    LOOM_REQUIRE_CUDNN();
    check_cudnn_row(0);
  }

  TEST_CASE("conv1d: the cudnn row matches the CPU path in f16") {
    LOOM_REQUIRE_CUDA_DEVICE();
    LOOM_REQUIRE_CUDNN();
    check_cudnn_row(1);
  }

  TEST_CASE("conv1d: the cudnn row matches the CPU path in bf16") {
    LOOM_REQUIRE_CUDA_DEVICE();
    LOOM_REQUIRE_CUDNN();
    check_cudnn_row(2);
  }

  TEST_CASE("conv1d cuda v2 with TF32 allowed stays within TF32 accuracy") {
    LOOM_REQUIRE_CUDA_DEVICE();
    const ConvCase c{"B=2 C=64 F=40 K=3 same", 16, 2, 64, 40, 3, 1, true};
    const kernels::Conv1dGeometry g = geometry(c);
    ConvValues v;
    v.x = random_floats(g.T * g.B * g.C, 11, -1, 1);
    v.weight = random_floats(g.F * g.K * g.C, 12, -0.5f, 0.5f);
    v.bias = random_floats(g.F, 13, -0.5f, 0.5f);
    v.dy = random_floats(g.out_T() * g.B * g.F, 14, -1, 1);
    ConvOutputs got, got_acc, ref, ref_acc;
    std::string why;
    {
      const MathModeScope tf32(cuda_context(0), MathMode::AllowTf32);
      REQUIRE(run_conv(c, v, DType::F32, "cuda-v2", &got, &got_acc, &why));
    }
    REQUIRE(run_conv(c, v, DType::F32, "cpu", &ref, &ref_acc, &why));
    // TF32 keeps 10 mantissa bits of each operand (relative 2^-11 each): F16's budget fits.
    const Tolerance tf32 = conv_tolerance(DType::F16, g.K * g.C);
    check_close(got.y, ref.y, tf32, "y (tf32)");
    check_close(got.dx, ref.dx, tf32, "dx (tf32)");
    check_close(got.dweight, ref.dweight, tf32, "dweight (tf32)");
  }

  TEST_CASE("textcnn: every CUDA row (cuda-v3 the fused block) matches the CPU path") {
    LOOM_REQUIRE_CUDA_DEVICE();
    const std::vector<std::string> rows = cuda_rows(kernels::textcnn_variants());
    CHECK(rows == std::vector<std::string>{"cuda-v3"});
    for (const std::string& row : rows) {
      std::uint64_t seed = 0x7e;
      for (const DType t : kDtypes)
        for (const TextCnnCase& c : textcnn_cases()) check_textcnn(row, t, c, seed += 16);
    }
  }

  TEST_CASE("conv1d cuda refuses T shorter than the kernel and explains what it does not support") {
    LOOM_REQUIRE_CUDA_DEVICE();
    kernels::Conv1dFwdArgs a;
    a.g.T = 3;
    a.g.B = 2;
    a.g.C = 4;
    a.g.F = 5;
    a.g.K = 5;  // valid padding: T' = 3 - 4 = -1
    std::string why;
    CHECK(kernels::conv1d_cuda_supports(a, &why));  // a shape error, not a capability
    const Tensor x = Tensor::zeros({3, 2, 4}, DType::F32, Device::cuda(0)), w = Tensor::zeros({5, 5, 4}, DType::F32, Device::cuda(0));
    const Tensor y = Tensor::zeros({1, 2, 5}, DType::F32, Device::cuda(0));
    a.x = x.data_ptr();
    a.weight = w.data_ptr();
    a.y = y.data_ptr();
    CHECK_THROWS_AS(kernels::conv1d_fwd_cuda_direct(a, cuda_context(0)), ShapeError);
    CHECK_THROWS_AS(kernels::conv1d_fwd_cuda_igemm(a, cuda_context(0)), ShapeError);
    // Through the table: conv1d_fwd_cudnn exists only in a build with cuDNN (not in SIM).
    if (cudnn_compiled()) CHECK_THROWS_AS(kernels::conv1d_variant("cudnn").forward(a, &cuda_context(0)), ShapeError);
    kernels::TextCnnFwdArgs tc;
    tc.T = 3;
    tc.B = 2;
    tc.C = 4;
    tc.widths[0] = width(5, 5, 1, 0, 0);
    tc.widths[0].weight = w.data_ptr();
    tc.x = x.data_ptr();
    CHECK_THROWS_AS(kernels::textcnn_fwd_cuda(tc, cuda_context(0)), ShapeError);

    a.g.T = 8;
    a.g.K = 9;
    CHECK_FALSE(kernels::conv1d_cuda_supports(a, &why));
    CHECK(why.find("K in 1..7") != std::string::npos);
    CHECK_THROWS_AS(kernels::conv1d_variant("cuda-v3"), Error);  // the fused block is not a plain convolution
    a.g.K = 3;
    a.dtype = DType::F64;
    CHECK_FALSE(kernels::conv1d_cuda_supports(a, &why));
    CHECK(why.find("f64") != std::string::npos);
    tc.widths[0].K = 8;
    CHECK_FALSE(kernels::textcnn_cuda_supports(tc, &why));
  }
}
