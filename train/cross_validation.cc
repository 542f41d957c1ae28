// train/cross_validation.cc: (being written)
