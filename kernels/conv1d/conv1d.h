// kernels/conv1d/conv1d.h: 1-D convolution over time, stride 1, dilation >= 1, and the fused
// text-CNN block (conv -> bias -> ReLU -> masked max over time) of Kim (2014).
//
// Layout (architecture section 6): input x [T, B, C] time-major, weight [F, K, C] (each tap
// W_k = weight[:, k, :] is an [F, C] matrix with row stride K*C, a legal GEMM operand; PyTorch's
// [F, C, K] is transposed at import/export only), bias [F], output y [T', B, F].
//
//   y[t', b, f] = bias[f] + sum_k sum_c weight[f, k, c] * x[t' + k*dil - pad_left, b, c]
//   (x outside [0, T) reads as 0),   T' = T + pad_left + pad_right - dil*(K-1)
//
// The time-major layout makes tap k one GEMM: the rows of x from time (t' + k*dil - pad_left)
// onwards are CONTIGUOUS [rows*B, C] blocks, so
//   Y[t0:t1] += X[t0 + k*dil - pad_left : ...] . W_k^T     (K accumulated GEMMs)
// Backward: dX[shifted] += dY . W_k;  dW_k += dY^T . X[shifted];  db = column sums of dY.
//
// Padding: Valid (0, 0); Same: total dil*(K-1), left = total / 2, right = total - left (PyTorch's
// padding='same'); or explicit. T' < 1 (e.g. T < K with valid padding) is an error, as in PyTorch.
// Lengths: a row of length len_b has valid outputs t' < out_len_b = clamp(len_b + pad_left +
// pad_right - dil*(K-1), 0, T'), the positions whose window ends inside the row's padding on
// the right (conv1d_output_length). Plain conv ignores lengths (padding positions of x are 0);
// the fused block and the pooling kernels mask with them.
// Precision: x, weight, bias, y in F32/F16/BF16 (F64 on the CPU); accumulation in F32 (F64).
//
// Every implementation below is also a row of the family's variant table (conv1d_variants.h),
// which the op front-end, the tests and the bench iterate.
#pragma once

#include <cstddef>
#include <string>

#include "kernels/common/cost.h"
#include "kernels/common/kernel_header.h"

