// tests/models/test_hybrid.cc: (being written)
