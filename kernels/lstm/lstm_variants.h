// kernels/lstm/lstm_variants.h: every implementation of the LSTM compiled into this build, as ONE
// table (the row type is kernels/common/variants.h). The op front-end (ops/lstm.cc) picks a row,
// tests/kernels/test_lstm_*.cc compare every row with "reference", and bench/engine/lstm.cc (`loom bench lstm`) times
// every row, all by looping over this table.
//
//   name             device  what runs                                     file
//   reference        CPU     plain loops, one thread                       lstm_reference.cc
//   cpu              CPU     OpenMP threads own rows, BLAS GEMMs           lstm_cpu.cc
//   cuda-v1          CUDA    one kernel per elementwise op (unfused)       lstm_cuda_unfused.cu
//   cuda-v2          CUDA    one pointwise kernel per step (fused)         lstm_cuda_time_loop.cu
//   cudnn            CUDA    cuDNN, CUDNN_RNN_ALGO_STANDARD                lstm_cudnn.cc
//   cudnn-persist    CUDA    cuDNN, CUDNN_RNN_ALGO_PERSIST_STATIC          lstm_cudnn.cc
// The CUDA rows exist in CUDA builds, the cuDNN rows in cuDNN builds.
#pragma once

#include <string>
#include <vector>

#include "kernels/common/variants.h"
#include "kernels/lstm/lstm.h"

namespace loom::kernels {

using LstmVariantRow = Variant<LstmSeqFwdArgs, LstmSeqBwdArgs>;

// Every row compiled into this build, in the order of the table above.
const std::vector<LstmVariantRow>& lstm_variants();

// The row called `name`; throws Error naming the rows there are.
const LstmVariantRow& lstm_variant(const std::string& name);

}  // namespace loom::kernels
