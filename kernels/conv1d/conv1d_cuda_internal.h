// kernels/conv1d/conv1d_cuda_internal.h: entry points shared by the CUDA conv1d files behind the
// public launchers of kernels/conv1d/conv1d.h.
//
// Internal: only kernels/conv1d/*.cu and conv1d_cudnn.cc include this. Plain C++ (no CUDA
// headers), like every kernel header. Who lives where:
//   conv1d_cuda_igemm.cu    v2 implicit GEMM, the public conv1d_*_cuda_{direct,igemm} launchers
//                           (argument checks), conv1d_check_geometry and the bias gradient
//   conv1d_cuda_direct.cu   v1, one thread per output element
//   conv1d_cuda_textcnn.cu  v3, the fused text-CNN block (textcnn_*_cuda)
//   conv1d_cudnn_layout.cu  the [T, B, C] <-> [B, T, C] transposes the cuDNN path needs
//   conv1d_cuda_gemm.cuh    the tile machinery v2 and v3 share (device code only)
#pragma once

#include <cstdint>

#include "kernels/conv1d/conv1d.h"

namespace loom::kernels::detail {

// Throws ShapeError naming `op` unless T, B, C, F >= 0, K >= 1, dilation >= 1, pads >= 0 and the
// output has at least one position (T' >= 1; e.g. T < K with valid padding is refused, as PyTorch
// does).
void conv1d_check_geometry(const Conv1dGeometry& g, const char* op);

// v1's launches (trust arguments conv1d_cuda_supports accepted).
void conv1d_fwd_direct_launch(const Conv1dFwdArgs&, const CudaContext&);
void conv1d_bwd_direct_launch(const Conv1dBwdArgs&, const CudaContext&);

// dbias[f] (+)= sum over the rows of dy [rows, F]: deterministic column sums (reduce_sum_cuda).
void conv1d_bias_grad_cuda(DType dtype, std::int64_t rows, std::int64_t F, const void* dy, void* dbias,
                           GradMode mode, const CudaContext& ctx);

// dst [B, T + pad_left + pad_right, C] = src [T, B, C] placed at time pad_left, zeros in the pads.
void conv1d_to_batch_major_cuda(DType dtype, std::int64_t T, std::int64_t B, std::int64_t C, std::int64_t pad_left,
                                std::int64_t pad_right, const void* src, void* dst, const CudaContext& ctx);

// dst [T, B, C] (+)= src [B, T_src, C] read from time `offset` on (+ bias[c] when bias is given).
void conv1d_to_time_major_cuda(DType dtype, std::int64_t T, std::int64_t B, std::int64_t C, std::int64_t T_src,
                               std::int64_t offset, const void* src, const void* bias, void* dst, GradMode mode,
                               const CudaContext& ctx);

}  // namespace loom::kernels::detail
