// kernels/conv1d/conv1d_cudnn.cc: 1-D convolution through cuDNN's convolution API, the vendor
// fallback and the baseline the hand-written kernels (conv1d_cuda_*.cu) are benchmarked against.
//
// Math: the convolution of kernels/conv1d/conv1d.h (x [T, B, C], weight [F, K, C], y [T', B, F]):
//   y[t', b, f] = bias[f] + sum_k sum_c weight[f, k, c] x[t' + k*dil - pad_left, b, c]
// and its three gradients (see conv1d_cuda_igemm.cu). cuDNN runs them with its own kernels
// (implicit-GEMM families on tensor cores for F16/BF16); no thread mapping is ours here.
//
// What the translation does, per call:
//   1-D as 2-D  a height-1 image, as PyTorch's view1d_as_2d does: N = B, H = 1, W = time, channels
//               C; the filter is K wide and 1 high; dilation and padding act on W only.
//   layout      NHWC. The filter in NHWC is [F, 1, K, C] in memory, which IS our [F, K, C]: the
//               weight and its gradient are used in place, with no copy (NCHW would need a weight
//               transpose on every call, forward and backward). The activations are the one
//               mismatch: our x [T, B, C] is time-major, while NHWC wants each batch row's time steps
//               contiguous, [B, T, C]. So x and dy are transposed into scratch (conv1d_cudnn_layout.cu,
//               one coalesced pass each) and y, dx transposed back. Strided descriptors could
//               describe [T, B, C] without a copy, but cuDNN's fast kernels want packed tensors.
//   padding     cuDNN pads both sides equally. Symmetric padding (valid, odd-K 'same') is given to
//               cuDNN. Asymmetric padding (even-K 'same', explicit pads) is written into the
//               transposed x as zeros, T + pad_left + pad_right steps, and cuDNN pads nothing; the
//               data gradient then comes back padded and the transpose skips the pad rows.
//   bias        forward: added in the transpose of y back to [T', B, F], which has to read every y
//               anyway (cudnnAddTensor would be one more pass). backward: reduce_sum_cuda column
//               sums of the time-major dy, the same deterministic kernel v1/v2 use.
//   algorithms  cudnnGetConvolution*Algorithm_v7 heuristics (no benchmarking per call), taking the
//               first DETERMINISTIC algorithm that cuDNN reports as supported, workspace from the
//               context.
//   GradMode    BackwardFilter writes the weight gradient in place with beta = 1 to accumulate
//               (cuDNN blends in F32 and rounds once, as store_grad does); dx goes through the
//               transpose, which applies GradMode.
//   math        F16/BF16: storage type with F32 compute (PSEUDO_HALF) and the algorithm's math type
//               (tensor ops); F32: CUDNN_FMA_MATH (no TF32) unless MathMode::AllowTf32.
// Descriptors are created per call (microseconds; the bench measures wall clock next to GPU time).
// The legacy convolution API used here is marked deprecated in cuDNN 9 but fully supported; the
// graph API would buy runtime fusion (conv + bias + ReLU) that this baseline deliberately lacks.
//
// Bytes moved beyond cuDNN's own: forward 2*(T+pads)*B*C*s + 2*T'*B*F*s (transposes), backward
// 2*T'*B*F*s + 2*(T+pads)*B*C*s (dy, x) + 2*(T+pads)*B*C*s (dx) + the bias sum T'*B*F*s.
//
// Reference: kernels/conv1d/conv1d_reference.cc. Tests: tests/kernels/test_conv1d_cuda.cc (suite "cuda").
// Bench: bench/engine/conv1d.cc (`loom bench conv1d`). Tutorial: kernels/conv1d/README.md.
#include <cudnn.h>
#include <cuda_runtime_api.h>

#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "core/cuda_context.h"
#include "core/error.h"
#include "core/workspace.h"
#include "kernels/conv1d/conv1d_cuda_internal.h"

