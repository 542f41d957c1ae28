// tests/models/test_user_models.cc: (being written)
