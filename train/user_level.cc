// train/user_level.cc: (being written)