namespace loom::kernels {
namespace {

cudnnDataType_t cudnn_type(DType t) {
  switch (t) {
    case DType::F16: return CUDNN_DATA_HALF;
    case DType::BF16: return CUDNN_DATA_BFLOAT16;
    default: return CUDNN_DATA_FLOAT;
  }
}

// One descriptor each, destroyed with the call (destroy only fails on a null handle).
struct TensorDesc {
  cudnnTensorDescriptor_t d = nullptr;
  TensorDesc() { LOOM_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d)); }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
};
struct FilterDesc {
  cudnnFilterDescriptor_t d = nullptr;
  FilterDesc() { LOOM_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d)); }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(d); }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
};
struct ConvDesc {
  cudnnConvolutionDescriptor_t d = nullptr;
  ConvDesc() { LOOM_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d)); }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(d); }
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
};

// The descriptors of one call and the layout of the batch-major scratch.
struct Conv {
  cudnnHandle_t handle = nullptr;
  TensorDesc x, y;  // x [B, T_in, C], y (and dy) [B, T', F], both NHWC with H = 1
  FilterDesc w;     // [F, 1, K, C] NHWC = our [F, K, C]
  ConvDesc conv;
  DType dtype;
  MathMode math_mode;
  std::int64_t pad_left = 0, pad_right = 0;  // written into the scratch x (asymmetric case)
  std::int64_t T_in = 0;                     // time steps of the scratch x

  Conv(const Conv1dGeometry& g, DType dtype_, const CudaContext& ctx) : dtype(dtype_), math_mode(ctx.math_mode) {
    handle = ctx.cudnn();
    const bool symmetric = g.pad_left == g.pad_right;
    pad_left = symmetric ? 0 : g.pad_left;
    pad_right = symmetric ? 0 : g.pad_right;
    T_in = g.T + pad_left + pad_right;
    const cudnnDataType_t type = cudnn_type(dtype);
    const int B = static_cast<int>(g.B), C = static_cast<int>(g.C), F = static_cast<int>(g.F);
    LOOM_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x.d, CUDNN_TENSOR_NHWC, type, B, C, 1, static_cast<int>(T_in)));
    LOOM_CUDNN_CHECK(
        cudnnSetTensor4dDescriptor(y.d, CUDNN_TENSOR_NHWC, type, B, F, 1, static_cast<int>(g.out_T())));
    LOOM_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w.d, type, CUDNN_TENSOR_NHWC, F, C, 1, static_cast<int>(g.K)));
    LOOM_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv.d, 0, symmetric ? static_cast<int>(g.pad_left) : 0, 1, 1, 1,
                                                     static_cast<int>(g.dilation), CUDNN_CROSS_CORRELATION,
                                                     CUDNN_DATA_FLOAT));
    int n = 0, c = 0, h = 0, wd = 0;
    LOOM_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(conv.d, x.d, w.d, &n, &c, &h, &wd));
    LOOM_CHECK(n == B && c == F && h == 1 && wd == g.out_T(), "conv1d_cudnn: cuDNN computes output [", n, ", ", c,
               ", ", h, ", ", wd, "], expected [", B, ", ", F, ", 1, ", g.out_T(), "]");
  }

  // Sets the math type the heuristics are asked about (pick() then sets the one the chosen algorithm
  // runs with, so this is called again before each query).
  void ask() {
    cudnnMathType_t math = CUDNN_TENSOR_OP_MATH;
    if (dtype == DType::F32) math = math_mode == MathMode::AllowTf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    LOOM_CUDNN_CHECK(cudnnSetConvolutionMathType(conv.d, math));
  }

  // F32 without TF32 must not use tensor ops, whatever an algorithm would prefer.
  bool usable(cudnnMathType_t m) const {
    return dtype != DType::F32 || math_mode == MathMode::AllowTf32 || m == CUDNN_FMA_MATH || m == CUDNN_DEFAULT_MATH;
  }
  cudnnMathType_t run_math(cudnnMathType_t m) const {
    return dtype == DType::F32 && math_mode != MathMode::AllowTf32 ? CUDNN_FMA_MATH : m;
  }

  // The first deterministic, supported algorithm of a heuristics list (sets its math type).
  template <class Perf>
  Perf pick(const std::vector<Perf>& perfs, int returned, const char* what) {
    for (int i = 0; i < returned; ++i) {
      const Perf& p = perfs[static_cast<std::size_t>(i)];
      if (p.status != CUDNN_STATUS_SUCCESS || p.determinism != CUDNN_DETERMINISTIC || !usable(p.mathType)) continue;
      LOOM_CUDNN_CHECK(cudnnSetConvolutionMathType(conv.d, run_math(p.mathType)));
      return p;
    }
    LOOM_THROW(CudnnError, "conv1d_cudnn: cuDNN offers no deterministic ", what, " algorithm for ", dtype_name(dtype),
               " (", returned, " candidates)");
  }
};

