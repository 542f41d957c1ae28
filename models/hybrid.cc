// models/hybrid.cc: (being written)
