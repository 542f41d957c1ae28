// core/cpu_features.cc: (being written for the mixed-precision issue)