// A [B, T, C] batch-major scratch of the storage type; it lives as long as `ws` (the call).
void* scratch(Workspace& ws, std::int64_t B, std::int64_t T, std::int64_t C, DType dtype) {
  return ws.alloc_bytes(static_cast<std::size_t>(B * T * C) * dtype_size(dtype));
}

void* workspace(const CudaContext& ctx, std::size_t bytes) { return bytes ? ctx.workspace(bytes) : nullptr; }

void check(const Conv1dFwdArgs& a, const char* op) {
  detail::conv1d_check_geometry(a.g, op);
  std::string why;
  if (!conv1d_cudnn_supports(a, &why)) LOOM_THROW(ShapeError, op, ": ", why);
}

}  // namespace

bool conv1d_cudnn_supports(const Conv1dFwdArgs& a, std::string* why_not) {
  auto refuse = [&](const std::string& why) {
    if (why_not) *why_not = why;
    return false;
  };
  if (a.dtype != DType::F32 && a.dtype != DType::F16 && a.dtype != DType::BF16)
    return refuse(std::string("cuDNN conv1d takes f32, f16 or bf16 (got ") + dtype_name(a.dtype) + ")");
  const Conv1dGeometry& g = a.g;
  if (g.C < 1 || g.F < 1 || g.K < 1 || g.dilation < 1 || g.pad_left < 0 || g.pad_right < 0)
    return refuse("cuDNN conv1d needs C, F, K, dilation >= 1 and padding >= 0");
  // Descriptors take int dimensions, and the legacy API indexes tensors with 32-bit offsets.
  const std::int64_t T_in = g.T + g.pad_left + g.pad_right;
  if (g.B * T_in * g.C > INT_MAX || g.B * g.out_T() * g.F > INT_MAX || g.F * g.K * g.C > INT_MAX)
    return refuse("cuDNN conv1d tensors must have fewer than 2^31 elements (x " + std::to_string(g.B * T_in * g.C) +
                  ", y " + std::to_string(g.B * g.out_T() * g.F) + ")");
  return true;
}

void conv1d_fwd_cudnn(const Conv1dFwdArgs& a, const CudaContext& ctx) {
  check(a, "conv1d_fwd_cudnn");
  const Conv1dGeometry& g = a.g;
  if (g.B * g.out_T() * g.F == 0) return;
  Conv cv(g, a.dtype, ctx);
  Workspace ws(Device::cuda(ctx.device()));
  void* xb = scratch(ws, g.B, cv.T_in, g.C, a.dtype);
  void* yb = scratch(ws, g.B, g.out_T(), g.F, a.dtype);
  detail::conv1d_to_batch_major_cuda(a.dtype, g.T, g.B, g.C, cv.pad_left, cv.pad_right, a.x, xb, ctx);

  int count = 0, returned = 0;
  LOOM_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(cv.handle, &count));
  cv.ask();
  std::vector<cudnnConvolutionFwdAlgoPerf_t> perfs(static_cast<std::size_t>(count));
  LOOM_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(cv.handle, cv.x.d, cv.w.d, cv.conv.d, cv.y.d, count,
                                                          &returned, perfs.data()));
  const cudnnConvolutionFwdAlgo_t algo = cv.pick(perfs, returned, "forward").algo;
  std::size_t bytes = 0;
  LOOM_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(cv.handle, cv.x.d, cv.w.d, cv.conv.d, cv.y.d, algo, &bytes));
  const float one = 1.0f, zero = 0.0f;
  LOOM_CUDNN_CHECK(cudnnConvolutionForward(cv.handle, &one, cv.x.d, xb, cv.w.d, a.weight, cv.conv.d, algo,
                                           workspace(ctx, bytes), bytes, &zero, cv.y.d, yb));
  detail::conv1d_to_time_major_cuda(a.dtype, g.out_T(), g.B, g.F, g.out_T(), 0, yb, a.bias, a.y,
                                    GradMode::Overwrite, ctx);
}

