// tests/train/test_bots.cc: (being written)
