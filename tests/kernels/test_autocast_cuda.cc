// tests/kernels/test_autocast_cuda.cc: (being written for the mixed-precision issue)
