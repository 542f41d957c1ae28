// kernels/lstm/lstm_cuda_internal.h: the entry points of the CUDA LSTM variants behind the public
// lstm_seq_fwd_cuda / lstm_seq_bwd_cuda (kernels/lstm/lstm.h), which switch on LstmVariant.
//
// Internal: only kernels/lstm/*.cu include this. Plain C++ (no CUDA headers), like every kernel
// header. The fused variant (v2) lives in lstm_cuda_fused.cu, next to the switch; the unfused
// baseline (v1) in lstm_cuda_unfused.cu. Both share the GEMM skeleton of lstm_cuda_common.cuh, and
// both trust arguments that lstm_seq_cuda_supports() accepted (the public launchers check first).
#pragma once

#include "kernels/lstm/lstm.h"

namespace loom::kernels::detail {

// v1: per step, one kernel per elementwise operation (the eager-framework baseline).
void lstm_seq_fwd_cuda_unfused(const LstmSeqFwdArgs&, const CudaContext&);
void lstm_seq_bwd_cuda_unfused(const LstmSeqBwdArgs&, const CudaContext&);

}  // namespace loom::kernels::detail
