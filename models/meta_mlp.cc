// models/meta_mlp.cc: (being written)