namespace loom::kernels {

struct Conv1dGeometry {
  std::int64_t T = 0, B = 0, C = 0, F = 0, K = 1;
  std::int64_t dilation = 1;
  std::int64_t pad_left = 0, pad_right = 0;
  std::int64_t out_T() const { return T + pad_left + pad_right - dilation * (K - 1); }
};

// (pad_left, pad_right) of padding='same' for a kernel width and dilation.
inline void conv1d_same_padding(std::int64_t K, std::int64_t dilation, std::int64_t* left, std::int64_t* right) {
  const std::int64_t total = dilation * (K - 1);
  *left = total / 2;
  *right = total - *left;
}

// Number of valid output positions of a row of length len (see above).
inline std::int64_t conv1d_output_length(const Conv1dGeometry& g, std::int64_t len) {
  const std::int64_t n = len + g.pad_left + g.pad_right - g.dilation * (g.K - 1);
  const std::int64_t out = g.out_T();
  return n < 0 ? 0 : (n > out ? out : n);
}

struct Conv1dFwdArgs {
  Conv1dGeometry g;
  DType dtype = DType::F32;
  const void* x = nullptr;       // [T, B, C]
  const void* weight = nullptr;  // [F, K, C]
  const void* bias = nullptr;    // [F], nullable
  void* y = nullptr;             // [T', B, F]
};

struct Conv1dBwdArgs {
  Conv1dGeometry g;
  DType dtype = DType::F32;
  const void* x = nullptr;       // [T, B, C]
  const void* weight = nullptr;  // [F, K, C]
  const void* dy = nullptr;      // [T', B, F]
  void* dx = nullptr;            // [T, B, C] nullable
  void* dweight = nullptr;       // [F, K, C] nullable
  void* dbias = nullptr;         // [F] nullable
  GradMode input_mode = GradMode::Overwrite;  // dx
  GradMode param_mode = GradMode::Overwrite;  // dweight, dbias
};

// ---- the fused text-CNN block: several widths, one launch -----------------------------------------
// For width w (filters F_w, taps K_w, its own padding), column block [off_w, off_w + F_w) of pooled:
//   pooled[b, off_w + f] = max over t' < out_len_b of relu(conv_w(x)[t', b, f]),   0 if out_len_b == 0
//   argmax[b, off_w + f] = the t' that attains the max of the pre-ReLU conv (first one on ties),
//                          -1 when out_len_b == 0
// Backward touches only the argmax positions (the reason a fused block can beat cuDNN: the
// backward of a global max pool is sparse), and only where the pooled value is > 0 (ReLU active):
//   g = dpooled[b, off_w + f] * [pooled > 0];  t* = argmax
//   dbias_w[f] += sum_b g;  dweight_w[f, k, c] += sum_b g * x[t* + k*dil - pad_left, b, c]
//   dx[t* + k*dil - pad_left, b, c] += g * weight_w[f, k, c]
constexpr int kMaxTextCnnWidths = 8;

struct TextCnnWidth {
  std::int64_t F = 0, K = 1, dilation = 1, pad_left = 0, pad_right = 0;
  const void* weight = nullptr;  // [F, K, C]
  const void* bias = nullptr;    // [F], nullable
  void* dweight = nullptr;       // [F, K, C] (backward only; nullable)
  void* dbias = nullptr;         // [F]       (backward only; nullable)
};

struct TextCnnFwdArgs {
  std::int64_t T = 0, B = 0, C = 0;
  DType dtype = DType::F32;
  int num_widths = 1;
  TextCnnWidth widths[kMaxTextCnnWidths];
  const void* x = nullptr;                // [T, B, C]
  const std::int32_t* lengths = nullptr;  // [B] nullable = all T
  void* pooled = nullptr;                 // [B, sum F] dtype
  std::int32_t* argmax = nullptr;         // [B, sum F]
};

struct TextCnnBwdArgs {
  TextCnnFwdArgs fwd;                     // with pooled and argmax filled by the forward
  const void* dpooled = nullptr;          // [B, sum F]
  void* dx = nullptr;                     // [T, B, C] nullable
  GradMode input_mode = GradMode::Overwrite;
  GradMode param_mode = GradMode::Overwrite;
};

Cost conv1d_fwd_cost(const Conv1dFwdArgs&);   // 2*T'*B*F*K*C flops (taps that read padding included)
Cost conv1d_bwd_cost(const Conv1dBwdArgs&);   // twice the forward (data + weight) + the bias sum
Cost textcnn_fwd_cost(const TextCnnFwdArgs&);
Cost textcnn_bwd_cost(const TextCnnBwdArgs&); // sparse: 2 * B * sum_w F_w * K_w * C * 2

// ---- CPU ------------------------------------------------------------------------------------------
// The naive reference (conv1d_reference.cc): plain loops as the formulas read, no threads, no BLAS.
// It is the oracle every other variant is tested against.
void conv1d_fwd_reference(const Conv1dFwdArgs&);
void conv1d_bwd_reference(const Conv1dBwdArgs&);
void textcnn_fwd_reference(const TextCnnFwdArgs&);
void textcnn_bwd_reference(const TextCnnBwdArgs&);
// The CPU training path (conv1d_cpu.cc): K accumulated GEMMs per direction, on BLAS.
void conv1d_fwd_cpu(const Conv1dFwdArgs&);
void conv1d_bwd_cpu(const Conv1dBwdArgs&);
void textcnn_fwd_cpu(const TextCnnFwdArgs&);
void textcnn_bwd_cpu(const TextCnnBwdArgs&);

// ---- CUDA: our kernels. v1 and v2 take the same arguments (conv1d_cuda_supports) ------------------
void conv1d_fwd_cuda_direct(const Conv1dFwdArgs&, const CudaContext&);  // v1: one thread per output
void conv1d_bwd_cuda_direct(const Conv1dBwdArgs&, const CudaContext&);
void conv1d_fwd_cuda_igemm(const Conv1dFwdArgs&, const CudaContext&);   // v2: implicit GEMM tiles
void conv1d_bwd_cuda_igemm(const Conv1dBwdArgs&, const CudaContext&);
bool conv1d_cuda_supports(const Conv1dFwdArgs&, std::string* why_not);
void textcnn_fwd_cuda(const TextCnnFwdArgs&, const CudaContext&);       // v3: the fused block
void textcnn_bwd_cuda(const TextCnnBwdArgs&, const CudaContext&);
bool textcnn_cuda_supports(const TextCnnFwdArgs&, std::string* why_not);

// ---- cuDNN: 1-D as 2-D with height 1; layout conversion happens only in conv1d_cudnn.cc ---------
void conv1d_fwd_cudnn(const Conv1dFwdArgs&, const CudaContext&);
void conv1d_bwd_cudnn(const Conv1dBwdArgs&, const CudaContext&);
bool conv1d_cudnn_supports(const Conv1dFwdArgs&, std::string* why_not);

}  // namespace loom::kernels
