// tests/kernels/test_lstm_cpu_bf16.cc: (being written for the mixed-precision issue)
