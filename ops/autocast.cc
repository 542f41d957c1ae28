// ops/autocast.cc: (being written for the mixed-precision issue)
