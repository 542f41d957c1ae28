// tests/metrics/test_stats.cc: (issue 15) registered by the lead; its owner writes it.
