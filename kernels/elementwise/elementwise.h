// kernels/elementwise/elementwise.h: one-pass, memory-bound kernels over flat arrays.
//
// Every kernel reads its storage type (F32, F16, BF16, and F64 on the CPU), computes in F32 (F64
// for F64) and rounds once on store. Kernels that can write a gradient take a GradMode:
// Overwrite writes dst = value, Accumulate writes dst += value.
// Matrices are row-major [rows, cols]; "broadcast b" means b is one row [cols] repeated for every
// row (a bias).
#pragma once

#include "kernels/common/cost.h"
#include "kernels/common/kernel_header.h"

namespace loom::kernels {

// ---- unary activations: y = f(x); backward dx (+)= dy * f'(x) written from the saved y ----
enum class UnaryOp { Sigmoid, Tanh, Relu };

struct UnaryFwdArgs {
  std::int64_t n = 0;
  DType dtype = DType::F32;
  UnaryOp op = UnaryOp::Sigmoid;
  const void* x = nullptr;  // [n]
  void* y = nullptr;        // [n]
};
struct UnaryBwdArgs {
  std::int64_t n = 0;
  DType dtype = DType::F32;
  UnaryOp op = UnaryOp::Sigmoid;
  const void* y = nullptr;   // [n] the forward output: sigmoid' = y(1-y), tanh' = 1-y^2, relu' = y>0
  const void* dy = nullptr;  // [n]
  void* dx = nullptr;        // [n]
  GradMode mode = GradMode::Overwrite;
};

// ---- binary: y (+)= a op b, with b the same shape as a or one broadcast row ----
enum class BinaryOp { Add, Sub, Mul };
enum class Broadcast { None, Row };  // Row: b is [cols], applied to every row of a

struct BinaryArgs {
  std::int64_t rows = 0, cols = 0;
  DType dtype = DType::F32;
  BinaryOp op = BinaryOp::Add;
  Broadcast b_layout = Broadcast::None;
  const void* a = nullptr;  // [rows, cols]
  const void* b = nullptr;  // [rows, cols] or [cols]
  void* y = nullptr;        // [rows, cols]; may alias a
  GradMode mode = GradMode::Overwrite;
};

// ---- scale: y (+)= alpha * x; also the "accumulate a gradient" kernel (alpha = 1) ----
struct ScaleArgs {
  std::int64_t n = 0;
  DType dtype = DType::F32;
  float alpha = 1.0f;
  const float* alpha_device = nullptr;  // when set, multiplies alpha by *alpha_device (same device)
  const void* x = nullptr;              // [n]
  void* y = nullptr;                    // [n]; may alias x
  GradMode mode = GradMode::Overwrite;
};

// ---- fill: y = value ----
struct FillArgs {
  std::int64_t n = 0;
  DType dtype = DType::F32;  // any, including I32
  double value = 0;
  void* y = nullptr;  // [n]
};

// ---- cast: dst (+)= convert(src), between F32, F16, BF16 (and F64 on the CPU) ----
struct CastArgs {
  std::int64_t n = 0;
  DType src_dtype = DType::F32, dst_dtype = DType::F32;
  const void* src = nullptr;  // [n]
  void* dst = nullptr;        // [n]
  GradMode mode = GradMode::Overwrite;
};

// ---- dropout: y (+)= keep_i ? x / (1 - p) : 0, keep_i = uniform(seed, offset + i) >= p ----
// The mask is a pure function of (seed, offset, i) (core/philox.h), so backward calls
// the same kernel on dy with the same (seed, offset) instead of storing a mask, and CPU and GPU
// drop exactly the same elements.
struct DropoutArgs {
  std::int64_t n = 0;
  DType dtype = DType::F32;
  float p = 0.0f;  // drop probability in [0, 1)
  std::uint64_t seed = 0, offset = 0;
  const void* x = nullptr;  // [n]
  void* y = nullptr;        // [n]
  GradMode mode = GradMode::Overwrite;
};

// ---- copy_block: a [rows, cols] block between two row-major matrices (concat / split) ----
struct CopyBlockArgs {
  std::int64_t rows = 0, cols = 0;
  DType dtype = DType::F32;
  const void* src = nullptr;
  std::int64_t src_ld = 0, src_col = 0;  // src element (r, c) is src[r * src_ld + src_col + c]
  void* dst = nullptr;
  std::int64_t dst_ld = 0, dst_col = 0;
  GradMode mode = GradMode::Overwrite;  // Accumulate only for float dtypes
};

// Bytes moved and flops of each kernel (reads + writes at the storage size).
Cost unary_fwd_cost(const UnaryFwdArgs&);
Cost binary_cost(const BinaryArgs&);

void unary_fwd_cpu(const UnaryFwdArgs&);
void unary_bwd_cpu(const UnaryBwdArgs&);
void binary_cpu(const BinaryArgs&);
void scale_cpu(const ScaleArgs&);
void fill_cpu(const FillArgs&);
void cast_cpu(const CastArgs&);
void dropout_cpu(const DropoutArgs&);
void copy_block_cpu(const CopyBlockArgs&);

void unary_fwd_cuda(const UnaryFwdArgs&, const CudaContext&);
void unary_bwd_cuda(const UnaryBwdArgs&, const CudaContext&);
void binary_cuda(const BinaryArgs&, const CudaContext&);
void scale_cuda(const ScaleArgs&, const CudaContext&);
void fill_cuda(const FillArgs&, const CudaContext&);
void cast_cuda(const CastArgs&, const CudaContext&);
void dropout_cuda(const DropoutArgs&, const CudaContext&);
void copy_block_cuda(const CopyBlockArgs&, const CudaContext&);

}  // namespace loom::kernels
