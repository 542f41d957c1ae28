// ops/autocast_policy.cc: (being written for the mixed-precision issue)
