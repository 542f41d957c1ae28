// kernels/embedding/embedding.h: out[n, :] = weight[ids[n], :], and its deterministic backward.
//
// Backward: dweight[v, :] (+)= sum over n with ids[n] == v of dout[n, :], summed in increasing n
// for every v, so the result is the same bits on every run and device kind: no float atomics.
// CPU: a stable bucket pass groups positions by id, then threads split the vocabulary rows. GPU: the ids are sorted
// (stable CUB radix sort of (id, n) pairs), then one thread per (run of equal ids, column) sums
// its run in order.
#pragma once

#include "kernels/common/cost.h"
#include "kernels/common/kernel_header.h"

namespace loom::kernels {

struct EmbeddingFwdArgs {
  std::int64_t n = 0;            // number of ids
  std::int64_t V = 0, E = 0;     // vocabulary size, embedding width
  DType dtype = DType::F32;      // of weight and out
  const std::int32_t* ids = nullptr;  // [n], each in [0, V)
  const void* weight = nullptr;  // [V, E]
  void* out = nullptr;           // [n, E]
  // Optional, on the ids' device: set to the number of ids outside [0, V) (their rows are zero).
  std::int32_t* bad_ids = nullptr;
};

struct EmbeddingBwdArgs {
  std::int64_t n = 0, V = 0, E = 0;
  DType dtype = DType::F32;
  const std::int32_t* ids = nullptr;  // [n], already validated
  const void* dout = nullptr;         // [n, E]
  void* dweight = nullptr;            // [V, E]
  GradMode mode = GradMode::Overwrite;  // Overwrite zeroes the rows no id touches
};

Cost embedding_fwd_cost(const EmbeddingFwdArgs&);

void embedding_fwd_cpu(const EmbeddingFwdArgs&);
void embedding_bwd_cpu(const EmbeddingBwdArgs&);
void embedding_fwd_cuda(const EmbeddingFwdArgs&, const CudaContext&);
void embedding_bwd_cuda(const EmbeddingBwdArgs&, const CudaContext&);

}  // namespace loom::kernels
