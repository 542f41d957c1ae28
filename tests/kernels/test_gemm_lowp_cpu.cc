// tests/kernels/test_gemm_lowp_cpu.cc: (being written for the mixed-precision issue)
