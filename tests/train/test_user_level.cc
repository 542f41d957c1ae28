// tests/train/test_user_level.cc: (being written)
