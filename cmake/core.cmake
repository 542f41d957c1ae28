# cmake/core.cmake: the engine's CPU sources (core/, ops/, kernels/, layers/), listed explicitly and
# relative to the repository root. CMakeLists.txt builds loom_core from them (plus the GEMM providers
# and the CUDA or no-CUDA files it chooses); fuzz/CMakeLists.txt compiles the same list for its
# harnesses, so a file added here reaches both builds.
set(LOOM_CORE_SOURCES
  # core/: the ground floor
  core/allocator_cpu.cc
  core/compiled.cc
  core/device.cc
  core/cpu_features.cc
  core/parallel.cc
  core/random.cc
  core/storage.cc
  core/workspace.cc
  # ops/: Tensor, the autograd tape and the op front-ends (above kernels/)
  ops/autograd.cc
  ops/build_info.cc
  ops/impl.cc
  ops/tensor.cc
  ops/autocast.cc
  ops/autocast_policy.cc
  ops/cast.cc
  ops/conv1d.cc
  ops/elementwise.cc
  ops/embedding.cc
  ops/loss.cc
  ops/lstm.cc
  ops/matmul.cc
  ops/optim.cc
  ops/pool.cc
  ops/profile.cc
  ops/reduce.cc
  ops/shape_ops.cc
  # kernels/: raw-pointer compute (CPU backends here; CUDA and cuDNN below)
  kernels/common/bf16_cpu.cc
  kernels/common/philox_cpu.cc
  kernels/conv1d/conv1d_cpu.cc
  kernels/conv1d/textcnn_bwd_avx512.cc
  kernels/conv1d/conv1d_reference.cc
  kernels/conv1d/conv1d_variants.cc
  kernels/elementwise/elementwise_cpu.cc
  kernels/elementwise/dropout_avx512.cc
  kernels/embedding/embedding_cpu.cc
  kernels/gemm/gemm_cpu.cc
  kernels/loss/loss_cpu.cc
  kernels/lstm/lstm_cpu.cc
  kernels/lstm/lstm_pointwise_cpu.cc
  kernels/lstm/lstm_reference.cc
  kernels/lstm/lstm_variants.cc
  kernels/optim/optim_cpu.cc
  kernels/pool/pool_cpu.cc
  kernels/reduce/reduce_cpu.cc
  layers/conv1d.cc
  layers/lstm.cc
)
