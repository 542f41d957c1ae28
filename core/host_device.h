// core/host_device.h: LOOM_HD marks small inline functions that both the CPU kernels
// (g++) and the CUDA kernels (nvcc) call, so the math exists once.
#pragma once

#if defined(__CUDACC__)
#define LOOM_HD __host__ __device__ __forceinline__
#else
#define LOOM_HD inline
#endif