void conv1d_bwd_cudnn(const Conv1dBwdArgs& a, const CudaContext& ctx) {
  Conv1dFwdArgs f;
  f.g = a.g;
  f.dtype = a.dtype;
  check(f, "conv1d_bwd_cudnn");
  const Conv1dGeometry& g = a.g;
  const cudaStream_t stream = ctx.stream();
  if (a.dbias) detail::conv1d_bias_grad_cuda(a.dtype, g.out_T() * g.B, g.F, a.dy, a.dbias, a.param_mode, ctx);
  if (g.B == 0) {
    // No rows: the weight gradient is an empty sum (and dx has no elements).
    if (a.dweight && a.param_mode == GradMode::Overwrite)
      LOOM_CUDA_CHECK(cudaMemsetAsync(a.dweight, 0, static_cast<std::size_t>(g.F * g.K * g.C) * dtype_size(a.dtype),
                                      stream));
    return;
  }
  if (!a.dweight && !a.dx) return;
  Conv cv(g, a.dtype, ctx);
  Workspace ws(Device::cuda(ctx.device()));
  void* dyb = scratch(ws, g.B, g.out_T(), g.F, a.dtype);
  detail::conv1d_to_batch_major_cuda(a.dtype, g.out_T(), g.B, g.F, 0, 0, a.dy, dyb, ctx);
  const float one = 1.0f, zero = 0.0f;

  if (a.dweight) {
    void* xb = scratch(ws, g.B, cv.T_in, g.C, a.dtype);
    detail::conv1d_to_batch_major_cuda(a.dtype, g.T, g.B, g.C, cv.pad_left, cv.pad_right, a.x, xb, ctx);
    int count = 0, returned = 0;
    LOOM_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cv.handle, &count));
    cv.ask();
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perfs(static_cast<std::size_t>(count));
    LOOM_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(cv.handle, cv.x.d, cv.y.d, cv.conv.d, cv.w.d, count,
                                                                   &returned, perfs.data()));
    const cudnnConvolutionBwdFilterAlgo_t algo = cv.pick(perfs, returned, "backward filter").algo;
    std::size_t bytes = 0;
    LOOM_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(cv.handle, cv.x.d, cv.y.d, cv.conv.d, cv.w.d, algo,
                                                                    &bytes));
    const float* beta = a.param_mode == GradMode::Accumulate ? &one : &zero;
    LOOM_CUDNN_CHECK(cudnnConvolutionBackwardFilter(cv.handle, &one, cv.x.d, xb, cv.y.d, dyb,
                                                    cv.conv.d, algo, workspace(ctx, bytes), bytes, beta, cv.w.d,
                                                    a.dweight));
  }

  if (a.dx && g.T * g.C > 0) {
    void* dxb = scratch(ws, g.B, cv.T_in, g.C, a.dtype);
    int count = 0, returned = 0;
    LOOM_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cv.handle, &count));
    cv.ask();
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perfs(static_cast<std::size_t>(count));
    LOOM_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(cv.handle, cv.w.d, cv.y.d, cv.conv.d, cv.x.d, count,
                                                                 &returned, perfs.data()));
    const cudnnConvolutionBwdDataAlgo_t algo = cv.pick(perfs, returned, "backward data").algo;
    std::size_t bytes = 0;
    LOOM_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(cv.handle, cv.w.d, cv.y.d, cv.conv.d, cv.x.d, algo,
                                                                  &bytes));
    LOOM_CUDNN_CHECK(cudnnConvolutionBackwardData(cv.handle, &one, cv.w.d, a.weight, cv.y.d, dyb, cv.conv.d,
                                                  algo, workspace(ctx, bytes), bytes, &zero, cv.x.d, dxb));
    detail::conv1d_to_time_major_cuda(a.dtype, g.T, g.B, g.C, cv.T_in, cv.pad_left, dxb, nullptr, a.dx,
                                      a.input_mode, ctx);
  }
}

}  // namespace loom::kernels
