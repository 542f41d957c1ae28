// tests/train/test_mixed_precision.cc: (being written for the mixed-precision issue)
