// kernels/pool/pool.h: pooling over time with per-row lengths.
//
// Sequences are time-major x [T, B, C]; lengths [B] (nullable = all T) mark the valid prefix of
// each row, and padded positions never win a max or count in a mean.
//
// MaxPool1d (kernel k, stride s, no padding, floor mode, as torch.nn.MaxPool1d):
//   T_out = (T - k) / s + 1 windows; window w covers t in [w*s, w*s + k).
//   A window that reaches past a row's length is not counted: row b has
//   out_len_b = len_b >= k ? (len_b - k) / s + 1 : 0 valid windows; the rest output 0, argmax -1.
//   y[w, b, c] = max_{t in window} x[t, b, c];  argmax = that t (first on ties).
//   Backward: dx[argmax, b, c] += dy[w, b, c] (windows may overlap when s < k: contributions add,
//   summed in window order, so results are deterministic).
// Global max over time: y[b, c] = max_{t < len_b} x[t, b, c], argmax = t; 0 and -1 if len_b == 0.
// Global mean over time: y[b, c] = sum_{t < len_b} x[t, b, c] / len_b; 0 if len_b == 0.
// Arithmetic in F32 (F64 for F64); storage F32/F16/BF16 (F64 on the CPU).
#pragma once

#include "kernels/common/cost.h"
#include "kernels/common/kernel_header.h"

namespace loom::kernels {

inline std::int64_t maxpool1d_out_T(std::int64_t T, std::int64_t k, std::int64_t s) {
  return T >= k ? (T - k) / s + 1 : 0;
}
inline std::int64_t maxpool1d_out_length(std::int64_t len, std::int64_t k, std::int64_t s) {
  return len >= k ? (len - k) / s + 1 : 0;
}

struct MaxPool1dFwdArgs {
  std::int64_t T = 0, B = 0, C = 0, kernel = 2, stride = 2;
  DType dtype = DType::F32;
  const void* x = nullptr;                // [T, B, C]
  const std::int32_t* lengths = nullptr;  // [B] nullable
  void* y = nullptr;                      // [T_out, B, C]
  std::int32_t* argmax = nullptr;         // [T_out, B, C]
  std::int32_t* out_lengths = nullptr;    // [B] nullable out
};

struct MaxPool1dBwdArgs {
  std::int64_t T = 0, B = 0, C = 0, kernel = 2, stride = 2;
  DType dtype = DType::F32;
  const std::int32_t* argmax = nullptr;  // [T_out, B, C]
  const void* dy = nullptr;              // [T_out, B, C]
  void* dx = nullptr;                    // [T, B, C]
  GradMode mode = GradMode::Overwrite;   // Overwrite zeroes positions that won no window
};

enum class TimeReduce { Max, Mean };

struct GlobalPoolFwdArgs {
  std::int64_t T = 0, B = 0, C = 0;
  DType dtype = DType::F32;
  TimeReduce op = TimeReduce::Max;
  const void* x = nullptr;                // [T, B, C]
  const std::int32_t* lengths = nullptr;  // [B] nullable
  void* y = nullptr;                      // [B, C]
  std::int32_t* argmax = nullptr;         // [B, C] (Max only)
};

struct GlobalPoolBwdArgs {
  std::int64_t T = 0, B = 0, C = 0;
  DType dtype = DType::F32;
  TimeReduce op = TimeReduce::Max;
  const std::int32_t* lengths = nullptr;  // [B] nullable (Mean)
  const std::int32_t* argmax = nullptr;   // [B, C] (Max)
  const void* dy = nullptr;               // [B, C]
  void* dx = nullptr;                     // [T, B, C]
  GradMode mode = GradMode::Overwrite;
};

Cost maxpool1d_fwd_cost(const MaxPool1dFwdArgs&);
Cost global_pool_fwd_cost(const GlobalPoolFwdArgs&);

void maxpool1d_fwd_cpu(const MaxPool1dFwdArgs&);
void maxpool1d_bwd_cpu(const MaxPool1dBwdArgs&);
void global_pool_fwd_cpu(const GlobalPoolFwdArgs&);
void global_pool_bwd_cpu(const GlobalPoolBwdArgs&);

void maxpool1d_fwd_cuda(const MaxPool1dFwdArgs&, const CudaContext&);
void maxpool1d_bwd_cuda(const MaxPool1dBwdArgs&, const CudaContext&);
void global_pool_fwd_cuda(const GlobalPoolFwdArgs&, const CudaContext&);
void global_pool_bwd_cuda(const GlobalPoolBwdArgs&, const CudaContext&);

}  // namespace loom::kernels
