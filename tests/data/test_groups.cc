// tests/data/test_groups.cc: (being written)
