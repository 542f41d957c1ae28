// kernels/loss/loss.h: numerically stable classification losses, as PyTorch defines them.
//
// Softmax cross-entropy, row n with target y_n and class weights w (1 when absent):
//   l_n = w[y_n] * (logsumexp(z_n) - z_n[y_n]),   loss = sum_n l_n / sum_n w[y_n]
//   dz_n[k] = dloss / sum_w * w[y_n] * (softmax(z_n)[k] - [k == y_n])
// (logsumexp subtracts the row max first, so no exp overflows).
// BCE with logits, element (n, k), target t in [0, 1], positive weight p_k (1 when absent):
//   l = p_k t softplus(-z) + (1 - t) softplus(z),   loss = mean over all elements
//   dz = dloss / count * (-p_k t sigmoid(-z) + (1 - t) sigmoid(z))
//   with softplus(z) = max(z, 0) + log1p(exp(-|z|)), which never overflows.
// Logits may be F32/F16/BF16; the loss and all arithmetic are F32 (F64 for F64 logits).
// Everything stays on the logits' device: the loss, the weight sum and backward's dloss are
// one-element device buffers, so a training step never waits for the host.
#pragma once

#include "kernels/common/cost.h"
#include "kernels/common/kernel_header.h"

namespace loom::kernels {

struct SoftmaxXentFwdArgs {
  std::int64_t N = 0, K = 0;
  DType dtype = DType::F32;                  // of logits; loss/weight_sum are F32 (F64 if F64)
  const void* logits = nullptr;              // [N, K]
  const std::int32_t* targets = nullptr;     // [N], each in [0, K)
  const void* class_weight = nullptr;        // [K] same dtype as loss, nullable
  void* loss = nullptr;                      // [1] out
  void* weight_sum = nullptr;                // [1] out: sum_n w[y_n] (N when unweighted)
  std::int32_t* bad_targets = nullptr;       // [1] optional out: count of targets outside [0, K)
};

struct SoftmaxXentBwdArgs {
  std::int64_t N = 0, K = 0;
  DType dtype = DType::F32;
  const void* logits = nullptr;           // [N, K]
  const std::int32_t* targets = nullptr;  // [N]
  const void* class_weight = nullptr;     // [K] nullable
  const void* weight_sum = nullptr;       // [1] from forward
  const void* dloss = nullptr;            // [1]
  void* dlogits = nullptr;                // [N, K]
  GradMode mode = GradMode::Overwrite;
};

struct BceLogitsFwdArgs {
  std::int64_t N = 0, K = 1;           // logits [N, K] (K = 1 for binary)
  DType dtype = DType::F32;            // of logits and targets
  const void* logits = nullptr;        // [N, K]
  const void* targets = nullptr;       // [N, K] in [0, 1]
  const void* pos_weight = nullptr;    // [K] loss dtype (F32, F64 for F64), nullable
  void* loss = nullptr;                // [1] out
};

struct BceLogitsBwdArgs {
  std::int64_t N = 0, K = 1;
  DType dtype = DType::F32;
  const void* logits = nullptr;      // [N, K]
  const void* targets = nullptr;     // [N, K]
  const void* pos_weight = nullptr;  // [K] nullable
  const void* dloss = nullptr;       // [1]
  void* dlogits = nullptr;           // [N, K]
  GradMode mode = GradMode::Overwrite;
};

void softmax_xent_fwd_cpu(const SoftmaxXentFwdArgs&);
void softmax_xent_bwd_cpu(const SoftmaxXentBwdArgs&);
void bce_logits_fwd_cpu(const BceLogitsFwdArgs&);
void bce_logits_bwd_cpu(const BceLogitsBwdArgs&);

void softmax_xent_fwd_cuda(const SoftmaxXentFwdArgs&, const CudaContext&);
void softmax_xent_bwd_cuda(const SoftmaxXentBwdArgs&, const CudaContext&);
void bce_logits_fwd_cuda(const BceLogitsFwdArgs&, const CudaContext&);
void bce_logits_bwd_cuda(const BceLogitsBwdArgs&, const CudaContext&);

}  // namespace loom::kernels
