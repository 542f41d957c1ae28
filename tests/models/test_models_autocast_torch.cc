// tests/models/test_models_autocast_torch.cc: (being written for the mixed-precision issue)
