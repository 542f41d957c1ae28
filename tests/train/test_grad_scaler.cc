// tests/train/test_grad_scaler.cc: (being written for the mixed-precision issue)
