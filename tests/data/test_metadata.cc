// tests/data/test_metadata.cc: (being written)
