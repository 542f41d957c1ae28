// tests/train/test_trace.cc: (issue 15) registered by the lead; its owner writes it.
