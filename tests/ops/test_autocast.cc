// tests/ops/test_autocast.cc: (being written for the mixed-precision issue)
